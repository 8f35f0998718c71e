"""IBM watsonx.ai and IBM Cloud IAM as documented, on a HostedStub at 127.0.0.1.

Shapes written from IBM's references: IAM "Get an IAM access token for a user or service ID
using an API key" (POST /identity/token, form grant_type=urn:ibm:params:oauth:grant-type:apikey
-> {access_token, refresh_token, token_type, expires_in, expiration}; a bad key -> 400
{errorCode BXNIM0415E, errorMessage}); watsonx.ai API "Infer text chat" (POST
/ml/v1/text/chat?version=..., body {model_id, project_id, messages, tools, tool_choice_option |
tool_choice, max_tokens, ...} -> {id, model_id, model, choices, created, created_at, usage}),
"Infer text chat event stream" (/ml/v1/text/chat_stream: `id`, `event: message`, `data:` chunks
with choices[].delta), "Generate embeddings" (/ml/v1/text/embeddings: {inputs, model_id,
project_id} -> {model_id, results: [{embedding}], created_at, input_token_count}), "List the
available foundation models" (/ml/v1/foundation_model_specs -> {total_count, limit, first,
next, resources: [{model_id, functions: [{id}], model_limits}]}), errors as {errors: [{code,
message}], trace, status_code}.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tests.support.hosted_stub import HostedStub

API_KEY = "ibm-cloud-api-key-test"
PROJECT = "4947c695-a374-428c-acca-332c1a1dc9e9"
CHAT = "ibm/granite-3-8b-instruct"
EMBED = "ibm/slate-125m-english-rtrvr"
SPECS = [
    {"model_id": CHAT, "functions": [{"id": "text_chat"}, {"id": "text_generation"}],
     "model_limits": {"max_sequence_length": 131072}},
    {"model_id": "meta-llama/llama-3-3-70b-instruct", "functions": [{"id": "text_chat"}]},
    {"model_id": EMBED, "functions": [{"id": "embedding"}],
     "model_limits": {"max_sequence_length": 512, "embedding_dimension": 768}},
]  # fmt: skip


def ibm_error(status: int, code: str, message: str) -> JSONResponse:
    body = {
        "errors": [{"code": code, "message": message}],
        "trace": "9a8b7c",
        "status_code": status,
    }
    return JSONResponse(body, status_code=status)


class WatsonX:
    """The two services' state: tokens issued, the one currently valid."""

    def __init__(self) -> None:
        self.issued: list[str] = []

    def revoke(self) -> None:
        """The current token stops being accepted (watsonx.ai answers 401)."""
        self.issued.append("revoked")

    def routes(self, stub: HostedStub, app: FastAPI) -> None:
        @app.post("/identity/token")
        async def token(request: Request) -> Response:
            await stub.record(request)
            form = await request.form()
            if form.get("grant_type") != "urn:ibm:params:oauth:grant-type:apikey":
                return JSONResponse({"errorCode": "BXNIM0103E", "errorMessage": "grant_type"}, 400)
            if form.get("apikey") != API_KEY:
                error = {"errorCode": "BXNIM0415E"}
                error["errorMessage"] = "Provided API key could not be found."
                return JSONResponse(error, status_code=400)
            self.issued.append(f"eyJraWQiOi.token-{len(self.issued)}")
            body = {"access_token": self.issued[-1], "refresh_token": "not_supported"}
            body |= {"token_type": "Bearer", "expires_in": 3600, "expiration": 4102444800}
            return JSONResponse(body | {"scope": "ibm openid"})

        async def gate(request: Request) -> tuple[dict[str, Any], Response | None]:
            sent = await stub.record(request)
            if (
                not self.issued
                or sent["headers"].get("authorization") != f"Bearer {self.issued[-1]}"
            ):
                why = "Failed to authenticate the request due to an expired token"
                return sent, ibm_error(401, "authentication_token_expired", why)
            if sent["query"].get("version") is None:
                return sent, ibm_error(400, "missing_version", "Missing version parameter")
            return sent, stub.scripted()

        @app.get("/ml/v1/foundation_model_specs")
        async def specs(request: Request) -> Response:
            sent, refused = await gate(request)
            if refused is not None:
                return refused
            start, limit = int(sent["query"].get("start", 0)), 2  # pages of two
            page: dict[str, Any] = {"total_count": len(SPECS), "limit": limit}
            page["first"] = {"href": f"{stub.url}/ml/v1/foundation_model_specs?limit={limit}"}
            if start + limit < len(SPECS):
                href = (
                    f"{stub.url}/ml/v1/foundation_model_specs?limit={limit}&start={start + limit}"
                )
                page["next"] = {"href": href}
            return JSONResponse(page | {"resources": SPECS[start : start + limit]})

        @app.post("/ml/v1/text/chat")
        async def chat(request: Request) -> Response:
            sent, refused = await gate(request)
            return refused or _checked(sent["body"]) or JSONResponse(reply(sent["body"]))

        @app.post("/ml/v1/text/chat_stream")
        async def chat_stream(request: Request) -> Response:
            sent, refused = await gate(request)
            if refused or (refused := _checked(sent["body"])):
                return refused
            return StreamingResponse(events(reply(sent["body"])), media_type="text/event-stream")

        @app.post("/ml/v1/text/embeddings")
        async def embeddings(request: Request) -> Response:
            sent, refused = await gate(request)
            body = sent["body"]
            if refused or (refused := _checked(body, EMBED)):
                return refused
            results = [{"embedding": [float(len(t)), 0.25, -0.5]} for t in body["inputs"]]
            return JSONResponse(
                {
                    "model_id": body["model_id"],
                    "results": results,
                    "created_at": "2025-02-11T22:12:07.243Z",
                    "input_token_count": 2 * len(results),
                }
            )


def _checked(body: dict[str, Any], model: str = CHAT) -> Response | None:
    if body.get("project_id") != PROJECT:
        why = "Missing either space_id or project_id or wml_instance_crn"
        return ibm_error(400, "invalid_request_entity", why)
    if body.get("model_id") != model:
        why = f"Model '{body.get('model_id')}' is not supported"
        return ibm_error(404, "model_not_supported", why)
    return None


def reply(body: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if body.get("tools") and body.get("tool_choice_option") != "none":
        name = (body.get("tool_choice") or {}).get("function", {}).get("name")
        name = name or body["tools"][0]["function"]["name"]
        function = {"name": name, "arguments": '{"city": "Paris"}'}
        message["tool_calls"] = [{"id": "H6KoCbaZV", "type": "function", "function": function}]
        finish = "tool_calls"
    else:
        message["content"] = "echo: " + str(body["messages"][-1]["content"])
        finish = "stop"
    return {
        "id": "chatcmpl-2f47da4026950db321698cb733b25e89",
        "model_id": body["model_id"],
        "model": body["model_id"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "created": 1739311926,
        "model_version": "1.1.0",
        "created_at": "2025-02-11T22:12:07.243Z",
        "usage": {"completion_tokens": 4, "prompt_tokens": 20, "total_tokens": 24},
    }


async def events(answer: dict[str, Any]) -> AsyncIterator[str]:
    """The answer as chat_stream events: the role, the content (or tool call) in two, the end."""
    import json

    head = {
        k: answer[k] for k in ("id", "model_id", "model", "created", "model_version", "created_at")
    }
    message, finish = answer["choices"][0]["message"], answer["choices"][0]["finish_reason"]
    deltas: list[dict[str, Any]] = [{"role": "assistant"}]
    if "tool_calls" in message:
        call = message["tool_calls"][0]
        args = call["function"]["arguments"]
        first = {
            "index": 0,
            **call,
            "function": {"name": call["function"]["name"], "arguments": args[:6]},
        }
        rest = {"index": 0, "function": {"arguments": args[6:]}}
        deltas += [{"tool_calls": [first]}, {"tool_calls": [rest]}]
    else:
        text = message["content"]
        deltas += [{"content": text[: len(text) // 2]}, {"content": text[len(text) // 2 :]}]
    for i, delta in enumerate(deltas):
        chunk = {**head, "choices": [{"index": 0, "finish_reason": None, "delta": delta}]}
        yield f"id: {i + 1}\nevent: message\ndata: {json.dumps(chunk)}\n\n"
    last = {
        **head,
        "choices": [{"index": 0, "finish_reason": finish, "delta": {}}],
        "usage": answer["usage"],
    }
    yield f"id: {len(deltas) + 1}\nevent: message\ndata: {json.dumps(last)}\n\n"
