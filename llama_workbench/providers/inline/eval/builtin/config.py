"""Config of inline::builtin eval: the jobs table, concurrency, and MLflow tracking."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from llama_workbench.storage.config import KVStoreRef, SqlStoreRef


class MlflowSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Log every finished job as an MLflow run.")
    tracking_uri: str | None = Field(
        None, description="Default: a local store, sqlite:///<data dir>/mlflow.db (no server)."
    )
    experiment_name: str = "llama_workbench-eval"


class BuiltinEvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jobs_store: SqlStoreRef = Field(
        default_factory=lambda: SqlStoreRef(backend="sql_default", table_name="eval_jobs"),
        description="SQL backend and table for jobs and their finished rows.",
    )
    # Llama Stack's eval config names a kv store; accepted so its run configs load.
    kvstore: KVStoreRef | None = None
    max_concurrency: int = Field(
        4, ge=1, le=256, description="Rows generated at once (the inline model batches them)."
    )
    mlflow: MlflowSettings = Field(default_factory=MlflowSettings)
