"""`make bench`: every benchmark in bench/, one after another."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    here = Path(__file__).parent
    names = sys.argv[1:] or sorted(p.stem for p in here.glob("bench_*.py"))
    for name in names:
        print(f"== {name}")
        script = str(here / f"{name}.py")
        sys.argv = [script]  # each benchmark parses its own (default) arguments, not ours
        runpy.run_path(script, run_name="__main__")
        print()
