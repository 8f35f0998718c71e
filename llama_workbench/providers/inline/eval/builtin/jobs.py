"""Eval jobs in the SQL store: the job, its config, and every finished row (so none is lost)."""

from __future__ import annotations

import asyncio
import builtins
import time
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.eval.models import BenchmarkConfig, Job
from llama_workbench.core.access import current_principal, owner_for_new_resource
from llama_workbench.core.errors import NotFoundError
from llama_workbench.storage.config import SqlStoreRef
from llama_workbench.storage.sql import ColumnDefinition, ColumnType, SqlStore

if TYPE_CHECKING:
    from llama_workbench.storage.manager import StorageManager

_JOBS: dict[str, ColumnType | ColumnDefinition] = {
    "job_id": ColumnDefinition(ColumnType.STRING, primary_key=True),
    "benchmark_id": ColumnType.STRING,
    "created_at": ColumnType.INTEGER,
    "owner": ColumnType.STRING,
    "job": ColumnType.JSON,
    "config": ColumnType.JSON,
    "scores": ColumnType.JSON,  # the scoring results, once completed
}
_ROWS: dict[str, ColumnType | ColumnDefinition] = {
    "row_key": ColumnDefinition(ColumnType.STRING, primary_key=True),  # <job_id>/<index>
    "job_id": ColumnType.STRING,
    "idx": ColumnType.INTEGER,
    "generation": ColumnType.JSON,
}


class JobStore:
    """Jobs and their rows; written as work finishes, read back after a restart."""

    def __init__(self, storage: StorageManager, ref: SqlStoreRef) -> None:
        self._storage = storage
        self._ref = ref
        self._jobs = ref.table_name
        self._rows = f"{ref.table_name}_rows"
        self._store: SqlStore | None = None
        self._opening = asyncio.Lock()

    async def sql(self) -> SqlStore:
        async with self._opening:
            if self._store is None:
                store = await self._storage.sql(self._ref)
                await store.create_table(self._jobs, _JOBS)
                await store.create_table(self._rows, _ROWS)
                self._store = store
        return self._store

    async def create(self, job: Job, config: BenchmarkConfig) -> None:
        row = {
            "job_id": job.job_id,
            "benchmark_id": job.benchmark_id,
            "created_at": job.created_at or int(time.time()),
            "owner": owner_for_new_resource(),
            "job": job.model_dump(mode="json"),
            "config": config.model_dump(mode="json"),
            "scores": None,
        }
        await (await self.sql()).insert(self._jobs, row)

    async def save(self, job: Job, scores: dict[str, Any] | None = None) -> None:
        data: dict[str, Any] = {"job": job.model_dump(mode="json")}
        if scores is not None:
            data["scores"] = scores
        await (await self.sql()).update(self._jobs, data, {"job_id": job.job_id})

    async def get(self, benchmark_id: str, job_id: str) -> tuple[Job, BenchmarkConfig, Any]:
        row = await (await self.sql()).fetch_one(
            self._jobs, {"job_id": job_id, "benchmark_id": benchmark_id, **self._visible()}
        )
        if row is None:
            known = [j.job_id for j in await self.list(benchmark_id)]
            raise NotFoundError(f"Eval job of benchmark '{benchmark_id}'", job_id, known)
        job = Job.model_validate(row["job"])
        return job, BenchmarkConfig.model_validate(row["config"]), row["scores"]

    async def list(self, benchmark_id: str | None) -> builtins.list[Job]:
        where = self._visible()
        if benchmark_id is not None:
            where["benchmark_id"] = benchmark_id
        page = await (await self.sql()).fetch_all(self._jobs, where, [("created_at", "desc")])
        return [Job.model_validate(r["job"]) for r in page.data]

    async def unfinished(self) -> builtins.list[Job]:
        """Jobs a stopped process left scheduled or running."""
        page = await (await self.sql()).fetch_all(self._jobs)
        jobs = [Job.model_validate(r["job"]) for r in page.data]
        return [j for j in jobs if j.status in ("scheduled", "in_progress")]

    async def add_row(self, job_id: str, index: int, generation: dict[str, Any]) -> None:
        row = {
            "row_key": f"{job_id}/{index}",
            "job_id": job_id,
            "idx": index,
            "generation": generation,
        }
        await (await self.sql()).upsert(self._rows, row, ["row_key"])

    async def rows(self, job_id: str) -> dict[int, dict[str, Any]]:
        page = await (await self.sql()).fetch_all(self._rows, {"job_id": job_id}, [("idx", "asc")])
        return {int(r["idx"]): r["generation"] for r in page.data}

    @staticmethod
    def _visible() -> dict[str, Any]:
        principal = current_principal.get()
        return {} if principal is None or principal.is_admin else {"owner": principal.name}
