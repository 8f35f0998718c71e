"""The base of every API request and response type."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    """A pydantic model whose validator is built on first use, not at import.

    The API types are imported when a stack is built, yet most are first validated (if ever)
    by a request: deferring their schemas keeps hundreds of validators out of start-up.
    """

    model_config = ConfigDict(defer_build=True)
