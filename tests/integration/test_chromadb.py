"""remote::chromadb against a real Chroma server (`chroma run`, from a venv made on first use)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from pydantic import ValidationError

from llama_workbench import Stack
from llama_workbench.apis.vector_io.api import VectorIOProvider
from llama_workbench.apis.vector_io.models import (
    ChunkMetadata,
    EmbeddedChunk,
    VectorStoreObject,
    VectorStoreRecord,
)
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    ProviderUnavailableError,
)
from llama_workbench.providers.remote.vector_io.chromadb import create
from llama_workbench.providers.remote.vector_io.chromadb.config import ChromaVectorIOConfig
from llama_workbench.providers.remote.vector_io.chromadb.impl import ChromaVectorIO
from tests.support.rag import CORPUS_DIR, answered, questions, rag_config

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-chroma"
REQUIREMENT = "chromadb>=1.0,<2"
DIM = 8
STORE = "vs_test"
TEXTS = [
    "The lighthouse keepers climbed 148 steps to the lamp.",
    "Herring fishers founded the town at the river mouth.",
    "Bees make honey from the nectar of heather flowers.",
    'The keepers\' logbook: "lamp lit" at dusk, every night.',
]


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    port = _free_port()
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
    assert isinstance(impl, ChromaVectorIO) and isinstance(impl, VectorIOProvider)
    return impl


def _record(store_id: str = STORE, dimension: int = DIM) -> VectorStoreRecord:
    store = VectorStoreObject(id=store_id, created_at=int(time.time()))
    return VectorStoreRecord(
        identifier=store_id, provider_id="chroma", embedding_model="m",
        embedding_dimension=dimension, object=store,
    )  # fmt: skip


def _unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, DIM))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _chunk(chunk_id: str, text: str, vector: np.ndarray, file_id: str, index: int) -> EmbeddedChunk:
    return EmbeddedChunk(
        content=text, chunk_id=chunk_id, metadata={"source": file_id, "n": index},
        chunk_metadata=ChunkMetadata(file_id=file_id, chunk_index=index),
        embedding=vector.tolist(), embedding_model="m", embedding_dimension=DIM,
    )  # fmt: skip


def _corpus(vectors: np.ndarray) -> list[EmbeddedChunk]:
    """c1, c0 of file f1 (out of order), then c2, c3 of file f2."""
    return [
        _chunk("c1", TEXTS[1], vectors[1], "f1", 1),
        _chunk("c0", TEXTS[0], vectors[0], "f1", 0),
        _chunk("c2", TEXTS[2], vectors[2], "f2", 0),
        _chunk("c3", TEXTS[3], vectors[3], "f2", 1),
    ]


@pytest.fixture
def database(chroma_server: ChromaServer) -> dict[str, Any]:
    """Provider config for a fresh database per test (the provider creates it)."""
    return {"url": chroma_server.url, "database": f"t_{secrets.token_hex(6)}"}


@pytest.fixture
async def filled(
    database: dict[str, Any], tmp_path: Path
) -> AsyncIterator[tuple[ChromaVectorIO, np.ndarray]]:
    impl = await _provider(tmp_path, **database)
    await impl.create_index(_record())
    vectors = _unit_vectors(4)
    await impl.add_chunks(STORE, _corpus(vectors))
    yield impl, vectors
    await impl.shutdown()


async def test_vector_query_returns_whole_chunks(filled: tuple[ChromaVectorIO, np.ndarray]) -> None:
    impl, vectors = filled
    hits = await impl.query_vector(STORE, vectors[2].tolist(), 2)
    assert len(hits) == 2 and hits[0].chunk.chunk_id == "c2"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5) and hits[0].score >= hits[1].score
    chunk = hits[0].chunk
    assert chunk.content == TEXTS[2] and chunk.metadata == {"source": "f2", "n": 0}
    assert chunk.chunk_metadata.file_id == "f2" and chunk.embedding_model == "m"
    assert chunk.embedding == pytest.approx(vectors[2].tolist(), abs=1e-5)
    assert len(await impl.query_vector(STORE, vectors[0].tolist(), 10)) == 4
    assert await impl.query_vector(STORE, vectors[0].tolist(), 0) == []


async def test_keyword_query(filled: tuple[ChromaVectorIO, np.ndarray]) -> None:
    impl, _ = filled
    hits = await impl.query_keyword(STORE, "Lighthouse KEEPERS?", 10)
    assert [h.chunk.chunk_id for h in hits] == ["c0", "c3"]  # c0 has both words
    assert hits[0].score > hits[1].score > 0
    assert hits[0].chunk.embedding and hits[0].chunk.content == TEXTS[0]  # not lowercased
    found = await impl.query_keyword(STORE, "honey zeppelin", 10)
    assert [h.chunk.chunk_id for h in found] == ["c2"]
    assert len(await impl.query_keyword(STORE, "the", 1)) == 1
    assert await impl.query_keyword(STORE, "zeppelin", 10) == []
    assert await impl.query_keyword(STORE, "?!", 10) == []
    # `$contains` matches "ight" inside "lighthouse" and "night"; only whole words count.
    assert await impl.query_keyword(STORE, "ight", 10) == []
    assert await impl.query_keyword(STORE, '"lamp" OR 1=1; --\'', 10) != []
    assert await impl.query_keyword(STORE, '\' OR "" --', 10) == []


async def test_upsert_by_chunk_id(filled: tuple[ChromaVectorIO, np.ndarray]) -> None:
    impl, _ = filled
    new = _unit_vectors(1, seed=9)[0]
    replaced = _chunk("c0", "The lamp now runs on electricity.", new, "f1", 0)
    await impl.add_chunks(STORE, [replaced, replaced])  # a repeated id in one batch, too
    hits = await impl.query_vector(STORE, new.tolist(), 10)
    assert len(hits) == 4 and hits[0].chunk.chunk_id == "c0"
    assert hits[0].chunk.content.startswith("The lamp now")
    assert await impl.query_keyword(STORE, "lighthouse", 10) == []
    await impl.add_chunks(STORE, [])


async def test_deletes_and_file_order(filled: tuple[ChromaVectorIO, np.ndarray]) -> None:
    impl, vectors = filled
    assert [c.chunk_id for c in await impl.file_chunks(STORE, "f1")] == ["c0", "c1"]
    assert [c.chunk_id for c in await impl.file_chunks(STORE, "f2")] == ["c2", "c3"]
    assert await impl.file_chunks(STORE, "nope") == []
    await impl.delete_chunks(STORE, ["c3", "never-added"])
    await impl.delete_chunks(STORE, [])
    assert [c.chunk_id for c in await impl.file_chunks(STORE, "f2")] == ["c2"]
    await impl.delete_file_chunks(STORE, "f1")
    left = await impl.query_vector(STORE, vectors[0].tolist(), 10)
    assert [h.chunk.chunk_id for h in left] == ["c2"]
    assert await impl.query_keyword(STORE, "lighthouse herring", 10) == []


async def test_create_index_is_idempotent_and_delete_index(
    database: dict[str, Any], tmp_path: Path
) -> None:
    impl = await _provider(tmp_path, **database)
    await impl.create_index(_record())
    await impl.add_chunks(STORE, _corpus(_unit_vectors(4)))
    await impl.create_index(_record())  # as at every stack start: the data stays
    assert len(await impl.file_chunks(STORE, "f1")) == 2
    with pytest.raises(ConflictError, match="8 dimensions"):
        await impl.create_index(_record(dimension=4))
    await impl.create_index(_record("vs_other"))
    await impl.delete_index(STORE)
    await impl.delete_index(STORE)  # already gone
    with pytest.raises(NotFoundError):
        await impl.query_vector(STORE, _unit_vectors(1)[0].tolist(), 3)
    with pytest.raises(NotFoundError):
        await impl.file_chunks(STORE, "f1")
    assert await impl.file_chunks("vs_other", "f1") == []
    await impl.shutdown()
    with pytest.raises(ProviderUnavailableError, match="shut down"):
        await impl.file_chunks("vs_other", "f1")


async def test_data_persists_across_instances(database: dict[str, Any], tmp_path: Path) -> None:
    vectors = _unit_vectors(4)
    first = await _provider(tmp_path, **database)
    await first.create_index(_record())
    await first.add_chunks(STORE, _corpus(vectors))
    await first.shutdown()
    second = await _provider(tmp_path, **database)
    # Before create_index: the dimension is read from the collection.
    with pytest.raises(BadRequestError, match="takes 8"):
        await second.query_vector(STORE, [1.0, 0.0], 1)
    await second.create_index(_record())
    hits = await second.query_vector(STORE, vectors[3].tolist(), 1)
    assert hits[0].chunk.chunk_id == "c3" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [h.chunk.chunk_id for h in await second.query_keyword(STORE, "honey", 5)] == ["c2"]
    await second.shutdown()


async def test_wrong_dimension_and_bad_values(filled: tuple[ChromaVectorIO, np.ndarray]) -> None:
    impl, vectors = filled
    short = EmbeddedChunk(
        content="x", chunk_id="x", embedding=[1.0, 0.0], embedding_model="m", embedding_dimension=2
    )
    with pytest.raises(BadRequestError, match="2 dimensions; store 'vs_test' takes 8"):
        await impl.add_chunks(STORE, [short])
    with pytest.raises(BadRequestError, match="3 dimensions"):
        await impl.query_vector(STORE, [0.1, 0.2, 0.3], 3)
    bad = _chunk("nan", "x", vectors[0], "f", 0).model_copy(
        update={"embedding": [float("nan")] * 8}
    )
    with pytest.raises(BadRequestError, match="NaN"):
        await impl.add_chunks(STORE, [bad])
    with pytest.raises(NotFoundError, match="vs_missing"):
        await impl.add_chunks("vs_missing", [_chunk("y", "y", vectors[0], "f", 0)])


async def test_unreachable_server(tmp_path: Path) -> None:
    secret = "chroma-secret-123"
    port = _free_port()  # nothing listens there
    impl = await _provider(tmp_path, url=f"http://127.0.0.1:{port}", api_key=secret, timeout=5)
    with pytest.raises(ProviderUnavailableError) as err:
        await impl.create_index(_record())
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


FILES = ["keldmouth_lighthouse_history.md", "orrin_ridge_observatory_annual_report_2023.pdf"]


def _answers_found(stack: Stack, store_id: str) -> dict[str, list[str]]:
    """Per search mode, the ids of the questions on FILES whose answer is in the top 5."""
    asked = [q for q in questions() if q["file"] in FILES and q["kind"] == "keyword"]
    found: dict[str, list[str]] = {}
    for mode in ("vector", "keyword", "hybrid"):
        found[mode] = []
        for q in asked:
            page = stack.vector_io.search_vector_store(
                store_id, q["question"], search_mode=mode, max_num_results=5
            )
            if any(answered(q, r.filename, r.content[0].text) for r in page.data):
                found[mode].append(q["id"])
    return found


@pytest.mark.slow
def test_a_stack_searches_and_keeps_its_store(database: dict[str, Any], tmp_path: Path) -> None:
    vector_io = [{"provider_id": "chroma", "provider_type": "remote::chromadb", "config": database}]
    config = rag_config(tmp_path, vector_io, vector_stores={"default_provider_id": "chroma"})
    config["apis"] = ["inference", "files", "vector_io"]
    config["providers"].pop("tool_runtime", None)
    with Stack.from_config(config) as stack:
        store = stack.vector_io.create_vector_store(name="c")
        assert store.metadata["provider_id"] == "chroma"
        for name in FILES:
            uploaded = stack.files.upload_file(str(CORPUS_DIR / name))
            result = stack.vector_io.attach_file(store.id, uploaded.id)
            assert result.status == "completed", result.last_error
        found = _answers_found(stack, store.id)
    asked = {q["id"] for q in questions() if q["file"] in FILES and q["kind"] == "keyword"}
    assert len(asked) >= 2
    for mode, ids in found.items():
        assert set(ids) == asked, f"{mode} search missed {asked - set(ids)}"
    with Stack.from_config(config) as again:
        assert [s.id for s in again.vector_io.list_vector_stores().data] == [store.id]
        assert again.vector_io.retrieve_vector_store(store.id).file_counts.completed == 2
        assert _answers_found(again, store.id) == found
