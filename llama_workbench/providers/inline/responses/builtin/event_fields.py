"""Fields a stream event carries besides its own: `response_id` where Llama Stack 0.7.3's event
models have it, and OpenAI's `obfuscation` padding on delta events."""

from __future__ import annotations

import secrets
import string

from llama_workbench.apis.responses.models import CreateResponseRequest

# The event types whose 0.7.3 models require `response_id` (llama-stack-client parses by them).
WITH_RESPONSE_ID = frozenset(
    {
        "response.output_item.added",
        "response.output_item.done",
        "response.content_part.added",
        "response.content_part.done",
    }
)
_PAD = string.ascii_letters + string.digits
_MAX_PAD = 16


def obfuscates(request: CreateResponseRequest) -> bool:
    """stream_options.include_obfuscation, true unless sent false (OpenAI's default)."""
    options = request.stream_options
    return options is None or options.include_obfuscation


def padding() -> str:
    """Random characters of random length: a delta's size no longer tells its content's."""
    return "".join(secrets.choice(_PAD) for _ in range(secrets.randbelow(_MAX_PAD) + 1))


def extra_fields(type_: str, response_id: str, obfuscate: bool) -> dict[str, str]:
    extra: dict[str, str] = {}
    if type_ in WITH_RESPONSE_ID:
        extra["response_id"] = response_id
    if obfuscate and type_.endswith(".delta"):
        extra["obfuscation"] = padding()
    return extra
