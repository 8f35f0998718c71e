"""Server mode: start-up time, sequential latency and a 64-client load test, ours beside Llama Stack 0.7.3.

Both servers serve a remote::vllm provider pointed at bench/fast_stub.py (a microsecond stub), so
what is measured is the server's own overhead. Llama Stack runs when its venv exists
(.bench/llama-stack, Python 3.12). Goals: p50 <= 3 ms sequential, start < 1.5 s, 0 errors.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
from _common import HERE, fast_stub, free_port, summary  # type: ignore[import-not-found]
from bench_inference_overhead import LLAMA_STACK_CONFIG, LLAMA_STACK_PY  # type: ignore[import-not-found]

SEQUENTIAL = int(os.environ.get("BENCH_REQUESTS", "500"))
LOAD_CLIENTS, LOAD_REQUESTS = 64, int(os.environ.get("BENCH_LOAD_REQUESTS", "2000"))
LOAD_DEADLINE_S = float(os.environ.get("BENCH_LOAD_DEADLINE_S", "180"))
SERVERS = os.environ.get("BENCH_SERVERS", "ours,llama-stack").split(",")
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
    # Logs go to a file: a pipe nobody reads fills up and stalls a chatty server.
    with tempfile.TemporaryFile("w+") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=log,
            text=True,
            env={**os.environ, "LLAMA_STACK_LOGGING": "all=error"},
        )
        try:
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"server exited: {log.read()[-2000:]}")
                try:
                    if (
                        httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=0.5).status_code
                        == 200
                    ):
                        break
                except httpx.HTTPError:
                    time.sleep(0.02)
            yield time.perf_counter() - t0
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()  # not stopped 30 s after SIGTERM
                proc.wait()


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
    """64 concurrent clients share LOAD_REQUESTS requests, within LOAD_DEADLINE_S.

    Returns (answered requests/s, latencies, errors, answered); requests never sent because the
    deadline passed count as errors too.
    """
    body = {"model": model, "messages": MESSAGES}
    latencies: list[float] = []
    errors = answered = 0
    remaining = LOAD_REQUESTS
    deadline = time.monotonic() + LOAD_DEADLINE_S

    async def client() -> None:
        nonlocal errors, answered, remaining
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while remaining > 0 and time.monotonic() < deadline:
                remaining -= 1
                t0 = time.perf_counter()
                try:
                    r = await http.post("/chat/completions", json=body)
                    ok = r.status_code == 200 and bool(r.json()["choices"][0]["message"]["content"])
                except (httpx.HTTPError, ValueError, KeyError):
                    ok = False
                latencies.append(time.perf_counter() - t0)
                answered += ok
                errors += not ok

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(LOAD_CLIENTS)))
    return answered / (time.perf_counter() - t0), latencies or [0.0], errors + remaining, answered


def measure(name: str, cmd: list[str], port: int, model: str) -> dict[str, Any]:
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


def _print_row(r: dict[str, Any]) -> None:
    seq, ld = r["seq"], r["load"]
    print(
        f"  {r['name']:18}{r['start']:9.2f}{seq[0]:9.2f}{seq[1]:9.2f}{r['rps']:9.0f}{ld[0]:10.1f}"
        f"{ld[1]:10.1f}{r['errors']:8d}{r['answered']:10d}",
        flush=True,
    )


def main() -> None:
    print(
        f"server mode, remote::vllm -> local stub; {SEQUENTIAL} sequential (openai SDK), "
        f"{LOAD_REQUESTS} requests from {LOAD_CLIENTS} concurrent clients within {LOAD_DEADLINE_S:.0f} s"
    )
    print(
        f"  {'':18}{'start s':>9}{'seq p50':>9}{'seq p99':>9}{'req/s':>9}{'load p50':>10}{'load p99':>10}"
        f"{'errors':>8}{'answered':>10}",
        flush=True,
    )
    rows = []
    with fast_stub() as base_url, tempfile.TemporaryDirectory() as tmp:
        floor = summary(sequential(base_url, "stub-model"))
        print(
            f"  floor: the openai SDK straight to the stub, seq p50 {floor[0]:.2f} ms, p99 {floor[1]:.2f} ms",
            flush=True,
        )
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
        if "ours" in SERVERS:
            rows.append(measure("llama_workbench", cli, port, "stub-model"))
            _print_row(rows[-1])
        if "llama-stack" in SERVERS and LLAMA_STACK_PY.exists():
            ls_cfg = Path(tmp) / "ls.yaml"
            ls_cfg.write_text(LLAMA_STACK_CONFIG.format(base_url=base_url, d=tmp))
            port = free_port()
            llama = str(LLAMA_STACK_PY.parent / "llama")
            cmd = [llama, "stack", "run", str(ls_cfg), "--port", str(port)]
            rows.append(measure("Llama Stack 0.7.3", cmd, port, "vllm/stub-model"))
            _print_row(rows[-1])
    if len(rows) == 2:
        ours, theirs = rows
        print(
            f"  ratio: {theirs['seq'][0] / ours['seq'][0]:.1f}x lower p50, "
            f"{ours['rps'] / max(theirs['rps'], 1e-9):.1f}x the answered requests/s, "
            f"{theirs['start'] / ours['start']:.1f}x faster start"
        )
    print("  goal: seq p50 <= 3 ms, start < 1.5 s, 0 errors")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
