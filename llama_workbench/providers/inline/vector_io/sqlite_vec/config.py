"""Config of inline::sqlite-vec: chunks, vectors and the keyword index in one SQLite file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SqliteVecVectorIOConfig(BaseModel):
    model_config = ConfigDict(extra="allow")  # Llama Stack's `persistence:` is accepted, unused

    db_path: str = Field(
        "vector_io/sqlite_vec.db", description="The database file (relative to the data dir)."
    )
