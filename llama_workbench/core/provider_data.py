"""Per-request provider data: keys a caller passes for one request (Llama Stack's
`X-LlamaStack-Provider-Data` header, e.g. {"openai_api_key": "..."}): held in a context variable
for that request only, never stored, logged or put in a span."""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterator, Mapping
from typing import Any

from llama_workbench.core.errors import BadRequestError

HEADER = "X-LlamaStack-Provider-Data"

_current: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "llama_workbench_provider_data", default=None
)


def parse_header(raw: bytes) -> dict[str, Any]:
    """The header's JSON object; a 400 naming the header when it is not one."""
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequestError(
            f'{HEADER} must be a JSON object, e.g. {{"brave_search_api_key": ...}}.'
        ) from None
    if not isinstance(value, dict):
        raise BadRequestError(f"{HEADER} must be a JSON object, got {type(value).__name__}.")
    return value


def provider_value(name: str) -> str | None:
    """The current request's value of `name`, a field a provider declares (its API key under
    Llama Stack 0.7.3's name): None when absent or empty, a 400 naming the field when it is not
    a string. The value itself never appears in an error."""
    data = _current.get()
    value = data.get(name) if data is not None else None
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequestError(
            f"{HEADER}: '{name}' must be a string (an API key), got {type(value).__name__}.",
            details={"param": name},
        )
    return value


@contextlib.contextmanager
def provider_data(values: Mapping[str, Any] | None) -> Iterator[None]:
    """Provider data for the calls made inside the block (the server sets it per request)."""
    token = _current.set(dict(values) if values is not None else None)
    try:
        yield
    finally:
        _current.reset(token)
