"""`stack.aio.datasetio`: the DatasetIO API as coroutines.

Generated from llama_workbench/apis/datasetio/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import AsyncFace

if TYPE_CHECKING:
    from typing import Any

    from llama_workbench.apis.datasetio.models import PaginatedRows


class AsyncDatasetIOApi(AsyncFace):
    """Rows of registered datasets: read a page at a time, append more."""

    __slots__ = ()

    async def iterrows(
        self, dataset_id: str, start_index: int | None = None, limit: int | None = None
    ) -> PaginatedRows:
        """Rows [start_index, start_index + limit); limit None or -1 means all the rest."""
        return cast("PaginatedRows", await self._call("iterrows", locals()))

    async def append_rows(self, dataset_id: str, rows: list[dict[str, Any]]) -> None:
        """Add rows after the dataset's last row; they persist (the source file is not touched)."""
        await self._call("append_rows", locals())
