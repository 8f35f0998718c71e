"""Config of inline::builtin (responses): where responses are kept, and the tool loop's bounds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from llama_workbench.storage.config import KVStoreRef, SqlStoreRef


class ResponsesTableRef(SqlStoreRef):
    """The responses table; Llama Stack's write-queue settings are accepted so its configs load."""

    max_write_queue_size: int | None = None
    num_writers: int | None = None


class ResponsesPersistence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    responses: ResponsesTableRef = Field(
        default_factory=lambda: ResponsesTableRef(backend="sql_default", table_name="responses"),
        description="SQL backend and table for stored responses.",
    )
    agent_state: KVStoreRef = Field(
        default_factory=lambda: KVStoreRef(backend="kv_default", namespace="agents"),
        description="kv namespace for agent sessions (the notebook Agent layer).",
    )


class BuiltinResponsesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    persistence: ResponsesPersistence = Field(default_factory=ResponsesPersistence)
    max_infer_iters: int = Field(
        10, ge=1, description="Default bound on model calls per response (tool loop)."
    )
    tool_timeout_s: float = Field(60.0, gt=0, description="Bound on one server-side tool call.")
