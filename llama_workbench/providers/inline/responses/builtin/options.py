"""A response's options for its model calls (logprobs, penalties, reasoning effort, extra body),
and the ones this stack refuses, each a 400 that names it."""

from __future__ import annotations

from typing import Any

from llama_workbench.apis.responses.models import CreateResponseRequest
from llama_workbench.core.errors import BadRequestError

LOGPROBS = "message.output_text.logprobs"


def check_options(request: CreateResponseRequest) -> None:
    """Options this stack can't honour: a 400 naming each, never silently dropped."""
    if "reasoning.encrypted_content" in (request.include or []):
        raise BadRequestError(
            "include: reasoning.encrypted_content is not supported (as in Llama Stack 0.7.3): "
            "reasoning items are kept with the stored response, not handed out encrypted."
        )
    if request.reasoning is not None and request.reasoning.summary is not None:
        raise BadRequestError(
            "reasoning.summary is not supported: this stack returns no reasoning summaries "
            "(reasoning.effort is passed to the model as reasoning_effort)."
        )


def truncation_failure(request: CreateResponseRequest) -> BadRequestError | None:
    """truncation 'auto' is not supported: as in Llama Stack 0.7.3, the response is created and
    then fails (a response.failed event, error code server_error), before any model call."""
    if request.truncation != "auto":
        return None
    return BadRequestError(
        "truncation: 'auto' is not supported; use 'disabled' (the default): an input longer "
        "than the model's context window is then the model server's error."
    )


def error_code(exc: BaseException) -> str:
    """The code of a failed response's error, from the Responses API's list of codes."""
    from llama_workbench.core.errors import RateLimitError

    return "rate_limit_exceeded" if isinstance(exc, RateLimitError) else "server_error"


def wants_logprobs(request: CreateResponseRequest) -> bool:
    return LOGPROBS in (request.include or []) or bool(request.top_logprobs)


def chat_options(request: CreateResponseRequest) -> dict[str, Any]:
    """Fields of each chat request the response's model calls make (None: left out).

    The request's extra body goes along, as Llama Stack 0.7.3 sends it: the provider honours
    each field or refuses it with a 400 that names it.
    """
    logprobs = wants_logprobs(request)
    effort = request.reasoning.effort if request.reasoning else None
    return {
        **(request.model_extra or {}),
        "frequency_penalty": request.frequency_penalty,
        "presence_penalty": request.presence_penalty,
        "logprobs": True if logprobs else None,
        "top_logprobs": request.top_logprobs if logprobs else None,
        "reasoning_effort": effort if effort not in (None, "none") else None,
        "service_tier": request.service_tier,
        "safety_identifier": request.safety_identifier,
        "prompt_cache_key": request.prompt_cache_key,
    }


def chunk_logprobs(choice: Any) -> list[dict[str, Any]]:
    """The token logprobs a streamed chat chunk's choice carries (chat's `logprobs.content`)."""
    logprobs = getattr(choice, "logprobs", None)
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    return list(content or [])


def echoed(request: CreateResponseRequest) -> dict[str, Any]:
    """The request's settings a response object repeats (OpenAI's and 0.7.3's fields)."""
    return {
        "truncation": request.truncation or "disabled",
        "top_logprobs": request.top_logprobs if request.top_logprobs is not None else 0,
        "frequency_penalty": request.frequency_penalty,
        "presence_penalty": request.presence_penalty,
        "reasoning": request.reasoning,
        "service_tier": request.service_tier,
        "safety_identifier": request.safety_identifier,
        "prompt_cache_key": request.prompt_cache_key,
    }
