"""Config of inline::rag-runtime (the builtin::rag tool group)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RagToolRuntimeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
