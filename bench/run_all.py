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
        runpy.run_path(str(here / f"{name}.py"), run_name="__main__")
        print()
