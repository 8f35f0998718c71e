"""scripts/llama_stack_suite.py: its --help, junit parsing and table (no network, no venv)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "llama_stack_suite.py"

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="5">
  <testcase classname="tests.integration.files.test_files" name="test_a" time="0.1"/>
  <testcase classname="tests.integration.files.test_files" name="test_b" time="0.1">
    <failure message="AssertionError: 404 != 400&#10;more">trace</failure>
  </testcase>
  <testcase classname="tests.integration.files.test_files" name="test_c" time="0.1">
    <skipped type="pytest.skip" message="no model">skip</skipped>
  </testcase>
  <testcase classname="tests.integration.files.test_files" name="test_d" time="0.1">
    <error message="fixture failed">trace</error>
  </testcase>
  <testcase classname="tests.integration.files.test_files" name="test_a" time="0.1">
    <error message="teardown failed">trace</error>
  </testcase>
</testsuite></testsuites>
"""

THEIRS = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3">
  <testcase classname="tests.integration.files.test_files" name="test_a" time="0.1"/>
  <testcase classname="tests.integration.files.test_files" name="test_b" time="0.1"/>
  <testcase classname="tests.integration.files.test_files" name="test_d" time="0.1">
    <failure message="boom">trace</failure>
  </testcase>
</testsuite></testsuites>
"""


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("llama_stack_suite", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_help_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "--against-llama-stack" in done.stdout
    assert "--modules" in done.stdout


def test_junit_parsing_and_table(tmp_path: Path) -> None:
    suite = load_script()
    for server, text in (("ours", JUNIT), ("llama-stack", THEIRS)):
        (tmp_path / server).mkdir()
        (tmp_path / server / "files.xml").write_text(text)

    ours = suite.parse_junit(tmp_path / "ours" / "files.xml")
    prefix = "tests.integration.files.test_files::"
    assert ours[prefix + "test_a"].outcome == "error"  # the worse of passed + teardown error
    assert ours[prefix + "test_b"].outcome == "failed"
    assert ours[prefix + "test_b"].message == "AssertionError: 404 != 400"
    assert ours[prefix + "test_c"].outcome == "skipped"
    assert suite.counts(ours) == {"passed": 0, "failed": 1, "skipped": 1, "error": 2}

    rows = suite.collect(["files", "eval"], out=tmp_path)
    files_row = rows[0]
    assert files_row.only_ours == [prefix + "test_a", prefix + "test_b"]
    assert files_row.only_theirs == []
    assert rows[1].ours is None and rows[1].theirs is None

    table = suite.format_table(rows).splitlines()
    assert table[0].split(" | ")[0].strip() == "module"
    cells = [c.strip() for c in table[2].split("|")]
    assert cells == ["files", "0/1/1/2", "2/1/0/0", "2", "0"]
    assert [c.strip() for c in table[3].split("|")] == ["eval", "-", "-", "-", "-"]
    assert table[-1].split("|")[0].strip() == "total"

    listing = tmp_path / "only.txt"
    suite.write_only_ours(rows, listing)
    lines = listing.read_text().splitlines()
    assert lines[1] == f"files\t{prefix}test_b\tAssertionError: 404 != 400"
