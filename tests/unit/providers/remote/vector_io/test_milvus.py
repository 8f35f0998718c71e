"""inline::milvus on Milvus Lite (the Milvus engine in this process, from its PyPI package).

The same provider serves remote::milvus; tests/integration/test_milvus_server.py runs it against
a Milvus Lite server on 127.0.0.1 over Milvus's gRPC protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from llama_workbench import Stack
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import BadRequestError, ConflictError
from llama_workbench.providers.inline.vector_io.milvus import create
from llama_workbench.providers.inline.vector_io.milvus.config import MilvusLiteVectorIOConfig
from llama_workbench.providers.remote.vector_io.milvus.config import MilvusVectorIOConfig
from llama_workbench.providers.remote.vector_io.milvus.impl import MilvusVectorIO
from tests.support.vector_contract import (
    Opener,
    VectorIOContract,
    make_chunk,
    record,
    stack_config,
    unit_vectors,
)

pytest.importorskip("milvus_lite", reason="inline::milvus needs the milvus extra")


async def lite_provider(data_dir: Path, **config: Any) -> MilvusVectorIO:
    deps = ProviderDeps(provider_id="milvus", apis={}, storage=None, data_dir=data_dir)  # type: ignore[arg-type]
    impl = await create(MilvusLiteVectorIOConfig.model_validate(config), deps)
    assert isinstance(impl, MilvusVectorIO)
    return impl


async def drop_all(open_provider: Opener) -> None:
    """Every collection of the shared database dropped (one Milvus Lite per module)."""
    impl = await open_provider()
    client = await impl._get_client()
    for name in client.list_collections():
        client.drop_collection(name)
    await impl.shutdown()


@pytest.fixture(scope="module")
def lite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("milvus-lite")


class TestMilvusLite(VectorIOContract):
    @pytest.fixture
    async def open_provider(self, lite_dir: Path) -> AsyncIterator[Opener]:
        def opener(**config: Any) -> Any:
            return lite_provider(lite_dir, **config)

        await drop_all(opener)  # each test starts from an empty database
        yield opener


async def test_keyword_scores_are_milvus_bm25(lite_dir: Path) -> None:
    """The shorter chunk with a term scores higher (BM25's length normalization), both > 0."""
    impl = await lite_provider(lite_dir)
    await impl.create_index(record("vs_bm25"))
    vectors = unit_vectors(3)
    await impl.add_chunks("vs_bm25", [
        make_chunk("short", "comet tails", vectors[0], "f", 0),
        make_chunk("long", "a comet seen over the quiet harbour at night", vectors[1], "f", 1),
        make_chunk("none", "herring boats", vectors[2], "f", 2),
    ])  # fmt: skip
    hits = await impl.query_keyword("vs_bm25", "COMET", 5)
    assert [h.chunk.chunk_id for h in hits] == ["short", "long"]
    assert hits[0].score > hits[1].score > 0
    await impl.delete_index("vs_bm25")
    await impl.shutdown()


async def test_oversized_chunks_are_refused_before_any_write(lite_dir: Path) -> None:
    impl = await lite_provider(lite_dir)
    await impl.create_index(record("vs_big"))
    vector = unit_vectors(1)[0]
    ok = make_chunk("ok", "fine", vector, "f", 0)
    big = make_chunk("big", "x" * 70_000, vector, "f", 1)
    with pytest.raises(BadRequestError, match="'big': its content is 70000 bytes"):
        await impl.add_chunks("vs_big", [ok, big])
    assert await impl.file_chunks("vs_big", "f") == []
    await impl.delete_index("vs_big")
    await impl.shutdown()


async def test_a_foreign_collection_is_a_conflict(lite_dir: Path) -> None:
    impl = await lite_provider(lite_dir)
    client = await impl._get_client()
    name = impl._name("vs_foreign")
    client.create_collection(name, dimension=8, metric_type="L2")
    with pytest.raises(ConflictError, match="already exists"):
        await impl.create_index(record("vs_foreign"))
    client.drop_collection(name)
    await impl.shutdown()


def test_config_keys_are_llama_stacks() -> None:
    lite = MilvusLiteVectorIOConfig.model_validate({"db_path": "/x/milvus.db"})
    assert lite.consistency_level == "Strong"
    with pytest.raises(ValidationError, match=r"\.db"):
        MilvusLiteVectorIOConfig.model_validate({"db_path": "/x/milvus"})
    with pytest.raises(ValidationError, match="consistency_level"):
        MilvusLiteVectorIOConfig.model_validate({"consistency_level": "Sometimes"})
    remote = MilvusVectorIOConfig.model_validate(
        {"uri": "http://m:19530", "token": "", "db_name": "rag", "secure": False}
    )
    assert remote.token is None and remote.client_settings() == {"db_name": "rag", "secure": False}
    with pytest.raises(ValidationError, match=r"unknown setting.*colour"):
        MilvusVectorIOConfig.model_validate({"uri": "http://m:19530", "colour": "red"})
    with pytest.raises(ValidationError, match="inline::milvus"):
        MilvusVectorIOConfig.model_validate({"uri": "./milvus.db"})


NOTES = """# Keldmouth notes

## The lighthouse
The Keldmouth lighthouse keepers climbed 148 steps to the lamp every evening at dusk.

## The orchard
Quince trees in the walled orchard fruit in late October; the jelly is sold at the fair.

## The harbour
Herring boats unload at the north quay before dawn, and the auction starts at six.
"""


def _top_texts(stack: Stack, store_id: str, query: str) -> dict[str, str]:
    found = {}
    for mode in ("vector", "keyword", "hybrid"):
        page = stack.vector_io.search_vector_store(store_id, query, search_mode=mode)
        assert page.data, f"{mode} search found nothing"
        found[mode] = page.data[0].content[0].text
    return found


@pytest.mark.slow
def test_a_stack_searches_in_every_mode_and_keeps_its_store(tmp_path: Path) -> None:
    """Real embeddings (MiniLM in-process), a file chunked per section, a restart."""
    config = stack_config(tmp_path, "milvus", "inline::milvus", {"db_path": "milvus.db"})
    strategy = {
        "type": "static",
        "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0},
    }
    with Stack.from_config(config) as stack:
        store = stack.vector_io.create_vector_store(name="milvus")
        assert store.metadata["provider_id"] == "milvus"
        uploaded = stack.files.upload_file(NOTES.encode(), filename="notes.md")
        result = stack.vector_io.attach_file(store.id, uploaded.id, chunking_strategy=strategy)
        assert result.status == "completed", result.last_error
        found = _top_texts(stack, store.id, "When do the quince trees fruit?")
        assert all("October" in text for text in found.values()), found
    with Stack.from_config(config) as again:
        assert [s.id for s in again.vector_io.list_vector_stores().data] == [store.id]
        assert _top_texts(again, store.id, "When do the quince trees fruit?") == found
        hits = _top_texts(again, store.id, "herring auction")
        assert all("north quay" in text for text in hits.values()), hits
