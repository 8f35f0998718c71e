"""Bulk ingestion on a real local Ray cluster: parse, chunk and embed on workers, insert here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llama_workbench import Stack
from tests.support.rag import corpus_files, rag_config
from tests.support.ray_cluster import RayCluster
from tests.support.waiting import wait_for

pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # the embedding model loads in a Ray worker

FAISS = [{"provider_id": "faiss", "provider_type": "inline::faiss", "config": {}}]
QUERIES = ["When was the lighthouse first lit?", "How many legs do spiders have?", "train fares"]
FILES = [p for p in corpus_files() if p.suffix in (".md", ".txt", ".pdf", ".docx")][:3]


def ingest(stack: Stack) -> tuple[list[Any], list[list[tuple[str, float, str]]]]:
    store = stack.vector_io.create_vector_store(name="bulk")
    ids = [stack.files.upload_file(str(path)).id for path in FILES]
    batch = stack.vector_io.create_file_batch(store.id, ids)
    ended = wait_for(
        lambda: stack.vector_io.retrieve_file_batch(store.id, batch.id),
        lambda b: b.status != "in_progress",
        240,
    )
    assert ended.status == "completed", ended
    files = stack.vector_io.list_files_in_file_batch(store.id, batch.id).data
    names = {i: p.name for i, p in zip(ids, FILES, strict=True)}
    results = []
    for query in QUERIES:
        page = stack.vector_io.search_vector_store(store.id, query, max_num_results=5)
        results.append(
            [(names[r.file_id], round(r.score, 5), r.content[0].text) for r in page.data]
        )
    return files, results


def test_bulk_ingestion_on_ray_equals_in_process(
    ray_head: RayCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llama_workbench.core.vector_stores import files

    ran: list[int] = []
    on_ray = files.ingest_on_ray

    async def counted(router: Any, engine: Any, entries: list[Any], *rest: Any) -> None:
        ran.append(len(entries))
        await on_ray(router, engine, entries, *rest)

    monkeypatch.setattr(files, "ingest_on_ray", counted)
    with Stack.from_config(rag_config(tmp_path / "local", FAISS)) as local:
        local_files, expected = ingest(local)
    execution = {"engine": "ray", "address": ray_head.address, "num_workers": 1}
    with Stack.from_config(rag_config(tmp_path / "ray", FAISS, execution=execution)) as distributed:
        ray_files, got = ingest(distributed)
    assert ran == [len(FILES)]  # the batch ran on Ray (the in-process one did not)
    assert [f.status for f in ray_files] == ["completed"] * len(FILES)
    chunks = lambda files: sorted((f.usage_bytes, f.status) for f in files)  # noqa: E731
    assert chunks(ray_files) == chunks(local_files)
    assert got == expected and all(got)
