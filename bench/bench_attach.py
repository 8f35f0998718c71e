"""Attaching a large file over HTTP: the request answers at once, indexing goes on behind it.

Our server (a process of its own: files, faiss, MiniLM) gets a 5 MB text file; each round times
`POST /v1/vector_stores/{id}/files` on a fresh store, then deletes the store (which stops its
indexing). The baseline in the same run is `GET /v1/files/{id}` of the same file: a request that
does no work. Goal: the attach answers in under 100 ms, status in_progress.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx
from _common import HERE, free_port  # type: ignore[import-not-found]
from bench_server import server  # type: ignore[import-not-found]

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SIZE = 5 * 1024 * 1024
CORPUS = HERE.parent / "tests" / "data" / "rag"

CONFIG = {
    "version": 2,
    "distro_name": "bench-attach",
    "apis": ["inference", "files", "vector_io"],
    "providers": {
        "inference": [
            {"provider_id": "st", "provider_type": "inline::sentence-transformers", "config": {}}
        ],
        "files": [{"provider_id": "localfs", "provider_type": "inline::localfs", "config": {}}],
        "vector_io": [{"provider_id": "faiss", "provider_type": "inline::faiss", "config": {}}],
    },
}


def big_text() -> bytes:
    """~5 MB of the test corpus' paragraphs, shuffled (real prose, not one repeated line)."""
    paragraphs = [
        p.strip()
        for path in sorted(CORPUS.glob("*.md")) + sorted(CORPUS.glob("*.txt"))
        for p in path.read_text().split("\n\n")
        if p.strip()
    ]
    rng, out, size = random.Random(7), [], 0
    while size < SIZE:
        paragraph = rng.choice(paragraphs)
        out.append(paragraph)
        size += len(paragraph.encode()) + 2
    return "\n\n".join(out).encode()[:SIZE]


def timed(call: Callable[[], httpx.Response]) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    response = call()
    return time.perf_counter() - t0, response


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "run.yaml"
        config.write_text(json.dumps({**CONFIG, "data_dir": f"{tmp}/data"}))
        port = free_port()
        cli = [str(Path(sys.executable).parent / "llama-workbench"), "stack", "run"]
        with server([*cli, str(config), "--port", str(port)], port):
            run_rounds(httpx.Client(base_url=f"http://127.0.0.1:{port}/v1", timeout=120))


def run_rounds(client: httpx.Client) -> None:
    body = big_text()
    file = client.post("/files", files={"file": ("big.txt", body)}, data={"purpose": "assistants"})
    file_id = file.raise_for_status().json()["id"]
    attach, read, statuses = [], [], []
    for _ in range(ROUNDS):
        store = client.post("/vector_stores", json={"name": "bench"}).raise_for_status().json()
        url = f"/vector_stores/{store['id']}/files"
        seconds, answer = timed(partial(client.post, url, json={"file_id": file_id}))
        attach.append(seconds)
        statuses.append(answer.raise_for_status().json()["status"])
        read.append(timed(partial(client.get, f"/files/{file_id}"))[0])
        client.delete(f"/vector_stores/{store['id']}").raise_for_status()  # stops its indexing
    a, r = statistics.median(attach) * 1000, statistics.median(read) * 1000
    print(f"attach a {len(body) / 1e6:.1f} MB file over HTTP ({ROUNDS} rounds, median)")
    print(f"  baseline: GET /v1/files/{{id}}             {r:8.1f} ms")
    print(f"  ours: POST /v1/vector_stores/{{id}}/files   {a:8.1f} ms   (goal < 100 ms)")
    print(f"  answered status: {', '.join(sorted(set(statuses)))}")
    print(f"  ratio ours / baseline                     {a / r:8.2f}x")


if __name__ == "__main__":
    main()
