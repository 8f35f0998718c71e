"""The Post Training API protocols: fine-tuning jobs that run in the background and resume."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from llama_workbench.apis.post_training.models import (
    ListPostTrainingJobsResponse,
    PostTrainingJob,
    PostTrainingJobArtifactsResponse,
    PostTrainingJobStatusResponse,
    PreferenceOptimizeRequest,
    SupervisedFineTuneRequest,
)


@runtime_checkable
class PostTraining(Protocol):
    """Fine-tune a served model on a registered dataset; the result is served as a new model."""

    async def supervised_fine_tune(self, request: SupervisedFineTuneRequest) -> PostTrainingJob:
        """Start supervised fine-tuning (LoRA by default, or full) in the background."""
        ...

    async def preference_optimize(self, request: PreferenceOptimizeRequest) -> PostTrainingJob:
        """Start DPO on a model (chosen vs rejected answers) in the background."""
        ...

    async def get_training_jobs(self) -> ListPostTrainingJobsResponse:
        """Every job, newest first."""
        ...

    async def get_training_job_status(self, job_uuid: str) -> PostTrainingJobStatusResponse:
        """A job's status, progress (step, loss, learning rate, eta) and checkpoints."""
        ...

    async def cancel_training_job(self, job_uuid: str) -> None:
        """Stop a job at its next optimizer step; its checkpoints stay and it can resume."""
        ...

    async def get_training_job_artifacts(self, job_uuid: str) -> PostTrainingJobArtifactsResponse:
        """A job's checkpoints (each a loadable adapter or model folder) and its model."""
        ...

    async def resume_training_job(self, job_uuid: str) -> PostTrainingJob:
        """Continue a cancelled or interrupted job from its last checkpoint (ours)."""
        ...


@runtime_checkable
class PostTrainingProvider(PostTraining, Protocol):
    """What a post-training provider implements: the API itself, plus shutdown."""

    async def shutdown(self) -> None: ...
