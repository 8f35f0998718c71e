"""Configuration of the passthrough provider (Llama Stack 0.7.3's keys: base_url, api_key,
forward_headers, extra_blocked_headers, plus the common allowed_models / refresh_models /
network, mapped at load)."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field, model_validator

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig

# Headers never forwarded from provider data (Llama Stack 0.7.3's core blocked list).
BLOCKED_HEADERS = frozenset(
    [
        "host",
        "content-type",
        "content-length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "te",
        "trailer",
        "cookie",
        "set-cookie",
        "forwarded",
        "proxy-authorization",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-prefix",
        "x-real-ip",
    ]
)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


class PassthroughConfig(OpenAICompatConfig):
    """Another Llama Stack server's OpenAI-compatible API (<base_url>/v1/...). Its key: api_key
    (which wins), else provider data `passthrough_api_key`; without base_url, each request names
    the server in provider data `passthrough_url`."""

    provider_data_api_key_field: ClassVar[str | None] = "passthrough_api_key"

    base_url: str = Field(
        "", description="The server's URL (without /v1); empty: provider data passthrough_url."
    )
    forward_headers: dict[str, str] | None = Field(
        None,
        description="Provider-data keys -> outbound header names, forwarded verbatim (only those "
        'listed), e.g. {"maas_api_token": "Authorization"}.',
    )
    extra_blocked_headers: list[str] = Field(
        default_factory=list, description="More header names forward_headers may not set."
    )

    @model_validator(mode="after")
    def _forwarding(self) -> PassthroughConfig:
        blocked = BLOCKED_HEADERS | {h.strip().lower() for h in self.extra_blocked_headers}
        errors = []
        for key, header in (self.forward_headers or {}).items():
            if key.startswith("__"):
                errors.append(f"provider key '{key}' uses the reserved __ prefix")
            if not _TOKEN.fullmatch(header.strip()):
                errors.append(f"header '{header}' is not a valid HTTP header name")
            elif header.strip().lower() in blocked:
                errors.append(f"header '{header}' is blocked (security-sensitive)")
        if errors:
            raise ValueError(f"invalid forward_headers: {'; '.join(errors)}")
        return self
