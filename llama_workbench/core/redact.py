"""Masking of secrets (keys named like credentials, SecretStr, URL passwords) before display."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import SecretBytes, SecretStr

MASK = "**********"  # what pydantic shows for a SecretStr

# Keys whose string values are credentials: api_key, x-api-key, token, Authorization, password...
_SECRET_KEY = re.compile(
    r"api[_-]?key|apikey|token|secret|passw|passwd|pwd|credential|auth|cookie|"
    r"private[_-]?key|access[_-]?key|session[_-]?key|signature|dsn",
    re.IGNORECASE,
)
# Secrets inside ordinary strings: user:password@ in URLs, ?api_key=... query parameters,
# "Bearer ..." header values, and pydantic's own mask for SecretStr.
_URL_PASSWORD = re.compile(r"(?<=://)([^/@\s:]*):([^/@\s]+)@")
_QUERY_SECRET = re.compile(
    r"([?&](?:api[_-]?key|key|token|access_token|secret|password|sig|signature)=)[^&#\s]+",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+\S+", re.IGNORECASE)
_PYDANTIC_MASK = re.compile(r"^\*{6,}$")


def is_secret_key(key: str) -> bool:
    """Whether a config key names a credential (its string values are never shown)."""
    return bool(_SECRET_KEY.search(key))


def redact(value: Any, key: str = "") -> Any:
    """A JSON-friendly copy of `value` with every secret replaced by a mask.

    Numbers and booleans stay (`max_tokens`, `use_auth` are settings, not secrets); strings under
    a credential-like key, SecretStr values and secrets embedded in strings are masked.
    """
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v, key) for v in value]
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    if text and key and is_secret_key(key):
        return MASK
    return scrub(text)


def scrub(text: str) -> str:
    """`text` with embedded secrets (URL passwords, query keys, bearer tokens) masked."""
    if _PYDANTIC_MASK.match(text):
        return MASK
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
