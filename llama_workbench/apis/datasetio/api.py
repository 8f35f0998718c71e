"""The DatasetIO API protocols: what callers use, and what datasetio providers implement."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from llama_workbench.apis.datasetio.models import PaginatedRows
from llama_workbench.apis.datasets.models import Dataset


@runtime_checkable
class DatasetIO(Protocol):
    """Rows of registered datasets: read a page at a time, append more."""

    async def iterrows(
        self, dataset_id: str, start_index: int | None = None, limit: int | None = None
    ) -> PaginatedRows:
        """Rows [start_index, start_index + limit); limit None or -1 means all the rest."""
        ...

    async def append_rows(self, dataset_id: str, rows: list[dict[str, Any]]) -> None:
        """Add rows after the dataset's last row; they persist (the source file is not touched)."""
        ...


@runtime_checkable
class DatasetIOProvider(Protocol):
    """A datasetio provider: loads and checks datasets at registration, serves their rows."""

    async def register_dataset(self, dataset: Dataset) -> None:
        """Load and check the dataset (a missing file or a bad schema fails here)."""
        ...

    async def unregister_dataset(self, dataset_id: str) -> None:
        """Forget the dataset and drop the rows appended to it."""
        ...

    async def iterrows(
        self, dataset_id: str, start_index: int | None = None, limit: int | None = None
    ) -> PaginatedRows: ...

    async def append_rows(self, dataset_id: str, rows: list[dict[str, Any]]) -> None: ...

    async def shutdown(self) -> None: ...
