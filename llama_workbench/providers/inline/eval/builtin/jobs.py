"""Eval jobs on the shared job store: the job, its config, its scores and every finished row."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.eval.models import BenchmarkConfig, Job
from llama_workbench.core.errors import ConflictError, NotFoundError
from llama_workbench.providers.utils import jobs
from llama_workbench.storage.config import SqlStoreRef

if TYPE_CHECKING:
    from llama_workbench.core.policy import Action
    from llama_workbench.storage.manager import StorageManager


class JobStore:
    """Eval jobs (scoped by benchmark) and their generated rows."""

    def __init__(self, storage: StorageManager, ref: SqlStoreRef) -> None:
        self._store = jobs.JobStore(storage, ref)
        self._numbering = asyncio.Lock()

    async def create_numbered(self, make: Callable[[str], Job], config: BenchmarkConfig) -> Job:
        """Store the job `make` builds for the next id. Llama Stack 0.7.3 numbers eval jobs "0",
        "1", ... per server process (str(len(jobs)), in memory, across benchmarks); here the count
        continues from the persisted jobs, so ids stay unique across restarts. The lock keeps
        this process's calls apart; a store shared by several processes may race, and the
        primary key turns that into a conflict that takes the next number."""
        async with self._numbering:
            for _ in range(16):
                job = make(await self._store.next_number())
                try:
                    await self.create(job, config)
                except ConflictError:
                    continue
                return job
        raise ConflictError("Could not number a new eval job: the store keeps changing; retry.")

    async def create(self, job: Job, config: BenchmarkConfig) -> None:
        await self._store.create(
            job.job_id,
            job.model_dump(mode="json"),
            config.model_dump(mode="json"),
            scope=job.benchmark_id or "",
            created_at=job.created_at,
        )

    async def save(self, job: Job, scores: dict[str, Any] | None = None) -> None:
        await self._store.save(job.job_id, job.model_dump(mode="json"), result=scores)

    async def get(
        self, benchmark_id: str, job_id: str, action: Action = "read"
    ) -> tuple[Job, BenchmarkConfig, Any]:
        stored = await self._store.get(job_id, scope=benchmark_id, action=action)
        if stored is None:
            known = [j.job_id for j in await self.list(benchmark_id)]
            raise NotFoundError(f"Eval job of benchmark '{benchmark_id}'", job_id, known)
        job = Job.model_validate(stored.job)
        return job, BenchmarkConfig.model_validate(stored.spec), stored.result

    async def list(self, benchmark_id: str | None) -> builtins.list[Job]:
        return [Job.model_validate(s.job) for s in await self._store.list(benchmark_id)]

    async def unfinished(self) -> builtins.list[Job]:
        """Jobs a stopped process left scheduled or running."""
        stored = await self._store.unfinished(("scheduled", "in_progress"))
        return [Job.model_validate(s.job) for s in stored]

    async def add_row(self, job_id: str, index: int, generation: dict[str, Any]) -> None:
        await self._store.add_item(job_id, index, generation)

    async def rows(self, job_id: str) -> dict[int, dict[str, Any]]:
        return await self._store.items(job_id)
