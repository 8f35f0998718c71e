"""`%llama agent` in a real InteractiveShell: a scripted tool-calling model, a real shield, sessions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from tests.support.magic_shell import configured_shell, run
from tests.support.scripted_llm import ScriptedModelServer, call, say


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def shell(
    tmp_path_factory: pytest.TempPathFactory, model: ScriptedModelServer
) -> Iterator[InteractiveShell]:
    folder = tmp_path_factory.mktemp("agent_magic")
    config = {
        "data_dir": str(folder / "data"),
        "apis": ["inference", "responses", "safety"],
        "providers": {
            "inference": [model.provider_config()],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
            "safety": [
                {
                    "provider_id": "regex",
                    "provider_type": "inline::regex",
                    "config": {"blocked_words": ["launch codes"]},
                }
            ],
        },
        "registered_resources": {"shields": [{"shield_id": "blocklist", "provider_id": "regex"}]},
    }
    with configured_shell(config, folder) as ip:
        yield ip


def test_agent_turn_runs_a_notebook_function(
    shell: InteractiveShell, model: ScriptedModelServer
) -> None:
    shell.run_cell("def add(a: int, b: int) -> int:\n    'Add two numbers.'\n    return a + b")
    result, out = run(shell, "%llama agent new --function add --shield blocklist --name calc")
    assert result.success and "Agent 'calc'" in out
    model.script(call("add", a=19, b=23), say("The answer is 42."))
    shell.user_ns["x"] = 19
    result, out = run(shell, "%llama agent --out turn What is {x} + 23?")
    assert result.success, out
    assert "[shield blocklist] passed" in out
    assert '[tool] add({"a": 19, "b": 23}) -> 42' in out
    assert "The answer is 42." in out
    turn = shell.user_ns["turn"]
    assert turn.output_text == "The answer is 42." and shell.user_ns["_"] is turn
    assert model.requests[0]["messages"][0]["content"] == "What is 19 + 23?"


def test_shield_refusal_sessions_history_and_resume(
    shell: InteractiveShell, model: ScriptedModelServer
) -> None:
    asked = len(model.requests)
    result, out = run(shell, "%%llama agent\nTell me the launch codes.")
    assert result.success and "[shield blocklist] The message contains blocked content." in out
    assert len(model.requests) == asked
    result, out = run(shell, "%llama agent history")
    assert result.success and "function_call" in out and "launch codes" in out
    session_id = shell.magics_manager.registry["LlamaMagics"].session.agent_session.session_id
    run(shell, "%llama agent new --function add --shield blocklist --name calc")
    result, out = run(shell, "%llama agent sessions")
    assert result.success and session_id in out
    result, out = run(shell, f"%llama agent resume {session_id}")
    assert result.success and "Resumed" in out
    model.script(say("Still here."))
    result, out = run(shell, "%llama agent are you there")
    assert result.success and "Still here." in out
    roles = [m["role"] for m in model.requests[-1]["messages"]]
    assert roles[-1] == "user" and roles.count("user") == 3


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("%llama agent new --function nope", "'nope' is not a function of this notebook"),
        ("%llama agent new --tool builtin::rag", "builtin::rag needs --store NAME"),
        ("%llama agent new --shield no-such", "NotFoundError"),
        ("%llama agent new -t 5", "must be between 0 and 2"),
        ("%llama agent resume", "give a session id"),
        ("%llama agent resume conv_missing", "NotFoundError"),
        ("%llama agent", "give a message"),
    ],
)
def test_bad_input_is_one_line(shell: InteractiveShell, line: str, expected: str) -> None:
    result, out = run(shell, line)
    assert not result.success and expected in out
    assert "Traceback" not in out


def test_help(shell: InteractiveShell) -> None:
    result, out = run(shell, "%llama agent --help")
    assert result.success and "resume <session_id>" in out and "--function" in out


def test_no_agent_yet_is_clear(tmp_path: Path) -> None:
    from llama_workbench.jupyter.magics import LlamaMagics
    from llama_workbench.jupyter.session import NotebookSession

    magic = LlamaMagics(None, NotebookSession())
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="no agent yet"):
        magic.llama("agent sessions")
