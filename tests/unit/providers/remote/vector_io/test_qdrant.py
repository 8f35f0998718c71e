"""remote::qdrant in qdrant-client's local mode (the same client API, in-process), and its errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import MissingDependencyError, ProviderUnavailableError
from llama_workbench.providers.remote.vector_io.qdrant import create
from llama_workbench.providers.remote.vector_io.qdrant.config import QdrantVectorIOConfig
from llama_workbench.providers.remote.vector_io.qdrant.impl import QdrantVectorIO
from llama_workbench.providers.utils.vector_io import bm25, words
from tests.support.vector_contract import (
    STORE,
    Opener,
    VectorIOContract,
    check_stack_searches_and_keeps_its_store,
    corpus,
    free_port,
    make_chunk,
    record,
    stack_config,
    unit_vectors,
)


def _deps(data_dir: Path) -> ProviderDeps:
    return ProviderDeps(provider_id="qdrant", apis={}, storage=None, data_dir=data_dir)  # type: ignore[arg-type]


async def _provider(data_dir: Path, **config: Any) -> QdrantVectorIO:
    config = config or {"path": "qdrant"}
    impl = await create(QdrantVectorIOConfig.model_validate(config), _deps(data_dir))
    assert isinstance(impl, QdrantVectorIO)
    return impl


class TestQdrant(VectorIOContract):
    @pytest.fixture
    def open_provider(self, tmp_path: Path) -> Opener:
        return lambda **config: _provider(tmp_path, **config)


async def test_embeddings_keep_their_length(tmp_path: Path) -> None:
    # Qdrant normalizes vectors of cosine collections; the chunk must come back as it went in.
    impl = await _provider(tmp_path)
    await impl.create_index(record())
    vector = unit_vectors(1)[0] * 7.5
    await impl.add_chunks(STORE, [make_chunk("big", "long vector", vector, "f", 0)])
    (hit,) = await impl.query_vector(STORE, vector.tolist(), 1)
    assert hit.score == pytest.approx(1.0, abs=1e-5)
    assert hit.chunk.embedding == pytest.approx(vector.tolist(), rel=1e-5)
    await impl.shutdown()


async def test_local_data_lives_under_the_data_dir(tmp_path: Path) -> None:
    impl = await _provider(tmp_path)
    await impl.create_index(record())
    await impl.add_chunks(STORE, corpus(unit_vectors(4)))
    await impl.shutdown()
    assert (tmp_path / "qdrant").is_dir()  # relative to the data dir


def test_bm25_ranks_rare_words_and_short_documents_higher() -> None:
    docs = {"a": words("cat dog"), "b": words("cat cat dog bird fish"), "c": words("dog")}
    scores = bm25(["cat", "dog"], docs, n_docs=10)
    assert scores["a"] > scores["b"] > scores["c"] > 0
    assert bm25(["owl"], docs, n_docs=10) == {}
    assert bm25(["cat"], {}, n_docs=0) == {}


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
@pytest.mark.parametrize("grpc", [False, True])
async def test_unreachable_server(tmp_path: Path, grpc: bool) -> None:
    secret = "sk-qdrant-secret-123"
    port = free_port()
    impl = await _provider(
        tmp_path,
        url=f"http://127.0.0.1:{port}",
        api_key=secret,
        prefer_grpc=grpc,
        grpc_port=port,
        timeout=5,
    )  # construction does not connect: a stack builds while the server is down
    with pytest.raises(ProviderUnavailableError) as err:
        await impl.create_index(record())
    assert "Qdrant at http://127.0.0.1" in str(err.value) and secret not in str(err.value)
    assert err.value.status_code == 503
    await impl.shutdown()


def test_config_needs_exactly_one_location() -> None:
    with pytest.raises(ValidationError, match="neither is set"):
        QdrantVectorIOConfig.model_validate({"url": "", "path": ""})
    with pytest.raises(ValidationError, match="both are set"):
        QdrantVectorIOConfig.model_validate({"url": "http://localhost:6333", "path": "q"})
    with pytest.raises(ValidationError, match="collection_prefix"):
        QdrantVectorIOConfig.model_validate({"path": "q", "collection_prefix": "bad name/"})
    config = QdrantVectorIOConfig.model_validate({"url": "http://q:6333", "api_key": "k"})
    assert "k" not in repr(config.api_key) and config.path is None


async def test_missing_qdrant_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "qdrant_client", None)  # `import qdrant_client` now fails
    with pytest.raises(MissingDependencyError, match=r"pip install 'llama-workbench\[qdrant\]'"):
        await _provider(tmp_path)


@pytest.mark.slow
def test_a_stack_searches_and_keeps_its_store(tmp_path: Path) -> None:
    config = stack_config(tmp_path, "qdrant", "remote::qdrant", {"path": "q"})
    check_stack_searches_and_keeps_its_store(config, "qdrant")
