"""binder/ installs what `make install` installs, in the same order, so Binder matches CI."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pip_installs(text: str) -> list[str]:
    """The arguments of each `pip install` line, with make's and bash's spellings unified."""
    lines = []
    for line in text.splitlines():
        match = re.search(r"(?:\$\(PIP\)|python -m pip) install (.+)$", line.strip())
        if match:
            lines.append(match.group(1).strip())
    return lines


def test_post_build_installs_like_the_makefile() -> None:
    make = _pip_installs((ROOT / "Makefile").read_text())
    binder = _pip_installs((ROOT / "binder" / "postBuild").read_text())
    assert binder == make
    assert binder[0] == "torch==2.13.0"  # before anything that depends on torch


def test_binder_files_are_valid() -> None:
    for name in ("postBuild", "start"):
        script = ROOT / "binder" / name
        assert script.stat().st_mode & 0o111, f"{name} must be executable"
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    python = re.search(r'requires-python = ">=(\d+\.\d+)', (ROOT / "pyproject.toml").read_text())
    assert python is not None and runtime == f"python-{python.group(1)}"
