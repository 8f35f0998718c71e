"""A kernel's stack follows its run config file: saved changes are picked up on next use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llama_workbench.jupyter.session import NotebookSession


def _config(tmp_path: Path, words: list[str]) -> str:
    return f"""\
version: 2
data_dir: {tmp_path / "data"}
apis: [safety]
providers:
  safety:
  - provider_id: regex
    provider_type: inline::regex
    config: {{}}
registered_resources:
  shields:
  - shield_id: blocklist
    provider_id: regex
    params: {{blocked_words: {words}}}
"""


def _flagged(session: NotebookSession, text: str) -> bool:
    verdict = session.stack.safety.run_shield(
        shield_id="blocklist", messages=[{"role": "user", "content": text}]
    )
    return verdict.violation is not None


@pytest.fixture
def run_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(_config(tmp_path, ["apple"]))
    return path


def test_a_saved_config_is_picked_up_on_next_use(
    run_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = NotebookSession(source=str(run_yaml))
    try:
        first = session.stack
        assert _flagged(session, "an apple") and not _flagged(session, "a pear")
        assert session.stack is first  # unchanged file: same stack, nothing printed
        assert capsys.readouterr().out == ""

        run_yaml.write_text(_config(tmp_path, ["pear"]))
        assert _flagged(session, "a pear") and not _flagged(session, "an apple")
        assert session.stack is not first
        out = capsys.readouterr().out
        assert out == "llama_workbench: run.yaml changed on disk; the stack was reloaded from it\n"
        assert first._closed  # the old stack was shut down
    finally:
        session.close()


def test_touching_the_file_without_changing_it_keeps_the_stack(run_yaml: Path) -> None:
    session = NotebookSession(source=str(run_yaml))
    try:
        first = session.stack
        stat = run_yaml.stat()
        os.utime(run_yaml, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
        assert session.stack is first
    finally:
        session.close()


def test_a_broken_save_keeps_the_running_stack(
    run_yaml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = NotebookSession(source=str(run_yaml))
    try:
        first = session.stack
        run_yaml.write_text("version: 2\napis: [nonsense]\n")
        assert session.stack is first
        err = capsys.readouterr().err
        assert err.startswith("llama_workbench: run.yaml changed but does not load (")
        assert err.count("\n") == 1
        assert session.stack is first  # told once, not at every use
        assert capsys.readouterr().err == ""
    finally:
        session.close()


def test_a_distribution_is_not_watched() -> None:
    session = NotebookSession(source="starter")
    assert session._stamp is None
