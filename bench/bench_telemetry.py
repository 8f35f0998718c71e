"""Telemetry overhead: chat latency traced (SQLite sink) vs untraced, against a microsecond stub.

Two stacks on the same stub, one with `telemetry: {enabled: true}` (the sqlite sink, spans written
in batches by a background thread) and one without (no proxy at all). They are measured in
alternating blocks so drift (CPU frequency, other processes) hits both alike. Rows: the sync face
(plain and streamed) and the async face. Goal: traced p50 <= 1.05x untraced.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

from _common import fast_stub, summary  # type: ignore[import-not-found]

from llama_workbench import Stack

N = int(os.environ.get("BENCH_REQUESTS", "1000"))
BLOCK = 50
WARMUP = 50
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def config(base_url: str, data_dir: str, traced: bool) -> dict[str, Any]:
    provider = {
        "provider_id": "vllm",
        "provider_type": "remote::vllm",
        "config": {"base_url": base_url},
    }
    return {
        "data_dir": data_dir,
        "apis": ["inference"],
        "providers": {"inference": [provider]},
        "telemetry": {"enabled": traced, "sinks": ["sqlite"]},
    }


def alternate(calls: dict[str, Callable[[], object]]) -> dict[str, list[float]]:
    """Run each call N times, BLOCK at a time in turn; seconds per call."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        for _ in range(WARMUP):
            call()
    while len(next(iter(samples.values()))) < N:
        for name, call in calls.items():
            for _ in range(BLOCK):
                t0 = time.perf_counter()
                call()
                samples[name].append(time.perf_counter() - t0)
    return samples


def drain(stream: Any) -> None:
    for _ in stream:
        pass


def async_rows(plain: Stack, traced: Stack) -> dict[str, list[float]]:
    async def run() -> dict[str, list[float]]:
        samples: dict[str, list[float]] = {"untraced": [], "traced": []}
        stacks = {"untraced": plain, "traced": traced}
        for stack in stacks.values():
            for _ in range(WARMUP):
                await stack.aio.inference.chat_completion(model="stub-model", messages=MESSAGES)
        while len(samples["traced"]) < N:
            for name, stack in stacks.items():
                for _ in range(BLOCK):
                    t0 = time.perf_counter()
                    await stack.aio.inference.chat_completion(model="stub-model", messages=MESSAGES)
                    samples[name].append(time.perf_counter() - t0)
        return samples

    return asyncio.run(run())


def chat(stack: Stack, **kw: Any) -> Callable[[], object]:
    return lambda: stack.inference.chat_completion(model="stub-model", messages=MESSAGES, **kw)


def main() -> None:
    with (
        fast_stub() as base_url,
        tempfile.TemporaryDirectory() as tmp,
        Stack.from_config(config(base_url, f"{tmp}/plain", False)) as plain,
        Stack.from_config(config(base_url, f"{tmp}/traced", True)) as traced,
    ):
        sync = alternate({"untraced": chat(plain), "traced": chat(traced)})
        stream = alternate(
            {
                "untraced": lambda: drain(chat(plain, stream=True)()),
                "traced": lambda: drain(chat(traced, stream=True)()),
            }
        )
        aio = async_rows(plain, traced)
        spans = len(traced.telemetry.query_spans(limit=10_000).data)
    print(f"telemetry overhead: chat against a local stub, {N} requests per row (ms)")
    print(f"  {'':34}{'p50':>8}{'p99':>8}")
    ratios = []
    for label, samples in (("sync", sync), ("sync, streamed", stream), ("async", aio)):
        for name in ("untraced", "traced"):
            p50, p99 = summary(samples[name])
            print(f"  {label + ': ' + name:34}{p50:8.3f}{p99:8.3f}")
        ratio = summary(samples["traced"])[0] / summary(samples["untraced"])[0]
        ratios.append(ratio)
        print(f"  {label + ': ratio traced/untraced':34}{ratio:8.3f}x")
    print(f"  spans written to SQLite: {spans}")
    worst = max(ratios)
    verdict = "met" if worst <= 1.05 else "not met"
    print(f"  worst p50 ratio {worst:.3f}x (goal <= 1.05x: {verdict})")


if __name__ == "__main__":
    main()
