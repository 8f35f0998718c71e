"""Config of inline::localfs (datasetio): where appended rows and inline rows are kept."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from llama_workbench.storage.config import KVStoreRef


class LocalfsDatasetIOConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kvstore: KVStoreRef = Field(
        default_factory=lambda: KVStoreRef(backend="kv_default", namespace="datasetio::localfs"),
        description="Where inline rows and appended rows are kept.",
    )
    http_timeout_s: float = Field(
        60.0, gt=0, description="How long to wait for a dataset behind an http(s):// URI."
    )
