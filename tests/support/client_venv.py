"""A Python 3.12 venv with the official llama-stack-client (it needs >= 3.12; we run on 3.11)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-client"
REQUIREMENT = "llama-stack-client>=0.7,<0.8"


def _python312() -> str:
    found = shutil.which("python3.12")
    if found and subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0:
        return found
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    candidates += sorted(glob.glob("/usr/bin/python3.12")) + sorted(
        glob.glob("/usr/local/bin/python3.12")
    )
    if not candidates:
        raise RuntimeError(
            "llama-stack-client 0.7 needs Python >= 3.12, and no python3.12 was found"
        )
    return candidates[-1]


def client_python() -> Path:
    """The venv's python, creating the venv on first use (a pip install from the registry)."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if not marker.exists():
        subprocess.run([_python312(), "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", REQUIREMENT], check=True)
        marker.write_text(REQUIREMENT)
    return python
