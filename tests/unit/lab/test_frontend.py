"""The extension's frontend unit tests (jest, jsdom): form generation from provider schemas."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXTENSION = Path(__file__).resolve().parents[3] / "extensions" / "lab"


def _jlpm() -> str:
    found = Path(sys.executable).with_name("jlpm")
    assert found.exists(), "jlpm is missing: `pip install jupyter_builder` (part of `make install`)"
    assert shutil.which("node"), "Node.js is missing: the extension's build and tests need it"
    return str(found)


def test_frontend_unit_tests_pass() -> None:
    jlpm = _jlpm()
    env = {**os.environ, "CI": "1"}  # jest: no watch mode, no interactive output
    if not (EXTENSION / "node_modules" / ".bin" / "jest").exists():
        # A clean checkout whose extension was built elsewhere: install the locked packages.
        install = subprocess.run(
            [jlpm, "install"], cwd=EXTENSION, env=env, capture_output=True, text=True, timeout=600
        )
        assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    done = subprocess.run(
        [jlpm, "test"], cwd=EXTENSION, env=env, capture_output=True, text=True, timeout=600
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    assert "Tests:" in output and "failed" not in output.split("Tests:")[1].splitlines()[0]


def test_the_frontend_fixture_is_the_current_provider_schema() -> None:
    """The jest tests build forms from a saved remote::vllm schema: it must be today's."""
    import json

    from llama_workbench.providers.remote.inference.vllm.config import VLLMConfig

    fixture = EXTENSION / "src" / "__tests__" / "fixtures" / "vllm.schema.json"
    assert json.loads(fixture.read_text()) == VLLMConfig.model_json_schema(), (
        f"regenerate {fixture} from VLLMConfig.model_json_schema()"
    )
