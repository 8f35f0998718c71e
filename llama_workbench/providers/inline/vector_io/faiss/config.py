"""Config of inline::faiss: faiss indexes on disk beside a SQLite file of chunks."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FaissVectorIOConfig(BaseModel):
    model_config = ConfigDict(extra="allow")  # Llama Stack's `persistence:` is accepted, unused

    db_path: str = Field(
        "vector_io/faiss.db", description="Chunks and the keyword index (relative to the data dir)."
    )
    index_dir: str = Field(
        "vector_io/faiss", description="One faiss index file per store (relative to the data dir)."
    )
    index_type: Literal["flat", "hnsw"] = Field(
        "flat", description="flat: exact search; hnsw: approximate, for large stores."
    )
    hnsw_m: int = Field(32, ge=4, le=128, description="HNSW graph degree.")
    hnsw_ef_search: int = Field(128, ge=8, description="HNSW search breadth (recall vs speed).")
    hnsw_ef_construction: int = Field(200, ge=8)
