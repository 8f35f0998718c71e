"""Config of inline::reference batches (Llama Stack 0.7's fields, plus where jobs are stored)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from llama_workbench.storage.config import KVStoreRef, SqlStoreRef


class ReferenceBatchesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jobs_store: SqlStoreRef = Field(
        default_factory=lambda: SqlStoreRef(backend="sql_default", table_name="batches"),
        description="SQL backend and table for batches and every finished request's result.",
    )
    # Llama Stack's config names a kv store; accepted so its run configs load.
    kvstore: KVStoreRef | None = None
    max_concurrent_batches: int = Field(
        1, ge=1, description="Batches processed at once (the others wait in `validating`)."
    )
    max_concurrent_requests_per_batch: int = Field(
        10,
        ge=1,
        description="Requests of one batch in flight at once (the inline model batches them).",
    )
