"""REST routes of the Post Training API (Llama Stack's paths under /v1alpha/post-training)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from llama_workbench.apis.post_training.api import PostTraining
from llama_workbench.apis.post_training.models import (
    JobUuidRequest,
    ListPostTrainingJobsResponse,
    PostTrainingJob,
    PostTrainingJobArtifactsResponse,
    PostTrainingJobStatusResponse,
    PreferenceOptimizeRequest,
    SupervisedFineTuneRequest,
)

_P = "/v1alpha/post-training"


def create_router(impl: PostTraining) -> APIRouter:
    router = APIRouter(tags=["post_training"])

    @router.post(
        f"{_P}/supervised-fine-tune",
        response_model=PostTrainingJob,
        summary="Run supervised fine-tuning of a model.",
    )
    async def supervised_fine_tune(request: SupervisedFineTuneRequest) -> PostTrainingJob:
        return await impl.supervised_fine_tune(request)

    @router.post(
        f"{_P}/preference-optimize",
        response_model=PostTrainingJob,
        summary="Run preference optimization (DPO) of a model.",
    )
    async def preference_optimize(request: PreferenceOptimizeRequest) -> PostTrainingJob:
        return await impl.preference_optimize(request)

    @router.get(
        f"{_P}/jobs", response_model=ListPostTrainingJobsResponse, summary="Get all training jobs."
    )
    async def get_training_jobs() -> ListPostTrainingJobsResponse:
        return await impl.get_training_jobs()

    @router.get(
        f"{_P}/job/status",
        response_model=PostTrainingJobStatusResponse,
        summary="Get the status of a training job.",
    )
    async def get_training_job_status(
        job_uuid: str = Query(min_length=1, description="The job."),
    ) -> PostTrainingJobStatusResponse:
        return await impl.get_training_job_status(job_uuid)

    @router.post(f"{_P}/job/cancel", summary="Cancel a training job.")
    async def cancel_training_job(request: JobUuidRequest) -> None:
        await impl.cancel_training_job(request.job_uuid)

    @router.get(
        f"{_P}/job/artifacts",
        response_model=PostTrainingJobArtifactsResponse,
        summary="Get the artifacts of a training job.",
    )
    async def get_training_job_artifacts(
        job_uuid: str = Query(min_length=1, description="The job."),
    ) -> PostTrainingJobArtifactsResponse:
        return await impl.get_training_job_artifacts(job_uuid)

    @router.post(
        f"{_P}/job/resume",
        response_model=PostTrainingJob,
        summary="Resume a cancelled or interrupted job from its last checkpoint.",
    )
    async def resume_training_job(request: JobUuidRequest) -> PostTrainingJob:
        return await impl.resume_training_job(request.job_uuid)

    return router
