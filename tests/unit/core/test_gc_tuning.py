"""The collector pauses during imports and builds, and is always handed back as the host left it."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from llama_workbench.core import gc_tuning


def test_paused_restores_an_enabled_collector_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_tuning.paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_paused_leaves_a_host_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with gc_tuning.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_import_and_build_leave_the_collector_enabled(tmp_path) -> None:
    code = (
        "import gc, llama_workbench\n"
        "assert gc.isenabled(), 'import left gc off'\n"
        "s = llama_workbench.Stack.from_distribution('starter')\n"
        "assert gc.isenabled(), 'build left gc off'\n"
        "try:\n"
        "    llama_workbench.Stack.from_config({'version': 2, 'distro_name': 'x', 'apis': ['nope']})\n"
        "except Exception:\n"
        "    pass\n"
        "assert gc.isenabled(), 'a failed build left gc off'\n"
        "print('ok')\n"
    )
    env = {"LLAMA_WORKBENCH_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
