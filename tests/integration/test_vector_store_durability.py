"""Stores survive restarts, and a process killed mid-ingest leaves no half-indexed file behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from llama_workbench import Stack
from tests.support.rag import answered, corpus_files, questions, rag_config

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

_INGEST = """
import json, sys
from llama_workbench import Stack
config = json.loads(sys.argv[1])
stack = Stack.from_config(config)
store = stack.vector_io.create_vector_store(name="big", provider_id=sys.argv[2])
uploaded = stack.files.upload_file(sys.argv[3])
print(json.dumps({"store": store.id, "file": uploaded.id}), flush=True)
def report(p):
    if p.stage == "embedding" and p.chunks_done >= 64:
        print("INDEXING", flush=True)
stack.vector_io.attach_file(store.id, uploaded.id, on_progress=report)
print("FINISHED", flush=True)
"""


@pytest.mark.parametrize("provider", ["faiss", "sqlite-vec"])
def test_search_survives_a_restart(tmp_path: Path, provider: str) -> None:
    config = rag_config(tmp_path)
    q = next(q for q in questions() if q["file"].endswith(".md"))
    with Stack.from_config(config) as stack:
        store = stack.vector_io.create_vector_store(name="persist", provider_id=provider)
        path = next(p for p in corpus_files() if p.name == q["file"])
        stack.vector_io.attach_file(store.id, stack.files.upload_file(str(path)).id)
        before = stack.vector_io.search_vector_store(store.id, q["question"], search_mode="hybrid")
    with Stack.from_config(config) as stack:
        after = stack.vector_io.search_vector_store(store.id, q["question"], search_mode="hybrid")
        assert [r.content[0].text for r in after.data] == [r.content[0].text for r in before.data]
        assert any(answered(q, r.filename, r.content[0].text) for r in after.data)
        assert stack.vector_io.retrieve_vector_store(store.id).file_counts.completed == 1


@pytest.mark.parametrize("provider", ["faiss", "sqlite-vec"])
def test_killed_mid_ingest_then_retried(tmp_path: Path, provider: str) -> None:
    config = rag_config(tmp_path / "data")
    big = tmp_path / "big.md"
    text = "\n\n".join(p.read_text() for p in corpus_files() if p.suffix in (".md", ".txt"))
    big.write_text("\n\n".join([text] * 2))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _INGEST, json.dumps(config), provider, str(big)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        ids = json.loads(proc.stdout.readline())
        assert proc.stdout.readline().strip() == "INDEXING"  # some batches are in
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with Stack.from_config(config) as stack:
        file = stack.vector_io.retrieve_vector_store_file(ids["store"], ids["file"])
        assert file.status == "failed" and "interrupted" in file.last_error.message
        # No partial chunks: the interrupted file contributes nothing to search.
        page = stack.vector_io.search_vector_store(
            ids["store"], "lighthouse", search_mode="keyword"
        )
        assert page.data == []
        retried = stack.vector_io.attach_file(ids["store"], ids["file"])
        assert retried.status == "completed", retried.last_error
        contents = stack.vector_io.retrieve_vector_store_file_contents(ids["store"], ids["file"])
        indexes = [c.chunk_metadata.chunk_index for c in contents.data]
        assert indexes == list(range(len(indexes))) and len(indexes) > 64
