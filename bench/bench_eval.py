"""Eval throughput: rows/s of eval jobs at concurrency 1, 4, 16 and batched vs one by one inline.

Remote: a stub model server that answers every chat call after 50 ms (a served model's
latency), 64 rows; each concurrency's rows/s is shown against concurrency 1 and against a raw
baseline, plain httpx calls to the same server at the same concurrency (what the job adds).
Inline: the bundled SmolLM2 on 16 rows (16 tokens each), concurrency 8 (the inline provider
batches concurrent requests) against one row at a time.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from _common import fast_stub  # type: ignore[import-not-found]

from llama_workbench import Stack

REMOTE_ROWS = int(os.environ.get("BENCH_EVAL_ROWS", "64"))
INLINE_ROWS = int(os.environ.get("BENCH_EVAL_INLINE_ROWS", "16"))
LATENCY_MS = 50
SMOLLM = "transformers/HuggingFaceTB/SmolLM2-135M-Instruct"


def rows(n: int) -> list[dict[str, Any]]:
    cities = ["Paris", "Rome", "Madrid", "Berlin", "Lisbon", "Vienna", "Prague", "Oslo"]
    return [
        {"question": f"Which city is capital number {i}? Say one word.", "answer": cities[i % 8]}
        for i in range(n)
    ]


def remote_config(data_dir: str, base_url: str, concurrency: int) -> dict[str, Any]:
    return {
        "data_dir": data_dir,
        "apis": ["inference", "datasetio", "scoring", "eval"],
        "providers": {
            "inference": [
                {
                    "provider_id": "stub",
                    "provider_type": "remote::vllm",
                    "config": {"base_url": base_url},
                }
            ],
            "datasetio": [{"provider_id": "localfs", "provider_type": "inline::localfs"}],
            "scoring": [{"provider_id": "basic", "provider_type": "inline::basic"}],
            "eval": [
                {
                    "provider_id": "builtin",
                    "provider_type": "inline::builtin",
                    "config": {"max_concurrency": concurrency, "mlflow": {"enabled": False}},
                }
            ],
        },
    }


def timed_job(stack: Stack, model: str, n: int, max_tokens: int = 16) -> float:
    """rows/s of one job over n rows (generation and scoring; MLflow off)."""
    name = f"b{time.monotonic_ns()}"
    stack.datasets.register(
        purpose="eval/question-answer", source={"type": "rows", "rows": rows(n)}, dataset_id=name
    )
    stack.benchmarks.register(
        benchmark_id=name, dataset_id=name, scoring_functions=["basic::subset_of"]
    )
    config = {
        "eval_candidate": {
            "type": "model",
            "model": model,
            "sampling_params": {"max_tokens": max_tokens},
        }
    }
    t0 = time.perf_counter()
    job = stack.eval.run_eval(name, config)
    while stack.eval.job_status(name, job.job_id).status in ("scheduled", "in_progress"):
        threading.Event().wait(0.01)
    took = time.perf_counter() - t0
    status = stack.eval.job_status(name, job.job_id)
    assert status.status == "completed", status.error
    return n / took


async def raw_rate(base_url: str, n: int, concurrency: int) -> float:
    """rows/s of plain chat-completion calls to the same server (the floor under the job)."""
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def one(row: dict[str, Any]) -> None:
            async with gate:
                body = {
                    "model": "stub-model",
                    "messages": [{"role": "user", "content": row["question"]}],
                    "temperature": 0,
                    "max_tokens": 16,
                }
                (await client.post("/chat/completions", json=body)).raise_for_status()

        t0 = time.perf_counter()
        await asyncio.gather(*(one(r) for r in rows(n)))
        return n / (time.perf_counter() - t0)


def remote() -> None:
    print(f"Remote model (stub, {LATENCY_MS} ms per answer), {REMOTE_ROWS} rows:")
    print(f"{'concurrency':>12}{'job rows/s':>12}{'raw rows/s':>12}{'job/raw':>9}{'vs c=1':>8}")
    with fast_stub(delay_ms=LATENCY_MS) as base_url:
        first = None
        for concurrency in (1, 4, 16):
            with (
                tempfile.TemporaryDirectory() as tmp,
                Stack.from_config(remote_config(tmp, base_url, concurrency)) as stack,
            ):
                timed_job(stack, "stub/stub-model", 8)  # warm: connections, imports
                rate = timed_job(stack, "stub/stub-model", REMOTE_ROWS)
            raw = asyncio.run(raw_rate(base_url, REMOTE_ROWS, concurrency))
            first = first or rate
            print(f"{concurrency:>12}{rate:12.1f}{raw:12.1f}{rate / raw:9.2f}{rate / first:8.2f}")


def starter_with(concurrency: int, data_dir: str) -> dict[str, Any]:
    """The starter run config with the eval provider's concurrency set (MLflow off)."""
    import yaml

    from llama_workbench.distributions import distribution_path

    config = yaml.safe_load(Path(distribution_path("starter")).read_text())
    config["data_dir"] = data_dir
    for provider in config["providers"]["eval"]:
        provider["config"] = {"max_concurrency": concurrency, "mlflow": {"enabled": False}}
    return config


def inline() -> None:
    print(f"\nInline SmolLM2-135M, {INLINE_ROWS} rows, 16 tokens each:")
    results = {}
    for concurrency in (1, 8):
        with (
            tempfile.TemporaryDirectory() as tmp,
            Stack.from_config(starter_with(concurrency, tmp)) as stack,
        ):
            timed_job(stack, SMOLLM, 2)  # loads the model
            results[concurrency] = timed_job(stack, SMOLLM, INLINE_ROWS)
    print(f"{'one by one':>12}{results[1]:8.2f} rows/s")
    print(f"{'batched (8)':>12}{results[8]:8.2f} rows/s  ({results[8] / results[1]:.2f}x)")


if __name__ == "__main__":
    remote()
    inline()
