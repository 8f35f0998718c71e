"""`%llama prompt` in a real InteractiveShell: create, versions, render, default, delete, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

from tests.support.magic_shell import configured_shell, run


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteractiveShell]:
    folder = tmp_path_factory.mktemp("prompt_magic")
    with configured_shell(
        {"data_dir": str(folder / "data"), "apis": [], "providers": {}}, folder
    ) as ip:
        yield ip


def test_create_render_versions_and_delete(shell: InteractiveShell) -> None:
    result, out = run(shell, "%%llama prompt create --out pid\nYou are a {{ role }} for {{who}}.")
    assert result.success, out
    pid = shell.user_ns["pid"]
    assert pid.startswith("pmpt_") and f"Prompt {pid}, version 1 (variables: role, who)." in out
    assert shell.user_ns["_"].variables == ["role", "who"]

    shell.user_ns["person"] = "Ada"
    result, out = run(shell, f"%llama prompt render {pid} role='maths tutor' who={{person}} -o t")
    assert result.success, out
    assert (
        shell.user_ns["t"] == "You are a maths tutor for Ada."
        and shell.user_ns["_"] == (shell.user_ns["t"])
    )

    result, out = run(shell, f"%%llama prompt create --id {pid}\nHello {{{{ who }}}}!")
    assert result.success and "version 2 (variables: who)" in out
    result, out = run(shell, f"%llama prompt show {pid}")
    assert (
        result.success and "You are a {{ role }} for {{who}}." in out and "Hello {{ who }}!" in out
    )
    table = shell.user_ns["_"]
    assert [row[:2] for row in table.rows] == [["1", ""], ["2", "yes"]]
    result, out = run(shell, "%llama prompt list")
    assert result.success and pid in out and "Hello {{ who }}!" in out

    result, out = run(shell, f"%llama prompt set-default {pid} 1")
    assert result.success and f"Prompt {pid} now uses version 1 by default." in out
    _, out = run(shell, f"%llama prompt render {pid} role=cook who=me")
    assert "You are a cook for me." in out
    _, out = run(shell, f"%llama prompt render {pid} who=you --version 2")
    assert "Hello you!" in out

    result, out = run(shell, f"%llama prompt delete {pid}")
    assert result.success and f"Deleted prompt {pid}." in out
    result, out = run(shell, f"%llama prompt show {pid}")
    assert not result.success and f"NotFoundError: Prompt '{pid}' not found." in out


def test_a_line_template_without_placeholders_is_fine(shell: InteractiveShell) -> None:
    result, out = run(shell, "%llama prompt create You're a helpful assistant.")
    assert result.success and "(variables: none)" in out
    assert shell.user_ns["_"].prompt == "You're a helpful assistant."


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%llama prompt", "the following arguments are required: action"),
        ("%llama prompt frobnicate", "invalid choice: 'frobnicate'"),
        ("%llama prompt create", "give the template's text"),
        ("%llama prompt create You are a {{role}}.", "put the template in the body of a %%llama"),
        ("%llama prompt create --var x Hi {{{{y}}}}", "undeclared variables: ['y']"),
        ("%llama prompt show", "show: give the prompt id"),
        ("%llama prompt set-default pmpt_x", "give the prompt id and a version"),
        ("%llama prompt set-default pmpt_x two", "a version is a number from 1, got 'two'"),
        ("%llama prompt render pmpt_x oops", "values are name=value, got 'oops'"),
        ("%llama prompt list --out x", "--out is not an option of list"),
        ("%llama prompt delete pmpt_nope", "Prompt 'pmpt_nope' not found."),
        ("%llama prompt show pmpt_x --version 0", "must be at least 1"),
    ],
)
def test_bad_arguments_give_one_line(shell: InteractiveShell, line: str, message: str) -> None:
    result, out = run(shell, line)
    assert not result.success and message in out, out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1, out


def test_help(shell: InteractiveShell) -> None:
    result, out = run(shell, "%llama prompt --help")
    assert result.success and "set-default ID VERSION" in out and "--var NAME" in out
    result, out = run(shell, "%llama --help")
    assert "prompt" in out and "Prompt templates with {{variables}}" in out
