"""remote::pgvector against a real PostgreSQL with pgvector: the provider, then a whole stack."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pytest

from llama_workbench import Stack
from llama_workbench.apis.vector_io.models import (
    ChunkMetadata,
    EmbeddedChunk,
    VectorStoreObject,
    VectorStoreRecord,
)
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import (
    BadRequestError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
)
from llama_workbench.providers.remote.vector_io.pgvector import create
from llama_workbench.providers.remote.vector_io.pgvector.config import PGVectorVectorIOConfig
from llama_workbench.providers.remote.vector_io.pgvector.impl import (
    PGVectorVectorIO,
    tsquery_text,
)
from tests.integration.postgres_server import PostgresServer, pgvector_server
from tests.support.rag import CORPUS_DIR, answered, questions, rag_config

pytestmark = pytest.mark.postgres
__all__ = ["pgvector_server"]  # the session fixture, imported so pytest finds it here

DIM = 8
STORE = "vs_test"


@pytest.fixture
async def pg_database(pgvector_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh database per test, dropped afterwards (connections and all)."""
    name = f"t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(
        host=pgvector_server.host, port=pgvector_server.port, user=pgvector_server.user,
        password=pgvector_server.password, database="postgres",
    )  # fmt: skip
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        yield name
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


def _config(server: PostgresServer, db: str, **extra: Any) -> dict[str, Any]:
    return {
        "host": server.host, "port": server.port, "db": db,
        "user": server.user, "password": server.password, **extra,
    }  # fmt: skip


async def _provider(config: dict[str, Any], tmp_path: Path) -> PGVectorVectorIO:
    deps = ProviderDeps(provider_id="pgvector", apis={}, storage=None, data_dir=tmp_path)  # type: ignore[arg-type]
    impl = await create(PGVectorVectorIOConfig.model_validate(config), deps)
    assert isinstance(impl, PGVectorVectorIO)
    return impl


def _record(store_id: str = STORE, dimension: int = DIM) -> VectorStoreRecord:
    store = VectorStoreObject(id=store_id, created_at=int(time.time()))
    return VectorStoreRecord(
        identifier=store_id, provider_id="pgvector", embedding_model="m",
        embedding_dimension=dimension, object=store,
    )  # fmt: skip


def _unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, DIM))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _chunk(chunk_id: str, text: str, vector: np.ndarray, file_id: str, index: int) -> EmbeddedChunk:
    return EmbeddedChunk(
        content=text, chunk_id=chunk_id, metadata={"source": file_id},
        chunk_metadata=ChunkMetadata(file_id=file_id, chunk_index=index),
        embedding=vector.tolist(), embedding_model="m", embedding_dimension=DIM,
    )  # fmt: skip


TEXTS = [
    "The lighthouse keepers climbed 148 steps to the lamp.",
    "Herring fishers founded the town at the river mouth.",
    "Bees make honey from the nectar of heather flowers.",
    "The observatory counted 287 clear nights last year.",
]


@pytest.fixture
async def filled(
    pgvector_server: PostgresServer, pg_database: str, tmp_path: Path
) -> AsyncIterator[tuple[PGVectorVectorIO, np.ndarray, dict[str, Any]]]:
    """A provider with one store of four chunks: c0, c1 from file f1 (in reverse insertion
    order), c2, c3 from file f2."""
    config = _config(pgvector_server, pg_database)
    provider = await _provider(config, tmp_path)
    vectors = _unit_vectors(len(TEXTS))
    await provider.create_index(_record())
    await provider.create_index(_record())  # idempotent: called at every start
    files = ["f1", "f1", "f2", "f2"]
    indexes = [1, 0, 0, 1]
    chunks = [_chunk(f"c{i}", t, vectors[i], files[i], indexes[i]) for i, t in enumerate(TEXTS)]
    await provider.add_chunks(STORE, chunks)
    try:
        yield provider, vectors, config
    finally:
        await provider.shutdown()


async def test_vector_query_finds_the_exact_match_first(filled: Any) -> None:
    provider, vectors, _ = filled
    hits = await provider.query_vector(STORE, vectors[2].tolist(), 3)
    assert len(hits) == 3
    assert hits[0].chunk.chunk_id == "c2"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[0].score >= hits[1].score >= hits[2].score
    # Results carry the whole chunk, the embedding included.
    assert hits[0].chunk.content == TEXTS[2]
    assert hits[0].chunk.metadata == {"source": "f2"}
    assert hits[0].chunk.embedding == pytest.approx(vectors[2].tolist(), abs=1e-6)
    second = int(hits[1].chunk.chunk_id.removeprefix("c"))
    expected = float(vectors[2] @ vectors[second])
    assert hits[1].score == pytest.approx(expected, abs=1e-5)
    assert len(await provider.query_vector(STORE, vectors[0].tolist(), 100)) == 4


async def test_upsert_replaces_by_chunk_id(filled: Any) -> None:
    provider, _, _ = filled
    moved = _unit_vectors(1, seed=7)[0]
    await provider.add_chunks(STORE, [_chunk("c0", "Replaced text about comets", moved, "f1", 1)])
    hits = await provider.query_vector(STORE, moved.tolist(), 10)
    assert len(hits) == 4  # replaced, not added
    assert hits[0].chunk.chunk_id == "c0" and hits[0].chunk.content.startswith("Replaced")
    assert await provider.query_keyword(STORE, "lighthouse", 5) == []
    assert [h.chunk.chunk_id for h in await provider.query_keyword(STORE, "comets", 5)] == ["c0"]


async def test_keyword_query_matches_any_word(filled: Any) -> None:
    provider, _, _ = filled
    hits = await provider.query_keyword(STORE, "honey", 5)
    assert [h.chunk.chunk_id for h in hits] == ["c2"]
    assert hits[0].score > 0 and len(hits[0].chunk.embedding) == DIM
    # Any word may match (stemmed: "climbing" finds "climbed"); more matches rank higher.
    either = await provider.query_keyword(STORE, "climbing nights lamp", 5)
    assert [h.chunk.chunk_id for h in either] == ["c0", "c3"]
    assert either[0].score > either[1].score
    assert len(await provider.query_keyword(STORE, "the town honey observatory", 2)) == 2
    assert await provider.query_keyword(STORE, "zeppelin", 5) == []
    assert await provider.query_keyword(STORE, "the and of", 5) == []  # only stop words


@pytest.mark.parametrize(
    "query",
    [
        "'); DROP TABLE chunks; --",
        "honey' OR '1'='1",
        'he said "honey" & | ! ( ) : * <-> \\ $1 %s',
        "   ...   ",
        "",
    ],
)
async def test_keyword_query_is_safe_for_any_input(filled: Any, query: str) -> None:
    provider, _, _ = filled
    hits = await provider.query_keyword(STORE, query, 5)
    assert [h.chunk.chunk_id for h in hits] == (["c2"] if "honey" in query else [])
    assert len(await provider.query_vector(STORE, [1.0] + [0.0] * (DIM - 1), 10)) == 4


def test_tsquery_text_keeps_only_words() -> None:
    assert tsquery_text("Bees' honey; it's bees!") == "'bees' | 'honey' | 'it' | 's'"
    assert tsquery_text("a_b") == "'a' | 'b'"
    assert tsquery_text("?!") is None


async def test_deletes_and_file_order(filled: Any) -> None:
    provider, vectors, _ = filled
    assert [c.chunk_id for c in await provider.file_chunks(STORE, "f1")] == ["c1", "c0"]
    chunks = await provider.file_chunks(STORE, "f2")
    assert [c.chunk_id for c in chunks] == ["c2", "c3"]
    assert chunks[1].embedding == pytest.approx(vectors[3].tolist(), abs=1e-6)
    await provider.delete_chunks(STORE, ["c1", "nope"])
    assert [c.chunk_id for c in await provider.file_chunks(STORE, "f1")] == ["c0"]
    await provider.delete_file_chunks(STORE, "f2")
    assert await provider.file_chunks(STORE, "f2") == []
    hits = await provider.query_vector(STORE, vectors[2].tolist(), 10)
    assert [h.chunk.chunk_id for h in hits] == ["c0"]
    await provider.delete_index(STORE)
    with pytest.raises(NotFoundError, match="vs_test"):
        await provider.query_vector(STORE, vectors[0].tolist(), 1)
    await provider.create_index(_record())
    assert await provider.query_vector(STORE, vectors[0].tolist(), 5) == []


async def test_data_survives_a_new_provider(filled: Any, tmp_path: Path) -> None:
    provider, vectors, config = filled
    await provider.shutdown()
    # HNSW off this time: the exact scan must agree, and create_index must keep the rows.
    reopened = await _provider({**config, "hnsw": False}, tmp_path)
    try:
        # Known before create_index too: the dimension is read from the table.
        assert len(await reopened.query_vector(STORE, vectors[1].tolist(), 10)) == 4
        await reopened.create_index(_record())
        hits = await reopened.query_vector(STORE, vectors[1].tolist(), 1)
        assert hits[0].chunk.chunk_id == "c1"
        assert [h.chunk.chunk_id for h in await reopened.query_keyword(STORE, "bees", 5)] == ["c2"]
    finally:
        await reopened.shutdown()


async def test_wrong_dimension_is_a_bad_request(filled: Any) -> None:
    provider, _, _ = filled
    short = _unit_vectors(1)[0][:4]
    bad = EmbeddedChunk(
        content="x", chunk_id="bad", embedding=short.tolist(), embedding_model="m",
        embedding_dimension=4,
    )  # fmt: skip
    with pytest.raises(BadRequestError, match=r"4 dimensions.*takes 8"):
        await provider.add_chunks(STORE, [_chunk("ok", "fine", _unit_vectors(1)[0], "f3", 0), bad])
    assert await provider.file_chunks(STORE, "f3") == []  # all or nothing
    with pytest.raises(BadRequestError, match="takes 8"):
        await provider.query_vector(STORE, short.tolist(), 3)
    with pytest.raises(BadRequestError, match="NaN"):
        await provider.query_vector(STORE, [float("nan")] * DIM, 3)


async def test_more_results_than_hnsw_ef_search(filled: Any) -> None:
    # HNSW stops at ef_search rows (40 by default): the provider raises it, or scans exactly.
    provider, _, _ = filled
    many = _unit_vectors(120, seed=3)
    await provider.add_chunks(
        STORE, [_chunk(f"m{i}", "more", v, "many", i) for i, v in enumerate(many)]
    )
    assert len(await provider.query_vector(STORE, many[0].tolist(), 100)) == 100
    assert len(await provider.query_vector(STORE, many[0].tolist(), 5000)) == 124


async def test_missing_extension_is_named(postgres_server: PostgresServer, tmp_path: Path) -> None:
    # The distribution's PostgreSQL (the `postgres_server` fixture) has no pgvector.
    provider = await _provider(_config(postgres_server, "postgres"), tmp_path)
    with pytest.raises(ProviderError) as caught:
        await provider.create_index(_record())
    assert type(caught.value) is ProviderError
    assert "the pgvector extension is not installed in database 'postgres'" in str(caught.value)
    assert postgres_server.password not in str(caught.value)
    await provider.shutdown()


async def test_unreachable_server_is_unavailable_without_the_password(tmp_path: Path) -> None:
    password = "s3cret-" + secrets.token_hex(4)
    config = {"host": "127.0.0.1", "port": _closed_port(), "db": "x", "password": password}
    provider = await _provider(config, tmp_path)
    with pytest.raises(ProviderUnavailableError) as caught:
        await provider.create_index(_record())
    message = str(caught.value)
    assert f"127.0.0.1:{config['port']}" in message and password not in message
    await provider.shutdown()


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- a whole stack over pgvector

FILES = ["keldmouth_lighthouse_history.md", "orrin_ridge_observatory_annual_report_2023.pdf"]


@pytest.fixture
def stack_config(
    pgvector_server: PostgresServer, pg_database: str, tmp_path: Path
) -> dict[str, Any]:
    vector_io = [
        {
            "provider_id": "pgvector",
            "provider_type": "remote::pgvector",
            "config": _config(pgvector_server, pg_database),
        }
    ]
    config = rag_config(tmp_path, vector_io, vector_stores={"default_provider_id": "pgvector"})
    config["apis"] = ["inference", "files", "vector_io"]
    config["providers"].pop("tool_runtime", None)
    return config


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


def test_a_stack_searches_and_keeps_its_store(stack_config: dict[str, Any]) -> None:
    with Stack.from_config(stack_config) as stack:
        store = stack.vector_io.create_vector_store(name="pg")
        assert store.metadata["provider_id"] == "pgvector"
        for name in FILES:
            uploaded = stack.files.upload_file(str(CORPUS_DIR / name))
            result = stack.vector_io.attach_file(store.id, uploaded.id)
            assert result.status == "completed", result.last_error
        found = _answers_found(stack, store.id)
    asked = {q["id"] for q in questions() if q["file"] in FILES and q["kind"] == "keyword"}
    assert len(asked) >= 2
    for mode, ids in found.items():
        assert set(ids) == asked, f"{mode} search missed {asked - set(ids)}"
    with Stack.from_config(stack_config) as again:
        assert [s.id for s in again.vector_io.list_vector_stores().data] == [store.id]
        assert again.vector_io.retrieve_vector_store(store.id).file_counts.completed == 2
        assert _answers_found(again, store.id) == found
