"""Config of inline::pii (personal data and secrets in messages) and the params a shield may set."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from llama_workbench.providers.inline.safety.common import ROLES

Entity = Literal["email", "phone", "credit_card", "iban", "secret"]
ENTITIES: tuple[Entity, ...] = get_args(Entity)


def _as_list(value: Any) -> Any:
    """One name may stand for a list of one (`entities: email`)."""
    return [value] if isinstance(value, str) else value


def _known_roles(roles: list[str] | None) -> list[str] | None:
    unknown = [r for r in roles or () if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown roles {unknown}; use {', '.join(ROLES)}")
    return roles


class PIIShieldConfig(BaseModel):
    """Provider defaults; each shield's params may override entities, redact, level, roles."""

    model_config = ConfigDict(extra="forbid")

    entities: list[Entity] = Field(
        default_factory=lambda: list(ENTITIES), min_length=1, description="What to look for."
    )
    default_region: str = Field(
        "US", description="Region (ISO 3166 alpha-2) for phone numbers written without +country."
    )
    redact: bool = Field(False, description="Return the checked messages with findings masked.")
    level: Literal["error", "warn"] = "error"
    roles: list[str] | None = Field(None, description="Roles of the messages checked; None: all.")
    detect_high_entropy: bool = Field(
        False, description="Also flag random-looking tokens (20+ chars) as secrets."
    )
    # 4.5 bits per char: random 40-char keys score ~4.7, long CamelCase identifiers ~4.2.
    entropy_threshold: float = Field(
        4.5, gt=0, le=8, description="Shannon entropy (bits per char) from which a token is random."
    )

    _lists = field_validator("entities", "roles", mode="before")(_as_list)
    _roles = field_validator("roles")(_known_roles)

    @field_validator("default_region")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class PIIShieldParams(BaseModel):
    """Shield params (from registration or a run_shield call): unset ones keep the config's."""

    model_config = ConfigDict(extra="forbid")

    entities: list[Entity] | None = Field(None, min_length=1)
    redact: bool | None = None
    level: Literal["error", "warn"] | None = None
    roles: list[str] | None = None
    default_region: str | None = None

    _lists = field_validator("entities", "roles", mode="before")(_as_list)
    _roles = field_validator("roles")(_known_roles)
