"""`stack.aio.datasets`: the Datasets API as coroutines.

Generated from llama_workbench/apis/datasets/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import AsyncFace

if TYPE_CHECKING:
    import builtins
    from typing import Any

    from llama_workbench.apis.datasets.models import Dataset, DatasetPurpose, DataSource


class AsyncDatasetsApi(AsyncFace):
    """The registry of datasets: from the run config and registered by users."""

    __slots__ = ()

    async def list(self) -> builtins.list[Dataset]:
        """Every dataset the stack knows."""
        return cast("builtins.list[Dataset]", await self._call("list", locals()))

    async def retrieve(self, dataset_id: str) -> Dataset:
        """One dataset; NotFoundError lists the others."""
        return cast("Dataset", await self._call("retrieve", locals()))

    async def register(
        self,
        purpose: DatasetPurpose | str,
        source: DataSource | dict[str, Any],
        metadata: dict[str, Any] | None = None,
        dataset_id: str | None = None,
        provider_id: str | None = None,
    ) -> Dataset:
        """Register a dataset: source={"type": "uri", "uri": ...} or {"type": "rows", "rows": rows
        or a DataFrame}. Its rows are read and checked against the purpose now; it persists.
        """
        return cast("Dataset", await self._call("register", locals()))

    async def unregister(self, dataset_id: str) -> None:
        """Remove a registered dataset and the rows appended to it."""
        await self._call("unregister", locals())
