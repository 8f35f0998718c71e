"""Sinks (OTLP to a collector on 127.0.0.1, MLflow traces, the console) and redaction of spans."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import ProviderUnavailableError, Stack
from tests.support.otlp_collector import OtlpCollector
from tests.support.scripted_llm import ScriptedModelServer, call, say
from tests.support.stub_server import StubOpenAIServer
from tests.unit.tracking.conftest import EMBED_KEY, EMBED_MODEL, MODEL, agent_config, embed_config

ECHO = "embed/stub-model"
HI = [{"role": "user", "content": "hi"}]


def test_otlp_export_reaches_a_collector(tmp_path: Path, embed_server: StubOpenAIServer) -> None:
    with OtlpCollector() as collector:
        telemetry = {
            "enabled": True,
            "sinks": ["otlp"],
            "otlp_endpoint": collector.endpoint,
            "otlp_headers": {"x-api-key": "collector-secret"},
            "service_name": "notebook-tests",
        }
        with Stack.from_config(embed_config(tmp_path, embed_server, **telemetry)) as stack:
            stack.inference.chat_completion(model=ECHO, messages=HI)
            stack.inference.embeddings(model=EMBED_MODEL, input=["x"])
        # Closing the stack flushed the exporter.
        spans = {s["name"]: s for s in collector.spans}
    assert set(spans) == {"inference.chat_completion", "inference.embeddings"}
    chat = spans["inference.chat_completion"]
    assert chat["attributes"]["model_id"] == ECHO and chat["attributes"]["provider_id"] == "embed"
    assert chat["attributes"]["prompt_tokens"] == 3 and chat["attributes"]["root"] is True
    assert chat["parent_span_id"] is None and chat["status"] == 1  # STATUS_CODE_OK
    assert chat["scope"] == "llama_workbench"
    assert {r["service.name"] for r in collector.resources} == {"notebook-tests"}
    assert collector.headers[0]["x-api-key"] == "collector-secret"
    sent = embed_server.requests[-1]["headers"]["traceparent"]
    assert sent.split("-")[1:3] == [
        spans["inference.embeddings"]["trace_id"],
        spans["inference.embeddings"]["span_id"],
    ]


def test_mlflow_traces_of_chat_rag_and_agent_turns(
    tmp_path: Path, chat_server: ScriptedModelServer, embed_server: StubOpenAIServer
) -> None:
    from mlflow import MlflowClient

    from llama_workbench.tracking.mlflow_runs import default_tracking_uri

    data_dir = tmp_path / "data"
    config = agent_config(data_dir, chat_server, embed_server, sinks=["sqlite", "mlflow"])
    with Stack.from_config(config) as stack:
        stack.models.list()  # not a trace worth showing in MLflow
        chat_server.script(say("plain answer"))
        stack.inference.chat_completion(model=MODEL, messages=HI)
        chat_server.script(call("add", a=1, b=2), say("3"))
        tool = {"type": "function", "name": "add", "parameters": {"type": "object"}}
        turn = stack.responses.create_response(model=MODEL, input="1+2?", tools=[tool])
        (tmp_path / "a.txt").write_text("Answers live here.")
        store = stack.vector_io.create_vector_store(name="s", embedding_model=EMBED_MODEL)
        uploaded = stack.files.upload_file(str(tmp_path / "a.txt"))
        stack.vector_io.attach_file(store.id, uploaded.id)
        stack.tool_runtime.rag.query(content="answers", vector_store_ids=[store.id])
        ours = {t.trace_id for t in stack.telemetry.query_traces().data}
    uri = default_tracking_uri(data_dir)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("llama_workbench-traces")
    assert experiment is not None
    assert experiment.artifact_location == (data_dir / "mlartifacts").resolve().as_uri()
    traces = client.search_traces(locations=[experiment.experiment_id], include_spans=True)
    by_name = {t.info.tags["mlflow.traceName"]: t for t in traces}
    # Chat, agent (Responses) and RAG turns; not the listings nor the indexing.
    assert set(by_name) == {
        "inference.chat_completion",
        "responses.create_response",
        "tool_runtime.rag.query",
    }
    rag = {s.name: s for s in by_name["tool_runtime.rag.query"].data.spans}
    assert [rag[n].span_type for n in sorted(rag)] == ["EMBEDDING", "RETRIEVER", "RETRIEVER"]
    agent = by_name["responses.create_response"]
    assert agent.info.trace_id.removeprefix("tr-") in ours  # the same ids as the SQLite traces
    assert agent.info.state.value == "OK"
    spans = {s.name: s for s in agent.data.spans}
    assert spans["responses.create_response"].parent_id is None
    assert spans["responses.create_response"].span_type == "AGENT"
    assert spans["inference.chat_completion"].span_type == "CHAT_MODEL"
    assert (
        spans["inference.chat_completion"].parent_id == spans["responses.create_response"].span_id
    )
    assert spans["inference.chat_completion"].attributes["provider_id"] == "scripted"
    assert turn.usage is not None
    assert agent.info.token_usage["input_tokens"] == turn.usage.input_tokens
    chat = by_name["inference.chat_completion"]
    assert chat.info.token_usage == {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}


def test_console_sink_prints_one_line_per_span(
    tmp_path: Path, embed_server: StubOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = embed_config(tmp_path, embed_server, enabled=True, sinks=["console"])
    with Stack.from_config(config) as stack:
        stack.inference.chat_completion(model=ECHO, messages=HI)
    (line,) = [x for x in capsys.readouterr().err.splitlines() if "inference.chat_completion" in x]
    assert line.startswith("[trace ") and f"model_id={ECHO}" in line
    assert " ok " in line and "provider_id=embed" in line and "tokens=3+2" in line


SECRETS = ("sk-live-123", "sk-arg-456", "hunter2", EMBED_KEY)


def _everything_stored(data_dir: Path) -> str:
    with sqlite3.connect(data_dir / "trace_store.db") as conn:
        rows = conn.execute("SELECT * FROM spans").fetchall()
    return json.dumps(rows)


def _secret_calls(stack: Stack, tmp_path: Path) -> None:
    leaky = [
        {"role": "user", "content": "call it with Authorization: Bearer sk-live-123 please"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "f", "arguments": '{"x": 1}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "done"},
    ]
    stack.inference.chat_completion(model=ECHO, messages=leaky, metadata={"api_key": "sk-arg-456"})
    stack.models.register(model_id="far", provider_id="down", provider_model_id="m")
    with pytest.raises(ProviderUnavailableError):
        stack.inference.chat_completion(model="far", messages=HI)


def _leaky_config(tmp_path: Path, embed_server: StubOpenAIServer, capture: bool) -> dict[str, Any]:
    config = embed_config(tmp_path, embed_server, enabled=True, capture_content=capture)
    down = {
        "provider_id": "down",
        "provider_type": "remote::vllm",
        # A password in the URL of an unreachable server: its error message names the URL.
        "config": {"base_url": "http://user:hunter2@127.0.0.1:9/v1", "max_retries": 0},
    }
    config["providers"]["inference"].append(down)
    return config


@pytest.mark.parametrize("capture", [False, True])
def test_secrets_never_reach_a_span(
    tmp_path: Path, embed_server: StubOpenAIServer, capture: bool
) -> None:
    with Stack.from_config(_leaky_config(tmp_path, embed_server, capture)) as stack:
        _secret_calls(stack, tmp_path)
        spans = stack.telemetry.query_spans(attribute_filters=[]).data
    stored = _everything_stored(tmp_path)
    for secret in SECRETS:
        assert secret not in stored, secret
    chat = next(
        s
        for s in spans
        if s.name == "inference.chat_completion" and s.attributes and s.attributes["status"] == "ok"
    )
    failed = next(s for s in spans if s.attributes and s.attributes["status"] == "error")
    assert failed.attributes and "user:**********@127.0.0.1" in failed.attributes["error.message"]
    assert chat.attributes is not None
    if not capture:
        assert "input" not in stored and "Authorization" not in stored
        assert "input" not in chat.attributes and "output" not in chat.attributes
        return
    sent = json.loads(chat.attributes["input"])
    assert sent["messages"][0]["content"] == "call it with Authorization: Bearer ********** please"
    assert sent["metadata"] == {"api_key": "**********"}
    assert json.loads(chat.attributes["output"])["choices"][0]["message"]["content"].startswith(
        "echo:"
    )
