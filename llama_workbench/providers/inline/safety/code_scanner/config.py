"""Config of inline::code-scanner (CodeShield's rules run by semgrep) and a shield's params."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from llama_workbench.providers.inline.safety.common import ROLES

Severity = Literal["advice", "warning", "error"]
SEVERITY_RANK: dict[str, int] = {"advice": 0, "warning": 1, "error": 2}


def _check_roles(roles: list[str] | None) -> list[str] | None:
    unknown = [r for r in roles or () if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown roles {unknown}; use {', '.join(ROLES)}")
    return roles


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class CodeScannerConfig(BaseModel):
    """Provider defaults; a shield's params may override the threshold, level and roles."""

    model_config = ConfigDict(extra="forbid")

    min_severity: Severity = Field(
        "warning",
        description="The least severe finding that is a violation (advice < warning < error).",
    )
    level: Literal["error", "warn", "info"] = "error"
    rule_set: Literal["codeshield", "cyberseceval"] = Field(
        "codeshield",
        description="CodeShield's rules tuned for LLM output, or CyberSecEval's broader set.",
    )
    scan_unfenced: bool = Field(
        True, description="Scan a whole message that has no ``` fence but looks like code."
    )
    roles: list[str] | None = Field(None, description="Messages of these roles only (None: all).")
    timeout_s: float = Field(30.0, gt=0, description="Time limit of one semgrep run.")
    regex_timeout_s: float = Field(
        1.0,
        gt=0,
        description="Time limit of one regex rule on one block: one of CodeShield's regexes "
        "takes time quadratic in a run of dashes (minutes for 100 kB).",
    )
    max_concurrent_scans: int = Field(
        2, ge=1, description="semgrep processes at once (each takes a core and ~100 MB)."
    )

    _lists = field_validator("roles", mode="before")(_as_list)
    _roles = field_validator("roles")(_check_roles)


class CodeScannerParams(BaseModel):
    """Shield params: each one, when given, replaces the provider's default."""

    model_config = ConfigDict(extra="forbid")

    min_severity: Severity | None = None
    level: Literal["error", "warn", "info"] | None = None
    roles: list[str] | None = None
    scope: Literal["all", "last"] = Field(
        "all", description="Scan every message (as Llama Stack does) or only the last one."
    )

    _lists = field_validator("roles", mode="before")(_as_list)
    _roles = field_validator("roles")(_check_roles)
