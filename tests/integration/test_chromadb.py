"""remote::chromadb against a real Chroma server (`chroma run`, from a venv made on first use)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import ProviderUnavailableError
from llama_workbench.providers.remote.vector_io.chromadb import create
from llama_workbench.providers.remote.vector_io.chromadb.config import ChromaVectorIOConfig
from llama_workbench.providers.remote.vector_io.chromadb.impl import ChromaVectorIO
from tests.support.vector_contract import (
    Opener,
    VectorIOContract,
    check_stack_searches_and_keeps_its_store,
    free_port,
    record,
    stack_config,
)

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-chroma"
REQUIREMENT = "chromadb>=1.0,<2"


@dataclass(frozen=True)
class ChromaServer:
    url: str
    process: subprocess.Popen[bytes]


def _chroma() -> Path:
    """The venv's `chroma`, creating the venv on first use (a pip install from the registry)."""
    chroma = VENV / "bin" / "chroma"
    marker = VENV / ".installed"
    if not marker.exists() or marker.read_text() != REQUIREMENT:
        # About 40 s on 2 cores with a warm pip cache; cached for later runs by the marker.
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        done = subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", REQUIREMENT],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.fail(
                f"`pip install {REQUIREMENT}` failed:\n{done.stderr[-3000:]}", pytrace=False
            )
        marker.write_text(REQUIREMENT)
    return chroma


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    pytest.fail(
        f"`chroma run` did not answer at {url} (exit {process.poll()}):\n"
        f"{log.read_text(errors='replace')[-3000:]}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def chroma_server() -> Iterator[ChromaServer]:
    """A Chroma server on 127.0.0.1 for the session; it needs no network (telemetry off)."""
    chroma = _chroma()
    workdir = Path(tempfile.mkdtemp(prefix="llw-chroma-"))
    port = free_port()
    log = workdir / "server.log"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    cmd = [str(chroma), "run", "--path", str(workdir / "db"), "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*cmd, "--host", "127.0.0.1"], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process, log)
        yield ChromaServer(url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


async def _provider(tmp_path: Path, **config: Any) -> ChromaVectorIO:
    deps = ProviderDeps(provider_id="chroma", apis={}, storage=None, data_dir=tmp_path)  # type: ignore[arg-type]
    impl = await create(ChromaVectorIOConfig.model_validate(config), deps)
    assert isinstance(impl, ChromaVectorIO)
    return impl


@pytest.fixture
def database(chroma_server: ChromaServer) -> dict[str, Any]:
    """Provider config for a fresh database per test (the provider creates it)."""
    return {"url": chroma_server.url, "database": f"t_{secrets.token_hex(6)}"}


class TestChroma(VectorIOContract):
    @pytest.fixture
    def open_provider(self, database: dict[str, Any], tmp_path: Path) -> Opener:
        return lambda **extra: _provider(tmp_path, **database, **extra)


async def test_unreachable_server(tmp_path: Path) -> None:
    secret = "chroma-secret-123"
    port = free_port()  # nothing listens there
    impl = await _provider(tmp_path, url=f"http://127.0.0.1:{port}", api_key=secret, timeout=5)
    with pytest.raises(ProviderUnavailableError) as err:
        await impl.create_index(record())
    assert f"Chroma at http://127.0.0.1:{port}" in str(err.value)
    assert secret not in str(err.value) and err.value.status_code == 503
    await impl.shutdown()


def test_config_validation() -> None:
    with pytest.raises(ValidationError, match="http"):
        ChromaVectorIOConfig.model_validate({"url": "localhost:8000"})
    with pytest.raises(ValidationError, match="collection_prefix"):
        ChromaVectorIOConfig.model_validate({"collection_prefix": "-bad"})
    config = ChromaVectorIOConfig.model_validate({"url": "http://c:8000/", "api_key": ""})
    assert config.url == "http://c:8000" and config.api_key is None


@pytest.mark.slow
def test_a_stack_searches_and_keeps_its_store(database: dict[str, Any], tmp_path: Path) -> None:
    config = stack_config(tmp_path, "chroma", "remote::chromadb", database)
    check_stack_searches_and_keeps_its_store(config, "chroma")
