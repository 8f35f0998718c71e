"""remote::pgvector against a real PostgreSQL with pgvector: the provider, then a whole stack."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import ProviderError, ProviderUnavailableError
from llama_workbench.providers.remote.vector_io.pgvector import create
from llama_workbench.providers.remote.vector_io.pgvector.config import PGVectorVectorIOConfig
from llama_workbench.providers.remote.vector_io.pgvector.impl import (
    PGVectorVectorIO,
    tsquery_text,
)
from tests.integration.postgres_server import PostgresServer, fresh_database, pgvector_server
from tests.support.vector_contract import (
    DIM,
    STORE,
    TEXTS,
    Opener,
    VectorIOContract,
    check_stack_searches_and_keeps_its_store,
    free_port,
    ids,
    make_chunk,
    record,
    stack_config,
    unit_vectors,
)

pytestmark = pytest.mark.postgres
__all__ = ["pgvector_server"]  # the session fixture, imported so pytest finds it here


@pytest.fixture
async def pg_database(pgvector_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh database per test, dropped afterwards (connections and all)."""
    async with fresh_database(pgvector_server) as name:
        yield name


async def _provider(config: dict[str, Any], tmp_path: Path) -> PGVectorVectorIO:
    deps = ProviderDeps(provider_id="pgvector", apis={}, storage=None, data_dir=tmp_path)  # type: ignore[arg-type]
    impl = await create(PGVectorVectorIOConfig.model_validate(config), deps)
    assert isinstance(impl, PGVectorVectorIO)
    return impl


class TestPGVector(VectorIOContract):
    keeps_stop_words = False  # the english text search configuration drops them
    reopen_config = {"hnsw": False}  # the exact scan must agree with HNSW

    @pytest.fixture
    def open_provider(
        self, pgvector_server: PostgresServer, pg_database: str, tmp_path: Path
    ) -> Opener:
        config = pgvector_server.connection(pg_database)
        return lambda **extra: _provider({**config, **extra}, tmp_path)

    async def test_keyword_query_stems_and_drops_stop_words(self, open_provider: Opener) -> None:
        provider = await open_provider()
        await provider.create_index(record())
        texts = [*TEXTS[:3], "The observatory counted 287 clear nights last year."]
        vectors = unit_vectors(len(texts))
        chunks = [make_chunk(f"c{i}", t, vectors[i], "f", i) for i, t in enumerate(texts)]
        await provider.add_chunks(STORE, chunks)
        try:
            hits = await provider.query_keyword(STORE, "honey", 5)
            assert ids(hits) == ["c2"]
            assert hits[0].score > 0 and len(hits[0].chunk.embedding) == DIM
            # Any word may match (stemmed: "climbing" finds "climbed"); more matches rank higher.
            either = await provider.query_keyword(STORE, "climbing nights lamp", 5)
            assert ids(either) == ["c0", "c3"]
            assert either[0].score > either[1].score
            assert len(await provider.query_keyword(STORE, "the town honey observatory", 2)) == 2
            assert await provider.query_keyword(STORE, "zeppelin", 5) == []
            assert await provider.query_keyword(STORE, "the and of", 5) == []  # only stop words
        finally:
            await provider.shutdown()

    async def test_more_results_than_hnsw_ef_search(self, filled: Any) -> None:
        # HNSW stops at ef_search rows (40 by default): the provider raises it, or scans exactly.
        provider, _ = filled
        many = unit_vectors(120, seed=3)
        await provider.add_chunks(
            STORE, [make_chunk(f"m{i}", "more", v, "many", i) for i, v in enumerate(many)]
        )
        assert len(await provider.query_vector(STORE, many[0].tolist(), 100)) == 100
        assert len(await provider.query_vector(STORE, many[0].tolist(), 5000)) == 124


def test_tsquery_text_keeps_only_words() -> None:
    assert tsquery_text("Bees' honey; it's bees!") == "'bees' | 'honey' | 'it' | 's'"
    assert tsquery_text("a_b") == "'a' | 'b'"
    assert tsquery_text("?!") is None


async def test_missing_extension_is_named(postgres_server: PostgresServer, tmp_path: Path) -> None:
    # The distribution's PostgreSQL (the `postgres_server` fixture) has no pgvector.
    provider = await _provider(postgres_server.connection("postgres"), tmp_path)
    with pytest.raises(ProviderError) as caught:
        await provider.create_index(record())
    assert type(caught.value) is ProviderError
    assert "the pgvector extension is not installed in database 'postgres'" in str(caught.value)
    assert postgres_server.password not in str(caught.value)
    await provider.shutdown()


async def test_unreachable_server_is_unavailable_without_the_password(tmp_path: Path) -> None:
    password = "s3cret-" + secrets.token_hex(4)
    config = {"host": "127.0.0.1", "port": free_port(), "db": "x", "password": password}
    provider = await _provider(config, tmp_path)
    with pytest.raises(ProviderUnavailableError) as caught:
        await provider.create_index(record())
    message = str(caught.value)
    assert f"127.0.0.1:{config['port']}" in message and password not in message
    await provider.shutdown()


def test_a_stack_searches_and_keeps_its_store(
    pgvector_server: PostgresServer, pg_database: str, tmp_path: Path
) -> None:
    connection = pgvector_server.connection(pg_database)
    config = stack_config(tmp_path, "pgvector", "remote::pgvector", connection)
    check_stack_searches_and_keeps_its_store(config, "pgvector")
