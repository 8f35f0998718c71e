"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests: scripted answers and failures."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
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
        config = uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="error")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("stub server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)

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
            text = "echo: " + str(body["messages"][-1]["content"])
            if body.get("stream"):
                return StreamingResponse(
                    _chunks(body["model"], text), media_type="text/event-stream"
                )
            return JSONResponse(_completion(body["model"], text))

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


def _completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": 3,
            "completion_tokens": len(text.split()),
            "total_tokens": 3 + len(text.split()),
        },
    }


async def _chunks(model: str, text: str) -> Any:
    words = text.split(" ")
    for i, word in enumerate(words):
        delta: dict[str, Any] = {"content": word if i == 0 else " " + word}
        if i == 0:
            delta["role"] = "assistant"
        chunk = {
            "id": "chatcmpl-stub",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        yield f"data: {json.dumps(chunk)}\n\n"
    final = {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    yield f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n"
