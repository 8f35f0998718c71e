"""The command line of the package's generators of committed files (the typed faces,
facade/_codegen.py; the widget views' imports, jupyter/widgets/build.py): write what is stale,
or with --check only list it and exit 1, as the tests that keep those files current expect."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable


def generator_main(
    argv: list[str] | None,
    *,
    prog: str | None,
    description: str,
    stale: Callable[[], Iterable[str]],
    write: Callable[[], Iterable[str]],
) -> int:
    """Run a generator: `write()` (the files it wrote), or `stale()` with --check."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--check", action="store_true", help="list what is stale, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        found = list(stale())
        for name in found:
            print(f"stale: {name}")
        return 1 if found else 0
    for name in write():
        print(f"wrote {name}")
    return 0
