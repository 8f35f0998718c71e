"""Post-training jobs in the SQL store: status, checkpoints and what resuming needs."""

from __future__ import annotations

import asyncio
import builtins
import time
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from llama_workbench.apis.post_training.models import PostTrainingJobStatusResponse
from llama_workbench.core.access import (
    JOB,
    check_access,
    check_create,
    fetch_visible,
    fetch_visible_one,
    owner_for_new_resource,
)
from llama_workbench.core.errors import ConflictError, NotFoundError
from llama_workbench.storage.config import SqlStoreRef
from llama_workbench.storage.sql import ColumnDefinition, ColumnType, SqlStore

if TYPE_CHECKING:
    from llama_workbench.core.policy import Action
    from llama_workbench.storage.manager import StorageManager

_JOBS: dict[str, ColumnType | ColumnDefinition] = {
    "job_uuid": ColumnDefinition(ColumnType.STRING, primary_key=True),
    "created_at": ColumnType.INTEGER,
    "owner": ColumnType.STRING,
    "job": ColumnType.JSON,  # the status response, written as the job progresses
    "spec": ColumnType.JSON,  # the JobSpec: the request and the resolved base model
}


class BaseModelRef(BaseModel):
    """The model a job starts from, as the inference provider serves it."""

    model_config = {"protected_namespaces": ()}

    model_id: str
    provider_id: str
    path: str  # a GGUF file, a model folder or an adapter folder
    tokenizer: str | None = None
    cache_dir: str


class JobSpec(BaseModel):
    """Everything a job needs to run again after a restart."""

    kind: Literal["sft", "dpo"]
    request: dict[str, Any]
    base: BaseModelRef
    output_dir: str


class JobStore:
    """Jobs keyed by uuid; written when their state changes, read back after a restart."""

    def __init__(self, storage: StorageManager, ref: SqlStoreRef) -> None:
        self._storage = storage
        self._ref = ref
        self._table = ref.table_name
        self._store: SqlStore | None = None
        self._opening = asyncio.Lock()

    async def sql(self) -> SqlStore:
        async with self._opening:
            if self._store is None:
                store = await self._storage.sql(self._ref)
                await store.create_table(self._table, _JOBS)
                self._store = store
        return self._store

    async def check_new(self, job_uuid: str) -> None:
        """A ConflictError if any job (anyone's) has this uuid."""
        if await (await self.sql()).fetch_one(self._table, {"job_uuid": job_uuid}) is not None:
            raise ConflictError(
                f"Post-training job '{job_uuid}' exists; choose another job_uuid "
                "(or resume that job)."
            )

    async def create(self, job: PostTrainingJobStatusResponse, spec: JobSpec) -> None:
        await self.check_new(job.job_uuid)
        check_create(JOB, job.job_uuid)
        row = {
            "job_uuid": job.job_uuid,
            "created_at": int(time.time() * 1000),
            "owner": owner_for_new_resource(),
            "job": job.model_dump(mode="json"),
            "spec": spec.model_dump(mode="json"),
        }
        await (await self.sql()).insert(self._table, row)

    async def save(self, job: PostTrainingJobStatusResponse) -> None:
        data = {"job": job.model_dump(mode="json")}
        await (await self.sql()).update(self._table, data, {"job_uuid": job.job_uuid})

    async def get(
        self, job_uuid: str, action: Action = "read"
    ) -> tuple[PostTrainingJobStatusResponse, JobSpec]:
        """The job: a 404 when the caller may not read it, a 403 when not `action` it."""
        sql = await self.sql()
        where = {"job_uuid": job_uuid}
        row = await fetch_visible_one(sql, self._table, JOB, where, id_column="job_uuid")
        if row is not None:
            check_access(row["owner"], JOB, job_uuid, action)
        if row is None:
            known = [j.job_uuid for j in await self.list()]
            raise NotFoundError("Post-training job", job_uuid, known)
        job = PostTrainingJobStatusResponse.model_validate(row["job"])
        return job, JobSpec.model_validate(row["spec"])

    async def list(self) -> builtins.list[PostTrainingJobStatusResponse]:
        order: builtins.list[tuple[str, Any]] = [("created_at", "desc")]
        sql = await self.sql()
        page = await fetch_visible(sql, self._table, JOB, {}, order, None, id_column="job_uuid")
        return [PostTrainingJobStatusResponse.model_validate(r["job"]) for r in page.data]

    async def unfinished(self) -> builtins.list[PostTrainingJobStatusResponse]:
        """Jobs a stopped process left scheduled or running (everyone's)."""
        page = await (await self.sql()).fetch_all(self._table)
        jobs = [PostTrainingJobStatusResponse.model_validate(r["job"]) for r in page.data]
        return [j for j in jobs if j.status in ("scheduled", "in_progress")]
