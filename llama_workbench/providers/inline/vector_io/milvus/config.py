"""Config of inline::milvus: Milvus Lite's data folder and the consistency level."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from llama_workbench.providers.remote.vector_io.milvus.config import ConsistencyLevel


class MilvusLiteVectorIOConfig(BaseModel):
    """Milvus Lite: the Milvus engine in this process, its data in one folder (`db_path`)."""

    model_config = ConfigDict(extra="forbid")

    db_path: str = Field(
        "milvus.db",
        description="Milvus Lite's data (a name ending in .db); relative to the data dir.",
    )
    consistency_level: ConsistencyLevel = Field(
        "Strong", description="Milvus consistency level of the collections and their reads."
    )

    @field_validator("db_path")
    @classmethod
    def _db_file(cls, value: str) -> str:
        if not value.strip().endswith(".db"):
            raise ValueError("db_path must end in .db (Milvus Lite's file name), e.g. milvus.db")
        return value.strip()
