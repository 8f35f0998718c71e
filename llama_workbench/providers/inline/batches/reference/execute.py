"""One batch request run through the stack's own APIs, and the output and error files."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from llama_workbench.core.errors import LlamaWorkbenchError
from llama_workbench.providers.inline.batches.reference.validation import BatchRequest

EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."


@dataclass(frozen=True)
class StackApis:
    """The APIs batch requests go to (responses only when the stack has it)."""

    inference: Any
    files: Any
    models: Any
    responses: Any


def request_id(batch_id: str, request: BatchRequest) -> str:
    return f"batch_req_{batch_id}_{request.line}"


async def execute(apis: StackApis, batch_id: str, request: BatchRequest) -> dict[str, Any]:
    """The request's output line: `response` with the answer as JSON text (as Llama Stack 0.7
    writes it), or `error` when the request failed."""
    rid = request_id(batch_id, request)
    try:
        body = await _call(apis, request.url, request.body)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a failed request is a result of the batch, not its failure
        return failed_line(rid, request.custom_id, _code(exc), _message(exc))
    return {
        "id": rid,
        "custom_id": request.custom_id,
        "response": {"status_code": 200, "request_id": rid, "body": body},
        "error": None,
    }


async def execute_on_worker(stack: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """A Ray worker's half of a batch: one request through the worker's own stack (inference)."""
    import time

    request = BatchRequest.model_validate(payload["request"])
    expires_at = payload.get("expires_at")
    if expires_at is not None and time.time() >= expires_at:
        return expired_line(payload["batch_id"], request)
    apis = StackApis(inference=stack.impl("inference"), files=None, models=None, responses=None)
    return await execute(apis, payload["batch_id"], request)


def failed_line(rid: str, custom_id: str, code: str, message: str) -> dict[str, Any]:
    error = {"type": "request_failed", "code": code, "message": message}
    return {"id": rid, "custom_id": custom_id, "response": None, "error": error}


def expired_line(batch_id: str, request: BatchRequest) -> dict[str, Any]:
    rid = request_id(batch_id, request)
    return failed_line(rid, request.custom_id, "batch_expired", EXPIRED_MESSAGE)


async def _call(apis: StackApis, url: str, body: dict[str, Any]) -> str:
    from llama_workbench.apis.inference.models import (
        ChatCompletionRequest,
        CompletionRequest,
        EmbeddingsRequest,
    )

    result: BaseModel
    if url == "/v1/chat/completions":
        result = await apis.inference.chat_completion(ChatCompletionRequest.model_validate(body))
    elif url == "/v1/completions":
        result = await apis.inference.completion(CompletionRequest.model_validate(body))
    elif url == "/v1/embeddings":
        result = await apis.inference.embeddings(EmbeddingsRequest.model_validate(body))
    else:
        from llama_workbench.apis.responses.models import CreateResponseRequest

        result = await apis.responses.create_response(CreateResponseRequest.model_validate(body))
    return result.model_dump_json()


def _code(exc: Exception) -> str:
    if isinstance(exc, LlamaWorkbenchError):
        return exc.error_type
    return "invalid_request" if isinstance(exc, ValidationError | ValueError) else "server_error"


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        problems = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()]
        return "Invalid request body: " + "; ".join(problems)
    return exc.message if isinstance(exc, LlamaWorkbenchError) else str(exc) or type(exc).__name__


async def write_result_files(
    files: Any, batch_id: str, lines: list[dict[str, Any]]
) -> tuple[str | None, str | None]:
    """The output file (answered requests) and the error file (failed ones), in input order; a
    file is made only when it has lines (as OpenAI does)."""
    answered = [line for line in lines if line.get("error") is None]
    failed = [line for line in lines if line.get("error") is not None]
    ids: list[str | None] = []
    for kind, chosen in (("success", answered), ("error", failed)):
        if not chosen:
            ids.append(None)
            continue
        content = "\n".join(json.dumps(line) for line in chosen).encode() + b"\n"
        uploaded = await files.upload_file(content, "batch", f"{batch_id}_{kind}.jsonl")
        ids.append(uploaded.id)
    return ids[0], ids[1]
