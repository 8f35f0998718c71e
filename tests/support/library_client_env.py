"""Python 3.12 with llama-stack-client and this package importable: the in-process
`stack.llama_stack_client()` needs both in one process (the SDK needs >= 3.12; we run on 3.11).

The client venv (tests/support/client_venv.py) with our own requirements added once (pip
installs only what it lacks), and this checkout on PYTHONPATH.
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

from tests.support.client_venv import ROOT, VENV, client_python

MARKER = VENV / ".library-requirements"


def requirements() -> list[str]:
    """The package's requirements and the server extra's FastAPI pieces (not uvicorn)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    server = project["optional-dependencies"]["server"]
    return [*project["dependencies"], *(r for r in server if not r.startswith("uvicorn"))]


def library_client_env() -> tuple[Path, dict[str, str]]:
    """(python, environment) that import both llama_stack_client and this checkout."""
    python = client_python()
    wanted = "\n".join(requirements())
    if not MARKER.exists() or MARKER.read_text() != wanted:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements()], check=True)
        MARKER.write_text(wanted)
    return python, {**os.environ, "PYTHONPATH": str(ROOT)}
