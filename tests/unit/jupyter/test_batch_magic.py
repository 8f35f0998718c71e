"""`%llama batch` in a real InteractiveShell: a DataFrame in, results out; JSONL files; errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell

from tests.support.batches import batch_config, chat_lines, jsonl
from tests.support.magic_shell import configured_shell, run
from tests.support.stub_server import StubOpenAIServer


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteractiveShell]:
    folder = tmp_path_factory.mktemp("batch_magic")
    with StubOpenAIServer(models=["m", "e"]) as stub:
        provider = {
            "provider_id": "s",
            "provider_type": "remote::vllm",
            "config": {"base_url": stub.base_url, "embedding_models": {"e": 3}},
        }
        with configured_shell(batch_config(folder / "data", [provider]), folder) as ip:
            yield ip


def test_a_dataframe_in_a_dataframe_out(shell: InteractiveShell) -> None:
    shell.user_ns["questions"] = pd.DataFrame(
        {"question": ["one", "two", "three"], "expected": ["1", "2", "3"]}
    )
    result, out = run(shell, "frame = %llama batch questions --model m --max-tokens 5")
    assert result.success, out
    frame = shell.user_ns["frame"]
    assert list(frame["custom_id"]) == ["row-0", "row-1", "row-2"]
    assert list(frame["answer"]) == ["echo: one", "echo: two", "echo: three"]
    assert list(frame["expected"]) == ["1", "2", "3"] and frame["error"].isna().all()
    result, out = run(shell, "%llama batch list")
    assert result.success and "completed" in out and "3/3" in out


def test_rows_for_embeddings_and_a_jsonl_file(shell: InteractiveShell, tmp_path: Path) -> None:
    shell.user_ns["texts"] = [{"custom_id": "a", "input": "abc"}, {"custom_id": "b", "input": "ab"}]
    result, out = run(shell, "vectors = %llama batch texts --endpoint embeddings")
    assert result.success, out
    assert [v[0] for v in shell.user_ns["vectors"]["answer"]] == [3.0, 2.0]
    path = tmp_path / "requests.jsonl"
    lines = chat_lines("m", ["hi"])
    lines.append({**lines[0], "custom_id": "bad", "body": {"model": "m", "messages": [{}]}})
    path.write_bytes(jsonl(lines))
    result, out = run(shell, f"answers = %llama batch {path}")
    assert result.success, out
    answers = shell.user_ns["answers"]
    assert list(answers["custom_id"]) == ["r0", "bad"] and answers["answer"][0] == "echo: hi"
    assert answers["error"][1] and pd.isna(answers["answer"][1])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%llama batch nothing_here", "'nothing_here' is neither a variable nor a file"),
        ("%llama batch texts --endpoint fax", "unknown endpoint 'fax'"),
        ("%llama batch cancel", "give one batch id"),
        ("%llama batch results batch_nope", "NotFoundError: Batch 'batch_nope' not found."),
        ("%llama batch bad_rows --model m", "row 0 has none of the columns messages, prompt"),
        ("%llama batch unknown_model --model zz", "failed: line 1: Model 'zz' does not exist"),
        ("%llama batch --max-tokens 0 x", "argument --max-tokens/-n: must be at least 1"),
    ],
)
def test_bad_arguments_give_one_line(shell: InteractiveShell, line: str, message: str) -> None:
    shell.user_ns["texts"] = [{"input": "abc"}]
    shell.user_ns["bad_rows"] = [{"nothing": 1}]
    shell.user_ns["unknown_model"] = [{"prompt": "x"}]
    result, out = run(shell, line)
    assert not result.success and message in out, out
    assert "Traceback" not in out


def test_help(shell: InteractiveShell) -> None:
    result, out = run(shell, "%llama batch --help")
    assert result.success and "DataFrame of results" in out
    _, out = run(shell, "%llama --help")
    assert "batch" in out
