"""Stores survive restarts, and a file whose process was killed mid-ingest resumes where it stopped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from llama_workbench import Stack
from tests.support.rag import answered, corpus_files, questions, rag_config
from tests.support.waiting import wait_for

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


def _committed(data_dir: Path, provider: str, file_id: str) -> set[tuple[int, str]]:
    """(rowid, chunk id) of the file's chunks in the provider's SQLite chunk store, read raw."""
    name = {"faiss": "faiss.db", "sqlite-vec": "sqlite_vec.db"}[provider]
    with contextlib.closing(sqlite3.connect(data_dir / "vector_io" / name)) as conn:
        rows = conn.execute("SELECT rowid, chunk_id FROM chunks WHERE file_id = ?", (file_id,))
        return set(rows.fetchall())


@pytest.mark.parametrize("provider", ["faiss", "sqlite-vec"])
def test_killed_mid_ingest_then_resumed(tmp_path: Path, provider: str) -> None:
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
    before = _committed(tmp_path / "data", provider, ids["file"])
    assert len(before) >= 64
    with Stack.from_config(config) as stack:
        # The restarted stack resumes the file by itself, in the background.
        file = wait_for(
            lambda: stack.vector_io.retrieve_vector_store_file(ids["store"], ids["file"]),
            lambda f: f.status != "in_progress",
            limit_s=600,
        )
        assert file.status == "completed", file.last_error
        resumed = stack.vector_io.retrieve_vector_store_file_contents(
            ids["store"], ids["file"], include_metadata=True
        )
        # What was committed before the kill was kept, not indexed again.
        assert before <= _committed(tmp_path / "data", provider, ids["file"])
        # The same chunks as an uninterrupted run of the same file.
        fresh = stack.vector_io.create_vector_store(name="fresh", provider_id=provider)
        again = stack.vector_io.attach_file(fresh.id, ids["file"])
        assert again.status == "completed" and again.usage_bytes == file.usage_bytes
        whole = stack.vector_io.retrieve_vector_store_file_contents(
            fresh.id, ids["file"], include_metadata=True
        )
        key = [(c.chunk_metadata.chunk_index, c.text) for c in resumed.data]
        assert key == [(c.chunk_metadata.chunk_index, c.text) for c in whole.data]
        assert [i for i, _ in key] == list(range(len(key))) and len(key) > len(before)
