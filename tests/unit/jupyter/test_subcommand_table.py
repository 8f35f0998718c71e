"""`%llama`'s one subcommand table: the help lists it, the magic runs it, every --help works.

A real IPython shell with the extension loaded; no stack is built (help never needs one).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from llama_workbench.jupyter.subcommands import SUBCOMMANDS, top_parser


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteractiveShell]:
    mp = pytest.MonkeyPatch()
    mp.setenv("LLAMA_WORKBENCH_DATA_DIR", str(tmp_path_factory.mktemp("subcommands")))
    mp.delenv("LLAMA_WORKBENCH_CONFIG", raising=False)
    ip = InteractiveShell.instance()
    assert ip.run_cell("%load_ext llama_workbench").success
    yield ip
    ip.run_cell("%unload_ext llama_workbench")
    InteractiveShell.clear_instance()
    mp.undo()


def _run(ip: InteractiveShell, code: str) -> tuple[Any, str]:
    with capture_output() as out:
        result = ip.run_cell(code)
    return result, out.stdout + out.stderr


def test_each_entry_is_one_subcommand_with_its_own_parser() -> None:
    names = [s.name for s in SUBCOMMANDS]
    assert len(names) == len(set(names)) and "chat" in names and "widget" in names
    for sub in SUBCOMMANDS:
        parser = sub.parser()
        assert parser.prog == f"%llama {sub.name}"
        assert sub.summary and "\n" not in sub.summary
    assert top_parser()._actions[-1].choices == names


def test_the_help_lists_the_table_in_order(shell: InteractiveShell) -> None:
    for line in ("%llama", "%llama --help", "%llama -h", "%llama help"):
        result, out = _run(shell, line)
        assert result.success, line
        listed = [
            row.split()[0] for row in out.split("Subcommands:\n")[1].split("\n\n")[0].splitlines()
        ]
        assert listed == [s.name for s in SUBCOMMANDS], line
        for sub in SUBCOMMANDS:
            assert f"{sub.name:<8} {sub.summary}" in out


def test_every_subcommand_help_works_without_a_stack(shell: InteractiveShell) -> None:
    session = shell.magics_manager.registry["LlamaMagics"].session
    for sub in SUBCOMMANDS:
        for line in (
            f"%llama {sub.name} --help",
            f"%llama {sub.name} -h",
            f"%llama help {sub.name}",
        ):
            result, out = _run(shell, line)
            assert result.success and out.startswith(f"usage: %llama {sub.name}"), line
            description = sub.parser().description or ""
            assert " ".join(description.split()[:4]) in " ".join(out.split()), line
    assert session._stack is None  # help built nothing


def test_an_unknown_subcommand_names_the_table(shell: InteractiveShell) -> None:
    for line, start in (
        ("%llama chatt hi", "%llama: unknown subcommand 'chatt'"),
        ("%llama help chatt", "%llama help: unknown subcommand 'chatt'"),
    ):
        result, _ = _run(shell, line)
        assert not result.success
        message = str(result.error_in_exec)
        assert message.startswith(start), message
    result, _ = _run(shell, "%llama chatt")
    assert ", ".join(s.name for s in SUBCOMMANDS) in str(result.error_in_exec)
