"""Config of inline::basic (nothing to set: its functions need no model and no service)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class BasicScoringConfig(BaseModel):
    """inline::basic takes no settings; functions are configured through their params."""

    model_config = ConfigDict(extra="forbid")
