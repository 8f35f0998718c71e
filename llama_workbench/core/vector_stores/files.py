"""Files of vector stores: attaching (one at a time or as background batches), listing, removing."""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
import uuid
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.vector_io.api import Order, ProgressCallback
from llama_workbench.apis.vector_io.models import (
    Attributes,
    ChunkingStrategy,
    FileLastError,
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
)
from llama_workbench.core.vector_stores.contextual import contextual_model, contextualizer
from llama_workbench.core.vector_stores.distributed import ingest_on_ray, runs_on_ray
from llama_workbench.core.vector_stores.ingest import (
    chunk_sizes,
    committed_chunks,
    ingest_file,
    resolved_strategy,
)
from llama_workbench.core.vector_stores.records import (
    BatchRecord,
    FileRecord,
    checked_attributes,
    counts,
    file_page,
    new_entry,
    settled_status,
)

if TYPE_CHECKING:
    from llama_workbench.apis.vector_io.api import VectorIOProvider
    from llama_workbench.apis.vector_io.models import VectorStoreRecord
    from llama_workbench.core.policy import Action
    from llama_workbench.core.vector_stores.catalog import StoreCatalog
    from llama_workbench.execution.engine import ExecutionEngine

logger = logging.getLogger(__name__)

INTERRUPTED = "Indexing was interrupted and its vector store or provider is gone."
BATCH_CONCURRENCY = 2


class FileIngestion:
    """The file half of the Vector IO API, owned by VectorStoresRouter: files attached one at a
    time or in background batches (chunked, embedded, indexed into the store's provider),
    listed, read back and removed. Work in the background is its own and ends at shutdown."""

    def __init__(
        self, catalog: StoreCatalog, files_api: Any, engine: ExecutionEngine | None = None
    ) -> None:
        self.catalog = catalog
        self._files_api = files_api
        self._engine = engine  # Ray runs file batches (parse, chunk, embed) when it is Ray
        self._tasks: set[asyncio.Task[Any]] = set()

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def cancel(self, vector_store_id: str) -> None:
        """Stop the store's work in the background (it is being deleted)."""
        for task in list(self._tasks):
            if task.get_name().startswith(f"{vector_store_id}:"):
                task.cancel()

    async def attach_file(
        self,
        vector_store_id: str,
        file_id: str,
        attributes: Attributes | None = None,
        chunking_strategy: dict[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
        *,
        background: bool = False,
    ) -> VectorStoreFileObject:
        record = self.catalog.store(vector_store_id, "update")
        strategy = await self._strategy_for(record, chunking_strategy)
        filename, size, error = await self._file_meta(file_id)
        entry = new_entry(record, file_id, filename, checked_attributes(attributes), strategy)
        if error is not None:
            # As OpenAI and Llama Stack 0.7.3 do: the store lists the file, failed, with the reason.
            return (await self.finish(entry, "failed", error)).file
        await self.catalog.touch(record)
        await self.catalog.records.put_file(entry)  # in_progress on disk before any work: resumable
        task: asyncio.Task[FileRecord] = self._start(
            self._ingest(entry, on_progress, lambda: False), f"{record.identifier}:{file_id}"
        )
        if not background:
            return (await asyncio.shield(task)).file
        wait = (
            self.catalog.config.attach_wait_s
            if size <= self.catalog.config.attach_wait_max_bytes
            else 0.0
        )
        done, _ = await asyncio.wait({task}, timeout=wait)
        return task.result().file if done else entry.file

    def _start(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run `work` in the background (cancelled at shutdown, or when its store goes)."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _strategy_for(self, record: VectorStoreRecord, value: Any) -> ChunkingStrategy:
        """The request's strategy, `auto` resolved to the `static` sizes this store's model gets
        (a contextual one without a model is a 400)."""
        strategy = self.catalog.strategy(value)
        contextual_model(strategy, self.catalog.config.contextual_retrieval_params)
        return resolved_strategy(strategy, await self.catalog.text_limits(record.embedding_model))

    async def _file_meta(self, file_id: str) -> tuple[str, int, FileLastError | None]:
        """The file's name and size, or why it can't be attached (an unknown id)."""
        try:
            meta = await self.files_api().retrieve_file(file_id)
        except NotFoundError as exc:
            return "", 0, FileLastError(code="invalid_file", message=str(exc))
        return meta.filename, meta.bytes, None

    async def _ingest(
        self,
        entry: FileRecord,
        on_progress: ProgressCallback | None,
        cancelled: Any,
        batch_id: str | None = None,
        resume: bool = False,
    ) -> FileRecord:
        """Index one file: the record says in_progress on disk until the chunks are all in.

        `resume` keeps the chunks an interrupted run committed and indexes only the rest
        (chunk ids are the file's id and the chunk's index, the same in every run).
        """
        record = self.catalog.store(entry.file.vector_store_id)
        provider = self.catalog.provider(record)
        entry = entry.model_copy(update={"batch_id": batch_id or entry.batch_id})
        await self.catalog.records.put_file(entry)
        present = await committed_chunks(provider, record.identifier, entry.file.id, resume)
        try:
            content = await self.files_api().retrieve_file_content(entry.file.id)
            limits = await self.catalog.text_limits(record.embedding_model)
            result = await ingest_file(
                provider=provider,
                store=record,
                file_id=entry.file.id,
                filename=entry.filename,
                content=content,
                sizes=chunk_sizes(entry.file.chunking_strategy, limits),
                limits=limits,
                embed=lambda texts: self.catalog.embed(record.embedding_model, texts),
                batch_size=self.catalog.config.embedding_batch_size,
                on_progress=on_progress,
                cancelled=cancelled,
                present=present,
                contextual=self._contextual(entry.file.chunking_strategy),
            )
        except asyncio.CancelledError:
            # The process is stopping (or the store is being deleted): the record stays
            # in_progress with its committed chunks, and the next start resumes it.
            raise
        except CancelledError:
            await provider.delete_file_chunks(record.identifier, entry.file.id)
            return await self.finish(entry, "cancelled", None)
        except Exception as exc:
            return await self.failed(provider, record, entry, exc, on_progress)
        entry.chunks = result.chunks
        entry.file.usage_bytes = result.usage_bytes
        return await self.finish(entry, "completed", None)

    def _contextual(self, strategy: ChunkingStrategy) -> Any:
        return contextualizer(
            strategy, self.catalog.inference, self.catalog.config.contextual_retrieval_params
        )

    async def failed(
        self,
        provider: VectorIOProvider,
        record: VectorStoreRecord,
        entry: FileRecord,
        exc: Exception,
        on_progress: ProgressCallback | None,
    ) -> FileRecord:
        await provider.delete_file_chunks(record.identifier, entry.file.id)
        code = (
            "server_error"
            if not isinstance(exc, LlamaWorkbenchError) or exc.status_code >= 500
            else "invalid_file"
        )
        failed = await self.finish(entry, "failed", FileLastError(code=code, message=str(exc)))
        if on_progress is not None:
            from llama_workbench.apis.vector_io.api import IngestProgress

            on_progress(
                IngestProgress(file_id=entry.file.id, filename=entry.filename, stage="failed")
            )
        return failed

    async def finish(
        self, entry: FileRecord, status: str, error: FileLastError | None
    ) -> FileRecord:
        entry = entry.model_copy(deep=True)
        entry.file.status = status  # type: ignore[assignment]
        entry.file.last_error = error
        if self.catalog.exists(entry.file.vector_store_id):  # not deleted meanwhile
            await self.catalog.records.put_file(entry)
        return entry

    def files_api(self) -> Any:
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
        self.catalog.store(vector_store_id)
        files = [f.file for f in await self.catalog.records.files(vector_store_id)]
        return file_page(files, after, before, limit, order, filter)

    async def retrieve_vector_store_file(
        self, vector_store_id: str, file_id: str
    ) -> VectorStoreFileObject:
        return (await self._file_record(vector_store_id, file_id)).file

    async def retrieve_vector_store_file_contents(
        self,
        vector_store_id: str,
        file_id: str,
        include_embeddings: bool = False,
        include_metadata: bool = False,
    ) -> VectorStoreFileContentResponse:
        await self._file_record(vector_store_id, file_id)
        record = self.catalog.store(vector_store_id)
        chunks = await self.catalog.provider(record).file_chunks(record.identifier, file_id)
        data = [
            SearchContent(
                text=c.content,
                embedding=c.embedding if include_embeddings else None,
                chunk_metadata=c.chunk_metadata if include_metadata else None,
                metadata=c.metadata if include_metadata else None,
            )
            for c in chunks
        ]
        return VectorStoreFileContentResponse(data=data)

    async def update_vector_store_file(
        self, vector_store_id: str, file_id: str, attributes: Attributes
    ) -> VectorStoreFileObject:
        entry = await self._file_record(vector_store_id, file_id, "update")
        entry.file.attributes = checked_attributes(attributes)
        await self.catalog.records.put_file(entry)
        return entry.file

    async def delete_vector_store_file(
        self, vector_store_id: str, file_id: str
    ) -> VectorStoreFileDeleteResponse:
        await self._file_record(vector_store_id, file_id, "update")
        record = self.catalog.store(vector_store_id)
        await self.catalog.provider(record).delete_file_chunks(record.identifier, file_id)
        await self.catalog.records.delete_file(vector_store_id, file_id)
        return VectorStoreFileDeleteResponse(id=file_id)

    async def _file_record(
        self, vector_store_id: str, file_id: str, action: Action = "read"
    ) -> FileRecord:
        self.catalog.store(vector_store_id, action)
        entry = await self.catalog.records.get_file(vector_store_id, file_id)
        if entry is None:
            known = [f.file.id for f in await self.catalog.records.files(vector_store_id)]
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
        record = self.catalog.store(vector_store_id, "update")
        if not file_ids:
            raise BadRequestError("file_ids must list at least one file.")
        strategy = await self._strategy_for(record, chunking_strategy)
        checked = checked_attributes(attributes)
        batch_id = f"vsfb_{uuid.uuid4().hex}"
        entries = []
        for file_id in dict.fromkeys(file_ids):
            filename, _, error = await self._file_meta(file_id)
            entry = new_entry(record, file_id, filename, checked, strategy, batch_id)
            if error is not None:  # an unknown id fails alone; the rest of the batch runs
                entry.file.status, entry.file.last_error = "failed", error
            await self.catalog.records.put_file(entry)
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
        await self.catalog.records.put_batch(batch)
        await self.catalog.touch(record)
        runnable = [e for e in entries if e.file.status == "in_progress"]
        self._start(
            self._run_batch(batch, runnable, on_progress), f"{record.identifier}:{batch_id}"
        )
        return batch.batch

    async def _run_batch(
        self,
        batch: BatchRecord,
        entries: builtins.list[FileRecord],
        on_progress: ProgressCallback | None,
        resume: bool = False,
    ) -> None:
        store_id, batch_id = batch.batch.vector_store_id, batch.batch.id
        gate = asyncio.Semaphore(BATCH_CONCURRENCY)

        async def cancelled_now() -> bool:
            current = await self.catalog.records.get_batch(store_id, batch_id)
            return current is None or current.cancelled

        if runs_on_ray(self._engine, entries):
            assert self._engine is not None
            work = ingest_on_ray(
                self, self._engine, entries, batch_id, on_progress, resume, cancelled_now
            )
            try:
                await work
            except Exception:
                logger.exception("file batch %s failed", batch_id)
            await self._settle_batch(store_id, batch_id)
            return

        async def one(entry: FileRecord) -> None:
            async with gate:
                if await cancelled_now():
                    await self.finish(entry, "cancelled", None)
                    return
                flag = {"cancelled": False}
                watcher = asyncio.create_task(self._watch_cancel(store_id, batch_id, flag))
                try:
                    await self._ingest(
                        entry, on_progress, lambda: flag["cancelled"], batch_id, resume
                    )
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
            current = await self.catalog.records.get_batch(store_id, batch_id)
            if current is None or current.cancelled:
                flag["cancelled"] = True
                return

    async def _settle_batch(self, store_id: str, batch_id: str) -> None:
        current = await self.catalog.records.get_batch(store_id, batch_id)
        if current is None or not self.catalog.exists(store_id):
            return
        files = [
            f.file for f in await self.catalog.records.files(store_id) if f.batch_id == batch_id
        ]
        tally = counts(files)
        current.batch.status = settled_status(current.cancelled, tally)
        current.batch.file_counts = tally
        await self.catalog.records.put_batch(current)

    async def retrieve_file_batch(
        self, vector_store_id: str, batch_id: str
    ) -> VectorStoreFileBatchObject:
        batch = await self._batch(vector_store_id, batch_id)
        files = [
            f.file
            for f in await self.catalog.records.files(vector_store_id)
            if f.batch_id == batch_id
        ]
        tally = counts(files)
        update: dict[str, Any] = {"file_counts": tally}
        if batch.batch.status == "in_progress" and not tally.in_progress:
            # Every file has ended but the batch task has not stored its end yet: show the
            # end it is about to store, so status and counts never disagree (a client that
            # polls until nothing is in progress then reads a final status).
            update["status"] = settled_status(batch.cancelled, tally)
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
            f.file
            for f in await self.catalog.records.files(vector_store_id)
            if f.batch_id == batch_id
        ]
        return file_page(files, after, before, limit, order, filter)

    async def cancel_file_batch(
        self, vector_store_id: str, batch_id: str
    ) -> VectorStoreFileBatchObject:
        batch = await self._batch(vector_store_id, batch_id, "update")
        if batch.batch.status == "in_progress":
            batch.cancelled = True
            batch.batch.status = "cancelled"
            await self.catalog.records.put_batch(batch)
        return await self.retrieve_file_batch(vector_store_id, batch_id)

    async def _batch(
        self, vector_store_id: str, batch_id: str, action: Action = "read"
    ) -> BatchRecord:
        self.catalog.store(vector_store_id, action)
        batch = await self.catalog.records.get_batch(vector_store_id, batch_id)
        if batch is None:
            known = [b.batch.id for b in await self.catalog.records.batches(vector_store_id)]
            raise NotFoundError(
                "File batch", batch_id, known, parent=f"vector store '{vector_store_id}'"
            )
        return batch

    async def recover_interrupted(self) -> None:
        """Files left in_progress by a process that stopped resume in the background from their
        last committed chunk; those whose store or provider is gone are marked failed."""
        pending: dict[str | None, builtins.list[FileRecord]] = {}
        for entry in await self.catalog.records.files():
            if entry.file.status != "in_progress":
                continue
            record = self.catalog.table.get(entry.file.vector_store_id)
            if record is None or record.provider_id not in self.catalog.providers:
                await self.finish(
                    entry, "failed", FileLastError(code="server_error", message=INTERRUPTED)
                )
                continue
            pending.setdefault(entry.batch_id, []).append(entry)
        for entry in pending.pop(None, []):
            name = f"{entry.file.vector_store_id}:{entry.file.id}"
            self._start(self._ingest(entry, None, lambda: False, resume=True), name)
        for batch in await self.catalog.records.batches():
            if batch.batch.status != "in_progress":
                continue
            store_id, batch_id = batch.batch.vector_store_id, batch.batch.id
            entries = pending.get(batch_id, [])
            if entries:
                work = self._run_batch(batch, entries, None, resume=True)
                self._start(work, f"{store_id}:{batch_id}")
            else:
                await self._settle_batch(store_id, batch_id)
