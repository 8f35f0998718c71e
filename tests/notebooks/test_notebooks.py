"""The notebooks run headless under papermill (small CI parameters) and show what they promise."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from llama_workbench.pipeline import run_notebooks

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PARAMS: dict[str, dict[str, Any]] = {
    "01_quickstart": {"max_tokens": 24},
    "02_rag": {"top_k": 3},
    "03_safety": {"max_tokens": 16},
    "04_server": {"max_tokens": 16},
    "05_providers": {"max_tokens": 24, "mode": "replay"},
    "06_agents": {"max_tokens": 24},
    "07_eval": {"max_tokens": 16, "rows": 3},
    "08_finetune": {"max_tokens": 16},
}


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("LLAMA_WORKBENCH_DATA_DIR", str(tmp_path_factory.mktemp("notebook-data")))
    mp.delenv("LLAMA_WORKBENCH_CONFIG", raising=False)
    out = tmp_path_factory.mktemp("executed")
    books = {}
    for name, params in PARAMS.items():
        (run,) = run_notebooks([NOTEBOOKS / f"{name}.ipynb"], params, out)
        books[name] = nbformat.read(run.output, as_version=4)
    yield books
    mp.undo()


def text(book: Any) -> str:
    """Everything the code cells showed: streams, plain-text results, errors."""
    parts = []
    for cell in book.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def answers(book: Any) -> list[str]:
    """The model's answers as the notebook showed them (Markdown, streamed by the magics)."""
    return [
        str(output["data"]["text/markdown"])
        for cell in book.cells
        for output in cell.get("outputs", [])
        if "text/markdown" in output.get("data", {})
    ]


def repeated_sentence(answer: str) -> str | None:
    """A sentence (three words or more) that the answer says twice, if any."""
    seen: set[str] = set()
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", answer):
        words = re.findall(r"\w+", sentence.lower())
        key = " ".join(words)
        if len(words) >= 3 and key in seen:
            return sentence.strip()
        seen.add(key)
    return None


def test_shown_answers_do_not_repeat_themselves(executed: dict[str, Any]) -> None:
    shown = {name: answers(book) for name, book in executed.items()}
    assert shown["02_rag"], "notebook 02 shows an answer"
    for name, said in shown.items():
        for answer in said:
            assert repeated_sentence(answer) is None, f"{name}: {answer!r}"


def test_every_notebook_is_in_the_suite() -> None:
    shipped = {p.stem for p in NOTEBOOKS.glob("*.ipynb")}
    assert shipped == set(PARAMS)


def test_notebooks_are_stored_without_outputs() -> None:
    for path in NOTEBOOKS.glob("*.ipynb"):
        book = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), path
        tags = [c.metadata.get("tags", []) for c in book.cells]
        assert ["parameters"] in tags, f"{path} has no parameters cell"


def test_quickstart(executed: dict[str, Any]) -> None:
    shown = text(executed["01_quickstart"])
    assert "SmolLM2-135M-Instruct" in shown and "all-MiniLM-L6-v2" in shown
    assert "Paris" in shown and "cat~kitten" in shown


def test_rag(executed: dict[str, Any]) -> None:
    shown = text(executed["02_rag"])
    assert shown.count(": completed") == 4  # the four sample documents were indexed
    assert "'hybrid': 'orrin_ridge_observatory_annual_report_2023.pdf'" in shown


def test_safety(executed: dict[str, Any]) -> None:
    shown = text(executed["03_safety"])
    assert "pii: error: The message contains personal data (email)." in shown
    assert "shield 'pii' stopped the prompt" in shown


def test_server(executed: dict[str, Any]) -> None:
    shown = text(executed["04_server"])
    assert re.search(r"response\.created \.\.\. response\.(completed|incomplete)", shown)
    assert "'status': 'OK'" in shown


def test_providers_switch_by_config_alone(executed: dict[str, Any]) -> None:
    shown = text(executed["05_providers"])
    assert "Now using 'starter'" in shown and "Now using 'remote_run.yaml'" in shown
    assert "shared/transformers/HuggingFaceTB/SmolLM2-135M-Instruct" in shown
    assert "remote:   The primary color" in shown  # replayed from the recorded server


def test_agents(executed: dict[str, Any]) -> None:
    shown = text(executed["06_agents"])
    assert "['add', 'opening_hours']" in shown and "\n42" in shown
    assert "['shield_call'] The message contains personal data (email)." in shown
    assert "Agent 'magic-agent'" in shown


def test_eval(executed: dict[str, Any]) -> None:
    shown = text(executed["07_eval"])
    assert "subset_of accuracy: " in shown and "basic::subset_of/accuracy" in shown
    assert "mlflow ui --backend-store-uri sqlite:///" in shown


def test_finetune(executed: dict[str, Any]) -> None:
    book = executed["08_finetune"]
    shown = text(book)
    assert "accuracy on the Veltmora questions: base 0.00 -> fine-tuned " in shown
    assert "Model 'HuggingFaceTB/SmolLM2-135M-Instruct-ft-veltmora-lora' is served" in shown
    chats = [
        o["data"]["text/markdown"]
        for c in book.cells
        if c.source.startswith("%%llama chat")
        for o in c.get("outputs", [])
        if "text/markdown" in o.get("data", {})
    ]
    assert len(chats) == 2 and "Quillhaven" in chats[0] and "Quillhaven" not in chats[1], chats
    assert "FineTuneMonitor(job=veltmora-lora): completed, step 10/10" in shown
    # The loss curve is drawn (matplotlib SVG) in the notebook.
    assert any(
        "image/svg+xml" in o.get("data", {}) for c in book.cells for o in c.get("outputs", [])
    )
