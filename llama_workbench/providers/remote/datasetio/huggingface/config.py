"""Config of remote::huggingface (datasetio): offline mode, the cache, where appended rows are kept."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from llama_workbench.storage.config import KVStoreRef


class HuggingfaceDatasetIOConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kvstore: KVStoreRef = Field(
        default_factory=lambda: KVStoreRef(
            backend="kv_default", namespace="datasetio::huggingface"
        ),
        description="Where appended rows (and inline rows) are kept.",
    )
    offline: bool = Field(
        True,
        description="Never contact the Hugging Face Hub (sets HF_DATASETS_OFFLINE=1): local "
        "paths and datasets already in the cache still load.",
    )
    cache_dir: str | None = Field(None, description="The `datasets` cache; default: its own.")
