"""Startup: `import llama_workbench` + `Stack.from_distribution("starter")` + `models.list()`, fresh processes.

Prints the median of N cold runs beside a baseline measured in the same run (a bare
interpreter start, the floor no library can beat), and Llama Stack's import when a Python with
`llama_stack` installed is named by LLAMA_STACK_PYTHON (default: .bench/llama-stack). Goal: ours under 0.5 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = int(os.environ.get("BENCH_RUNS", "5"))

OURS = """
import time; t0 = time.perf_counter()
import llama_workbench; t1 = time.perf_counter()
s = llama_workbench.Stack.from_distribution("starter"); t2 = time.perf_counter()
n = len(s.models.list()); t3 = time.perf_counter()
print(f"{t1-t0:.4f} {t2-t1:.4f} {t3-t2:.4f} {n}")
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t0, out.strip()


def main() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    # A user's interpreter caches bytecode; an environment that forbids it would time the compiler.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as home:
        env["LLAMA_WORKBENCH_HOME"] = home
        timed([sys.executable, "-c", OURS], env)  # untimed: writes bytecode and the data dir
        floor = [timed([sys.executable, "-c", "pass"], env)[0] for _ in range(RUNS)]
        ours, parts = [], []
        for _ in range(RUNS):
            wall, out = timed([sys.executable, "-c", OURS], env)
            ours.append(wall)
            parts.append([float(x) for x in out.split()[:3]])
    med_floor, med_ours = statistics.median(floor), statistics.median(ours)
    imp, build, listing = (statistics.median(p[i] for p in parts) for i in range(3))
    print(f"startup ({RUNS} fresh processes, median)")
    print(f"  baseline: python -c pass          {med_floor * 1000:8.1f} ms")
    print(f"  ours: whole process               {med_ours * 1000:8.1f} ms   (goal < 500 ms)")
    print(f"    import llama_workbench          {imp * 1000:8.1f} ms")
    print(f"    Stack.from_distribution()       {build * 1000:8.1f} ms")
    print(f"    stack.models.list()             {listing * 1000:8.1f} ms")
    print(f"  ratio ours / baseline             {med_ours / med_floor:8.2f}x")
    default = Path(__file__).parent.parent / ".bench" / "llama-stack" / "bin" / "python"
    other = os.environ.get("LLAMA_STACK_PYTHON") or (str(default) if default.exists() else None)
    if other:
        ls = statistics.median(
            timed([other, "-c", "import llama_stack.core.library_client"], env)[0]
            for _ in range(RUNS)
        )
        print(
            f"  Llama Stack library client import {ls * 1000:8.1f} ms   (ours is {ls / med_ours:.1f}x faster)"
        )


if __name__ == "__main__":
    main()
