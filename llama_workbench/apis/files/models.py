"""Types of the Files API (OpenAI-compatible)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from llama_workbench.apis.base import ApiModel


class FilePurpose(StrEnum):
    """What a file is for (OpenAI's purposes)."""

    assistants = "assistants"
    batch = "batch"
    fine_tune = "fine-tune"
    vision = "vision"
    user_data = "user_data"
    evals = "evals"


class ExpiresAfter(ApiModel):
    """Expire a file `seconds` after its creation (1 hour to 30 days)."""

    anchor: Literal["created_at"] = "created_at"
    seconds: int = Field(ge=3600, le=2_592_000)


class FileObject(ApiModel):
    """An uploaded file (OpenAI's file object)."""

    object: Literal["file"] = "file"
    id: str
    bytes: int
    created_at: int
    expires_at: int | None = None
    filename: str
    purpose: FilePurpose


class ListFilesResponse(ApiModel):
    object: Literal["list"] = "list"
    data: list[FileObject]
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


class FileDeleteResponse(ApiModel):
    id: str
    object: Literal["file"] = "file"
    deleted: bool = True
