"""What the vector stores router remembers in the kv store: each store's files and file batches."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from llama_workbench.apis.vector_io.api import Order
from llama_workbench.apis.vector_io.models import (
    Attributes,
    ChunkingStrategy,
    FileCounts,
    FileStatus,
    VectorStoreFileBatchObject,
    VectorStoreFileListResponse,
    VectorStoreFileObject,
)
from llama_workbench.core.errors import BadRequestError, UnprocessableError
from llama_workbench.storage.kv import KVStore

if TYPE_CHECKING:
    from llama_workbench.apis.vector_io.models import VectorStoreRecord

T = TypeVar("T")


class FileRecord(BaseModel):
    """A file of a store: the public object plus what the router needs to serve it."""

    file: VectorStoreFileObject
    filename: str
    chunks: int = 0
    batch_id: str | None = None


class BatchRecord(BaseModel):
    batch: VectorStoreFileBatchObject
    file_ids: list[str]
    cancelled: bool = False


class StoreRecords:
    """Files and batches by store, as JSON in the kv store (one key each)."""

    def __init__(self, kv: KVStore) -> None:
        self._kv = kv
        # Search reads every file's attributes: kept in memory (this process is the only writer).
        self._attributes: dict[str, dict[str, Attributes]] = {}

    async def attributes(self, store_id: str) -> dict[str, Attributes]:
        """Each file's attributes, by file id (what search filters and results read)."""
        if store_id not in self._attributes:
            files = await self.files(store_id)
            self._attributes[store_id] = {f.file.id: f.file.attributes for f in files}
        return self._attributes[store_id]

    async def put_file(self, record: FileRecord) -> None:
        f = record.file
        await self._kv.set(f"vsfile:{f.vector_store_id}:{f.id}", record.model_dump_json())
        self._attributes.pop(f.vector_store_id, None)

    async def get_file(self, store_id: str, file_id: str) -> FileRecord | None:
        value = await self._kv.get(f"vsfile:{store_id}:{file_id}")
        return FileRecord.model_validate_json(value) if value else None

    async def files(self, store_id: str | None = None) -> list[FileRecord]:
        prefix = f"vsfile:{store_id}:" if store_id else "vsfile:"
        return [
            FileRecord.model_validate_json(v) for _, v in await self._kv.items_with_prefix(prefix)
        ]

    async def delete_file(self, store_id: str, file_id: str) -> None:
        await self._kv.delete(f"vsfile:{store_id}:{file_id}")
        self._attributes.pop(store_id, None)

    async def put_batch(self, record: BatchRecord) -> None:
        b = record.batch
        await self._kv.set(f"vsbatch:{b.vector_store_id}:{b.id}", record.model_dump_json())

    async def get_batch(self, store_id: str, batch_id: str) -> BatchRecord | None:
        value = await self._kv.get(f"vsbatch:{store_id}:{batch_id}")
        return BatchRecord.model_validate_json(value) if value else None

    async def batches(self, store_id: str | None = None) -> list[BatchRecord]:
        prefix = f"vsbatch:{store_id}:" if store_id else "vsbatch:"
        return [
            BatchRecord.model_validate_json(v) for _, v in await self._kv.items_with_prefix(prefix)
        ]

    async def delete_store(self, store_id: str) -> None:
        self._attributes.pop(store_id, None)
        for prefix in (f"vsfile:{store_id}:", f"vsbatch:{store_id}:"):
            for key in await self._kv.keys_with_prefix(prefix):
                await self._kv.delete(key)


def counts(files: Sequence[VectorStoreFileObject]) -> FileCounts:
    result = FileCounts(total=len(files))
    for f in files:
        setattr(result, f.status, getattr(result, f.status) + 1)
    return result


def paginate(
    items: Sequence[T],
    key: Callable[[T], tuple[int, str]],
    after: str | None,
    before: str | None,
    limit: int,
    order: Literal["asc", "desc"],
) -> tuple[list[T], bool]:
    """OpenAI list pagination over (created_at, id)-keyed items: (page, has_more)."""
    if not 1 <= limit <= 100:
        raise BadRequestError(f"limit must be between 1 and 100, got {limit}.")
    ordered = sorted(items, key=key, reverse=order == "desc")
    ids = [key(item)[1] for item in ordered]
    start, end = 0, len(ordered)
    for cursor, name in ((after, "after"), (before, "before")):
        if cursor is not None and cursor not in ids:
            raise BadRequestError(f"{name}='{cursor}' is not an id in this list.")
    if after is not None:
        start = ids.index(after) + 1
    if before is not None:
        end = ids.index(before)
    window = ordered[start:end]
    return list(window[:limit]), len(window) > limit


_ATTRIBUTES: TypeAdapter[dict[str, str | float | bool]] = TypeAdapter(dict[str, str | float | bool])


def checked_attributes(value: Any) -> dict[str, str | float | bool]:
    """OpenAI's rules: at most 16 attributes, keys up to 64 characters, strings up to 512."""
    if value is None:
        return {}
    try:
        attributes = _ATTRIBUTES.validate_python(value)
    except ValidationError as exc:
        raise UnprocessableError(
            f"Invalid attributes: {exc.errors()[0]['msg']} (values are strings, numbers or booleans)"
        ) from None
    if len(attributes) > 16:
        raise BadRequestError(f"A file takes at most 16 attributes, got {len(attributes)}.")
    for key, item in attributes.items():
        if len(key) > 64 or (isinstance(item, str) and len(item) > 512):
            raise BadRequestError(
                f"Attribute '{key[:64]}': keys are at most 64 characters, strings at most 512."
            )
    return attributes


def file_page(
    files: list[VectorStoreFileObject],
    after: str | None,
    before: str | None,
    limit: int,
    order: Order,
    status: str | None,
) -> VectorStoreFileListResponse:
    if status is not None:
        if status not in ("completed", "in_progress", "failed", "cancelled"):
            raise BadRequestError(
                f"filter '{status}' is not a file status; use completed, in_progress, failed or cancelled."
            )
        files = [f for f in files if f.status == status]
    page, more = paginate(files, lambda f: (f.created_at, f.id), after, before, limit, order)
    return VectorStoreFileListResponse(
        data=page,
        has_more=more,
        first_id=page[0].id if page else None,
        last_id=page[-1].id if page else None,
    )


def new_entry(
    record: VectorStoreRecord,
    file_id: str,
    filename: str,
    attributes: dict[str, str | float | bool],
    strategy: ChunkingStrategy,
    batch_id: str | None = None,
) -> FileRecord:
    file = VectorStoreFileObject(
        id=file_id,
        attributes=attributes,
        chunking_strategy=strategy,
        created_at=int(time.time()),
        status="in_progress",
        vector_store_id=record.identifier,
    )
    return FileRecord(file=file, filename=filename, batch_id=batch_id)


def settled_status(cancelled: bool, tally: FileCounts) -> FileStatus:
    """A batch's final status once none of its files is in progress."""
    if cancelled:
        return "cancelled"
    if tally.total and tally.failed == tally.total:
        return "failed"
    return "completed"
