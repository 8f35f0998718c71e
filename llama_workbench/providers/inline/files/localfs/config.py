"""Config of inline::localfs: file bytes under a folder, metadata in a SQL store."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from llama_workbench.storage.config import SqlStoreRef


class LocalfsFilesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    storage_dir: str | None = Field(
        None,
        description="Where file bytes go; default: <data dir>/files. Relative to the data dir.",
    )
    metadata_store: SqlStoreRef = Field(
        default_factory=lambda: SqlStoreRef(backend="sql_default", table_name="files_metadata"),
        description="SQL backend and table for file metadata.",
    )
    max_file_size_bytes: int = Field(
        512 * 1024 * 1024, ge=1, description="Uploads larger than this are refused (413)."
    )
