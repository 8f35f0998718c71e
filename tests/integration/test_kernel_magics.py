"""`%llama` in a real ipykernel (jupyter_client): streams, and an error fails the cell as one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jupyter_client.manager import start_new_kernel

from tests.support.stub_server import StubOpenAIServer, stub_stack_config


@pytest.fixture(scope="module")
def started() -> Iterator[tuple[Any, Any]]:
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


@pytest.fixture
def kernel(started: tuple[Any, Any]) -> Any:
    return started[1]


def run(client: Any, code: str) -> tuple[str, str, str]:
    """(status of the execute reply, stdout, stderr) of one cell."""
    msg_id = client.execute(code)
    reply = client.get_shell_msg(timeout=120)
    out: dict[str, list[str]] = {"stdout": [], "stderr": []}
    while True:
        msg = client.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out[msg["content"]["name"]].append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return reply["content"]["status"], "".join(out["stdout"]), "".join(out["stderr"])


def test_magics_in_a_kernel(kernel: Any, tmp_path: Path) -> None:
    with StubOpenAIServer(models=["m1"]) as stub:
        config = tmp_path / "run.yaml"
        config.write_text(yaml.safe_dump(stub_stack_config(stub.base_url, tmp_path / "data")))
        assert run(kernel, "%load_ext llama_workbench") == ("ok", "", "")
        status, out, _ = run(kernel, f"%llama config {config}")
        assert status == "ok" and "Now using" in out
        status, out, _ = run(kernel, "x = 'kelp'\n%llama chat --format text -m s/m1 otters and {x}")
        assert status == "ok" and "echo: otters and kelp" in out
        # A failing magic fails the cell (papermill stops) and says one line on stderr.
        status, _, err = run(kernel, "%llama chat -m nope hello")
        assert status == "error"
        assert err == "UsageError: NotFoundError: Model 'nope' not found. Available: s/m1.\n"
        status, _, err = run(kernel, "%llama chat --temperature 5 hi")
        assert status == "error" and err.startswith("UsageError: %llama chat: argument")
        assert err.count("\n") == 1


@pytest.mark.slow
def test_interrupt_stops_generation(started: tuple[Any, Any], tmp_path: Path) -> None:
    """Ctrl-C (a kernel interrupt) mid-stream fails the cell and frees the model at once."""
    manager, kernel = started

    assert (
        run(kernel, f"import os; os.environ['LLAMA_WORKBENCH_DATA_DIR'] = '{tmp_path}'")[0] == "ok"
    )
    assert run(kernel, "%load_ext llama_workbench\n%llama config starter")[0] == "ok"
    msg_id = kernel.execute(
        "%llama chat --format text -n 400 -t 0 Write a long story about a lighthouse keeper."
    )
    while True:  # wait until tokens are streaming
        msg = kernel.get_iopub_msg(timeout=180)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            break
    manager.interrupt_kernel()
    reply = kernel.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    status, out, _ = run(kernel, "%llama chat --format text -n 5 -t 0 Say hi.")
    if status == "aborted":  # ipykernel drops requests that arrive while it aborts after an error
        status, out, _ = run(kernel, "%llama chat --format text -n 5 -t 0 Say hi.")
    assert status == "ok" and out.strip()
