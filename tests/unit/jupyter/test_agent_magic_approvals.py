"""`%llama agent` with an MCP server whose calls need approval: the turn waits, says how to go
on, and `%llama agent approve` / `deny` answer (a real InteractiveShell, MCP server, model)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from tests.support.magic_shell import configured_shell
from tests.support.mcp_server import stdio_endpoint
from tests.support.scripted_llm import ScriptedModelServer, call, say


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def shell(
    tmp_path_factory: pytest.TempPathFactory, model: ScriptedModelServer
) -> Iterator[InteractiveShell]:
    folder = tmp_path_factory.mktemp("agent_magic_approvals")
    mcp = {"toolgroup_id": "mcp::local", **stdio_endpoint()}
    config = {
        "data_dir": str(folder / "data"),
        "apis": ["inference", "responses", "tool_runtime"],
        "providers": {
            "inference": [model.provider_config()],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
            "tool_runtime": [
                {
                    "provider_id": "mcp",
                    "provider_type": "remote::model-context-protocol",
                    "config": {"servers": [mcp]},
                }
            ],
        },
    }
    with configured_shell(config, folder) as ip:
        yield ip


def run(ip: InteractiveShell, code: str) -> tuple[Any, str]:
    with capture_output() as out:
        result = ip.run_cell(code)
    return result, out.stdout + out.stderr


def test_a_turn_waits_then_approve_and_deny_go_on(
    shell: InteractiveShell, model: ScriptedModelServer
) -> None:
    line = "%llama agent new --tool mcp::local --require-approval always --name careful"
    result, out = run(shell, line)
    assert result.success, out
    model.script(call("add", a=20, b=22))
    result, out = run(shell, "%llama agent --out turn What is 20 + 22?")
    assert result.success, out
    assert "[approval] add(" in out and "`%llama agent approve` runs it" in out
    assert shell.user_ns["turn"].status == "awaiting_approval"
    assert "[tool]" not in out  # nothing ran
    model.script(say("It is 42."))
    result, out = run(shell, "%llama agent approve")
    assert result.success, out
    assert '[tool] add({"a": 20, "b": 22}) -> 42' in out and "It is 42." in out

    model.script(call("add", a=1, b=1))
    run(shell, "%llama agent 1+1?")
    pending = shell.user_ns["_"].pending_approvals[0]["id"]
    model.script(say("Declined, then."))
    result, out = run(shell, f"%llama agent deny {pending}")
    assert result.success and "Declined, then." in out and "[tool]" not in out
    result, out = run(shell, "%llama agent deny")
    assert not result.success and "no tool call waits for approval" in out
