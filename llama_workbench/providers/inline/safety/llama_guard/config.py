"""Config of inline::llama-guard: categories left out, the answer's token budget, the refusal."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from llama_workbench.providers.inline.safety.llama_guard.prompt import (
    CATEGORIES,
    DEFAULT_USER_MESSAGE,
    normalize_codes,
)


class LlamaGuardConfig(BaseModel):
    """Which hazard categories to leave out and how a violation is reported.

    The guard model itself is each shield's `provider_shield_id`: any model the stack serves.
    """

    model_config = ConfigDict(extra="forbid")

    excluded_categories: list[str] = Field(
        default_factory=list,
        description="Codes (S1..S14) not checked; a shield's params may replace the list.",
    )
    max_tokens: int = Field(
        64, ge=1, le=1024, description="Tokens the guard model may answer with ('unsafe\\nS1,S10')."
    )
    user_message: str = Field(
        DEFAULT_USER_MESSAGE, min_length=1, description="The message a violation shows the user."
    )

    @field_validator("excluded_categories")
    @classmethod
    def _known_codes(cls, value: list[str]) -> list[str]:
        return checked_exclusions(value)


def checked_exclusions(codes: list[str]) -> list[str]:
    """Normalized codes to exclude; ValueError if unknown, or if nothing would be left to check."""
    normalized = normalize_codes(codes)
    if len(normalized) == len(CATEGORIES):
        raise ValueError("every category is excluded, so nothing would be checked")
    return normalized
