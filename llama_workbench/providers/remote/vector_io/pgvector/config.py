"""Config of remote::pgvector: where the PostgreSQL server is, and how its tables are named."""

from __future__ import annotations

import re

from pydantic import ConfigDict, Field, SecretStr, field_validator

from llama_workbench.storage.config import PostgresConnection

# Unquoted, so Postgres folds nothing; short enough that prefix + hash + index suffix fits in 63.
_PREFIX = re.compile(r"^[a-z_][a-z0-9_]{0,31}$")


class PGVectorVectorIOConfig(PostgresConnection):
    """A PostgreSQL database with the pgvector extension: one table per vector store."""

    model_config = ConfigDict(extra="allow")  # Llama Stack's `persistence:` is accepted, unused

    host: str = "localhost"
    port: int = 5432
    db: str = Field("postgres", description="The database (pgvector must be installable there).")
    user: str = "postgres"
    password: SecretStr | None = None
    table_prefix: str = Field(
        "llw_vectors_", description="Each store's table is this prefix plus a hash of its id."
    )
    hnsw: bool = Field(
        True, description="Build an HNSW index per store (approximate, fast); off: exact scans."
    )

    @field_validator("table_prefix")
    @classmethod
    def _plain_identifier(cls, value: str) -> str:
        if not _PREFIX.match(value):
            raise ValueError(
                "table_prefix must be lowercase letters, digits and underscores (at most 32), "
                "not starting with a digit"
            )
        return value
