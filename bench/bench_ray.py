"""Ray on one machine: eval rows/s and ingestion chunks/s, in-process against Ray (same run).

Eval: a stub model server answering every chat call after 50 ms, BENCH_RAY_ROWS rows (64);
in-process at concurrency 1 and 4, then on Ray with 1, 2 and 4 actors (each actor answers one
row at a time). Ingestion: the RAG corpus files into a faiss store (MiniLM), in-process, then
on Ray with 1 and 2 actors. Ray is a local cluster started here (`ray start --head`, 2 CPUs, as
the tests start it); every Ray figure includes its job's start: the actor pool (worker processes
importing the package and building their stack), which is what a job pays on a cluster too.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import fast_stub  # type: ignore[import-not-found]
from bench_eval import remote_config, timed_job  # type: ignore[import-not-found]

from llama_workbench import Stack

ROWS = int(os.environ.get("BENCH_RAY_ROWS", "64"))
LATENCY_MS = 50
ROOT = Path(__file__).resolve().parents[1]


ADDRESS = ""  # the cluster main() starts


def ray_section(workers: int) -> dict[str, Any]:
    return {
        "engine": "ray",
        "address": ADDRESS,
        "num_workers": workers,
        "resources_per_worker": {"CPU": 2 / max(workers, 2)},  # 4 actors share 2 cores
        "connect_timeout_s": 300,
    }


def eval_rate(base_url: str, concurrency: int, workers: int | None) -> float:
    with tempfile.TemporaryDirectory() as data_dir:
        config = remote_config(data_dir, base_url, concurrency)
        if workers is not None:
            config["execution"] = ray_section(workers)
        with Stack.from_config(config) as stack:
            return timed_job(stack, "stub/stub-model", ROWS)


def ingest_rate(workers: int | None) -> float:
    sys.path.insert(0, str(ROOT))
    from tests.support.rag import corpus_files, rag_config

    files = [p for p in corpus_files() if p.suffix in (".md", ".txt", ".pdf", ".docx")]
    faiss = [{"provider_id": "faiss", "provider_type": "inline::faiss", "config": {}}]
    with tempfile.TemporaryDirectory() as data_dir:
        extra = {"execution": ray_section(workers)} if workers is not None else {}
        with Stack.from_config(rag_config(Path(data_dir), faiss, **extra)) as stack:
            store = stack.vector_io.create_vector_store(name="bench")  # loads the model here
            ids = [stack.files.upload_file(str(p)).id for p in files]
            t0 = time.perf_counter()
            batch = stack.vector_io.create_file_batch(store.id, ids)
            while stack.vector_io.retrieve_file_batch(store.id, batch.id).status == "in_progress":
                time.sleep(0.05)
            elapsed = time.perf_counter() - t0
            chunks = sum(
                len(stack.vector_io.retrieve_vector_store_file_contents(store.id, i).data)
                for i in ids
            )
            return chunks / elapsed


def main() -> None:
    global ADDRESS
    sys.path.insert(0, str(ROOT))
    from tests.support.ray_cluster import ENV, ray_cluster

    os.environ.update(ENV)
    with (
        tempfile.TemporaryDirectory(prefix="ray", dir="/tmp") as temp,
        ray_cluster(Path(temp)) as cluster,
    ):
        ADDRESS = cluster.address
        measure()
        from llama_workbench.execution.engine import disconnect

        disconnect()


def measure() -> None:
    print(f"Eval job, {ROWS} rows against a model server answering in {LATENCY_MS} ms (rows/s)")
    with fast_stub(LATENCY_MS) as base_url:
        local1 = eval_rate(base_url, 1, None)
        local4 = eval_rate(base_url, 4, None)
        print(f"  in-process, concurrency 1   {local1:7.1f}")
        print(f"  in-process, concurrency 4   {local4:7.1f}")
        for workers in (1, 2, 4):
            rate = eval_rate(base_url, 1, workers)
            print(
                f"  ray, {workers} actor{'s' if workers > 1 else ' '}            {rate:7.1f}"
                f"   {rate / local1:5.2f}x in-process c1, {rate / local4:5.2f}x c4"
            )
    print("Ingestion of the RAG corpus, MiniLM + faiss (chunks/s)")
    local = ingest_rate(None)
    print(f"  in-process                  {local:7.1f}")
    for workers in (1, 2):
        rate = ingest_rate(workers)
        print(
            f"  ray, {workers} actor{'s' if workers > 1 else ' '}            {rate:7.1f}   {rate / local:5.2f}x"
        )


if __name__ == "__main__":
    main()
