"""REST routes of the DatasetIO API (Llama Stack 0.7 paths)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from llama_workbench.apis.datasetio.api import DatasetIO
from llama_workbench.apis.datasetio.models import AppendRowsRequest, PaginatedRows


def create_router(impl: DatasetIO) -> APIRouter:
    router = APIRouter(tags=["datasetio"])

    @router.get(
        "/v1beta/datasetio/iterrows/{dataset_id:path}",
        response_model=PaginatedRows,
        summary="Get a paginated list of rows from a dataset.",
    )
    async def iterrows(
        dataset_id: Annotated[str, Path(description="The ID of the dataset to get the rows from.")],
        start_index: Annotated[
            int | None,
            Query(description="Index into dataset for the first row to get. Get all rows if None."),
        ] = None,
        limit: Annotated[int | None, Query(description="The number of rows to get.")] = None,
    ) -> PaginatedRows:
        return await impl.iterrows(dataset_id, start_index=start_index, limit=limit)

    @router.post(
        "/v1beta/datasetio/append-rows/{dataset_id:path}",
        status_code=204,
        summary="Append rows to a dataset.",
    )
    async def append_rows(
        dataset_id: Annotated[
            str, Path(description="The ID of the dataset to append the rows to.")
        ],
        request: AppendRowsRequest,
    ) -> None:
        await impl.append_rows(dataset_id, rows=request.rows)

    return router
