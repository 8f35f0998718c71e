"""Config of inline::regex (a blocklist of words and named patterns) and a shield's params."""

from __future__ import annotations

import functools
import importlib
import importlib.util
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from llama_workbench.providers.inline.safety.common import ROLES

# Found without importing it: `regex` is imported when a pattern is first compiled.
HAS_REGEX = importlib.util.find_spec("regex") is not None


@functools.cache
def engine() -> Any:
    """The `regex` package where installed (searches can time out), else the stdlib `re` (same
    syntax for common patterns, but a runaway search can't be stopped)."""
    return importlib.import_module("regex" if HAS_REGEX else "re")


def check_words(words: list[str] | None) -> list[str] | None:
    if words is not None and any(not w.strip() for w in words):
        raise ValueError("blocked_words may not hold empty strings")
    return [w.strip() for w in words] if words is not None else None


def check_patterns(patterns: dict[str, str | None] | None) -> dict[str, str | None] | None:
    """Compile each pattern once, so a wrong one is reported by name before any message."""
    for name, pattern in (patterns or {}).items():
        if not name.strip():
            raise ValueError("pattern names may not be empty")
        if pattern is None:
            continue
        try:
            compiled = engine().compile(pattern)
        except engine().error as exc:
            raise ValueError(f"pattern '{name}' is not a valid regular expression: {exc}") from None
        if compiled.search("") is not None:  # it would flag every message, even an empty one
            raise ValueError(f"pattern '{name}' matches empty text; it must match something")
    return patterns


def check_roles(roles: list[str] | None) -> list[str] | None:
    unknown = [r for r in roles or () if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown roles {unknown}; use {', '.join(ROLES)}")
    return roles


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class RegexShieldConfig(BaseModel):
    """Provider defaults; each shield's params may add words and add or replace patterns."""

    model_config = ConfigDict(extra="forbid")

    blocked_words: list[str] = Field(
        default_factory=list,
        description="Whole words or phrases, matched case-insensitively (Unicode case folding); "
        "words of scripts written without spaces (Chinese, Japanese, Thai) need a pattern.",
    )
    patterns: dict[str, str] = Field(
        default_factory=dict, description="Named regular expressions: {name: pattern}."
    )
    level: Literal["error", "warn"] = "error"
    roles: list[str] | None = Field(None, description="Roles of the messages checked; None: all.")
    message: str = Field(
        "The message contains blocked content.",
        description="The user_message of a violation; '{rules}' is replaced by the rules matched.",
    )
    timeout_s: float = Field(
        1.0, gt=0, description="Longest one pattern may search one message (`regex` package only)."
    )

    _lists = field_validator("blocked_words", "roles", mode="before")(_as_list)
    _words = field_validator("blocked_words")(check_words)
    _patterns = field_validator("patterns")(check_patterns)
    _roles = field_validator("roles")(check_roles)


class RegexShieldParams(BaseModel):
    """Shield params: `blocked_words` add to the config's; `patterns` add, replace, or (null) drop."""

    model_config = ConfigDict(extra="forbid")

    blocked_words: list[str] | None = None
    patterns: dict[str, str | None] | None = None
    level: Literal["error", "warn"] | None = None
    roles: list[str] | None = None
    message: str | None = None

    _lists = field_validator("blocked_words", "roles", mode="before")(_as_list)
    _words = field_validator("blocked_words")(check_words)
    _patterns = field_validator("patterns")(check_patterns)
    _roles = field_validator("roles")(check_roles)
