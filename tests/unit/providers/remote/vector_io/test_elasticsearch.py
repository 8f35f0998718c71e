"""remote::elasticsearch through the official client, against a server on 127.0.0.1 speaking
Elasticsearch's REST API (tests/support/elasticsearch_server.py: no Elasticsearch server can be
installed here), and a replayed cassette in the shapes Elasticsearch documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import NotFoundError, ProviderError, ProviderUnavailableError
from llama_workbench.providers.remote.vector_io.elasticsearch import create
from llama_workbench.providers.remote.vector_io.elasticsearch.config import (
    ElasticsearchVectorIOConfig,
)
from llama_workbench.providers.remote.vector_io.elasticsearch.impl import ElasticsearchVectorIO
from tests.support.elasticsearch_server import ElasticsearchServer
from tests.support.replay_server import ReplayServer
from tests.support.vector_contract import Opener, VectorIOContract, free_port, make_chunk, record

pytest.importorskip("elasticsearch", reason="remote::elasticsearch needs the elasticsearch extra")
# Each cassette says in its "comment" which shapes come from Elasticsearch's documentation.
CASSETTES = Path(__file__).parents[4] / "data" / "cassettes" / "elasticsearch"
KEY = "ZXNfaWQ6ZXNfc2VjcmV0X2tleQ=="  # an API key as Elasticsearch encodes them (base64 id:key)


@pytest.fixture(scope="module")
def es_server() -> Iterator[ElasticsearchServer]:
    with ElasticsearchServer(api_key=KEY) as server:
        yield server


async def es_provider(tmp_path: Path, **config: Any) -> ElasticsearchVectorIO:
    deps = ProviderDeps(provider_id="es", apis={}, storage=None, data_dir=tmp_path)  # type: ignore[arg-type]
    impl = await create(ElasticsearchVectorIOConfig.model_validate(config), deps)
    assert isinstance(impl, ElasticsearchVectorIO)
    return impl


class TestElasticsearch(VectorIOContract):
    @pytest.fixture
    def open_provider(self, es_server: ElasticsearchServer, tmp_path: Path) -> Opener:
        es_server.indices.clear()
        config = {"elasticsearch_url": es_server.url, "elasticsearch_api_key": KEY}
        return lambda **extra: es_provider(tmp_path, **(config | extra))


async def test_a_wrong_api_key_is_a_provider_error_without_it(
    es_server: ElasticsearchServer, tmp_path: Path
) -> None:
    impl = await es_provider(
        tmp_path, elasticsearch_url=es_server.url, elasticsearch_api_key="bad-key-123"
    )
    with pytest.raises(ProviderError) as err:
        await impl.create_index(record())
    assert err.value.upstream_status == 401 and "refused the API key" in str(err.value)
    assert "bad-key-123" not in str(err.value)
    await impl.shutdown()


async def test_unreachable_cluster(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    impl = await es_provider(
        tmp_path, elasticsearch_url=url, elasticsearch_api_key="k-secret", timeout=2
    )
    with pytest.raises(ProviderUnavailableError) as err:
        await impl.create_index(record())
    assert f"Elasticsearch at {url}" in str(err.value) and "k-secret" not in str(err.value)
    await impl.shutdown()


def test_config_keys_are_llama_stacks() -> None:
    config = ElasticsearchVectorIOConfig.model_validate(
        {"elasticsearch_url": "localhost:9200", "elasticsearch_api_key": ""}
    )
    assert (
        config.elasticsearch_url == "http://localhost:9200" and config.elasticsearch_api_key is None
    )
    hosted = ElasticsearchVectorIOConfig.model_validate(
        {"elasticsearch_url": "my-es.cloud.es.io:443"}
    )
    assert hosted.elasticsearch_url == "https://my-es.cloud.es.io:443"
    with pytest.raises(ValidationError, match="persistence"):
        ElasticsearchVectorIOConfig.model_validate({"persistence": {"backend": "kv_default"}})


async def test_replayed_cassette_in_the_documented_shapes(tmp_path: Path) -> None:
    """Requests checked against, and answers taken from, tests/data/cassettes/elasticsearch."""
    with ReplayServer(CASSETTES / "vector_store_lifecycle.json") as replay:
        impl = await es_provider(tmp_path, elasticsearch_url=replay.url)
        await impl.create_index(record("vs_cassette", dimension=3))
        chunks = [
            make_chunk("c0", "The lighthouse keepers climbed 148 steps.", np.array([1.0, 0.0, 0.0]), "f1", 0),
            make_chunk("c1", "Herring boats unload at the north quay.", np.array([0.6, 0.8, 0.0]), "f1", 1),
        ]  # fmt: skip
        await impl.add_chunks("vs_cassette", chunks)
        hits = await impl.query_vector("vs_cassette", [1.0, 0.0, 0.0], 2)
        assert [(h.chunk.chunk_id, round(h.score, 6)) for h in hits] == [("c0", 1.0), ("c1", 0.6)]
        assert hits[1].chunk.embedding == [0.6, 0.8, 0.0]
        words = await impl.query_keyword("vs_cassette", "Herring? quay!", 5)
        assert [(h.chunk.chunk_id, h.score) for h in words] == [("c1", 1.3862942)]
        assert [c.chunk_id for c in await impl.file_chunks("vs_cassette", "f1")] == ["c0", "c1"]
        await impl.delete_index("vs_cassette")
        with pytest.raises(NotFoundError, match="vs_cassette"):
            await impl.query_vector("vs_cassette", [1.0, 0.0, 0.0], 2)
        await impl.shutdown()
    assert replay.mismatches == [] and replay.done()
