"""A notebook of `%llama` cells run by papermill: it completes, and a failing magic stops it."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest

from tests.support.stub_server import StubOpenAIServer, stub_stack_config


def _notebook(path: Path, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def test_a_pipeline_runs_and_stops_on_a_failing_magic(tmp_path: Path) -> None:
    import yaml

    with StubOpenAIServer(models=["m1"]) as stub:
        config = tmp_path / "run.yaml"
        config.write_text(yaml.safe_dump(stub_stack_config(stub.base_url, tmp_path / "data")))
        good = tmp_path / "good.ipynb"
        _notebook(
            good,
            [
                "%load_ext llama_workbench",
                f"%llama config {config}",
                "topic = 'kelp'\n%llama chat --format text -m s/m1 --out reply tell me about {topic}",
                "assert reply == 'echo: tell me about kelp', reply",
            ],
        )
        papermill.execute_notebook(str(good), str(tmp_path / "good.out.ipynb"), progress_bar=False)
        bad = tmp_path / "bad.ipynb"
        _notebook(
            bad,
            [
                "%load_ext llama_workbench",
                f"%llama config {config}",
                "%llama chat -m missing-model hello",
                "ran_after_the_failure = True",
            ],
        )
        with pytest.raises(papermill.PapermillExecutionError) as info:
            papermill.execute_notebook(
                str(bad), str(tmp_path / "bad.out.ipynb"), progress_bar=False
            )
    assert info.value.exec_count == 3  # the pipeline stopped at the magic
    executed = nbformat.read(tmp_path / "bad.out.ipynb", as_version=4)
    cells = {c.source: c for c in executed.cells if c.cell_type == "code"}
    shown = "".join(o.get("text", "") for o in cells["%llama chat -m missing-model hello"].outputs)
    assert shown == "UsageError: NotFoundError: Model 'missing-model' not found. Available: s/m1.\n"
    assert cells["ran_after_the_failure = True"].get("execution_count") is None
