"""Types of the Batches API (OpenAI's batch object, Llama Stack 0.7's requests)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from llama_workbench.apis.base import ApiModel

BatchStatus = Literal[
    "validating",
    "failed",
    "in_progress",
    "finalizing",
    "completed",
    "expired",
    "cancelling",
    "cancelled",
]
# Statuses a batch leaves only by running (a restart picks these up again).
ACTIVE_STATUSES: tuple[BatchStatus, ...] = ("validating", "in_progress", "finalizing", "cancelling")
ENDED_STATUSES: tuple[BatchStatus, ...] = ("completed", "failed", "expired", "cancelled")
ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses")


class BatchError(ApiModel):
    """A problem with the batch's input (a line, or the file as a whole)."""

    model_config = ConfigDict(extra="allow")

    code: str | None = None
    line: int | None = None
    message: str | None = None
    param: str | None = None


class Errors(ApiModel):
    model_config = ConfigDict(extra="allow")

    object: Literal["list"] = "list"
    data: list[BatchError] = Field(default_factory=list)


class BatchRequestCounts(ApiModel):
    model_config = ConfigDict(extra="allow")

    total: int = 0
    completed: int = 0
    failed: int = 0


class BatchObject(ApiModel):
    """A batch (OpenAI's `Batch`): its input, status, timestamps, counts and result files."""

    model_config = ConfigDict(extra="allow", title="Batch")

    id: str
    object: Literal["batch"] = "batch"
    endpoint: str
    input_file_id: str
    completion_window: str
    status: BatchStatus
    created_at: int
    errors: Errors | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: BatchRequestCounts | None = None
    metadata: dict[str, str] | None = None
    model: str | None = None


class CreateBatchRequest(ApiModel):
    """POST /v1/batches."""

    input_file_id: str = Field(description="An uploaded JSONL file (purpose `batch`).")
    endpoint: str = Field(description="Where every request of the file goes, e.g. /v1/embeddings.")
    completion_window: Literal["24h"] = Field(description="How long the batch may take.")
    metadata: dict[str, str] | None = Field(None, description="Up to 16 key/value strings.")
    idempotency_key: str | None = Field(
        None, description="The same key with the same parameters returns the same batch."
    )


class ListBatchesResponse(ApiModel):
    object: Literal["list"] = "list"
    data: list[BatchObject]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False
