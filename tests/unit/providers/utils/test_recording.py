"""Record-replay: record real exchanges with a local server, then replay them with no server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llama_workbench.apis.inference.models import ChatCompletionRequest
from llama_workbench.core.errors import ConfigError, MissingRecordingError
from llama_workbench.providers.remote.inference.together.config import TogetherConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter
from llama_workbench.providers.utils.recording import current_settings, recording, request_key
from tests.support.stub_server import StubOpenAIServer


def chat(text: str, stream: bool = False) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="m", messages=[{"role": "user", "content": text}], stream=stream
    )


async def test_record_then_replay_offline(tmp_path: Path) -> None:
    with StubOpenAIServer(models=["m"], api_key="sk-very-secret") as stub:
        config = TogetherConfig(base_url=stub.base_url, api_key="sk-very-secret")
        with recording("record", tmp_path):
            live = OpenAICompatAdapter("together", config)
            plain = await live.chat_completion(chat("hello"))
            streamed = [c async for c in await live.chat_completion(chat("one two", stream=True))]
            listed = await live.list_provider_models()
            await live.shutdown()
    # The server is gone: only the cassettes can answer now.
    files = sorted(p.name for p in tmp_path.glob("*.json"))
    assert len(files) == 3 and any(f.startswith("post_v1_chat_completions_") for f in files)
    text = "".join(p.read_text() for p in tmp_path.glob("*.json"))
    assert "sk-very-secret" not in text and "authorization" not in text.lower()
    record = json.loads((tmp_path / files[0]).read_text())
    assert set(record) == {"request", "response"} and record["response"]["status"] == 200

    with recording("replay", tmp_path):
        offline = OpenAICompatAdapter("together", config)
        assert (await offline.chat_completion(chat("hello"))).choices[
            0
        ].message.content == plain.choices[0].message.content
        again = [c async for c in await offline.chat_completion(chat("one two", stream=True))]
        assert [c.choices[0].delta.content for c in again] == [
            c.choices[0].delta.content for c in streamed
        ]
        assert await offline.list_provider_models() == listed
        with pytest.raises(MissingRecordingError) as info:
            await offline.chat_completion(chat("never recorded"))
        await offline.shutdown()
    message = str(info.value)
    assert "No recording for POST /v1/chat/completions" in message and "never recorded" in message


async def test_together_shape_bare_model_list_replays(tmp_path: Path) -> None:
    """Together answers GET /models with a bare JSON list; the adapter accepts that shape.

    This cassette is written by hand in Together's documented response shape: hosted APIs can't
    be reached from the machines this suite runs on, so it could not be recorded live.
    """
    key = request_key("GET", "/v1/models", b"")
    models = [
        {"id": "meta-llama/Llama-3.3-70B-Instruct-Turbo", "object": "model", "type": "chat"},
        {"id": "BAAI/bge-base-en-v1.5", "object": "model", "type": "embedding"},
    ]
    cassette = {
        "request": {"method": "GET", "path": "/v1/models", "body": None},
        "response": {
            "status": 200,
            "headers": {"content-type": "application/json"},
            "chunks": [json.dumps(models)],
        },
    }
    (tmp_path / f"{key}.json").write_text(json.dumps(cassette))
    with recording("replay", tmp_path):
        adapter = OpenAICompatAdapter(
            "together", TogetherConfig(embedding_models={"BAAI/bge-base-en-v1.5": 768})
        )
        listed = {m.provider_model_id: m for m in await adapter.list_provider_models()}
        await adapter.shutdown()
    assert listed["BAAI/bge-base-en-v1.5"].model_type == "embedding"
    assert listed["meta-llama/Llama-3.3-70B-Instruct-Turbo"].model_type == "llm"


def test_mode_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LLAMA_WORKBENCH_RECORDING", "replay")
    monkeypatch.setenv("LLAMA_WORKBENCH_CASSETTES", str(tmp_path))
    assert current_settings().mode == "replay" and current_settings().folder == tmp_path
    monkeypatch.setenv("LLAMA_WORKBENCH_RECORDING", "rewind")
    with pytest.raises(
        ConfigError, match="expected one of live, record, replay, record-if-missing"
    ):
        current_settings()


def test_request_key_ignores_json_key_order() -> None:
    a = request_key("POST", "/v1/x", b'{"a": 1, "b": 2}')
    assert (
        a
        == request_key("POST", "/v1/x", b'{"b":2,"a":1}')
        != request_key("POST", "/v1/x", b'{"a": 2}')
    )
