"""The Batches API protocol: a file of requests run in the background, results in files."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from llama_workbench.apis.batches.models import BatchObject, CreateBatchRequest, ListBatchesResponse


@runtime_checkable
class Batches(Protocol):
    """Create, list, retrieve and cancel batches."""

    async def create_batch(self, request: CreateBatchRequest) -> BatchObject:
        """Start a batch over an uploaded JSONL file; it is validated, then run in the background."""
        ...

    async def retrieve_batch(self, batch_id: str) -> BatchObject:
        """One batch: its status, counts and (once ended) its output and error files."""
        ...

    async def list_batches(self, after: str | None = None, limit: int = 20) -> ListBatchesResponse:
        """The caller's batches, newest first; `after` is the last id of the previous page."""
        ...

    async def cancel_batch(self, batch_id: str) -> BatchObject:
        """Stop a batch; what finished is kept in its output and error files."""
        ...


@runtime_checkable
class BatchesProvider(Batches, Protocol):
    """What a batches provider implements: the API itself, plus shutdown."""

    async def shutdown(self) -> None: ...
