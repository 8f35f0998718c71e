"""/v1/batches on 127.0.0.1 driven by the openai SDK (stack backed by local model servers, auth on)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types import Batch

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.batches import ENDED, batch_config, chat_lines, jsonl, parse_jsonl
from tests.support.scripted_llm import ScriptedModelServer, Turn
from tests.support.stub_server import StubOpenAIServer, free_port
from tests.support.waiting import wait_for

SLOW = "scripted/scripted-model"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    with StubOpenAIServer(models=["m", "e"]) as stub, ScriptedModelServer() as slow:
        slow.responder = lambda body: Turn(text="slow", delay_s=0.3)
        stub_provider = {
            "provider_id": "s",
            "provider_type": "remote::vllm",
            "config": {"base_url": stub.base_url, "embedding_models": {"e": 3}},
        }
        config = batch_config(
            tmp_path_factory.mktemp("batches"),
            [stub_provider, slow.provider_config()],
            max_concurrent_requests_per_batch=2,
        )
        config["server"] = {
            "auth": {
                "tokens": [
                    {"token": "tok-alice", "principal": "alice"},
                    {"token": "tok-bob", "principal": "bob"},
                ]
            }
        }
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
            yield running


def sdk(server: BackgroundServer, token: str = "tok-alice") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=token, max_retries=0)


@pytest.fixture
def client(server: BackgroundServer) -> openai.OpenAI:
    return sdk(server)


def run(client: openai.OpenAI, lines: list[dict[str, Any]], endpoint: str, **kw: Any) -> Batch:
    uploaded = client.files.create(file=("in.jsonl", jsonl(lines)), purpose="batch")
    return client.batches.create(
        input_file_id=uploaded.id,
        endpoint=endpoint,  # type: ignore[arg-type]
        completion_window="24h",
        **kw,
    )


def ended(client: openai.OpenAI, batch_id: str) -> Batch:
    return wait_for(lambda: client.batches.retrieve(batch_id), lambda b: b.status in ENDED, 60)


def test_chat_batch_end_to_end(client: openai.OpenAI) -> None:
    lines = chat_lines("m", ["hello", "world"], max_tokens=10)
    lines.append({**lines[0], "custom_id": "broken", "body": {"model": "m", "messages": [{}]}})
    batch = run(client, lines, "/v1/chat/completions", metadata={"test": "e2e"})
    assert batch.status == "validating" and batch.metadata == {"test": "e2e"}
    done = ended(client, batch.id)
    assert done.status == "completed" and done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (3, 2)
    assert done.request_counts.failed == 1
    assert done.output_file_id is not None and done.error_file_id is not None
    output = parse_jsonl(client.files.content(done.output_file_id).content)
    assert [o["custom_id"] for o in output] == ["r0", "r1"]
    body = json.loads(output[1]["response"]["body"])
    assert body["choices"][0]["message"]["content"] == "echo: world"
    (error,) = parse_jsonl(client.files.content(done.error_file_id).content)
    assert error["custom_id"] == "broken" and error["error"]["message"]
    assert client.files.delete(done.output_file_id).deleted


def test_embeddings_and_completions_batches(client: openai.OpenAI) -> None:
    line = {"custom_id": "e1", "method": "POST", "url": "/v1/embeddings"}
    emb = run(client, [{**line, "body": {"model": "e", "input": ["ab", "abc"]}}], "/v1/embeddings")
    done = ended(client, emb.id)
    assert done.status == "completed" and done.output_file_id is not None
    (result,) = parse_jsonl(client.files.content(done.output_file_id).content)
    vectors = json.loads(result["response"]["body"])
    assert [d["embedding"][0] for d in vectors["data"]] == [2.0, 3.0]
    line = {"custom_id": "c1", "method": "POST", "url": "/v1/completions"}
    comp = run(client, [{**line, "body": {"model": "m", "prompt": "x"}}], "/v1/completions")
    done = ended(client, comp.id)
    assert done.status == "completed" and done.output_file_id is not None
    (result,) = parse_jsonl(client.files.content(done.output_file_id).content)
    assert json.loads(result["response"]["body"])["choices"][0]["text"] == " and more"


def test_validation_failures_and_errors(client: openai.OpenAI) -> None:
    lines = chat_lines("m", ["a", "b"])
    lines[1]["body"]["stream"] = True
    failed = ended(client, run(client, lines, "/v1/chat/completions").id)
    assert failed.status == "failed" and failed.errors is not None and failed.errors.data
    error = failed.errors.data[0]
    assert (error.code, error.line, error.param) == ("streaming_unsupported", 2, "body.stream")
    with pytest.raises(openai.BadRequestError, match="invalid_value") as info:
        run(client, lines, "/v1/invalid/endpoint")
    assert "/v1/invalid/endpoint" in str(info.value) and "Supported values" in str(info.value)
    for window in ("1h", ""):
        with pytest.raises(openai.BadRequestError, match="completion_window"):
            client.batches.create(
                input_file_id="f",
                endpoint="/v1/chat/completions",
                completion_window=window,  # type: ignore[arg-type]
            )
    with pytest.raises(openai.BadRequestError, match="tags") as bad:
        client.batches.create(
            input_file_id="f",
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"tags": ["a", "b"]},  # type: ignore[dict-item]
        )
    assert "string" in str(bad.value)
    with pytest.raises(openai.NotFoundError, match="not found"):
        client.batches.retrieve("batch-nonexistent")
    with pytest.raises(openai.ConflictError, match="Cannot cancel"):
        client.batches.cancel(failed.id)


def test_idempotent_create(client: openai.OpenAI) -> None:
    fields: dict[str, Any] = {"endpoint": "/v1/chat/completions", "completion_window": "24h"}
    key = {"idempotency_key": "same-key"}
    first = client.batches.create(
        input_file_id="bogus", metadata={"a": "1"}, extra_body=key, **fields
    )
    again = client.batches.create(
        input_file_id="bogus", metadata={"a": "1"}, extra_body=key, **fields
    )
    assert again.id == first.id and again.created_at == first.created_at
    with pytest.raises(openai.ConflictError, match="different parameters"):
        client.batches.create(input_file_id="other", extra_body=key, **fields)


def test_cancel_a_running_batch(client: openai.OpenAI) -> None:
    batch = run(client, chat_lines(SLOW, [f"q{i}" for i in range(12)]), "/v1/chat/completions")
    wait_for(
        lambda: client.batches.retrieve(batch.id),
        lambda b: b.request_counts is not None and b.request_counts.completed >= 2,
    )
    cancelled = client.batches.cancel(batch.id)
    assert cancelled.status in ("cancelling", "cancelled") and cancelled.cancelling_at
    final = ended(client, batch.id)
    assert final.status == "cancelled" and final.cancelled_at and final.output_file_id
    kept = parse_jsonl(client.files.content(final.output_file_id).content)
    assert final.request_counts is not None and 2 <= len(kept) < 12


def test_owners_see_only_their_batches(server: BackgroundServer) -> None:
    alice, bob = sdk(server, "tok-alice"), sdk(server, "tok-bob")
    mine = run(alice, chat_lines("m", ["private"]), "/v1/chat/completions")
    done = ended(alice, mine.id)
    assert done.output_file_id is not None
    assert mine.id in {b.id for b in alice.batches.list()}
    assert mine.id not in {b.id for b in bob.batches.list()}
    with pytest.raises(openai.NotFoundError):
        bob.batches.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        bob.batches.cancel(mine.id)
    with pytest.raises(openai.NotFoundError):  # the result files are alice's too
        bob.files.content(done.output_file_id)
    key = {"idempotency_key": "shared-key"}
    fields: dict[str, Any] = {"endpoint": "/v1/chat/completions", "completion_window": "24h"}
    a = alice.batches.create(input_file_id="x", extra_body=key, **fields)
    b = bob.batches.create(input_file_id="y", extra_body=key, **fields)  # no conflict across owners
    assert a.id != b.id
