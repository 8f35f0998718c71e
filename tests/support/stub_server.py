"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests: scripted answers and failures."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_in_thread(app: FastAPI, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    """Serve `app` on 127.0.0.1:`port` from a daemon thread; returns once it accepts requests."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the test server on port {port} did not start")
        time.sleep(0.01)
    return server, thread


def stop_serving(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(timeout=10)


@dataclass
class Failure:
    status: int
    body: str = '{"error": {"message": "scripted failure"}}'
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class StubOpenAIServer:
    """`with StubOpenAIServer(models=[...]) as s:` serves s.base_url until the block ends.

    Chat answers are "echo: <last user message>", streamed word by word when asked. Failures
    queued with `fail_next` are served first, one per request.
    """

    def __init__(self, models: list[str] | None = None, api_key: str | None = None) -> None:
        self.models = models if models is not None else ["stub-model"]
        self.api_key = api_key
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self._failures: deque[Failure] = deque()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def fail_next(self, status: int, body: str | None = None, times: int = 1, **kw: Any) -> None:
        for _ in range(times):
            self._failures.append(Failure(status, body if body is not None else Failure.body, **kw))

    def __enter__(self) -> StubOpenAIServer:
        self._server, self._thread = serve_in_thread(self._app(), self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        stop_serving(self._server, self._thread)

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def gate(request: Request, call_next: Any) -> Response:
            body = await request.body()
            self.requests.append(
                {
                    "path": request.url.path,
                    "body": json.loads(body) if body else None,
                    "headers": dict(request.headers),
                }
            )
            if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
                return JSONResponse({"error": {"message": "Invalid API key"}}, status_code=401)
            if self._failures:
                failure = self._failures.popleft()
                await asyncio.sleep(failure.delay_s)
                return PlainTextResponse(
                    failure.body,
                    status_code=failure.status,
                    headers=failure.headers,
                    media_type="application/json",
                )
            return await call_next(request)  # type: ignore[no-any-return]

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            return {
                "object": "list",
                "data": [{"id": m, "object": "model", "owned_by": "stub"} for m in self.models],
            }

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            model = body["model"]
            if model not in self.models:
                error = {"error": {"message": f"model {model} does not exist"}}
                return JSONResponse(error, status_code=404)
            if body.get("tools") and body.get("tool_choice") != "none":
                name = body["tools"][0]["function"]["name"]
                call = {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": name, "arguments": '{"city": "Paris"}'},
                }
                if body.get("stream"):
                    return StreamingResponse(
                        _tool_chunks(model, call), media_type="text/event-stream"
                    )
                return JSONResponse(_completion(model, None, [call]))
            text = "echo: " + str(body["messages"][-1]["content"])
            if body.get("stream"):
                return StreamingResponse(_chunks(model, text), media_type="text/event-stream")
            return JSONResponse(_completion(model, text))

        @app.post("/v1/completions")
        async def completions(request: Request) -> dict[str, Any]:
            body = await request.json()
            choice = {"index": 0, "text": " and more", "finish_reason": "stop"}
            return {
                "id": "cmpl-stub",
                "object": "text_completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [choice],
                "usage": {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4},
            }

        @app.post("/v1/embeddings")
        async def embeddings(request: Request) -> dict[str, Any]:
            body = await request.json()
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0, 0.0]}
                for i, t in enumerate(inputs)
            ]
            return {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
            }

        return app


def _completion(
    model: str, text: str | None, calls: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    words = len((text or "").split())
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": words, "total_tokens": 3 + words},
    }


def _chunk(cid: str, model: str, delta: dict[str, Any], finish_reason: str | None = None) -> str:
    chunk = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return f"data: {json.dumps(chunk)}\n\n"


async def _tool_chunks(model: str, call: dict[str, Any]) -> Any:
    cid, args = f"chatcmpl-{uuid.uuid4().hex}", call["function"]["arguments"]
    head = {
        "index": 0,
        "id": call["id"],
        "type": "function",
        "function": {"name": call["function"]["name"], "arguments": ""},
    }
    yield _chunk(cid, model, {"role": "assistant", "tool_calls": [head]})
    for part in (args[: len(args) // 2], args[len(args) // 2 :]):
        yield _chunk(cid, model, {"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
    yield _chunk(cid, model, {}, "tool_calls") + "data: [DONE]\n\n"


async def _chunks(model: str, text: str) -> Any:
    cid = f"chatcmpl-{uuid.uuid4().hex}"
    for i, word in enumerate(text.split(" ")):
        delta: dict[str, Any] = {"content": word if i == 0 else " " + word}
        if i == 0:
            delta["role"] = "assistant"
        yield _chunk(cid, model, delta)
    yield _chunk(cid, model, {}, "stop") + "data: [DONE]\n\n"


# Storage with the stored-completions table, as the bundled distributions configure it.
STORAGE_WITH_COMPLETIONS: dict[str, Any] = {
    "backends": {"kv_default": {"type": "kv_sqlite"}, "sql_default": {"type": "sql_sqlite"}},
    "stores": {
        "metadata": {"backend": "kv_default", "namespace": "registry"},
        "inference": {"backend": "sql_default", "table_name": "inference_store"},
    },
}


def stub_stack_config(
    base_url: str,
    data_dir: Any,
    *,
    provider_id: str = "s",
    provider_type: str = "remote::vllm",
    provider_config: dict[str, Any] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """A run config with one OpenAI-compatible provider pointed at a stub (plus any top-level keys)."""
    provider = {
        "provider_id": provider_id,
        "provider_type": provider_type,
        "config": {"base_url": base_url, **(provider_config or {})},
    }
    return {
        "data_dir": str(data_dir),
        "apis": ["inference"],
        "providers": {"inference": [provider]},
        **top,
    }
