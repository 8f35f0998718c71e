"""A real OpenAI-compatible model server on 127.0.0.1 whose turns follow a script (text or tool calls)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tests.support.stub_server import free_port, serve_in_thread, stop_serving

MODEL = "scripted-model"


@dataclass
class Call:
    """One tool call the model makes."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str | None = None  # sent as-is instead of `arguments` (e.g. broken JSON)


@dataclass
class Turn:
    """What the model says next: text, tool calls, or both."""

    text: str = ""
    calls: list[Call] = field(default_factory=list)
    delay_s: float = 0.0  # a pause before each streamed word (a slow model)


def say(text: str) -> Turn:
    return Turn(text=text)


def call(name: str, **arguments: Any) -> Turn:
    return Turn(calls=[Call(name, arguments)])


def calls(*items: Call) -> Turn:
    return Turn(calls=list(items))


class ScriptedModelServer:
    """`with ScriptedModelServer() as s: s.script(call("add", a=1, b=2), say("3"))`.

    Each chat request takes the next scripted turn. With the script empty, `responder(body)`
    answers if set; else the model answers "tool said: <result>" after a tool message and
    "echo: <last user text>" otherwise. Every
    request body is kept in `requests`. Streams are split into small deltas like real servers.
    """

    def __init__(self, models: list[str] | None = None) -> None:
        self.models = models or [MODEL]
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self._turns: deque[Turn] = deque()
        self.responder: Callable[[dict[str, Any]], Turn] | None = (
            None  # used when no turn is scripted
        )
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *turns: Turn) -> None:
        with self._lock:
            self._turns.clear()
            self._turns.extend(turns)

    @property
    def remaining(self) -> int:
        return len(self._turns)

    def provider_config(self, provider_id: str = "scripted") -> dict[str, Any]:
        """A run-config provider entry (remote::vllm) pointed at this server."""
        return {
            "provider_id": provider_id,
            "provider_type": "remote::vllm",
            "config": {"base_url": self.base_url},
        }

    def __enter__(self) -> ScriptedModelServer:
        self._server, self._thread = serve_in_thread(self._app(), self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        stop_serving(self._server, self._thread)

    def _next(self, body: dict[str, Any]) -> Turn:
        with self._lock:
            if self._turns:
                return self._turns.popleft()
        if self.responder is not None:
            return self.responder(body)
        last = body["messages"][-1]
        if last["role"] == "tool":
            return say(f"tool said: {last['content']}")
        content = last.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content)
        return say(f"echo: {content}")

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            data = [{"id": m, "object": "model", "owned_by": "scripted"} for m in self.models]
            return {"object": "list", "data": data}

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            if body["model"] not in self.models:
                error = {"error": {"message": f"model {body['model']} does not exist"}}
                return JSONResponse(error, status_code=404)
            turn = self._next(body)
            if turn.delay_s and not body.get("stream"):
                await asyncio.sleep(turn.delay_s * max(1, len(turn.text.split())))
            if body.get("stream"):
                usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return StreamingResponse(
                    _stream(body["model"], turn, usage), media_type="text/event-stream"
                )
            return JSONResponse(_completion(body["model"], turn))

        return app


def _tool_calls(turn: Turn) -> list[dict[str, Any]]:
    return [
        {
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "function",
            "function": {
                "name": c.name,
                "arguments": c.raw_arguments
                if c.raw_arguments is not None
                else json.dumps(c.arguments),
            },
        }
        for c in turn.calls
    ]


def _usage(turn: Turn) -> dict[str, int]:
    out = len(turn.text.split()) + 5 * len(turn.calls)
    return {"prompt_tokens": 10, "completion_tokens": out, "total_tokens": 10 + out}


def _completion(model: str, turn: Turn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if turn.calls:
        message["tool_calls"] = _tool_calls(turn)
    finish = "tool_calls" if turn.calls else "stop"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _usage(turn),
    }


def _chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    chunk = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n"


async def _stream(model: str, turn: Turn, usage: bool) -> Any:
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    yield _chunk(cid, model, {"role": "assistant", "content": ""})
    words = turn.text.split(" ") if turn.text else []
    for i, word in enumerate(words):
        await asyncio.sleep(turn.delay_s)
        yield _chunk(cid, model, {"content": word if i == 0 else " " + word})
    for index, tc in enumerate(_tool_calls(turn)):
        head = {**tc, "index": index, "function": {"name": tc["function"]["name"], "arguments": ""}}
        yield _chunk(cid, model, {"tool_calls": [head]})
        args = tc["function"]["arguments"]
        for piece in (args[: len(args) // 2], args[len(args) // 2 :]):
            if piece:
                delta = {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                yield _chunk(cid, model, delta)
    yield _chunk(cid, model, {}, "tool_calls" if turn.calls else "stop")
    if usage:
        tail = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [],
            "usage": _usage(turn),
        }
        yield f"data: {json.dumps(tail)}\n\n"
    yield "data: [DONE]\n\n"
