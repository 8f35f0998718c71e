"""inline::reference batches in a stack: results, input failures, idempotency, cancel, expiry,
and a restart mid-batch that loses nothing and redoes nothing."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import BadRequestError, ConflictError, NotFoundError, Stack
from llama_workbench.apis.batches.models import BatchObject
from llama_workbench.providers.inline.batches.reference import impl
from tests.support.batches import ENDED, batch_config, chat_lines, jsonl, parse_jsonl
from tests.support.scripted_llm import ScriptedModelServer, Turn
from tests.support.waiting import wait_for

MODEL = "scripted/scripted-model"
CHAT = "/v1/chat/completions"


def slow(delay_s: float) -> Any:
    def respond(body: dict[str, Any]) -> Turn:
        return Turn(text=f"re:{body['messages'][-1]['content']}", delay_s=delay_s)

    return respond


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


def build(tmp_path: Path, model: ScriptedModelServer, **batches: Any) -> Stack:
    return Stack.from_config(batch_config(tmp_path, [model.provider_config()], **batches))


@pytest.fixture
def stack(tmp_path: Path, model: ScriptedModelServer) -> Iterator[Stack]:
    with build(tmp_path, model) as built:
        yield built


def start(stack: Stack, lines: list[dict[str, Any]], **fields: Any) -> BatchObject:
    uploaded = stack.files.upload_file(jsonl(lines), "batch", "input.jsonl")
    return stack.batches.create_batch(
        input_file_id=uploaded.id, endpoint=CHAT, completion_window="24h", **fields
    )


def ended(stack: Stack, batch_id: str, limit_s: float = 60) -> BatchObject:
    return wait_for(
        lambda: stack.batches.retrieve_batch(batch_id), lambda b: b.status in ENDED, limit_s
    )


def content(stack: Stack, file_id: str | None) -> list[dict[str, Any]]:
    assert file_id is not None
    return parse_jsonl(stack.files.retrieve_file_content(file_id))


def test_a_batch_runs_every_request_and_writes_both_files(stack: Stack) -> None:
    lines = chat_lines(MODEL, ["a", "b", "c"], max_tokens=5)
    lines.append({**lines[0], "custom_id": "bad", "body": {"model": MODEL, "messages": [{"x": 1}]}})
    batch = start(stack, lines, metadata={"k": "v"})
    assert batch.status == "validating" and batch.expires_at == batch.created_at + 24 * 3600
    done = ended(stack, batch.id)
    assert done.status == "completed" and done.metadata == {"k": "v"}
    assert done.request_counts is not None and done.request_counts.model_dump() == {
        "total": 4,
        "completed": 3,
        "failed": 1,
    }
    assert done.in_progress_at and done.finalizing_at and done.completed_at
    output = content(stack, done.output_file_id)
    assert [o["custom_id"] for o in output] == ["r0", "r1", "r2"]
    assert output[0]["response"]["status_code"] == 200 and output[0]["error"] is None
    assert output[0]["id"] == output[0]["response"]["request_id"] == f"batch_req_{batch.id}_1"
    assert '"content":"echo: a"' in output[0]["response"]["body"]  # JSON text, as 0.7.3 writes
    (error,) = content(stack, done.error_file_id)
    assert error["custom_id"] == "bad" and error["response"] is None
    assert error["error"]["type"] == "request_failed" and "messages" in error["error"]["message"]
    assert stack.files.retrieve_file(done.output_file_id).purpose == "batch"
    assert [b.id for b in stack.batches.list_batches().data] == [batch.id]


def test_invalid_input_fails_the_batch_with_every_problem(stack: Stack) -> None:
    missing = stack.batches.create_batch(
        input_file_id="file-nope", endpoint=CHAT, completion_window="24h"
    )
    failed = ended(stack, missing.id)
    assert failed.status == "failed" and failed.failed_at and failed.errors is not None
    assert failed.errors.data[0].code == "invalid_request"
    assert failed.errors.data[0].message == "Cannot find file file-nope."
    lines = chat_lines(MODEL, ["a", "b"])
    lines[1]["body"]["model"] = "unknown"
    bad = ended(stack, start(stack, [*lines, {"custom_id": "x"}]).id)
    assert bad.status == "failed" and bad.errors is not None and bad.output_file_id is None
    assert [(e.code, e.line) for e in bad.errors.data] == [
        ("model_not_found", 2),
        ("missing_required_parameter", 3),
        ("missing_required_parameter", 3),
        ("missing_required_parameter", 3),
    ]


def test_create_refuses_bad_parameters_and_unknown_batches(stack: Stack) -> None:
    uploaded = stack.files.upload_file(jsonl(chat_lines(MODEL, ["a"])), "batch", "in.jsonl")
    with pytest.raises(BadRequestError, match=r"Invalid endpoint: /v1/nope\. Supported values"):
        stack.batches.create_batch(
            input_file_id=uploaded.id, endpoint="/v1/nope", completion_window="24h"
        )
    with pytest.raises(
        BadRequestError, match=r"Supported values: [^ ]+, /v1/completions, /v1/embeddings\. "
    ):
        # no responses API in this stack: /v1/responses is not offered
        stack.batches.create_batch(
            input_file_id=uploaded.id, endpoint="/v1/responses", completion_window="24h"
        )
    with pytest.raises(NotFoundError, match="Batch 'batch_x' not found"):
        stack.batches.retrieve_batch("batch_x")
    with pytest.raises(NotFoundError):
        stack.batches.cancel_batch("batch_x")


def test_idempotency_key_returns_the_same_batch_or_a_conflict(stack: Stack) -> None:
    fields = {"endpoint": CHAT, "completion_window": "24h", "idempotency_key": "k1"}
    first = stack.batches.create_batch(input_file_id="f1", metadata={"a": "1", "b": "2"}, **fields)
    again = stack.batches.create_batch(input_file_id="f1", metadata={"b": "2", "a": "1"}, **fields)
    assert again.id == first.id and again.created_at == first.created_at
    with pytest.raises(ConflictError, match="Idempotency key 'k1' was previously used"):
        stack.batches.create_batch(input_file_id="f2", metadata={"a": "1", "b": "2"}, **fields)
    assert len(stack.batches.list_batches().data) == 1


def test_cancel_keeps_what_finished(tmp_path: Path, model: ScriptedModelServer) -> None:
    model.responder = slow(0.3)
    with build(tmp_path, model, max_concurrent_requests_per_batch=1) as stack:
        batch = start(stack, chat_lines(MODEL, [f"q{i}" for i in range(20)]))
        wait_for(
            lambda: stack.batches.retrieve_batch(batch.id),
            lambda b: b.request_counts is not None and b.request_counts.completed >= 2,
        )
        cancelled = stack.batches.cancel_batch(batch.id)
        assert (
            cancelled.status == "cancelled" and cancelled.cancelling_at and cancelled.cancelled_at
        )
        assert cancelled.request_counts is not None
        kept = content(stack, cancelled.output_file_id)
        assert 2 <= len(kept) == cancelled.request_counts.completed < 20
        assert stack.batches.cancel_batch(batch.id).status == "cancelled"  # again: no change
    model.responder = None
    with build(tmp_path, model) as stack:  # a restart does not revive it
        assert stack.batches.retrieve_batch(batch.id).status == "cancelled"
        done = ended(stack, start(stack, chat_lines(MODEL, ["a"])).id)
        with pytest.raises(ConflictError, match=r"Cannot cancel batch .* with status 'completed'"):
            stack.batches.cancel_batch(done.id)


def test_requests_left_when_the_window_ends_expire(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(impl, "WINDOW_S", 0)
    done = ended(stack, start(stack, chat_lines(MODEL, ["a", "b"])).id)
    assert done.status == "expired" and done.expired_at and done.output_file_id is None
    errors = content(stack, done.error_file_id)
    assert [e["error"]["code"] for e in errors] == ["batch_expired", "batch_expired"]
    assert done.request_counts is not None and done.request_counts.failed == 2


def test_a_restart_mid_batch_loses_nothing_and_redoes_nothing(
    tmp_path: Path, model: ScriptedModelServer
) -> None:
    model.responder = slow(0.2)
    questions = [f"q{i}" for i in range(8)]
    with build(tmp_path, model, max_concurrent_requests_per_batch=2) as stack:
        batch = start(stack, chat_lines(MODEL, questions))
        wait_for(
            lambda: stack.batches.retrieve_batch(batch.id),
            lambda b: b.request_counts is not None and b.request_counts.completed >= 3,
        )
    stored = _stored_custom_ids(tmp_path / "sql_store.db")
    assert 3 <= len(stored) < len(questions)
    model.responder = slow(0.0)
    with build(tmp_path, model) as stack:
        done = ended(stack, batch.id)
        assert done.status == "completed"
        assert done.request_counts is not None and done.request_counts.completed == len(questions)
        output = content(stack, done.output_file_id)
    assert sorted(o["custom_id"] for o in output) == sorted(f"r{i}" for i in range(8))
    asked = Counter(str(body["messages"][-1]["content"]) for body in model.requests)
    assert all(asked[f"q{cid[1:]}"] == 1 for cid in stored)  # finished ones never again
    assert set(asked) == set(questions)


def _stored_custom_ids(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT item FROM batches_items").fetchall()
    return {parse_jsonl(row[0])[0]["custom_id"] for row in rows}
