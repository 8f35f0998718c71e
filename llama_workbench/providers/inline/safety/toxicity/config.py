"""Config of inline::toxicity (offensive-language detection)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from llama_workbench.apis.safety.models import ViolationLevel

Role = Literal["user", "assistant", "system", "developer", "tool"]


class ToxicityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="Probability of offensive language at or above which a message is flagged.",
    )
    level: ViolationLevel = ViolationLevel.error
    roles: list[Role] | None = Field(None, description="Which messages are checked; none: all.")
