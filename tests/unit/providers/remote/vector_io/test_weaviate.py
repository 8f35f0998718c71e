"""remote::weaviate over Weaviate's REST and GraphQL API, against a server on 127.0.0.1 speaking
them (tests/support/weaviate_server.py: no Weaviate server can be installed here), and a
replayed cassette in the shapes Weaviate documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import NotFoundError, ProviderError, ProviderUnavailableError
from llama_workbench.providers.remote.vector_io.weaviate import create
from llama_workbench.providers.remote.vector_io.weaviate.config import WeaviateVectorIOConfig
from llama_workbench.providers.remote.vector_io.weaviate.impl import WeaviateVectorIO
from tests.support.replay_server import ReplayServer
from tests.support.vector_contract import (
    Opener,
    VectorIOContract,
    free_port,
    make_chunk,
    record,
    unit_vectors,
)
from tests.support.weaviate_server import WeaviateServer

# Each cassette says in its "comment" which shapes come from Weaviate's documentation.
CASSETTES = Path(__file__).parents[4] / "data" / "cassettes" / "weaviate"
KEY = "wv-test-key"


@pytest.fixture(scope="module")
def weaviate() -> Iterator[WeaviateServer]:
    with WeaviateServer(api_key=KEY) as server:
        yield server


async def wv_provider(tmp_path: Path, **config: Any) -> WeaviateVectorIO:
    deps = ProviderDeps(provider_id="wv", apis={}, storage=None, data_dir=tmp_path)  # type: ignore[arg-type]
    impl = await create(WeaviateVectorIOConfig.model_validate(config), deps)
    assert isinstance(impl, WeaviateVectorIO)
    return impl


class TestWeaviate(VectorIOContract):
    @pytest.fixture
    def open_provider(self, weaviate: WeaviateServer, tmp_path: Path) -> Opener:
        weaviate.classes.clear()
        config = {"weaviate_cluster_url": weaviate.url, "weaviate_api_key": KEY}
        return lambda **extra: wv_provider(tmp_path, **(config | extra))


async def test_embeddings_keep_their_length(weaviate: WeaviateServer, tmp_path: Path) -> None:
    # Weaviate normalizes vectors of cosine classes; the chunk must come back as it went in.
    impl = await wv_provider(tmp_path, weaviate_cluster_url=weaviate.url, weaviate_api_key=KEY)
    await impl.create_index(record("vs_len"))
    vector = unit_vectors(1)[0] * 7.5
    await impl.add_chunks("vs_len", [make_chunk("big", "long vector", vector, "f", 0)])
    (hit,) = await impl.query_vector("vs_len", vector.tolist(), 1)
    assert hit.score == pytest.approx(1.0, abs=1e-6)
    assert hit.chunk.embedding == pytest.approx(vector.tolist(), rel=1e-6)
    await impl.delete_index("vs_len")
    await impl.shutdown()


async def test_a_wrong_api_key_is_a_provider_error_without_it(
    weaviate: WeaviateServer, tmp_path: Path
) -> None:
    impl = await wv_provider(
        tmp_path, weaviate_cluster_url=weaviate.url, weaviate_api_key="bad-123"
    )
    with pytest.raises(ProviderError) as err:
        await impl.create_index(record())
    assert err.value.upstream_status == 401 and "weaviate_api_key" in str(err.value)
    assert "bad-123" not in str(err.value)
    await impl.shutdown()


async def test_unreachable_server(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    impl = await wv_provider(tmp_path, weaviate_cluster_url=url, weaviate_api_key="k-secret")
    with pytest.raises(ProviderUnavailableError) as err:
        await impl.create_index(record())
    assert f"Weaviate at {url}" in str(err.value) and "k-secret" not in str(err.value)
    await impl.shutdown()


def test_config_keys_are_llama_stacks() -> None:
    local = WeaviateVectorIOConfig.model_validate(
        {"weaviate_cluster_url": "localhost:8080", "weaviate_api_key": None}
    )
    assert local.weaviate_cluster_url == "http://localhost:8080"
    cloud = WeaviateVectorIOConfig.model_validate({"weaviate_cluster_url": "abc.weaviate.cloud"})
    assert cloud.weaviate_cluster_url == "https://abc.weaviate.cloud"
    with pytest.raises(ValidationError, match="persistence"):
        WeaviateVectorIOConfig.model_validate({"persistence": {"backend": "kv_default"}})


async def test_replayed_cassette_in_the_documented_shapes(tmp_path: Path) -> None:
    """Requests checked against, and answers taken from, tests/data/cassettes/weaviate."""
    with ReplayServer(CASSETTES / "vector_store_lifecycle.json") as replay:
        impl = await wv_provider(tmp_path, weaviate_cluster_url=replay.url, weaviate_api_key=KEY)
        await impl.create_index(record("vs_cassette", dimension=3))
        chunks = [
            make_chunk("c0", "The lighthouse keepers climbed 148 steps.", np.array([1.0, 0.0, 0.0]), "f1", 0),
            make_chunk("c1", "Herring boats unload at the north quay.", np.array([0.6, 0.8, 0.0]), "f1", 1),
        ]  # fmt: skip
        await impl.add_chunks("vs_cassette", chunks)
        hits = await impl.query_vector("vs_cassette", [1.0, 0.0, 0.0], 2)
        assert [(h.chunk.chunk_id, round(h.score, 6)) for h in hits] == [("c0", 1.0), ("c1", 0.6)]
        assert hits[1].chunk.embedding == pytest.approx([0.6, 0.8, 0.0])
        words = await impl.query_keyword("vs_cassette", "Herring? quay!", 5)
        assert [(h.chunk.chunk_id, h.score) for h in words] == [("c1", 1.3862942)]
        assert [c.chunk_id for c in await impl.file_chunks("vs_cassette", "f1")] == ["c0", "c1"]
        await impl.delete_file_chunks("vs_cassette", "f1")
        await impl.delete_index("vs_cassette")
        with pytest.raises(NotFoundError, match="vs_cassette"):
            await impl.query_vector("vs_cassette", [1.0, 0.0, 0.0], 2)
        await impl.shutdown()
    assert replay.mismatches == [] and replay.done()
