"""A batch's input file checked line by line before anything runs (Llama Stack 0.7's rules)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from llama_workbench.apis.batches.models import BatchError

# Fields every line needs: (name, type, how the message names the type).
_LINE_FIELDS: tuple[tuple[str, type | tuple[type, ...], str], ...] = (
    ("custom_id", str, "string"),
    ("method", str, "string"),
    ("url", str, "string"),
    ("body", dict, "JSON dictionary object"),
)
# Body fields each endpoint needs (checked here: a model call is an expensive way to find out).
_BODY_FIELDS: dict[str, tuple[tuple[str, type | tuple[type, ...], str], ...]] = {
    "/v1/chat/completions": (("model", str, "a string"), ("messages", list, "an array")),
    "/v1/completions": (("model", str, "a string"), ("prompt", str, "a string")),
    "/v1/embeddings": (
        ("model", str, "a string"),
        ("input", (str, list), "a string or array of strings"),
    ),
    "/v1/responses": (("model", str, "a string"), ("input", (str, list), "a string or array")),
}

ModelCheck = Callable[[str], Awaitable[bool]]


class BatchRequest(BaseModel):
    """One valid line of the input file."""

    line: int
    custom_id: str
    method: str
    url: str
    body: dict[str, Any]


async def validate_input(
    content: bytes, endpoint: str, model_exists: ModelCheck
) -> tuple[list[BatchError], list[BatchRequest]]:
    """Every problem of every line (numbered from 1; blank lines skipped), and the valid lines."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return [BatchError(code="invalid_request", message="The input file is not UTF-8 text.")], []
    errors: list[BatchError] = []
    requests: list[BatchRequest] = []
    known: dict[str, bool] = {}
    for number, line in enumerate(text.strip().split("\n"), 1):
        if not line.strip():
            continue
        problems, request, model = check_line(line, number, endpoint)
        if model is not None:
            if model not in known:
                known[model] = await model_exists(model)
            if not known[model]:
                problems.append(_model_not_found(number, model))
        errors.extend(problems)
        if request is not None and not problems:
            requests.append(request)
    return errors, requests


def check_line(
    line: str, number: int, endpoint: str
) -> tuple[list[BatchError], BatchRequest | None, str | None]:
    """The problems of one line, the request when its fields have the right types, and the model
    it names (which the caller checks)."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        message = "This line is not parseable as valid JSON."
        return [BatchError(code="invalid_json_line", line=number, message=message)], None, None
    if not isinstance(data, dict):
        message = "Each line must be a JSON dictionary object"
        return [BatchError(code="invalid_request", line=number, message=message)], None, None
    errors = _field_errors(data, number)
    url = data.get("url")
    if isinstance(url, str) and url and url != endpoint:
        message = "URL provided for this request does not match the batch endpoint"
        errors.append(BatchError(code="invalid_url", line=number, message=message, param="url"))
    body = data.get("body")
    model = None
    if isinstance(body, dict) and body:
        errors.extend(_body_errors(body, number, endpoint))
        model = body["model"] if isinstance(body.get("model"), str) else None
    if any(not isinstance(data.get(n), t) for n, t, _ in _LINE_FIELDS):
        return errors, None, model
    fields = {n: data[n] for n, _, _ in _LINE_FIELDS}
    return errors, BatchRequest(line=number, **fields), model


def _field_errors(data: dict[str, Any], number: int) -> list[BatchError]:
    errors = []
    for name, kind, described in _LINE_FIELDS:
        if name not in data:
            errors.append(
                BatchError(
                    code="missing_required_parameter",
                    line=number,
                    message=f"Missing required parameter: {name}",
                    param=name,
                )
            )
        elif not isinstance(data[name], kind):
            label = "URL" if name == "url" else name.capitalize()
            errors.append(
                BatchError(
                    code="invalid_request",
                    line=number,
                    message=f"{label} must be a {described}",
                    param=name,
                )
            )
    return errors


def _body_errors(body: dict[str, Any], number: int, endpoint: str) -> list[BatchError]:
    errors = []
    if body.get("stream", False):
        errors.append(
            BatchError(
                code="streaming_unsupported",
                line=number,
                message="Streaming is not supported in batch processing",
                param="body.stream",
            )
        )
    for name, kind, described in _BODY_FIELDS.get(endpoint, ()):
        if name not in body:
            message = f"{name.capitalize()} parameter is required"
        elif not isinstance(body[name], kind):
            message = f"{name.capitalize()} must be {described}"
        else:
            continue
        errors.append(
            BatchError(code="invalid_request", line=number, message=message, param=f"body.{name}")
        )
    return errors


def _model_not_found(number: int, model: str) -> BatchError:
    return BatchError(
        code="model_not_found",
        line=number,
        message=f"Model '{model}' does not exist or is not supported",
        param="body.model",
    )
