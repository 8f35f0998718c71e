"""Suite-wide setup: offline model loading, and a private data home for the test session."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

# The bundled models load from site-packages; a hub lookup must never happen in tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_home = tempfile.mkdtemp(prefix="llama-workbench-tests-")


def pytest_configure(config: pytest.Config) -> None:
    # Stacks built by tests keep their state in a throwaway folder, never in the user's home.
    os.environ["LLAMA_WORKBENCH_HOME"] = _home
    os.environ.pop("LLAMA_WORKBENCH_DATA_DIR", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_home, ignore_errors=True)
