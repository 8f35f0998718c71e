"""Types of the Safety API: shield verdicts and OpenAI-compatible moderations."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import Field

from llama_workbench.apis.base import ApiModel
from llama_workbench.apis.inference.models import Message


class ViolationLevel(StrEnum):
    """How serious a finding is: `error` blocks, `warn` flags, `info` only notes."""

    info = "info"
    warn = "warn"
    error = "error"


class SafetyViolation(ApiModel):
    """What a shield found: the level, a message fit to show the user, and the details."""

    violation_level: ViolationLevel
    user_message: str | None = None
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="categories, rule, spans, scores: what each shield knows"
    )


class RunShieldResponse(ApiModel):
    violation: SafetyViolation | None = None


class RunShieldRequest(ApiModel):
    """POST /v1/safety/run-shield."""

    shield_id: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    params: dict[str, Any] | None = None


class RunShieldBatchRequest(ApiModel):
    """Many conversations through one shield, concurrently."""

    shield_id: str = Field(min_length=1)
    conversations: list[list[Message]] = Field(min_length=1)
    params: dict[str, Any] | None = None


class RunModerationRequest(ApiModel):
    """POST /v1/moderations: `model` names a shield (or its provider's model); none: every shield."""

    input: str | list[str]
    model: str | None = None


class ModerationResult(ApiModel):
    flagged: bool
    categories: dict[str, bool] = Field(default_factory=dict)
    category_applied_input_types: dict[str, list[str]] = Field(default_factory=dict)
    category_scores: dict[str, float] = Field(default_factory=dict)
    user_message: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ModerationObject(ApiModel):
    """OpenAI's moderation object: one result per input."""

    id: str = Field(default_factory=lambda: f"modr-{uuid.uuid4().hex}")
    model: str
    results: list[ModerationResult]
