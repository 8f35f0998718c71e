"""Config of inline::prompt-guard (prompt-injection and jailbreak detection)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from llama_workbench.apis.safety.models import ViolationLevel

Role = Literal["user", "assistant", "system", "developer", "tool"]
# Injections arrive in what users type and in what tools bring back (web pages, files, mail).
DEFAULT_ROLES: tuple[Role, ...] = ("user", "tool")


class PromptGuardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Literal["securevector", "prompt-guardrail"] = Field(
        "securevector",
        description="The classifier: securevector (securevector-guardian-model, the better of "
        "the two on our examples) or prompt-guardrail (the prompt-guardrail package).",
    )
    threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Score at or above which a message is flagged; none: the model's default "
        "(0.8 for securevector, 0.5 for prompt-guardrail).",
    )
    level: ViolationLevel = ViolationLevel.error
    roles: list[Role] | None = Field(
        default_factory=lambda: list(DEFAULT_ROLES),
        description="Which messages are checked; none: all of them.",
    )
