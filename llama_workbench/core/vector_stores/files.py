"""Files of vector stores: attaching (one at a time or as background batches), listing, removing."""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
import uuid
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from llama_workbench.apis.vector_io.api import Order, ProgressCallback
from llama_workbench.apis.vector_io.models import (
    Attributes,
    ChunkingStrategy,
    FileCounts,
    FileLastError,
    FileStatus,
    SearchContent,
    VectorStoreFileBatchObject,
    VectorStoreFileContentResponse,
    VectorStoreFileDeleteResponse,
    VectorStoreFileListResponse,
    VectorStoreFileObject,
)
from llama_workbench.core.errors import (
    BadRequestError,
    CancelledError,
    LlamaWorkbenchError,
    NotFoundError,
    UnprocessableError,
)
from llama_workbench.core.vector_stores.ingest import chunk_sizes, ingest_file, resolved_strategy
from llama_workbench.core.vector_stores.records import BatchRecord, FileRecord, counts, paginate

if TYPE_CHECKING:
    from llama_workbench.apis.vector_io.api import VectorIOProvider
    from llama_workbench.apis.vector_io.models import VectorStoreRecord
    from llama_workbench.core.config import VectorStoresConfig
    from llama_workbench.core.routing import ResourceTable
    from llama_workbench.core.vector_stores.ingest import TextLimits
    from llama_workbench.core.vector_stores.records import StoreRecords

logger = logging.getLogger(__name__)

INTERRUPTED = "Indexing was interrupted (the process stopped); attach the file again to retry."
BATCH_CONCURRENCY = 2


class StoreFiles(ABC):
    """The file half of the Vector IO API (mixed into VectorStoresRouter, which provides these)."""

    # Provided by VectorStoresRouter.
    _providers: dict[str, VectorIOProvider]
    _table: ResourceTable[VectorStoreRecord]
    _records: StoreRecords
    _files_api: Any
    _config: VectorStoresConfig
    _tasks: set[asyncio.Task[Any]]

    @abstractmethod
    def store(self, vector_store_id: str) -> VectorStoreRecord: ...

    @abstractmethod
    def _provider(self, record: VectorStoreRecord) -> VectorIOProvider: ...

    @abstractmethod
    def strategy(self, value: Any) -> Any: ...

    @abstractmethod
    async def embed(
        self, model_id: str, texts: builtins.list[str]
    ) -> builtins.list[builtins.list[float]]: ...

    @abstractmethod
    async def text_limits(self, model_id: str) -> TextLimits: ...

    @abstractmethod
    async def _touch(self, record: VectorStoreRecord) -> None: ...

    async def attach_file(
        self,
        vector_store_id: str,
        file_id: str,
        attributes: Attributes | None = None,
        chunking_strategy: dict[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> VectorStoreFileObject:
        record = self.store(vector_store_id)
        strategy = await self._strategy_for(record, chunking_strategy)
        filename, error = await self._file_name(file_id)
        entry = _new_entry(record, file_id, filename, _attributes(attributes), strategy)
        if error is not None:
            # As OpenAI and Llama Stack 0.7.3 do: the store lists the file, failed, with the reason.
            return (await self._finish(entry, "failed", error)).file
        await self._touch(record)
        return (await self._ingest(entry, on_progress, lambda: False)).file

    async def _strategy_for(self, record: VectorStoreRecord, value: Any) -> ChunkingStrategy:
        """The request's strategy, `auto` resolved to the `static` sizes this store's model gets."""
        return resolved_strategy(
            self.strategy(value), await self.text_limits(record.embedding_model)
        )

    async def _file_name(self, file_id: str) -> tuple[str, FileLastError | None]:
        """The file's name, or why it can't be attached (an unknown id)."""
        try:
            return (await self._files().retrieve_file(file_id)).filename, None
        except NotFoundError as exc:
            return "", FileLastError(code="invalid_file", message=str(exc))

    async def _ingest(
        self,
        entry: FileRecord,
        on_progress: ProgressCallback | None,
        cancelled: Any,
        batch_id: str | None = None,
    ) -> FileRecord:
        """Index one file: the record says in_progress on disk until the chunks are all in."""
        record = self.store(entry.file.vector_store_id)
        provider = self._provider(record)
        entry = entry.model_copy(update={"batch_id": batch_id or entry.batch_id})
        await self._records.put_file(entry)
        # A retry (or re-attach) replaces what an earlier attempt left.
        await provider.delete_file_chunks(record.identifier, entry.file.id)
        try:
            content = await self._files().retrieve_file_content(entry.file.id)
            limits = await self.text_limits(record.embedding_model)
            result = await ingest_file(
                provider=provider,
                store=record,
                file_id=entry.file.id,
                filename=entry.filename,
                content=content,
                sizes=chunk_sizes(entry.file.chunking_strategy, limits),
                limits=limits,
                embed=lambda texts: self.embed(record.embedding_model, texts),
                batch_size=self._config.embedding_batch_size,
                on_progress=on_progress,
                cancelled=cancelled,
            )
        except (asyncio.CancelledError, CancelledError) as exc:
            await provider.delete_file_chunks(record.identifier, entry.file.id)
            await self._finish(entry, "cancelled", None)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return entry
        except Exception as exc:
            await provider.delete_file_chunks(record.identifier, entry.file.id)
            code = (
                "server_error"
                if not isinstance(exc, LlamaWorkbenchError) or exc.status_code >= 500
                else "invalid_file"
            )
            failed = await self._finish(entry, "failed", FileLastError(code=code, message=str(exc)))
            if on_progress is not None:
                from llama_workbench.apis.vector_io.api import IngestProgress

                on_progress(
                    IngestProgress(file_id=entry.file.id, filename=entry.filename, stage="failed")
                )
            return failed
        entry.chunks = result.chunks
        entry.file.usage_bytes = result.usage_bytes
        return await self._finish(entry, "completed", None)

    async def _finish(
        self, entry: FileRecord, status: str, error: FileLastError | None
    ) -> FileRecord:
        entry = entry.model_copy(deep=True)
        entry.file.status = status  # type: ignore[assignment]
        entry.file.last_error = error
        if self._table.get(entry.file.vector_store_id) is not None:  # not deleted meanwhile
            await self._records.put_file(entry)
        return entry

    def _files(self) -> Any:
        if self._files_api is None:
            raise BadRequestError(
                "This stack has no files API: add a files provider (inline::localfs) to attach files."
            )
        return self._files_api

    async def list_vector_store_files(
        self,
        vector_store_id: str,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Order = "desc",
        filter: str | None = None,
    ) -> VectorStoreFileListResponse:
        self.store(vector_store_id)
        files = [f.file for f in await self._records.files(vector_store_id)]
        return _file_page(files, after, before, limit, order, filter)

    async def retrieve_vector_store_file(
        self, vector_store_id: str, file_id: str
    ) -> VectorStoreFileObject:
        return (await self._file_record(vector_store_id, file_id)).file

    async def retrieve_vector_store_file_contents(
        self, vector_store_id: str, file_id: str
    ) -> VectorStoreFileContentResponse:
        entry = await self._file_record(vector_store_id, file_id)
        record = self.store(vector_store_id)
        chunks = await self._provider(record).file_chunks(record.identifier, file_id)
        data = [
            SearchContent(text=c.content, chunk_metadata=c.chunk_metadata, metadata=c.metadata)
            for c in chunks
        ]
        del entry
        return VectorStoreFileContentResponse(data=data)

    async def update_vector_store_file(
        self, vector_store_id: str, file_id: str, attributes: Attributes
    ) -> VectorStoreFileObject:
        entry = await self._file_record(vector_store_id, file_id)
        entry.file.attributes = _attributes(attributes)
        await self._records.put_file(entry)
        return entry.file

    async def delete_vector_store_file(
        self, vector_store_id: str, file_id: str
    ) -> VectorStoreFileDeleteResponse:
        await self._file_record(vector_store_id, file_id)
        record = self.store(vector_store_id)
        await self._provider(record).delete_file_chunks(record.identifier, file_id)
        await self._records.delete_file(vector_store_id, file_id)
        return VectorStoreFileDeleteResponse(id=file_id)

    async def _file_record(self, vector_store_id: str, file_id: str) -> FileRecord:
        self.store(vector_store_id)
        entry = await self._records.get_file(vector_store_id, file_id)
        if entry is None:
            known = [f.file.id for f in await self._records.files(vector_store_id)]
            raise NotFoundError("File", file_id, known, parent=f"vector store '{vector_store_id}'")
        return entry

    # -- batches

    async def create_file_batch(
        self,
        vector_store_id: str,
        file_ids: builtins.list[str],
        attributes: Attributes | None = None,
        chunking_strategy: dict[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> VectorStoreFileBatchObject:
        record = self.store(vector_store_id)
        if not file_ids:
            raise BadRequestError("file_ids must list at least one file.")
        strategy = await self._strategy_for(record, chunking_strategy)
        checked = _attributes(attributes)
        batch_id = f"vsfb_{uuid.uuid4().hex}"
        entries = []
        for file_id in dict.fromkeys(file_ids):
            filename, error = await self._file_name(file_id)
            entry = _new_entry(record, file_id, filename, checked, strategy, batch_id)
            if error is not None:  # an unknown id fails alone; the rest of the batch runs
                entry.file.status, entry.file.last_error = "failed", error
            await self._records.put_file(entry)
            entries.append(entry)
        batch = BatchRecord(
            batch=VectorStoreFileBatchObject(
                id=batch_id,
                created_at=int(time.time()),
                vector_store_id=record.identifier,
                status="in_progress",
                file_counts=counts([e.file for e in entries]),
            ),
            file_ids=[e.file.id for e in entries],
        )
        await self._records.put_batch(batch)
        await self._touch(record)
        runnable = [e for e in entries if e.file.status == "in_progress"]
        task = asyncio.get_running_loop().create_task(
            self._run_batch(batch, runnable, on_progress), name=f"{record.identifier}:{batch_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return batch.batch

    async def _run_batch(
        self,
        batch: BatchRecord,
        entries: builtins.list[FileRecord],
        on_progress: ProgressCallback | None,
    ) -> None:
        store_id, batch_id = batch.batch.vector_store_id, batch.batch.id
        gate = asyncio.Semaphore(BATCH_CONCURRENCY)

        async def cancelled_now() -> bool:
            current = await self._records.get_batch(store_id, batch_id)
            return current is None or current.cancelled

        async def one(entry: FileRecord) -> None:
            async with gate:
                if await cancelled_now():
                    await self._finish(entry, "cancelled", None)
                    return
                flag = {"cancelled": False}
                watcher = asyncio.create_task(self._watch_cancel(store_id, batch_id, flag))
                try:
                    await self._ingest(entry, on_progress, lambda: flag["cancelled"], batch_id)
                finally:
                    watcher.cancel()

        try:
            await asyncio.gather(*(one(e) for e in entries))
        except Exception:
            logger.exception("file batch %s failed", batch_id)
        await self._settle_batch(store_id, batch_id)

    async def _watch_cancel(self, store_id: str, batch_id: str, flag: dict[str, bool]) -> None:
        while True:
            await asyncio.sleep(0.2)
            current = await self._records.get_batch(store_id, batch_id)
            if current is None or current.cancelled:
                flag["cancelled"] = True
                return

    async def _settle_batch(self, store_id: str, batch_id: str) -> None:
        current = await self._records.get_batch(store_id, batch_id)
        if current is None or self._table.get(store_id) is None:
            return
        files = [f.file for f in await self._records.files(store_id) if f.batch_id == batch_id]
        tally = counts(files)
        current.batch.status = _settled_status(current.cancelled, tally)
        current.batch.file_counts = tally
        await self._records.put_batch(current)

    async def retrieve_file_batch(
        self, vector_store_id: str, batch_id: str
    ) -> VectorStoreFileBatchObject:
        batch = await self._batch(vector_store_id, batch_id)
        files = [
            f.file for f in await self._records.files(vector_store_id) if f.batch_id == batch_id
        ]
        tally = counts(files)
        update: dict[str, Any] = {"file_counts": tally}
        if batch.batch.status == "in_progress" and not tally.in_progress:
            # Every file has ended but the batch task has not stored its end yet: show the
            # end it is about to store, so status and counts never disagree (a client that
            # polls until nothing is in progress then reads a final status).
            update["status"] = _settled_status(batch.cancelled, tally)
        return batch.batch.model_copy(update=update)

    async def list_files_in_file_batch(
        self,
        vector_store_id: str,
        batch_id: str,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Order = "desc",
        filter: str | None = None,
    ) -> VectorStoreFileListResponse:
        await self._batch(vector_store_id, batch_id)
        files = [
            f.file for f in await self._records.files(vector_store_id) if f.batch_id == batch_id
        ]
        return _file_page(files, after, before, limit, order, filter)

    async def cancel_file_batch(
        self, vector_store_id: str, batch_id: str
    ) -> VectorStoreFileBatchObject:
        batch = await self._batch(vector_store_id, batch_id)
        if batch.batch.status == "in_progress":
            batch.cancelled = True
            batch.batch.status = "cancelled"
            await self._records.put_batch(batch)
        return await self.retrieve_file_batch(vector_store_id, batch_id)

    async def _batch(self, vector_store_id: str, batch_id: str) -> BatchRecord:
        self.store(vector_store_id)
        batch = await self._records.get_batch(vector_store_id, batch_id)
        if batch is None:
            known = [b.batch.id for b in await self._records.batches(vector_store_id)]
            raise NotFoundError(
                "File batch", batch_id, known, parent=f"vector store '{vector_store_id}'"
            )
        return batch

    async def _recover_interrupted(self) -> None:
        """Files left in_progress by a process that died: drop partial chunks, mark them failed."""
        for entry in await self._records.files():
            if entry.file.status != "in_progress":
                continue
            record = self._table.get(entry.file.vector_store_id)
            if record is not None and record.provider_id in self._providers:
                await self._provider(record).delete_file_chunks(record.identifier, entry.file.id)
            await self._finish(
                entry, "failed", FileLastError(code="server_error", message=INTERRUPTED)
            )
        for batch in await self._records.batches():
            if batch.batch.status == "in_progress":
                await self._settle_batch(batch.batch.vector_store_id, batch.batch.id)


def _new_entry(
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


def _settled_status(cancelled: bool, tally: FileCounts) -> FileStatus:
    """A batch's final status once none of its files is in progress."""
    if cancelled:
        return "cancelled"
    if tally.total and tally.failed == tally.total:
        return "failed"
    return "completed"


_ATTRIBUTES: TypeAdapter[dict[str, str | float | bool]] = TypeAdapter(dict[str, str | float | bool])


def _attributes(value: Any) -> dict[str, str | float | bool]:
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


def _file_page(
    files: builtins.list[VectorStoreFileObject],
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
