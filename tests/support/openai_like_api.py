"""OpenAI's chat completions protocol under a service's own path and auth (Bedrock's
bedrock-mantle /v1, Vertex AI's .../endpoints/openapi, OCI's /20231130/actions/v1, a Llama
Stack server's /v1), served on 127.0.0.1 by a HostedStub.

Answer shapes are OpenAI's documented ones (chat.completion, chat.completion.chunk with
`data: [DONE]`, tool_calls, models list, embeddings list), which these services document
as theirs.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tests.support.hosted_stub import HostedStub, sse

Authorize = Callable[[dict[str, Any]], Response | None]


def openai_error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status)


def completion(model: str, text: str | None, call: dict[str, Any] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if call:
        message["tool_calls"] = [call]
    words = len((text or "").split())
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if call else "stop"}
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": words, "total_tokens": 5 + words},
    }


async def chunks(model: str, text: str | None, call: dict[str, Any] | None) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        body = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0}
        return sse(None, {**body, "model": model, "choices": [choice]})

    if call:
        head = {**call, "index": 0, "function": {**call["function"], "arguments": ""}}
        yield chunk({"role": "assistant", "tool_calls": [head]})
        args = call["function"]["arguments"]
        for part in (args[: len(args) // 2], args[len(args) // 2 :]):
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
        yield chunk({}, "tool_calls")
    else:
        for i, word in enumerate((text or "").split(" ")):
            yield chunk(
                {"role": "assistant", "content": word} if i == 0 else {"content": " " + word}
            )
        yield chunk({}, "stop")
    yield "data: [DONE]\n\n"


def openai_routes(
    prefix: str,
    authorize: Authorize,
    models: list[str],
    embedding_models: tuple[str, ...] = (),
    custom_metadata: dict[str, dict[str, Any]] | None = None,
) -> Callable[[HostedStub, FastAPI], None]:
    """Routes of /chat/completions, /models (and /embeddings) under `prefix`; a Llama Stack
    server lists its models with `custom_metadata` (model_type, ...)."""

    def routes(stub: HostedStub, app: FastAPI) -> None:
        async def gate(request: Request) -> tuple[dict[str, Any], Response | None]:
            sent = await stub.record(request)
            return sent, authorize(sent) or stub.scripted()

        @app.post(f"{prefix}/chat/completions")
        async def chat(request: Request) -> Response:
            sent, refused = await gate(request)
            if refused is not None:
                return refused
            body = sent["body"]
            if body["model"] not in models:
                return openai_error(404, f"The model `{body['model']}` does not exist.")
            call = None
            if body.get("tools") and body.get("tool_choice") != "none":
                name = body["tools"][0]["function"]["name"]
                function = {"name": name, "arguments": '{"city": "Paris"}'}
                call = {"id": "call_1", "type": "function", "function": function}
            text = None if call else "echo: " + str(body["messages"][-1]["content"])
            if body.get("stream"):
                stream = chunks(body["model"], text, call)
                return StreamingResponse(stream, media_type="text/event-stream")
            return JSONResponse(completion(body["model"], text, call))

        @app.get(f"{prefix}/models")
        async def listing(request: Request) -> Response:
            _, refused = await gate(request)
            if refused is not None:
                return refused
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in models]
            for entry in data:
                if custom_metadata and entry["id"] in custom_metadata:
                    entry["custom_metadata"] = custom_metadata[entry["id"]]
            return JSONResponse({"object": "list", "data": data})

        @app.post(f"{prefix}/embeddings")
        async def embeddings(request: Request) -> Response:
            sent, refused = await gate(request)
            if refused is not None:
                return refused
            body = sent["body"]
            if body["model"] not in embedding_models:
                return openai_error(404, f"The model `{body['model']}` does not exist.")
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": [float(len(t)), 0.5]}
                for i, t in enumerate(inputs)
            ]
            usage = {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}
            return JSONResponse(
                {"object": "list", "data": data, "model": body["model"], "usage": usage}
            )

    return routes
