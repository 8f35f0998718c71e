"""remote::milvus against a Milvus server on 127.0.0.1: Milvus Lite's gRPC server (`milvus-lite
server`, from its PyPI package), the protocol pymilvus speaks to any Milvus."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import ProviderError, ProviderUnavailableError
from llama_workbench.providers.remote.vector_io.milvus import create
from llama_workbench.providers.remote.vector_io.milvus.config import MilvusVectorIOConfig
from llama_workbench.providers.remote.vector_io.milvus.impl import MilvusVectorIO
from tests.support.vector_contract import (
    Opener,
    VectorIOContract,
    free_port,
    record,
    unit_vectors,
)
from tests.unit.providers.remote.vector_io.test_milvus import drop_all

pytest.importorskip("milvus_lite", reason="the Milvus Lite server needs the milvus extra")


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    from pymilvus import MilvusClient

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            MilvusClient(uri=f"http://127.0.0.1:{port}", timeout=2).close()
            return
        except Exception:
            time.sleep(0.2)
    process.kill()
    pytest.fail(
        f"the Milvus Lite server did not answer on port {port} (exit {process.poll()}):\n"
        f"{log.read_text(errors='replace')[-3000:]}",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Milvus server process on 127.0.0.1 for the module, its data in a temp dir."""
    workdir = tmp_path_factory.mktemp("milvus-server")
    port = free_port()
    log = workdir / "server.log"
    cmd = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(workdir / "data")]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*cmd, "--host", "127.0.0.1", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


async def _provider(tmp_path: Path, **config: Any) -> MilvusVectorIO:
    deps = ProviderDeps(provider_id="milvus", apis={}, storage=None, data_dir=tmp_path)  # type: ignore[arg-type]
    impl = await create(MilvusVectorIOConfig.model_validate(config), deps)
    assert isinstance(impl, MilvusVectorIO)
    return impl


class TestMilvusServer(VectorIOContract):
    @pytest.fixture
    async def open_provider(self, milvus_uri: str, tmp_path: Path) -> AsyncIterator[Opener]:
        def opener(**config: Any) -> Any:
            return _provider(tmp_path, **({"uri": milvus_uri, "token": "root:Milvus"} | config))

        await drop_all(opener)
        yield opener


async def test_client_settings_reach_the_client(milvus_uri: str, tmp_path: Path) -> None:
    """Extra settings are passed to MilvusClient, as Llama Stack 0.7.3 passes them."""
    impl = await _provider(tmp_path, uri=milvus_uri, db_name="default", timeout=5)
    await impl.create_index(record("vs_settings"))
    assert await impl.query_vector("vs_settings", unit_vectors(1)[0].tolist(), 1) == []
    await impl.delete_index("vs_settings")
    await impl.shutdown()
    other = await _provider(tmp_path, uri=milvus_uri, db_name="no_such_db", timeout=5)
    with pytest.raises(ProviderError, match="database 'no_such_db' does not exist"):
        await other.create_index(record("vs_settings"))
    await other.shutdown()


async def test_unreachable_server(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    impl = await _provider(tmp_path, uri=f"http://127.0.0.1:{port}", token="s3cret-tok", timeout=2)
    with pytest.raises(ProviderUnavailableError) as err:
        await impl.create_index(record())
    assert f"Milvus at http://127.0.0.1:{port}" in str(err.value)
    assert "s3cret-tok" not in str(err.value) and err.value.status_code == 503
    await impl.shutdown()
