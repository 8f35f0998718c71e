"""The Datasets registry and the DatasetIO router over real files, DataFrames and inline rows."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from llama_workbench import (
    BadRequestError,
    ConfigError,
    ConflictError,
    NotFoundError,
    ProviderUnavailableError,
    Stack,
    UnprocessableError,
)
from llama_workbench.apis.datasets.models import EVAL_COLUMNS, normalize_eval_row

QA = [
    {"question": "What is 2 + 2?", "answer": "4"},
    {"question": "Capital of France?", "answer": "Paris"},
    {"question": "Color of the sky?", "answer": "blue"},
]


def _config(data_dir: Path, *, hf: bool = True, **extra: Any) -> dict[str, Any]:
    providers = [{"provider_id": "localfs", "provider_type": "inline::localfs", "config": {}}]
    if hf:
        providers.append(
            {"provider_id": "hf", "provider_type": "remote::huggingface", "config": {}}
        )
    return {
        "data_dir": str(data_dir),
        "apis": ["datasetio"],
        "providers": {"datasetio": providers},
        **extra,
    }


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with Stack.from_config(_config(tmp_path / "data")) as s:
        yield s


def _files(folder: Path) -> dict[str, Path]:
    """The QA rows as CSV, JSONL, JSON, Parquet and a `datasets` save_to_disk folder."""
    import datasets

    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(QA)
    paths = {
        "csv": folder / "qa.csv",
        "jsonl": folder / "qa.jsonl",
        "json": folder / "qa.json",
        "parquet": folder / "qa.parquet",
        "saved": folder / "qa_saved",
    }
    frame.to_csv(paths["csv"], index=False)
    paths["jsonl"].write_text("".join(json.dumps(r) + "\n" for r in QA))
    paths["json"].write_text(json.dumps({"data": QA}))
    frame.to_parquet(paths["parquet"])
    datasets.Dataset.from_list(QA).save_to_disk(str(paths["saved"]))
    return paths


def _rows(stack: Stack, dataset_id: str, **page: Any) -> list[dict[str, Any]]:
    return list(stack.datasetio.iterrows(dataset_id=dataset_id, **page).data)


@pytest.mark.parametrize("kind", ["csv", "jsonl", "json", "parquet", "saved"])
def test_files_of_every_format_read_back(stack: Stack, tmp_path: Path, kind: str) -> None:
    path = _files(tmp_path / "files")[kind]
    uri = path.as_uri() if kind in ("json", "saved") else str(path)  # file:// and plain paths
    dataset = stack.datasets.register(
        purpose="eval/question-answer", source={"type": "uri", "uri": uri}, dataset_id=kind
    )
    assert dataset.provider_id == "localfs" and dataset.provider_resource_id == kind
    assert _rows(stack, kind) == QA


def test_a_folder_of_files_reads_them_in_order(stack: Stack, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps(QA[0]) + "\n")
    pd.DataFrame(QA[1:]).to_csv(folder / "b.csv", index=False)
    (folder / ".hidden").mkdir()
    (folder / ".hidden" / "c.jsonl").write_text(json.dumps({"question": "x", "answer": "y"}))
    stack.datasets.register(
        purpose="eval/question-answer", source={"uri": str(folder)}, dataset_id="parts"
    )
    assert _rows(stack, "parts") == QA


def test_dataframes_and_inline_rows(stack: Stack) -> None:
    frame = pd.DataFrame(
        {"input_query": ["a", "b"], "expected_answer": [1.5, float("nan")], "n": [1, 2]}
    )
    dataset = stack.datasets.register(
        purpose="eval/question-answer", source={"type": "rows", "rows": frame}
    )
    assert dataset.identifier.startswith("dataset-") and len(dataset.identifier) == 40
    expected = [
        {"input_query": "a", "expected_answer": 1.5, "n": 1},
        {"input_query": "b", "expected_answer": None, "n": 2},
    ]
    assert dataset.source.rows == expected  # NaN -> None, numpy -> Python
    assert _rows(stack, dataset.identifier) == expected
    inline = stack.datasets.register(
        purpose="eval/messages-answer",
        source={"rows": [{"messages": [{"role": "user", "content": "hi"}], "answer": "hello"}]},
        dataset_id="chat",
        metadata={"owner_team": "evals"},
    )
    assert inline.source.type == "rows" and inline.metadata == {"owner_team": "evals"}
    assert _rows(stack, "chat")[0]["answer"] == "hello"


def test_data_uri(stack: Stack) -> None:
    import base64

    payload = base64.b64encode(b"question,answer\nq,a\n").decode()
    stack.datasets.register(
        purpose="eval/question-answer",
        source={"uri": f"data:csv;base64,{payload}"},
        dataset_id="inline-csv",
    )
    assert _rows(stack, "inline-csv") == [{"question": "q", "answer": "a"}]


def test_iterrows_pages(stack: Stack) -> None:
    rows = [{"question": f"q{i}", "answer": str(i)} for i in range(10)]
    stack.datasets.register(purpose="eval/question-answer", source={"rows": rows}, dataset_id="p")
    page = stack.datasetio.iterrows(dataset_id="p", start_index=0, limit=4)
    assert page.data == rows[:4] and page.has_more and page.url is None
    page = stack.datasetio.iterrows(dataset_id="p", start_index=8, limit=4)
    assert page.data == rows[8:] and not page.has_more
    page = stack.datasetio.iterrows(dataset_id="p", start_index=6, limit=4)
    assert page.data == rows[6:] and not page.has_more  # exactly the last rows
    for everything in ({}, {"limit": -1}, {"limit": None, "start_index": None}):
        page = stack.datasetio.iterrows(dataset_id="p", **everything)
        assert page.data == rows and not page.has_more
    page = stack.datasetio.iterrows(dataset_id="p", start_index=3)
    assert page.data == rows[3:] and not page.has_more
    assert stack.datasetio.iterrows(dataset_id="p", start_index=2, limit=0).has_more
    beyond = stack.datasetio.iterrows(dataset_id="p", start_index=50, limit=5)
    assert beyond.data == [] and not beyond.has_more
    with pytest.raises(BadRequestError, match=r"^start_index must be >= 0, got -1\.$"):
        stack.datasetio.iterrows(dataset_id="p", start_index=-1)
    with pytest.raises(BadRequestError, match=r"^limit must be -1 \(all rows\) or >= 0, got -2\.$"):
        stack.datasetio.iterrows(dataset_id="p", limit=-2)


def test_appended_rows_persist_across_restarts(tmp_path: Path) -> None:
    csv = _files(tmp_path / "files")["csv"]
    before = csv.read_bytes()
    extra = [{"question": "Largest planet?", "answer": "Jupiter"}]
    config = _config(tmp_path / "data")
    with Stack.from_config(config) as s:
        s.datasets.register(
            purpose="eval/question-answer", source={"uri": str(csv)}, dataset_id="f"
        )
        s.datasets.register(purpose="eval/question-answer", source={"rows": QA[:1]}, dataset_id="r")
        s.datasetio.append_rows(dataset_id="f", rows=extra)
        s.datasetio.append_rows(dataset_id="r", rows=pd.DataFrame(extra))  # a DataFrame too
        s.datasetio.append_rows(dataset_id="r", rows=[])
        assert _rows(s, "f") == [*QA, *extra]
    assert csv.read_bytes() == before  # the user's file is never rewritten
    with Stack.from_config(config) as s:
        assert [d.identifier for d in s.datasets.list()] == ["f", "r"]
        assert _rows(s, "f") == [*QA, *extra]
        assert _rows(s, "r") == [QA[0], *extra]
        page = s.datasetio.iterrows(dataset_id="f", start_index=2, limit=2)
        assert page.data == [QA[2], *extra] and not page.has_more  # across the file's end
        s.datasetio.append_rows(dataset_id="r", rows=extra)
    with Stack.from_config(config) as s:
        assert _rows(s, "r") == [QA[0], *extra, *extra]
        s.datasets.unregister("f")  # never used by this process: its stored rows go too
    with Stack.from_config(config) as s:
        assert [d.identifier for d in s.datasets.list()] == ["r"]
        s.datasets.register(
            purpose="eval/question-answer", source={"uri": str(csv)}, dataset_id="f"
        )
        assert _rows(s, "f") == QA


def test_a_changed_file_is_read_again(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    path.write_text(json.dumps(QA[0]) + "\n")
    stack.datasets.register(
        purpose="eval/question-answer", source={"uri": str(path)}, dataset_id="l"
    )
    assert _rows(stack, "l") == QA[:1]
    path.write_text("".join(json.dumps(r) + "\n" for r in QA))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert _rows(stack, "l") == QA


def test_relative_paths_are_stored_absolute(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _files(tmp_path / "files")
    monkeypatch.chdir(tmp_path / "files")
    dataset = stack.datasets.register(purpose="eval/question-answer", source={"uri": "qa.csv"})
    assert dataset.source.uri == str(tmp_path / "files" / "qa.csv")


def test_registered_resources_from_the_run_config(tmp_path: Path) -> None:
    paths = _files(tmp_path / "files")
    declared = {
        "datasets": [
            {
                "dataset_id": "simpleqa",
                "purpose": "eval/question-answer",
                "source": {"type": "uri", "uri": str(paths["jsonl"])},
                "metadata": {"origin": "config"},
            },
            {
                "dataset_id": "saved",
                "purpose": "eval/question-answer",
                "source": {"type": "uri", "uri": f"hf://{paths['saved']}"},
            },
        ]
    }
    config = _config(tmp_path / "data", registered_resources=declared)
    with Stack.from_config(config) as s:
        assert [(d.identifier, d.provider_id) for d in s.datasets.list()] == [
            ("saved", "hf"),
            ("simpleqa", "localfs"),
        ]
        assert s.datasets.retrieve("simpleqa").metadata == {"origin": "config"}
        assert _rows(s, "simpleqa") == QA and _rows(s, "saved") == QA
        with pytest.raises(BadRequestError, match="comes from the run config"):
            s.datasets.unregister("simpleqa")
        with pytest.raises(ConflictError, match="Dataset id 'simpleqa' is taken"):
            s.datasets.register(
                purpose="eval/question-answer", source={"rows": QA}, dataset_id="simpleqa"
            )


def test_bad_dataset_entries_in_the_run_config(tmp_path: Path) -> None:
    bad = {
        "datasets": [
            {"purpose": "eval/question-answer", "source": {"rows": QA}},
            {"dataset_id": "x", "purpose": "eval/unknown", "source": {"rows": QA}},
        ]
    }
    with pytest.raises(ConfigError) as caught:
        Stack.from_config(_config(tmp_path, registered_resources=bad))
    message = caught.value.message
    assert message.startswith("Invalid run config (2 problems):")
    assert "registered_resources.datasets[0].dataset_id is required" in message
    assert "registered_resources.datasets[1].purpose = 'eval/unknown'" in message
    wrong_provider = {
        "datasets": [
            {"dataset_id": "x", "purpose": "eval/question-answer", "source": {"rows": QA}},
        ]
    }
    wrong_provider["datasets"][0]["provider_id"] = "nope"
    with pytest.raises(ConfigError, match=r"datasets\[0\]: Datasetio provider 'nope' not found"):
        Stack.from_config(_config(tmp_path, registered_resources=wrong_provider))


def test_run_config_problems_name_their_yaml_lines(tmp_path: Path) -> None:
    run = tmp_path / "run.yaml"
    run.write_text(
        f"""data_dir: {tmp_path / "data"}
apis: [datasetio]
providers:
  datasetio:
  - provider_id: localfs
    provider_type: inline::localfs
registered_resources:
  datasets:
  - dataset_id: qa
    purpose: eval/question-answer
    source:
      type: uri
      uri: 42
"""
    )
    with pytest.raises(ConfigError) as caught:
        Stack.from_config(run)
    assert caught.value.message == (
        "Invalid run config (1 problem):\n"
        f"  {run}:13: registered_resources.datasets[0].source.uri = 42: input should be a valid string"
    )


@pytest.mark.parametrize(
    ("purpose", "rows", "message"),
    [
        (
            "eval/question-answer",
            [{"question": "q", "reply": "a"}],
            "Dataset 'bad' does not fit purpose 'eval/question-answer': no answer column "
            "('expected_answer' or 'answer'). That purpose needs a question column "
            "('input_query' or 'question') and an answer column ('expected_answer' or "
            "'answer'); the dataset's columns are: question, reply.",
        ),
        (
            "eval/question-answer",
            [{"prompt": "q"}],
            "Dataset 'bad' does not fit purpose 'eval/question-answer': no question column "
            "('input_query' or 'question'); no answer column ('expected_answer' or 'answer'). "
            "That purpose needs a question column ('input_query' or 'question') and an answer "
            "column ('expected_answer' or 'answer'); the dataset's columns are: prompt.",
        ),
        (
            "eval/messages-answer",
            [{"question": "q", "answer": "a"}],
            "Dataset 'bad' does not fit purpose 'eval/messages-answer': no messages column "
            "('messages' or 'chat_completion_input'). That purpose needs a messages column "
            "('messages' or 'chat_completion_input') and an answer column ('expected_answer' "
            "or 'answer'); the dataset's columns are: answer, question.",
        ),
        (
            "post-training/messages",
            [{"text": "hello"}],
            "Dataset 'bad' does not fit purpose 'post-training/messages': no messages column "
            "('messages'). That purpose needs a messages column ('messages'); the dataset's "
            "columns are: text.",
        ),
        (
            "post-training/messages",
            [{"messages": [{"role": "user", "content": "hi"}]}, {"messages": "hello"}],
            "Dataset 'bad' does not fit purpose 'post-training/messages': row 1: 'messages' "
            'must be a list of messages like [{"role": "user", "content": "..."}], got '
            "'hello'. That purpose needs a messages column ('messages'); the dataset's columns "
            "are: messages.",
        ),
    ],
)
def test_rows_that_do_not_fit_the_purpose(
    stack: Stack, purpose: str, rows: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        stack.datasets.register(purpose=purpose, source={"rows": rows}, dataset_id="bad")
    assert caught.value.message == message
    assert stack.datasets.list() == []


def test_files_are_checked_at_registration(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "chat.csv"
    pd.DataFrame([{"prompt": "hi", "answer": "hello"}]).to_csv(path, index=False)
    with pytest.raises(BadRequestError, match=r"^Dataset 'c' does not fit purpose 'eval/messages"):
        stack.datasets.register(
            purpose="eval/messages-answer", source={"uri": str(path)}, dataset_id="c"
        )
    messages = [{"messages": json.dumps([{"role": "user", "content": "hi"}]), "answer": "x"}]
    pd.DataFrame(messages).to_csv(path, index=False)  # messages as JSON text in a CSV cell
    stack.datasets.register(
        purpose="eval/messages-answer", source={"uri": str(path)}, dataset_id="c"
    )
    stack.datasets.register(
        purpose="post-training/messages", source={"rows": []}, dataset_id="empty"
    )
    with pytest.raises(BadRequestError) as caught:
        stack.datasetio.append_rows(dataset_id="empty", rows=[{"text": "no messages"}])
    assert caught.value.message.startswith(
        "Rows appended to dataset 'empty' do not fit purpose 'post-training/messages': no "
        "messages column ('messages')."
    )
    assert _rows(stack, "empty") == []


def test_missing_and_unreadable_files(stack: Stack, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(BadRequestError) as caught:
        stack.datasets.register(
            purpose="eval/question-answer", source={"uri": str(missing)}, dataset_id="m"
        )
    assert caught.value.message == (
        f"Dataset 'm': {missing} does not exist. Restore it, or register the dataset again with "
        "the right path (relative paths are resolved against the working directory at "
        "registration)."
    )
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "q", "answer": "a"}\nnot json\n')
    with pytest.raises(
        BadRequestError, match=r"^Dataset 'b': line 2 of .*broken.jsonl is not JSON"
    ):
        stack.datasets.register(
            purpose="eval/question-answer", source={"uri": str(broken)}, dataset_id="b"
        )
    odd = tmp_path / "notes.txt"
    odd.write_text("hello")
    with pytest.raises(BadRequestError, match=r"^Dataset 'o': can't read notes.txt; localfs reads"):
        stack.datasets.register(
            purpose="eval/question-answer", source={"uri": str(odd)}, dataset_id="o"
        )
    assert stack.datasets.list() == []


def test_a_file_that_vanished_is_reported_when_used(tmp_path: Path) -> None:
    path = _files(tmp_path / "files")["parquet"]
    config = _config(tmp_path / "data")
    with Stack.from_config(config) as s:
        s.datasets.register(
            purpose="eval/question-answer", source={"uri": str(path)}, dataset_id="v"
        )
        s.datasetio.append_rows(dataset_id="v", rows=[{"question": "q", "answer": "a"}])
        path.unlink()
        with pytest.raises(BadRequestError, match=rf"^Dataset 'v': {path} does not exist\."):
            _rows(s, "v")
    with Stack.from_config(config) as s:  # the stack starts; the dataset is still listed
        assert s.datasets.retrieve("v").source.uri == str(path)
        with pytest.raises(BadRequestError, match=rf"^Dataset 'v': {path} does not exist\."):
            _rows(s, "v")
        pd.DataFrame(QA).to_parquet(path)  # restored: usable again, appended rows included
        assert _rows(s, "v") == [*QA, {"question": "q", "answer": "a"}]


def test_unknown_datasets_name_the_known_ones(stack: Stack) -> None:
    stack.datasets.register(purpose="eval/question-answer", source={"rows": QA}, dataset_id="one")
    stack.datasets.register(purpose="eval/question-answer", source={"rows": QA}, dataset_id="two")
    expected = r"^Dataset 'three' not found\. Available: one, two\.$"
    for call in (
        lambda: stack.datasets.retrieve("three"),
        lambda: stack.datasets.unregister("three"),
        lambda: stack.datasetio.iterrows(dataset_id="three"),
        lambda: stack.datasetio.append_rows(dataset_id="three", rows=QA),
    ):
        with pytest.raises(NotFoundError, match=expected):
            call()


def test_unregister_drops_appended_rows(stack: Stack) -> None:
    stack.datasets.register(purpose="eval/question-answer", source={"rows": QA}, dataset_id="u")
    stack.datasetio.append_rows(dataset_id="u", rows=QA)
    assert len(_rows(stack, "u")) == 6
    stack.datasets.unregister("u")
    with pytest.raises(NotFoundError, match=r"No Datasets are registered\."):
        stack.datasets.retrieve("u")
    stack.datasets.register(purpose="eval/question-answer", source={"rows": QA}, dataset_id="u")
    assert _rows(stack, "u") == QA


def test_registering_again(stack: Stack) -> None:
    first = stack.datasets.register(
        purpose="eval/question-answer", source={"rows": pd.DataFrame(QA)}, dataset_id="again"
    )
    # A re-run notebook cell: the same dataset again is fine.
    same = stack.datasets.register(
        purpose="eval/question-answer", source={"rows": pd.DataFrame(QA)}, dataset_id="again"
    )
    assert same == first
    with pytest.raises(ConflictError) as caught:
        stack.datasets.register(
            purpose="eval/question-answer", source={"rows": QA[:1]}, dataset_id="again"
        )
    assert caught.value.message == (
        "Dataset 'again' is already registered with another source; unregister it first or "
        "choose another dataset_id."
    )


def test_invalid_requests(stack: Stack) -> None:
    with pytest.raises(UnprocessableError, match=r"(?s)Invalid RegisterDatasetRequest:.*purpose"):
        stack.datasets.register(purpose="chat", source={"rows": QA})
    with pytest.raises(UnprocessableError, match="source"):
        stack.datasets.register(purpose="eval/question-answer", source={"type": "s3", "x": 1})
    with pytest.raises(
        BadRequestError, match=r"^Rows must be a list of dicts or a pandas DataFrame"
    ):
        stack.datasets.register(purpose="eval/question-answer", source={"rows": "a,b"})
    with pytest.raises(BadRequestError, match=r"^Row 1 must be a dict of column values"):
        stack.datasetio.append_rows(dataset_id="x", rows=[{"a": 1}, 2])


def test_provider_choice(tmp_path: Path) -> None:
    paths = _files(tmp_path / "files")
    with Stack.from_config(_config(tmp_path / "a")) as s:
        by_uri = s.datasets.register(
            purpose="eval/question-answer", source={"uri": f"huggingface://{paths['saved']}"}
        )
        assert by_uri.provider_id == "hf"
        chosen = s.datasets.register(
            purpose="eval/question-answer", source={"rows": QA}, provider_id="hf"
        )
        assert chosen.provider_id == "hf" and _rows(s, chosen.identifier) == QA
        with pytest.raises(
            NotFoundError, match=r"^Datasetio provider 'x' not found\. Available: hf, localfs\.$"
        ):
            s.datasets.register(
                purpose="eval/question-answer", source={"rows": QA}, provider_id="x"
            )
        with pytest.raises(BadRequestError, match=r"not hf://"):
            s.datasets.register(
                purpose="eval/question-answer",
                source={"uri": "hf://org/name"},
                provider_id="localfs",
            )
    with Stack.from_config(_config(tmp_path / "b", hf=False)) as s:
        with pytest.raises(BadRequestError) as caught:
            s.datasets.register(purpose="eval/question-answer", source={"uri": "hf://org/name"})
        assert caught.value.message == (
            "A hf:// dataset needs a remote::huggingface datasetio provider, and this stack has "
            "localfs (inline::localfs): add one to the run config or pass provider_id."
        )


def test_huggingface_offline_hub_id(stack: Stack) -> None:
    with pytest.raises(ProviderUnavailableError) as caught:
        stack.datasets.register(
            purpose="eval/question-answer",
            source={"uri": "huggingface://datasets/nobody/not-a-dataset?split=train"},
            dataset_id="hub",
        )
    message = caught.value.message
    assert message.startswith(
        "Provider 'hf': dataset 'hub': 'nobody/not-a-dataset' is not a local path and this "
        "provider is offline (offline: true in its config)"
    )
    assert "pass its local path" in message and "hf:///absolute/path" in message
    assert caught.value.status_code == 503
    assert stack.datasets.list() == []


def test_eval_columns_and_normalized_rows() -> None:
    assert set(EVAL_COLUMNS) == {
        "eval/question-answer",
        "eval/messages-answer",
        "post-training/messages",
    }
    assert normalize_eval_row({"question": "q", "answer": "a", "id": 1}) == {
        "question": "q",
        "answer": "a",
        "id": 1,
        "input_query": "q",
        "expected_answer": "a",
    }
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi?"}]
    row = normalize_eval_row({"chat_completion_input": json.dumps(messages), "expected_answer": 3})
    assert row["chat_completion_input"] == messages
    assert row["input_query"] == "hi?" and row["expected_answer"] == 3
    row = normalize_eval_row({"messages": messages, "input_query": "own", "answer": "x"})
    assert row["input_query"] == "own" and row["chat_completion_input"] == messages
    with pytest.raises(BadRequestError) as caught:
        normalize_eval_row({"question": "q"})
    assert caught.value.message == (
        "An eval row needs an answer ('expected_answer' or 'answer'); this row has: question."
    )
