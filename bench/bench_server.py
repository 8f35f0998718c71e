"""Server mode: start-up time, sequential latency and a 64-client load test, ours beside Llama Stack 0.7.3.

Both servers serve a remote::vllm provider pointed at bench/fast_stub.py (a microsecond stub), so
what is measured is the server's own overhead. Llama Stack runs when its venv exists
(.bench/llama-stack, Python 3.12).

Ours is measured interleaved with the floor (the openai SDK straight to the stub): one request
to each in turn, so that the host's noise, which drifts over seconds, falls on both alike. Llama
Stack runs after ours has stopped, on its own: interleaved, the work it goes on doing after each
reply (~2 ms here) lands on the next call, the floor's or ours. The load tests run one server at
a time.
Goals: seq p50 <= 2x the floor and >= 4x lower than Llama Stack, start < 1.5 s, 0 errors.
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
OURS, THEIRS = "llama_workbench", "Llama Stack 0.7.3"

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


def sequential(targets: dict[str, tuple[str, str]]) -> dict[str, list[float]]:
    """SEQUENTIAL requests to each (base URL, model), interleaved: one to each, in turn."""
    clients = {
        name: (openai.OpenAI(base_url=base, api_key="none", max_retries=0), model)
        for name, (base, model) in targets.items()
    }
    for client, model in clients.values():
        for _ in range(30):
            client.chat.completions.create(model=model, messages=MESSAGES)  # type: ignore[arg-type]
    out: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(SEQUENTIAL):
        for name, (client, model) in clients.items():
            t0 = time.perf_counter()
            client.chat.completions.create(model=model, messages=MESSAGES)  # type: ignore[arg-type]
            out[name].append(time.perf_counter() - t0)
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


def _print_row(r: dict[str, Any]) -> None:
    seq, ld = r["seq"], r["load"]
    print(
        f"  {r['name']:18}{r['start']:9.2f}{seq[0]:9.2f}{seq[1]:9.2f}{r['rps']:9.0f}{ld[0]:10.1f}"
        f"{ld[1]:10.1f}{r['errors']:8d}{r['answered']:10d}",
        flush=True,
    )


def main() -> None:
    print(
        f"server mode, remote::vllm -> local stub; {SEQUENTIAL} sequential requests (openai "
        f"SDK; ours interleaved with the floor), {LOAD_REQUESTS} requests from {LOAD_CLIENTS} "
        f"concurrent clients within {LOAD_DEADLINE_S:.0f} s"
    )
    print(
        f"  {'':18}{'start s':>9}{'seq p50':>9}{'seq p99':>9}{'req/s':>9}{'load p50':>10}"
        f"{'load p99':>10}{'errors':>8}{'answered':>10}",
        flush=True,
    )
    rows: dict[str, dict[str, Any]] = {}
    floor: tuple[float, float] | None = None
    with fast_stub() as base_url, tempfile.TemporaryDirectory() as tmp:
        runs = []
        if "ours" in SERVERS:
            ours_cfg = Path(tmp) / "ours.yaml"
            ours_cfg.write_text(OURS_CONFIG.format(base_url=base_url, d=tmp))
            cli = [sys.executable, "-m", "llama_workbench.cli", "stack", "run", str(ours_cfg)]
            runs.append((OURS, cli, "stub-model"))
        if "llama-stack" in SERVERS and LLAMA_STACK_PY.exists():
            ls_cfg = Path(tmp) / "ls.yaml"
            ls_cfg.write_text(LLAMA_STACK_CONFIG.format(base_url=base_url, d=tmp))
            llama = str(LLAMA_STACK_PY.parent / "llama")
            runs.append((THEIRS, [llama, "stack", "run", str(ls_cfg)], "vllm/stub-model"))
        for name, cmd, model in runs:
            port = free_port()
            with server([*cmd, "--port", str(port)], port) as start:
                base = f"http://127.0.0.1:{port}/v1"
                targets = {name: (base, model)}
                if name == OURS:
                    targets["floor"] = (base_url, "stub-model")
                seq = {key: summary(samples) for key, samples in sequential(targets).items()}
                if "floor" in seq:
                    floor = seq["floor"]
                    print(
                        f"  floor: the openai SDK straight to the stub, seq p50 {floor[0]:.2f} ms, "
                        f"p99 {floor[1]:.2f} ms",
                        flush=True,
                    )
                rps, lat, errors, answered = asyncio.run(load(base, model))
            rows[name] = {
                "name": name,
                "start": start,
                "seq": seq[name],
                "rps": rps,
                "load": summary(lat),
                "errors": errors,
                "answered": answered,
            }
            _print_row(rows[name])
    if floor is not None:
        print(f"  ours / floor (seq p50): {rows[OURS]['seq'][0] / floor[0]:.2f}x   (goal <= 2x)")
    if OURS in rows and THEIRS in rows:
        ours, theirs = rows[OURS], rows[THEIRS]
        print(
            f"  Llama Stack / ours: {theirs['seq'][0] / ours['seq'][0]:.1f}x lower p50 (goal >= 4x), "
            f"{ours['rps'] / max(theirs['rps'], 1e-9):.1f}x the answered requests/s, "
            f"{theirs['start'] / ours['start']:.1f}x faster start"
        )
    print("  goals: start < 1.5 s, 0 errors")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
