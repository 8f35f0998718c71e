"""`pip install -e .` (the Makefile's install) installs and enables both halves of the extension."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

JUPYTER = str(Path(sys.executable).with_name("jupyter"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _run(*args: str) -> str:
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([JUPYTER, *args], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return ANSI.sub("", done.stdout + done.stderr)


def test_the_lab_extension_is_installed_and_enabled() -> None:
    listed = _run("labextension", "list")
    assert re.search(
        r"llama-workbench-lab v\S+ enabled\s+OK \(python, llama-workbench\)", listed
    ), listed


def test_the_server_extension_is_enabled_and_loads() -> None:
    listed = _run("server", "extension", "list")
    assert re.search(r"llama_workbench\.lab\s+enabled", listed), listed
    assert re.search(r"llama_workbench\.lab\s+OK", listed), listed
