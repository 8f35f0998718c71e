"""`stack.batches`: the Batches API as calls that return results.

Generated from llama_workbench/apis/batches/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.apis.batches.models import CreateBatchRequest
from llama_workbench.facade._runtime import SyncFace, fields_of

if TYPE_CHECKING:
    from typing import Literal

    from llama_workbench.apis.batches.models import BatchObject, ListBatchesResponse


class BatchesApi(SyncFace):
    """Create, list, retrieve and cancel batches."""

    __slots__ = ()

    @fields_of(CreateBatchRequest)
    def create_batch(
        self,
        *,
        input_file_id: str,
        endpoint: str,
        completion_window: Literal["24h"],
        metadata: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> BatchObject:
        """Start a batch over an uploaded JSONL file; it is validated, then run in the background.

        Keyword arguments: the fields of `CreateBatchRequest`: POST /v1/batches.
            input_file_id: An uploaded JSONL file (purpose `batch`).
            endpoint: Where every request of the file goes, e.g. /v1/embeddings.
            completion_window: How long the batch may take.
            metadata: Up to 16 key/value strings.
            idempotency_key: The same key with the same parameters returns the same batch.
        """
        return cast("BatchObject", self._send(CreateBatchRequest, "create_batch", locals()))

    def retrieve_batch(self, batch_id: str) -> BatchObject:
        """One batch: its status, counts and (once ended) its output and error files."""
        return cast("BatchObject", self._call("retrieve_batch", locals()))

    def list_batches(self, after: str | None = None, limit: int = 20) -> ListBatchesResponse:
        """The caller's batches, newest first; `after` is the last id of the previous page."""
        return cast("ListBatchesResponse", self._call("list_batches", locals()))

    def cancel_batch(self, batch_id: str) -> BatchObject:
        """Stop a batch; what finished is kept in its output and error files."""
        return cast("BatchObject", self._call("cancel_batch", locals()))
