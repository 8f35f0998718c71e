"""The Datasets API protocol."""

from __future__ import annotations

import builtins
from typing import Any, Protocol, runtime_checkable

from llama_workbench.apis.datasets.models import Dataset, DatasetPurpose, DataSource


@runtime_checkable
class Datasets(Protocol):
    """The registry of datasets: from the run config and registered by users."""

    async def list(self) -> builtins.list[Dataset]:
        """Every dataset the stack knows."""
        ...

    async def retrieve(self, dataset_id: str) -> Dataset:
        """One dataset; NotFoundError lists the others."""
        ...

    async def register(
        self,
        purpose: DatasetPurpose | str,
        source: DataSource | dict[str, Any],
        metadata: dict[str, Any] | None = None,
        dataset_id: str | None = None,
        provider_id: str | None = None,
    ) -> Dataset:
        """Register a dataset: source={"type": "uri", "uri": ...} or {"type": "rows", "rows": rows
        or a DataFrame}. Its rows are read and checked against the purpose now; it persists."""
        ...

    async def unregister(self, dataset_id: str) -> None:
        """Remove a registered dataset and the rows appended to it."""
        ...
