"""Background jobs (eval, batches): stored with every finished item, run as tasks, resumable."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from llama_workbench.core.access import (
    JOB,
    Principal,
    check_access,
    check_create,
    current_principal,
    fetch_visible,
    fetch_visible_one,
    owner_for_new_resource,
)
from llama_workbench.storage.config import SqlStoreRef
from llama_workbench.storage.sql import ColumnDefinition, ColumnType, SqlStore

if TYPE_CHECKING:
    from llama_workbench.core.policy import Action
    from llama_workbench.storage.manager import StorageManager

T = TypeVar("T")

_JOBS: dict[str, ColumnType | ColumnDefinition] = {
    "job_id": ColumnDefinition(ColumnType.STRING, primary_key=True),
    "scope": ColumnType.STRING,  # what the job belongs to (a benchmark id), or ""
    "created_at": ColumnType.INTEGER,
    "owner": ColumnType.STRING,
    "job": ColumnType.JSON,  # the job as its API shows it, written as it progresses
    "spec": ColumnType.JSON,  # what running it (again, after a restart) needs
    "result": ColumnType.JSON,  # a job-level result, once it has one
}
_ITEMS: dict[str, ColumnType | ColumnDefinition] = {
    "item_key": ColumnDefinition(ColumnType.STRING, primary_key=True),  # <job_id>/<index>
    "job_id": ColumnType.STRING,
    "idx": ColumnType.INTEGER,
    "item": ColumnType.JSON,
}


@dataclass
class StoredJob:
    """One row of the jobs table."""

    job_id: str
    scope: str
    owner: str | None
    created_at: int
    job: dict[str, Any]
    spec: dict[str, Any]
    result: Any


class JobStore:
    """Jobs and their finished items in one SQL store; written as work finishes, read back after a
    restart. Reads show a caller what the access policy lets them read (by default their own
    jobs; admins and unauthenticated callers: all); `kind` names them in policy rules."""

    def __init__(self, storage: StorageManager, ref: SqlStoreRef, kind: str = JOB) -> None:
        self.kind = kind
        self._storage = storage
        self._ref = ref
        self._jobs = ref.table_name
        self._items = f"{ref.table_name}_items"
        self._store: SqlStore | None = None
        self._opening = asyncio.Lock()

    async def sql(self) -> SqlStore:
        async with self._opening:
            if self._store is None:
                store = await self._storage.sql(self._ref)
                await store.create_table(self._jobs, _JOBS)
                await store.create_table(self._items, _ITEMS)
                self._store = store
        return self._store

    async def create(
        self,
        job_id: str,
        job: dict[str, Any],
        spec: dict[str, Any],
        *,
        scope: str = "",
        created_at: int | None = None,
    ) -> None:
        check_create(self.kind, job_id)
        row = {
            "job_id": job_id,
            "scope": scope,
            "created_at": created_at or int(time.time()),
            "owner": owner_for_new_resource(),
            "job": job,
            "spec": spec,
            "result": None,
        }
        await (await self.sql()).insert(self._jobs, row)

    async def save(
        self,
        job_id: str,
        job: dict[str, Any],
        *,
        spec: dict[str, Any] | None = None,
        result: Any = None,
    ) -> None:
        data: dict[str, Any] = {"job": job}
        if spec is not None:
            data["spec"] = spec
        if result is not None:
            data["result"] = result
        await (await self.sql()).update(self._jobs, data, {"job_id": job_id})

    async def get(
        self, job_id: str, scope: str | None = None, action: Action = "read"
    ) -> StoredJob | None:
        """The job if the caller may see it (None: a 404 to them); a PermissionDeniedError
        when they may see it but not do `action` on it."""
        where = {"job_id": job_id}
        if scope is not None:
            where["scope"] = scope
        sql = await self.sql()
        row = await fetch_visible_one(sql, self._jobs, self.kind, where, id_column="job_id")
        if row is not None:
            check_access(row["owner"], self.kind, job_id, action)
        return _stored(row) if row is not None else None

    async def list(self, scope: str | None = None) -> builtins.list[StoredJob]:
        """The caller's jobs, newest first."""
        where = {"scope": scope} if scope is not None else {}
        order: builtins.list[tuple[str, Any]] = [("created_at", "desc")]
        sql = await self.sql()
        page = await fetch_visible(
            sql, self._jobs, self.kind, where, order, None, id_column="job_id"
        )
        return [_stored(r) for r in page.data]

    async def next_number(self) -> str:
        """The next of the numbered ids "0", "1", ...: one past the highest numeric job id of
        anyone's (other ids, such as older random ones, are not counted)."""
        page = await (await self.sql()).fetch_all(self._jobs)
        numbers = [int(r["job_id"]) for r in page.data if str(r["job_id"]).isdecimal()]
        return str(max(numbers, default=-1) + 1)

    async def unfinished(self, statuses: Collection[str]) -> builtins.list[StoredJob]:
        """Everyone's jobs whose status is one of `statuses` (left so by a stopped process)."""
        page = await (await self.sql()).fetch_all(self._jobs)
        jobs = [_stored(r) for r in page.data]
        return [j for j in jobs if j.job.get("status") in statuses]

    async def add_item(self, job_id: str, index: int, item: Any) -> None:
        row = {"item_key": f"{job_id}/{index}", "job_id": job_id, "idx": index, "item": item}
        await (await self.sql()).upsert(self._items, row, ["item_key"])

    async def items(self, job_id: str) -> dict[int, Any]:
        page = await (await self.sql()).fetch_all(self._items, {"job_id": job_id}, [("idx", "asc")])
        return {int(r["idx"]): r["item"] for r in page.data}


def _stored(row: dict[str, Any]) -> StoredJob:
    return StoredJob(
        job_id=row["job_id"],
        scope=row["scope"] or "",
        owner=row["owner"],
        created_at=int(row["created_at"] or 0),
        job=row["job"] or {},
        spec=row["spec"] or {},
        result=row["result"],
    )


def as_owner(owner: str | None) -> None:
    """Run the rest of the current task as `owner` (a job resumed after a restart has no request
    to take the principal from; what it creates must still be its owner's)."""
    current_principal.set(Principal(owner) if owner is not None else None)


class JobTasks:
    """The jobs running on this loop, by id: start one, cancel it, stop them all."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._tasks

    def start(
        self,
        job_id: str,
        work: Coroutine[Any, Any, None],
        forget: Callable[[], object] | None = None,
    ) -> None:
        """Run `work` as a task (in a copy of the caller's context); `forget` runs when it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks[job_id] = task

        def done(_: object) -> None:
            self._tasks.pop(job_id, None)
            if forget is not None:
                forget()

        task.add_done_callback(done)

    async def cancel(self, job_id: str) -> bool:
        """Cancel a running job and wait until it has stopped; False if it was not running."""
        task = self._tasks.get(job_id)
        if task is None:
            return False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return True

    async def shutdown(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def run_items(
    indices: Iterable[int],
    work: Callable[[int], Awaitable[T]],
    finished: Callable[[int, T], Awaitable[None]],
    concurrency: int,
) -> None:
    """`work(i)` for each index, at most `concurrency` at once; `finished(i, result)` (which stores
    it) runs as each one ends. An exception stops the rest (and propagates)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with gate:
            result = await work(index)
        await finished(index, result)

    async with asyncio.TaskGroup() as group:
        for index in indices:
            group.create_task(one(index))


class Every:
    """True at most once per `seconds` (progress is written to the store that often)."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._last = 0.0

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self._last < self._seconds:
            return False
        self._last = now
        return True
