"""Server mode: start-up time, sequential latency and a 64-client load test, ours beside Llama Stack 0.7.3.

Both servers serve a remote::vllm provider pointed at bench/fast_stub.py (a microsecond stub), so
what is measured is the server's own overhead. Llama Stack runs when its venv exists
(.bench/llama-stack, Python 3.12). Goals: p50 <= 3 ms sequential, start < 1.5 s, 0 errors.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
from _common import HERE, fast_stub, free_port, summary  # type: ignore[import-not-found]
from bench_inference_overhead import LLAMA_STACK_CONFIG, LLAMA_STACK_PY  # type: ignore[import-not-found]

SEQUENTIAL = int(os.environ.get("BENCH_REQUESTS", "500"))
LOAD_CLIENTS, LOAD_REQUESTS = 64, int(os.environ.get("BENCH_LOAD_REQUESTS", "2000"))
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]

OURS_CONFIG = """
version: 2
distro_name: bench
data_dir: {d}/ours
apis: [inference]
providers:
  inference:
  - provider_id: vllm
    provider_type: remote::vllm
    config: {{base_url: "{base_url}"}}
"""


@contextmanager
def server(cmd: list[str], port: int) -> Iterator[float]:
    """Start a server process; yield seconds from spawn to a healthy /v1/health."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LLAMA_STACK_LOGGING": "all=error"},
    )
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"server exited: {proc.stderr.read()[-2000:] if proc.stderr else ''}"
                )
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.02)
        yield time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def sequential(base: str, model: str) -> list[float]:
    client = openai.OpenAI(base_url=base, api_key="none", max_retries=0)
    for _ in range(30):
        client.chat.completions.create(model=model, messages=MESSAGES)  # type: ignore[arg-type]
    out = []
    for _ in range(SEQUENTIAL):
        t0 = time.perf_counter()
        client.chat.completions.create(model=model, messages=MESSAGES)  # type: ignore[arg-type]
        out.append(time.perf_counter() - t0)
    return out


async def load(base: str, model: str) -> tuple[float, list[float], int, int]:
    """64 concurrent clients share LOAD_REQUESTS requests; returns (req/s, latencies, errors, answered)."""
    body = {"model": model, "messages": MESSAGES}
    latencies: list[float] = []
    errors = answered = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(LOAD_REQUESTS):
        queue.put_nowait(i)

    async def client() -> None:
        nonlocal errors, answered
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            while not queue.empty():
                queue.get_nowait()
                t0 = time.perf_counter()
                try:
                    r = await http.post("/chat/completions", json=body)
                    ok = r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                answered += bool(ok)
                errors += not ok

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(LOAD_CLIENTS)))
    return LOAD_REQUESTS / (time.perf_counter() - t0), latencies, errors, answered


def measure(name: str, cmd: list[str], port: int, model: str) -> dict[str, object]:
    with server(cmd, port) as start:
        base = f"http://127.0.0.1:{port}/v1"
        seq = sequential(base, model)
        rps, lat, errors, answered = asyncio.run(load(base, model))
    return {
        "name": name,
        "start": start,
        "seq": summary(seq),
        "rps": rps,
        "load": summary(lat),
        "errors": errors,
        "answered": answered,
    }


def main() -> None:
    rows = []
    with fast_stub() as base_url, tempfile.TemporaryDirectory() as tmp:
        ours_cfg = Path(tmp) / "ours.yaml"
        ours_cfg.write_text(OURS_CONFIG.format(base_url=base_url, d=tmp))
        port = free_port()
        cli = [
            sys.executable,
            "-m",
            "llama_workbench.cli",
            "stack",
            "run",
            str(ours_cfg),
            "--port",
            str(port),
        ]
        rows.append(measure("llama_workbench", cli, port, "stub-model"))
        if LLAMA_STACK_PY.exists():
            ls_cfg = Path(tmp) / "ls.yaml"
            ls_cfg.write_text(LLAMA_STACK_CONFIG.format(base_url=base_url, d=tmp))
            port = free_port()
            llama = str(LLAMA_STACK_PY.parent / "llama")
            rows.append(
                measure(
                    "Llama Stack 0.7.3",
                    [llama, "stack", "run", str(ls_cfg), "--port", str(port)],
                    port,
                    "vllm/stub-model",
                )
            )
    print(
        f"server mode, remote::vllm -> local stub; {SEQUENTIAL} sequential (openai SDK), "
        f"{LOAD_REQUESTS} requests from {LOAD_CLIENTS} concurrent clients"
    )
    print(
        f"  {'':18}{'start s':>9}{'seq p50':>9}{'seq p99':>9}{'req/s':>9}{'load p50':>10}{'load p99':>10}"
        f"{'errors':>8}{'answered':>10}"
    )
    for r in rows:
        seq, ld = r["seq"], r["load"]
        print(
            f"  {r['name']:18}{r['start']:9.2f}{seq[0]:9.2f}{seq[1]:9.2f}{r['rps']:9.0f}{ld[0]:10.1f}"  # type: ignore[index]
            f"{ld[1]:10.1f}{r['errors']:8d}{r['answered']:10d}"
        )  # type: ignore[index]
    if len(rows) == 2:
        ours, theirs = rows
        print(
            f"  ratio: {float(theirs['seq'][0]) / float(ours['seq'][0]):.1f}x lower p50, "  # type: ignore[index]
            f"{float(ours['rps']) / float(theirs['rps']):.1f}x the requests/s, "  # type: ignore[arg-type]
            f"{float(theirs['start']) / float(ours['start']):.1f}x faster start"
        )  # type: ignore[arg-type]
    print(json.dumps({"goal": "seq p50 <= 3 ms, start < 1.5 s, 0 errors"}))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
