"""inline::reference batches: validate the input file, run its requests (bounded), write result files.

Every finished request is stored before it counts, so a restart resumes a batch where it stopped
(on the eval jobs' machinery: providers/utils/jobs.py)."""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import logging
import time
import uuid
from typing import Any

from llama_workbench.apis.batches.models import (
    ACTIVE_STATUSES,
    ENDED_STATUSES,
    ENDPOINTS,
    BatchError,
    BatchObject,
    BatchRequestCounts,
    CreateBatchRequest,
    Errors,
    ListBatchesResponse,
)
from llama_workbench.core.access import BATCH
from llama_workbench.core.datatypes import Api, ProviderDeps
from llama_workbench.core.errors import BadRequestError, ConflictError, NotFoundError
from llama_workbench.providers.inline.batches.reference.config import ReferenceBatchesConfig
from llama_workbench.providers.inline.batches.reference.execute import (
    StackApis,
    execute,
    expired_line,
    write_result_files,
)
from llama_workbench.providers.inline.batches.reference.validation import (
    BatchRequest,
    validate_input,
)
from llama_workbench.providers.utils.jobs import (
    Every,
    JobStore,
    JobTasks,
    StoredJob,
    as_owner,
    run_items,
)
from llama_workbench.storage.config import KVStoreRef
from llama_workbench.storage.kv import KVStore

logger = logging.getLogger(__name__)
WINDOW_S = 24 * 3600  # the one completion window, "24h"
_PROGRESS_EVERY_S = 0.2  # how often a running batch's counts are written
_ACTIVE = "active:"  # kv keys of the batches not ended yet


def now() -> int:
    return int(time.time())


class ReferenceBatches:
    """Batches run as tasks on the stack's loop; a batch's state is its BatchObject, stored."""

    def __init__(self, config: ReferenceBatchesConfig, deps: ProviderDeps) -> None:
        self._config = config
        self._apis = StackApis(
            inference=deps.apis[Api.inference],
            files=deps.apis[Api.files],
            models=deps.apis[Api.models],
            responses=deps.apis.get(Api.responses),
        )
        self._engine = deps.execution
        self._jobs = JobStore(deps.storage, config.jobs_store, kind=BATCH)
        self._storage = deps.storage
        self._kv_ref = config.kvstore or KVStoreRef(backend="kv_default", namespace="batches")
        self._kv: KVStore | None = None
        self._tasks = JobTasks()
        self._live: dict[str, BatchObject] = {}  # batches running here, as they progress
        self._gate = asyncio.Semaphore(config.max_concurrent_batches)
        self._closing = False

    async def initialize(self) -> None:
        """Resume the batches a stopped process left running (their finished requests stay).

        Active batches are also marked in the kv store: the SQL store (and its import) is opened
        at start-up only when there is one to resume."""
        self._kv = await self._storage.kv(self._kv_ref)
        if not await self._kv.keys_with_prefix(_ACTIVE):
            return
        for stored in await self._jobs.unfinished(ACTIVE_STATUSES):
            batch = BatchObject.model_validate(stored.job)
            self._launch(batch, self._resume(stored, batch))

    async def _resume(self, stored: StoredJob, batch: BatchObject) -> None:
        as_owner(stored.owner)
        requests = [BatchRequest.model_validate(r) for r in stored.spec.get("requests", [])]
        done = await self._jobs.items(batch.id)
        if batch.status == "cancelling":
            await self._end_cancelled(batch, requests, done)
        else:
            await self._run(batch, requests if batch.status != "validating" else None, done)

    # -- the API

    async def create_batch(self, request: CreateBatchRequest) -> BatchObject:
        endpoints = self._endpoints()
        if request.endpoint not in endpoints:
            raise BadRequestError(
                f"Invalid endpoint: {request.endpoint}. Supported values: "
                f"{', '.join(endpoints)}. Code: invalid_value. Param: endpoint"
            )
        if request.completion_window != "24h":
            raise BadRequestError(
                f"Invalid completion_window: {request.completion_window}. Supported values are: "
                "24h. Code: invalid_value. Param: completion_window"
            )
        batch_id = f"batch_{uuid.uuid4().hex[:16]}"
        if request.idempotency_key is not None:
            batch_id = _idempotent_id(request.idempotency_key)
            existing = await self._jobs.get(batch_id)
            if existing is not None:
                return self._same_batch(request, self._view(existing))
        created = now()
        batch = BatchObject(
            id=batch_id,
            endpoint=request.endpoint,
            input_file_id=request.input_file_id,
            completion_window=request.completion_window,
            status="validating",
            created_at=created,
            expires_at=created + WINDOW_S,
            metadata=request.metadata,
        )
        await self._jobs.create(batch_id, _doc(batch), {}, created_at=time.time_ns() // 1000)
        await self._marks().set(_ACTIVE + batch_id, "1")
        self._launch(batch, self._run(batch, None, {}))
        return batch.model_copy(deep=True)

    async def retrieve_batch(self, batch_id: str) -> BatchObject:
        stored = await self._jobs.get(batch_id)
        if stored is None:
            known = [b.id for b in (await self.list_batches(limit=1000)).data]
            raise NotFoundError("Batch", batch_id, known)
        return self._view(stored)

    async def list_batches(self, after: str | None = None, limit: int = 20) -> ListBatchesResponse:
        batches = [self._view(s) for s in await self._jobs.list()]
        start = 0
        if after is not None:
            start = next((i + 1 for i, b in enumerate(batches) if b.id == after), 0)
        page = batches[start : start + limit]
        return ListBatchesResponse(
            data=page,
            first_id=page[0].id if page else None,
            last_id=page[-1].id if page else None,
            has_more=start + limit < len(batches),
        )

    async def cancel_batch(self, batch_id: str) -> BatchObject:
        await self._jobs.get(batch_id, action="update")  # a 403 for a batch seen, not theirs
        batch = await self.retrieve_batch(batch_id)
        if batch.status in ("cancelled", "cancelling"):
            return batch
        if batch.status in ENDED_STATUSES:
            raise ConflictError(f"Cannot cancel batch '{batch_id}' with status '{batch.status}'")
        live = self._live.get(batch_id)
        if live is None:  # not running here (nothing to stop): it ends at once
            await self._set(batch, status="cancelled", cancelling_at=now(), cancelled_at=now())
            return batch.model_copy(deep=True)
        await self._set(live, status="cancelling", cancelling_at=now())
        await self._tasks.cancel(batch_id)  # the task ends it as cancelled, keeping its results
        return await self.retrieve_batch(batch_id)

    async def shutdown(self) -> None:
        """Stop the running batches without ending them: the next start resumes them."""
        self._closing = True
        await self._tasks.shutdown()

    # -- running a batch

    def _launch(self, batch: BatchObject, work: Any) -> None:
        self._live[batch.id] = batch
        self._tasks.start(batch.id, work, lambda: self._live.pop(batch.id, None))

    async def _run(
        self,
        batch: BatchObject,
        requests: builtins.list[BatchRequest] | None,
        done: dict[int, dict[str, Any]],
    ) -> None:
        try:
            async with self._gate:
                if requests is None:
                    requests = await self._validate(batch)
                    if requests is None:
                        return
                await self._execute_all(batch, requests, done)
                expired = any(_is_expired(line) for line in done.values())
                await self._end(batch, requests, done, "expired" if expired else "completed")
        except asyncio.CancelledError:
            if self._closing:
                raise  # a shutdown, not a cancel: the batch stays active and resumes
            await asyncio.shield(self._end_cancelled(batch, requests or [], done))
        except Exception as exc:
            logger.warning("batch %s failed", batch.id, exc_info=True)
            error = BatchError(code="internal_error", message=str(exc) or type(exc).__name__)
            await self._set(batch, status="failed", failed_at=now(), errors=Errors(data=[error]))

    async def _validate(self, batch: BatchObject) -> builtins.list[BatchRequest] | None:
        """The batch's requests; None when the input is invalid (the batch has failed)."""
        try:
            await self._apis.files.retrieve_file(batch.input_file_id)
            content = await self._apis.files.retrieve_file_content(batch.input_file_id)
        except NotFoundError:
            error = BatchError(
                code="invalid_request",
                message=f"Cannot find file {batch.input_file_id}.",
                param="input_file_id",
            )
            await self._set(batch, status="failed", failed_at=now(), errors=Errors(data=[error]))
            return None
        errors, requests = await validate_input(content, batch.endpoint, self._model_exists)
        if errors:
            await self._set(batch, status="failed", failed_at=now(), errors=Errors(data=errors))
            return None
        spec = {"requests": [r.model_dump(mode="json") for r in requests]}
        batch.status, batch.in_progress_at = "in_progress", now()
        batch.request_counts = BatchRequestCounts(total=len(requests))
        await self._jobs.save(batch.id, _doc(batch), spec=spec)
        return requests

    async def _model_exists(self, model_id: str) -> bool:
        try:
            await self._apis.models.retrieve(model_id)
        except NotFoundError:
            return False
        return True

    async def _execute_all(
        self,
        batch: BatchObject,
        requests: builtins.list[BatchRequest],
        done: dict[int, dict[str, Any]],
    ) -> None:
        progress = Every(_PROGRESS_EVERY_S)
        _count(batch, len(requests), done)
        pending = [i for i, r in enumerate(requests) if r.line not in done]

        async def work(index: int) -> dict[str, Any]:
            if batch.expires_at is not None and now() >= batch.expires_at:
                return expired_line(batch.id, requests[index])
            return await execute(self._apis, batch.id, requests[index])

        async def finished(index: int, line: dict[str, Any]) -> None:
            await self._jobs.add_item(batch.id, requests[index].line, line)
            done[requests[index].line] = line
            _count(batch, len(requests), done)
            if progress():  # the result is already stored
                await self._jobs.save(batch.id, _doc(batch))

        if self._engine is not None and self._engine.is_ray and batch.endpoint != "/v1/responses":
            await self._execute_on_ray(batch, requests, pending, finished)
        else:
            limit = self._config.max_concurrent_requests_per_batch
            await run_items(pending, work, finished, limit)

    async def _execute_on_ray(
        self,
        batch: BatchObject,
        requests: builtins.list[BatchRequest],
        pending: builtins.list[int],
        finished: Any,
    ) -> None:
        """The batch's requests on the Ray cluster's actors (the responses endpoint needs the
        whole stack and stays in-process); each result is stored here as it comes back."""
        from llama_workbench.execution.rows import run_rows_on_ray

        assert self._engine is not None
        names = sorted({str(requests[i].body.get("model")) for i in pending})
        models = [await self._apis.models.retrieve(name) for name in names]
        items = [
            (i, {"batch_id": batch.id, "request": requests[i].model_dump(mode="json"),
                 "expires_at": batch.expires_at})
            for i in pending
        ]  # fmt: skip
        handler = "llama_workbench.providers.inline.batches.reference.execute:execute_on_worker"
        stack = self._engine.worker_stack(models)
        await run_rows_on_ray(self._engine, stack, handler, items, finished)

    async def _end(
        self,
        batch: BatchObject,
        requests: builtins.list[BatchRequest],
        done: dict[int, dict[str, Any]],
        status: str,
    ) -> None:
        """Write the result files, then show the batch as ended."""
        if batch.status != "finalizing":
            await self._set(batch, status="finalizing", finalizing_at=now())
        lines = [done[r.line] for r in requests if r.line in done]
        output_id, error_id = await write_result_files(self._apis.files, batch.id, lines)
        _count(batch, len(requests), done)
        stamp = {"completed": "completed_at", "expired": "expired_at", "cancelled": "cancelled_at"}
        await self._set(
            batch,
            status=status,
            output_file_id=output_id,
            error_file_id=error_id,
            **{stamp[status]: now()},
        )

    async def _end_cancelled(
        self,
        batch: BatchObject,
        requests: builtins.list[BatchRequest],
        done: dict[int, dict[str, Any]],
    ) -> None:
        """A cancelled batch keeps what finished: its lines go to the result files."""
        if batch.status != "cancelling":
            await self._set(batch, status="cancelling", cancelling_at=now())
        lines = [done[r.line] for r in requests if r.line in done]
        output_id, error_id = await write_result_files(self._apis.files, batch.id, lines)
        await self._set(
            batch,
            status="cancelled",
            cancelled_at=now(),
            output_file_id=output_id,
            error_file_id=error_id,
        )

    async def _set(self, batch: BatchObject, **changes: Any) -> None:
        if batch.status == "cancelling" and changes.get("status", "cancelled") != "cancelled":
            changes.pop("status")  # a cancel asked for wins over the work still ending
        for key, value in changes.items():
            setattr(batch, key, value)
        await self._jobs.save(batch.id, _doc(batch))
        if batch.status in ENDED_STATUSES:
            await self._marks().delete(_ACTIVE + batch.id)

    def _marks(self) -> KVStore:
        assert self._kv is not None, "initialize() opens the kv store"
        return self._kv

    # -- helpers

    def _view(self, stored: StoredJob) -> BatchObject:
        """The batch as the caller sees it: live while it runs here (counts are stored every
        0.2 s), else as stored."""
        live = self._live.get(stored.job_id)
        if live is not None:
            return live.model_copy(deep=True)
        return BatchObject.model_validate(stored.job)

    def _endpoints(self) -> tuple[str, ...]:
        if self._apis.responses is None:
            return tuple(e for e in ENDPOINTS if e != "/v1/responses")
        return ENDPOINTS

    @staticmethod
    def _same_batch(request: CreateBatchRequest, existing: BatchObject) -> BatchObject:
        if (
            existing.input_file_id != request.input_file_id
            or existing.endpoint != request.endpoint
            or existing.completion_window != request.completion_window
            or existing.metadata != request.metadata
        ):
            raise ConflictError(
                f"Idempotency key '{request.idempotency_key}' was previously used with different "
                "parameters. Either use a new idempotency key or ensure all parameters match the "
                "original request."
            )
        return existing


def _idempotent_id(key: str) -> str:
    """The same key gives the same id; owners are kept apart (one's key never finds another's)."""
    from llama_workbench.core.access import owner_for_new_resource

    owner = owner_for_new_resource()
    seed = key if owner is None else f"{owner}\n{key}"
    return f"batch_{hashlib.sha256(seed.encode()).hexdigest()[:24]}"


def _doc(batch: BatchObject) -> dict[str, Any]:
    return batch.model_dump(mode="json")


def _count(batch: BatchObject, total: int, done: dict[int, dict[str, Any]]) -> None:
    failed = sum(1 for line in done.values() if line.get("error") is not None)
    batch.request_counts = BatchRequestCounts(
        total=total, completed=len(done) - failed, failed=failed
    )


def _is_expired(line: dict[str, Any]) -> bool:
    return (line.get("error") or {}).get("code") == "batch_expired"
