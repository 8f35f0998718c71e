"""Anthropic's Messages API as documented (POST /v1/messages with x-api-key and
anthropic-version, its reply and stream event shapes, its error bodies; GET /v1/models paged
by has_more/last_id), served on 127.0.0.1 by a HostedStub.

Shapes written from Anthropic's API reference: Messages (request, response, `usage`), Streaming
Messages (message_start, content_block_start/delta/stop with text_delta and input_json_delta,
message_delta, message_stop, ping, error), Errors ({"type": "error", "error": {"type",
"message"}}), Models (list with has_more, first_id, last_id).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tests.support.hosted_stub import HostedStub, sse

KEY = "sk-ant-test"
MODELS = ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]
PAGE = 2  # models per page, so listing pages


def error(status: int, kind: str, message: str) -> JSONResponse:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return JSONResponse(body, status_code=status, headers={"request-id": "req_test"})


def last_user_text(messages: list[dict[str, Any]]) -> str:
    content = messages[-1]["content"]
    if isinstance(content, str):
        return content
    texts = [b.get("text", "") for b in content if b.get("type") == "text"]
    results = [b for b in content if b.get("type") == "tool_result"]
    return " ".join(texts) or f"{len(results)} tool result(s)"


def reply(body: dict[str, Any]) -> dict[str, Any]:
    """The answer: a tool_use when tools are offered (and not switched off), else an echo."""
    choice = body.get("tool_choice", {"type": "auto"})
    if body.get("tools") and choice["type"] != "none" and body["messages"][-1]["role"] == "user":
        last = body["messages"][-1]["content"]
        if not (isinstance(last, list) and last and last[0].get("type") == "tool_result"):
            name = choice.get("name") or body["tools"][0]["name"]
            content = [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_01", "name": name, "input": {"city": "Paris"}},
            ]
            return message(body["model"], content, "tool_use", 11)
    text = "echo: " + last_user_text(body["messages"])
    return message(body["model"], [{"type": "text", "text": text}], "end_turn", len(text.split()))


def message(model: str, content: list[dict[str, Any]], stop: str, out: int) -> dict[str, Any]:
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 12,
            "output_tokens": out,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 2,
        },
    }


async def events(answer: dict[str, Any]) -> AsyncIterator[str]:
    """The stream of `answer` as Messages API events (text in two deltas, JSON in two)."""
    start = {**answer, "content": [], "stop_reason": None}
    start["usage"] = {**answer["usage"], "output_tokens": 1}
    yield sse("message_start", {"type": "message_start", "message": start})
    yield sse("ping", {"type": "ping"})
    for i, block in enumerate(answer["content"]):
        if block["type"] == "text":
            head, pieces = {"type": "text", "text": ""}, _halves(block["text"])
            kind, key = "text_delta", "text"
        else:
            head = {**block, "input": {}}
            pieces, kind, key = _halves('{"city": "Paris"}'), "input_json_delta", "partial_json"
        start_event = {"type": "content_block_start", "index": i, "content_block": head}
        yield sse("content_block_start", start_event)
        for piece in pieces:
            delta = {"type": "content_block_delta", "index": i, "delta": {"type": kind, key: piece}}
            yield sse("content_block_delta", delta)
        yield sse("content_block_stop", {"type": "content_block_stop", "index": i})
    delta = {"stop_reason": answer["stop_reason"], "stop_sequence": None}
    usage = {"output_tokens": answer["usage"]["output_tokens"]}
    yield sse("message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
    yield sse("message_stop", {"type": "message_stop"})


def _halves(text: str) -> list[str]:
    return [text[: len(text) // 2], text[len(text) // 2 :]]


def routes(stub: HostedStub, app: FastAPI) -> None:
    def check(request: Request) -> Response | None:
        if request.headers.get("x-api-key") != KEY:
            return error(401, "authentication_error", "invalid x-api-key")
        if request.headers.get("anthropic-version") != "2023-06-01":
            return error(400, "invalid_request_error", "anthropic-version: header is required")
        return stub.scripted()

    @app.post("/v1/messages")
    async def messages(request: Request) -> Response:
        sent = await stub.record(request)
        refused = check(request)
        if refused is not None:
            return refused
        body = sent["body"]
        for name in ("model", "max_tokens", "messages"):
            if name not in body:
                return error(400, "invalid_request_error", f"{name}: Field required")
        if body["model"] not in MODELS:
            return error(404, "not_found_error", f"model: {body['model']}")
        answer = reply(body)
        if body.get("stream"):
            return StreamingResponse(events(answer), media_type="text/event-stream")
        return JSONResponse(answer)

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        await stub.record(request)
        refused = check(request)
        if refused is not None:
            return refused
        after = request.query_params.get("after_id")
        start = MODELS.index(after) + 1 if after else 0
        page = MODELS[start : start + PAGE]
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-09-29T00:00:00Z"}
            for m in page
        ]
        more = start + PAGE < len(MODELS)
        return JSONResponse(
            {"data": data, "has_more": more, "first_id": page[0], "last_id": page[-1]}
        )
