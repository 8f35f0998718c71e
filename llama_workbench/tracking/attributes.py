"""What a span records about a call: ids, model, token usage, errors and, when asked, redacted content."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from llama_workbench.core.redact import redact, scrub

# Request fields recorded as span attributes (identifiers, never contents); `model` and
# `model_id` both become `model_id`.
ID_FIELDS = (
    "model",
    "model_id",
    "shield_id",
    "vector_store_id",
    "tool_name",
    "toolgroup_id",
    "tool_group_id",
    "file_id",
    "conversation_id",
    "response_id",
    "previous_response_id",
    "benchmark_id",
    "dataset_id",
    "job_id",
)
_ATTRIBUTE_NAME = {"model": "model_id"}
_MAX_ID_CHARS = 256
_MAX_ERROR_CHARS = 500

# MLflow span types of the calls that make a trace worth showing in MLflow: chat, RAG, tools,
# agent (Responses) turns and shields.
SPAN_TYPES = {
    "inference.chat_completion": "CHAT_MODEL",
    "inference.completion": "LLM",
    "inference.embeddings": "EMBEDDING",
    "vector_io.search_vector_store": "RETRIEVER",
    "vector_io.query_chunks": "RETRIEVER",
    "tool_runtime.rag.query": "RETRIEVER",
    "tool_runtime.invoke_tool": "TOOL",
    "responses.create_response": "AGENT",
    "safety.run_shield": "GUARDRAIL",
    "safety.run_shield_batch": "GUARDRAIL",
    "safety.run_moderation": "GUARDRAIL",
}


@functools.cache
def parameter_names(fn: Callable[..., Any]) -> tuple[str, ...]:
    """A Protocol method's parameters after `self`, to name positional arguments."""
    return tuple(list(inspect.signature(fn).parameters)[1:])


@functools.cache
def _id_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    return tuple(f for f in ID_FIELDS if f in cls.model_fields)


def request_attributes(
    attrs: dict[str, Any], names: tuple[str, ...], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> None:
    """Add the call's identifiers (model, store, shield, tool...) and its stream flag to `attrs`."""
    if len(args) == 1 and not kwargs and isinstance(args[0], BaseModel):
        fields = args[0].__dict__
        for name in _id_fields(type(args[0])):
            _add_id(attrs, name, fields.get(name))
        if fields.get("stream") is True:
            attrs["stream"] = True
        return
    for name, value in zip(names, args, strict=False):
        if name in ID_FIELDS:
            _add_id(attrs, name, value)
    for name, value in kwargs.items():
        if name in ID_FIELDS:
            _add_id(attrs, name, value)
        elif name == "stream" and value is True:
            attrs["stream"] = True


def _add_id(attrs: dict[str, Any], name: str, value: Any) -> None:
    if isinstance(value, str) and value:
        attrs[_ATTRIBUTE_NAME.get(name, name)] = value[:_MAX_ID_CHARS]


def usage_of(value: Any) -> tuple[int, int, int] | None:
    """(prompt, completion, total) tokens of a result or stream item that reports usage."""
    usage = _get(value, "usage")
    if usage is None:
        response = _get(value, "response")  # the Responses API's final stream event
        usage = _get(response, "usage") if response is not None else None
    if usage is None:
        return None
    prompt = _get(usage, "prompt_tokens")
    prompt = _get(usage, "input_tokens") if prompt is None else prompt
    completion = _get(usage, "completion_tokens")
    completion = _get(usage, "output_tokens") if completion is None else completion
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    total = _get(usage, "total_tokens")
    return prompt, completion, total if isinstance(total, int) and total else prompt + completion


def _get(value: Any, name: str) -> Any:
    """A field of a pydantic model (declared or extra), a mapping or an object; None if absent."""
    if isinstance(value, BaseModel):
        found = value.__dict__.get(name)
        if found is None and value.__pydantic_extra__:
            found = value.__pydantic_extra__.get(name)
        return found
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


def error_attributes(exc: BaseException) -> dict[str, Any]:
    """The error's type, status and message; the message is scrubbed of secrets and cut."""
    attrs: dict[str, Any] = {
        "error.type": type(exc).__name__,
        "error.message": scrub(str(exc))[:_MAX_ERROR_CHARS],
    }
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        attrs["error.status_code"] = status
    return attrs


def content(value: Any, limit: int) -> str:
    """`value` as redacted JSON text (credentials masked, embedded secrets scrubbed), cut at `limit`."""
    text = json.dumps(redact(_plain(value)), ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def call_content(names: tuple[str, ...], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    """The call's arguments by name (a request model stays whole)."""
    if len(args) == 1 and not kwargs and isinstance(args[0], BaseModel):
        return args[0]
    return {**dict(zip(names, args, strict=False)), **kwargs}


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def delta_text(item: Any) -> str:
    """The text a stream item adds: a chat chunk's delta, or a Responses text delta event."""
    choices = _get(item, "choices")
    if choices:
        text = _get(_get(choices[0], "delta"), "content")
    elif _get(item, "type") == "response.output_text.delta":
        text = _get(item, "delta")
    else:
        text = None
    return text if isinstance(text, str) else ""
