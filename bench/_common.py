"""Helpers shared by the benchmarks: a stub server process, percentiles, tables."""

from __future__ import annotations

import contextlib
import socket
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def fast_stub(delay_ms: float = 0.0) -> Iterator[str]:
    """Start bench/fast_stub.py in its own process; yield its OpenAI base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "fast_stub.py"), str(port), str(delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    return statistics.median(samples) * 1000, pct(samples, 99) * 1000
