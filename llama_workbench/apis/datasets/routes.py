"""REST routes of the Datasets API (Llama Stack 0.7 paths)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from llama_workbench.apis.datasets.api import Datasets
from llama_workbench.apis.datasets.models import (
    Dataset,
    ListDatasetsResponse,
    RegisterDatasetRequest,
)

_DATASETS = "/v1beta/datasets"
_ONE = _DATASETS + "/{dataset_id:path}"


def create_router(impl: Datasets) -> APIRouter:
    router = APIRouter(tags=["datasets"])

    @router.get(_DATASETS, response_model=ListDatasetsResponse, summary="List all datasets.")
    async def list_datasets() -> ListDatasetsResponse:
        return ListDatasetsResponse(data=await impl.list())

    @router.post(
        _DATASETS, response_model=Dataset, summary="Register a new dataset.", deprecated=True
    )
    async def register_dataset(request: RegisterDatasetRequest) -> Dataset:
        return await impl.register(
            purpose=request.purpose,
            source=request.source,
            metadata=request.metadata,
            dataset_id=request.dataset_id,
            provider_id=request.provider_id,
        )

    @router.get(_ONE, response_model=Dataset, summary="Get a dataset by its ID.")
    async def get_dataset(
        dataset_id: Annotated[str, Path(description="The ID of the dataset to get.")],
    ) -> Dataset:
        return await impl.retrieve(dataset_id)

    @router.delete(_ONE, summary="Unregister a dataset by its ID.", deprecated=True)
    async def unregister_dataset(
        dataset_id: Annotated[str, Path(description="The ID of the dataset to unregister.")],
    ) -> None:
        await impl.unregister(dataset_id)

    return router
