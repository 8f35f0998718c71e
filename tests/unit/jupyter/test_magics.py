"""`%llama` in a real IPython InteractiveShell, on the starter stack with the bundled models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from tests.support.rag import CORPUS_DIR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteractiveShell]:
    mp = pytest.MonkeyPatch()
    mp.setenv("LLAMA_WORKBENCH_DATA_DIR", str(tmp_path_factory.mktemp("magics")))
    mp.delenv("LLAMA_WORKBENCH_CONFIG", raising=False)
    ip = InteractiveShell.instance()
    with capture_output() as loaded:
        assert ip.run_cell("%load_ext llama_workbench").success
    assert loaded.stdout == "" and loaded.stderr == ""  # loading prints nothing
    yield ip
    ip.run_cell("%unload_ext llama_workbench")
    InteractiveShell.clear_instance()
    mp.undo()


def run(ip: InteractiveShell, code: str) -> tuple[Any, str]:
    with capture_output() as out:
        result = ip.run_cell(code)
    shown = "".join(o.data.get("text/plain", "") for o in out.outputs)
    return result, out.stdout + out.stderr + shown


def test_chat_streams_keeps_history_and_interpolates(shell: InteractiveShell) -> None:
    shell.user_ns["city"] = "Paris"
    result, out = run(
        shell, "%llama chat -n 24 -t 0 What is the capital of France? Answer with one word."
    )
    assert result.success and "Paris" in out
    assert shell.user_ns["_"] == out.strip()
    result, _ = run(
        shell, "%%llama chat -n 16 -t 0 --out reply\nIs {city} in Europe? Say yes or no."
    )
    assert result.success
    history = shell.magics_manager.registry["LlamaMagics"].session.history
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
    assert history[2]["content"] == "Is Paris in Europe? Say yes or no."
    assert shell.user_ns["reply"] == history[3]["content"]
    result, out = run(shell, "%llama history")
    assert "Is Paris in Europe?" in out
    run(shell, "%llama reset")
    assert history == []


def test_chat_formats(shell: InteractiveShell) -> None:
    result, _ = run(
        shell,
        "%llama chat -n 60 -t 0 --no-history --format code Write Python code that prints hello.",
    )
    assert result.success
    assert shell.rl_next_input  # the generated code waits as the next cell
    shell.rl_next_input = None
    shell.user_ns["data"] = '{"a": 1}'
    result, out = run(shell, "%llama chat -n 8 --no-history --format json Repeat exactly: {data}")
    # A 135M model may or may not repeat JSON: either a parsed value or a one-line error.
    assert result.success or "not JSON" in out


def test_subcommands(shell: InteractiveShell, tmp_path: Path) -> None:
    result, _ = run(shell, "s = %llama stack")
    assert result.success and type(shell.user_ns["s"]).__name__ == "Stack"
    result, out = run(shell, "%llama models")
    assert result.success and "SmolLM2" in out and "all-MiniLM-L6-v2" in out
    result, out = run(shell, "%llama status")
    assert result.success and "Providers" in out and "Shields" in out and "pii" in out
    assert "engine: ctranslate2; compute_type: int8" in out  # the inline model's engine
    result, out = run(shell, "%llama shield pii mail me at jo@acme-mail.com")
    assert result.success and "pii: error: The message contains personal data (email)." in out
    result, out = run(shell, "%%llama shield toxicity\nWhat a lovely morning.")
    assert result.success and "toxicity: no violation" in out
    docs = f"{CORPUS_DIR}/keldmouth_lighthouse_history.md"
    result, out = run(shell, f"%llama rag ingest {docs} --store lighthouse")
    assert result.success and "completed" in out
    result, out = run(
        shell, '%llama rag ask "Who designed the Keldmouth light?" --store lighthouse --no-answer'
    )
    assert result.success and "keldmouth_lighthouse_history.md" in out
    result, out = run(shell, "%llama rag stores")
    assert "lighthouse" in out
    result, out = run(shell, "%llama config")
    assert "starter" in out
    result, out = run(shell, "%llama widget inspector")
    assert result.success and "StackInspector" in out, out


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%llama nope", "unknown subcommand 'nope'"),
        ("%llama chat", "give a prompt"),
        ("%llama chat --temperature 9 hi", "must be between 0 and 2"),
        ("%llama chat --temperature hot hi", "invalid temperature value"),
        ("%llama chat --max-tokens 0 hi", "must be at least 1"),
        ("%llama chat --max-tokens", "expected one argument"),
        ("%llama chat --format yaml hi", "invalid choice: 'yaml'"),
        ("%llama chat --model nope hi", "Model 'nope' not found"),
        ("%llama chat --model sentence-transformers/all-MiniLM-L6-v2 hi", "embedding model"),
        ("%llama chat --shield nope hi", "Shield 'nope' not found"),
        (
            "%llama chat --shield pii my email is jo@acme-mail.com",
            "shield 'pii' stopped the prompt",
        ),
        ("%llama models extra", "unrecognized arguments: extra"),
        ("%llama rag", "the following arguments are required: action"),
        ("%llama rag index x", "invalid choice: 'index'"),
        ("%llama rag ask q", "--store NAME is required"),
        ("%llama rag ask q --store missing", "no vector store named 'missing'"),
        ("%llama rag ingest /nowhere/*.pdf --store s", "no files match"),
        ("%llama shield", "required: shield_id"),
        ("%%llama shield pii\n   ", "give the text"),
        ("%llama shield nope hello", "Shield 'nope' not found"),
        ("%llama config ./missing.yaml", "missing.yaml"),
        ("%llama config nodistro", "nodistro"),
        ('%llama rag ask "unclosed --store s', "No closing quotation"),
        ("%llama widget nope", "invalid choice: 'nope'"),
        ("%llama eval", "give one benchmark id"),
        ("%llama eval nope", "NotFoundError: Benchmark 'nope'"),
        ("%llama eval register b --data nowhere --scoring basic::equality", "neither a file"),
        ("%llama eval register b", "--data <file|variable> --scoring <fn>"),
        ("%llama eval resume b", "give <benchmark> <job_id>"),
        ("%llama eval -k 0 b", "must be at least 1"),
    ],
)
def test_bad_input_is_one_line_and_fails_the_cell(
    shell: InteractiveShell, line: str, message: str
) -> None:
    result, out = run(shell, line)
    assert not result.success, out
    shown = str(result.error_in_exec)
    assert message.lower() in shown.lower(), shown
    assert "Traceback" not in out and len(shown.splitlines()) == 1


def test_help_everywhere(shell: InteractiveShell) -> None:
    for line in ["%llama", "%llama --help", "%llama help"]:
        result, out = run(shell, line)
        assert result.success and "Subcommands" in out and "rag" in out
    for sub in [
        "chat",
        "history",
        "reset",
        "models",
        "status",
        "config",
        "rag",
        "shield",
        "widget",
        "agent",
        "eval",
        "finetune",
        "trace",
        "stack",
    ]:
        result, out = run(shell, f"%llama {sub} --help")
        assert result.success and f"usage: %llama {sub}" in out, sub


def test_errors_are_kept_for_prompts(shell: InteractiveShell) -> None:
    result, _ = run(shell, "1 / 0")
    count = result.execution_count
    assert shell.user_ns["Err"][count] == "ZeroDivisionError: division by zero"


def test_eval_runs_a_benchmark_into_a_dataframe(shell: InteractiveShell) -> None:
    shell.run_cell(
        "import pandas as pd\n"
        "qa = pd.DataFrame({'question': ['What is the capital of France?', 'Name the color "
        "of grass.'], 'answer': ['Paris', 'green']})"
    )
    result, out = run(shell, "%llama eval register capitals --data qa --scoring basic::subset_of")
    assert result.success and "Benchmark 'capitals'" in out, out
    result, out = run(shell, "%llama eval capitals -n 16 --system 'Answer in a few words.'")
    assert result.success, out
    frame = shell.user_ns["_"]
    assert list(frame["question"]) == list(shell.user_ns["qa"]["question"])
    assert set(frame["basic::subset_of"]) <= {0.0, 1.0} and "Paris" in frame["generated_answer"][0]
    assert (
        "basic::subset_of/accuracy = " in out and "mlflow ui --backend-store-uri sqlite:///" in out
    )
    result, out = run(shell, "%llama eval jobs capitals")
    assert result.success and "completed" in out and "2/2" in out
    result, out = run(shell, "%llama eval benchmarks")
    assert result.success and "capitals" in out
