"""Library-mode chat overhead: 500 sequential requests to a microsecond stub, side by side with the floor.

Rows: raw httpx to the stub (the floor), our Stack (sync face and async face), and Llama Stack
0.7.3's library client on the same stub when its venv exists (.bench/llama-stack, Python 3.12).
Streamed path: time to first chunk and total. Goal: ours <= 1.5x the floor.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from _common import HERE, fast_stub, summary  # type: ignore[import-not-found]

from llama_workbench import Stack

N = int(os.environ.get("BENCH_REQUESTS", "500"))
WARMUP = 30
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
LLAMA_STACK_PY = HERE.parent / ".bench" / "llama-stack" / "bin" / "python"


def measure(call: Callable[[], object]) -> list[float]:
    for _ in range(WARMUP):
        call()
    samples = []
    for _ in range(N):
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    return samples


def measure_stream(call: Callable[[], object]) -> tuple[list[float], list[float]]:
    firsts, totals = [], []
    for i in range(WARMUP + N):
        t0 = time.perf_counter()
        first = None
        for _ in call():  # type: ignore[attr-defined]
            first = first or time.perf_counter()
        if i >= WARMUP:
            firsts.append((first or time.perf_counter()) - t0)
            totals.append(time.perf_counter() - t0)
    return firsts, totals


def floor_rows(base_url: str) -> dict[str, list[float]]:
    body = {"model": "stub-model", "messages": MESSAGES}
    with httpx.Client(base_url=base_url) as client:
        plain = measure(lambda: client.post("/chat/completions", json=body).json())

        def stream() -> object:
            with client.stream("POST", "/chat/completions", json={**body, "stream": True}) as r:
                yield from (line for line in r.iter_lines() if line.startswith("data: {"))

        first, total = measure_stream(stream)

    async def run_async() -> list[float]:
        async with httpx.AsyncClient(base_url=base_url) as client:
            samples = []
            for i in range(WARMUP + N):
                t0 = time.perf_counter()
                (await client.post("/chat/completions", json=body)).json()
                if i >= WARMUP:
                    samples.append(time.perf_counter() - t0)
            return samples

    return {"plain": plain, "first": first, "total": total, "async": asyncio.run(run_async())}


def our_rows(base_url: str, data_dir: str) -> dict[str, list[float]]:
    config = {
        "data_dir": data_dir,
        "apis": ["inference"],
        "providers": {
            "inference": [
                {
                    "provider_id": "vllm",
                    "provider_type": "remote::vllm",
                    "config": {"base_url": base_url},
                }
            ]
        },
    }
    with Stack.from_config(config) as stack:
        chat = stack.inference.chat_completion
        plain = measure(lambda: chat(model="stub-model", messages=MESSAGES))
        first, total = measure_stream(
            lambda: chat(model="stub-model", messages=MESSAGES, stream=True)
        )

        async def run_async() -> list[float]:
            samples = []
            for i in range(WARMUP + N):
                t0 = time.perf_counter()
                await stack.aio.inference.chat_completion(model="stub-model", messages=MESSAGES)
                if i >= WARMUP:
                    samples.append(time.perf_counter() - t0)
            return samples

        aio = asyncio.run(run_async())
    return {"plain": plain, "first": first, "total": total, "async": aio}


LLAMA_STACK_SCRIPT = """
import json, sys, time
from llama_stack.core.library_client import LlamaStackAsLibraryClient
client = LlamaStackAsLibraryClient(sys.argv[1])
client.initialize()
msgs = [{"role": "user", "content": "What is the capital of France?"}]
n, warm = int(sys.argv[2]), 30
def call():
    return client.chat.completions.create(model="vllm/stub-model", messages=msgs)
for _ in range(warm): call()
out = []
for _ in range(n):
    t0 = time.perf_counter(); call(); out.append(time.perf_counter() - t0)
first, total = [], []
for i in range(warm + n):
    t0 = time.perf_counter(); t1 = None
    for _ in client.chat.completions.create(model="vllm/stub-model", messages=msgs, stream=True):
        t1 = t1 or time.perf_counter()
    if i >= warm:
        first.append(t1 - t0); total.append(time.perf_counter() - t0)
print("RESULT " + json.dumps({"plain": out, "first": first, "total": total}))
"""

LLAMA_STACK_CONFIG = """
version: 2
distro_name: bench
apis: [inference]
providers:
  inference:
  - provider_id: vllm
    provider_type: remote::vllm
    config: {{base_url: "{base_url}", api_token: fake}}
storage:
  backends:
    kv_default: {{type: kv_sqlite, db_path: "{d}/kv.db"}}
    sql_default: {{type: sql_sqlite, db_path: "{d}/sql.db"}}
  stores:
    metadata: {{namespace: registry, backend: kv_default}}
    inference: {{table_name: inference_store, backend: sql_default}}
    conversations: {{table_name: openai_conversations, backend: sql_default}}
    prompts: {{namespace: prompts, backend: kv_default}}
registered_resources: {{models: []}}
server: {{port: 8321}}
"""


def llama_stack_row(base_url: str, tmp: str) -> dict[str, list[float]] | None:
    if not LLAMA_STACK_PY.exists():
        return None
    config = Path(tmp) / "ls-run.yaml"
    config.write_text(LLAMA_STACK_CONFIG.format(base_url=base_url, d=tmp))
    proc = subprocess.run(
        [str(LLAMA_STACK_PY), "-c", LLAMA_STACK_SCRIPT, str(config), str(N)],
        capture_output=True,
        text=True,
        env={**os.environ, "LLAMA_STACK_LOGGING": "all=error"},
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    print(f"  (Llama Stack library client failed: {proc.stderr.strip().splitlines()[-1:]})")
    return None


def main() -> None:
    with fast_stub() as base_url, tempfile.TemporaryDirectory() as tmp:
        floor = floor_rows(base_url)
        ours = our_rows(base_url, tmp)
        theirs = llama_stack_row(base_url, tmp)
    print(f"library-mode chat overhead, {N} sequential requests to a local stub (ms)")
    print(f"  {'':36}{'p50':>8}{'p99':>8}")
    rows = [
        ("floor: raw httpx (sync client)", floor["plain"]),
        ("floor: raw httpx (async client)", floor["async"]),
        ("ours: stack.inference (sync)", ours["plain"]),
        ("ours: stack.aio.inference (async)", ours["async"]),
    ]
    if theirs:
        rows.append(("Llama Stack 0.7.3 library client", theirs["plain"]))
    for name, samples in rows:
        p50, p99 = summary(samples)
        print(f"  {name:36}{p50:8.3f}{p99:8.3f}")
    f50, o50 = summary(floor["plain"])[0], summary(ours["plain"])[0]
    a50 = summary(floor["async"])[0]
    print(
        f"  ratio ours/floor (p50): {o50 / f50:.2f}x vs the sync client, {o50 / a50:.2f}x vs the async "
        "client ours is built on   (goal <= 1.5x)"
    )
    if theirs:
        print(
            f"  Llama Stack / ours (p50): {summary(theirs['plain'])[0] / o50:.1f}x   (goal >= 8x)"
        )
    print("streamed (ms)                        first-p50  first-p99  total-p50  total-p99")
    streamed = [
        ("floor: raw httpx (sync client)", floor["first"], floor["total"]),
        ("ours: stack.inference (sync)", ours["first"], ours["total"]),
    ]
    if theirs:
        streamed.append(("Llama Stack 0.7.3 library client", theirs["first"], theirs["total"]))
    for name, first, total in streamed:
        print(f"  {name:34}" + "".join(f"{v:11.3f}" for v in (*summary(first), *summary(total))))
    print(
        f"  ratio ours/floor (total p50): {summary(ours['total'])[0] / summary(floor['total'])[0]:.2f}x"
    )


if __name__ == "__main__":
    main()
