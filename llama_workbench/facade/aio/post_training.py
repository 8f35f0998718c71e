"""`stack.aio.post_training`: the PostTraining API as coroutines.

Generated from llama_workbench/apis/post_training/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.apis.post_training.models import (
    PreferenceOptimizeRequest,
    SupervisedFineTuneRequest,
)
from llama_workbench.facade._runtime import AsyncFace, fields_of

if TYPE_CHECKING:
    from typing import Any

    from llama_workbench.apis.post_training.models import (
        AlgorithmConfig,
        DPOAlignmentConfig,
        ListPostTrainingJobsResponse,
        LoraFinetuningConfig,
        PostTrainingJob,
        PostTrainingJobArtifactsResponse,
        PostTrainingJobStatusResponse,
        TrainingConfig,
    )


class AsyncPostTrainingApi(AsyncFace):
    """Fine-tune a served model on a registered dataset; the result is served as a new model."""

    __slots__ = ()

    @fields_of(SupervisedFineTuneRequest)
    async def supervised_fine_tune(
        self,
        *,
        training_config: TrainingConfig | dict[str, Any],
        job_uuid: str | None = None,
        hyperparam_search_config: dict[str, Any] | None = None,
        logger_config: dict[str, Any] | None = None,
        model: str | None = None,
        checkpoint_dir: str | None = None,
        algorithm_config: AlgorithmConfig | dict[str, Any] | None = None,
    ) -> PostTrainingJob:
        """Start supervised fine-tuning (LoRA by default, or full) in the background.

        Keyword arguments: the fields of `SupervisedFineTuneRequest`: POST /v1alpha/post-
        training/supervised-fine-tune.
            job_uuid: Ours: None generates one.
            model: A model the stack serves; None: the default.
            checkpoint_dir: The job's checkpoints go to <checkpoint_dir>/<job_uuid>.
            algorithm_config: LoRA (the default, rank 16 on attention + MLP) or full.
        """
        return cast(
            "PostTrainingJob",
            await self._send(SupervisedFineTuneRequest, "supervised_fine_tune", locals()),
        )

    @fields_of(PreferenceOptimizeRequest)
    async def preference_optimize(
        self,
        *,
        finetuned_model: str,
        training_config: TrainingConfig | dict[str, Any],
        job_uuid: str | None = None,
        algorithm_config: DPOAlignmentConfig | dict[str, Any] | None = None,
        hyperparam_search_config: dict[str, Any] | None = None,
        logger_config: dict[str, Any] | None = None,
        checkpoint_dir: str | None = None,
        lora_config: LoraFinetuningConfig | dict[str, Any] | None = None,
    ) -> PostTrainingJob:
        """Start DPO on a model (chosen vs rejected answers) in the background.

        Keyword arguments: the fields of `PreferenceOptimizeRequest`: POST /v1alpha/post-
        training/preference-optimize (DPO, on LoRA adapters).
            finetuned_model: The model to align.
            lora_config: Ours: the adapter DPO trains.
        """
        return cast(
            "PostTrainingJob",
            await self._send(PreferenceOptimizeRequest, "preference_optimize", locals()),
        )

    async def get_training_jobs(self) -> ListPostTrainingJobsResponse:
        """Every job, newest first."""
        return cast("ListPostTrainingJobsResponse", await self._call("get_training_jobs", locals()))

    async def get_training_job_status(self, job_uuid: str) -> PostTrainingJobStatusResponse:
        """A job's status, progress (step, loss, learning rate, eta) and checkpoints."""
        return cast(
            "PostTrainingJobStatusResponse", await self._call("get_training_job_status", locals())
        )

    async def cancel_training_job(self, job_uuid: str) -> None:
        """Stop a job at its next optimizer step; its checkpoints stay and it can resume."""
        await self._call("cancel_training_job", locals())

    async def get_training_job_artifacts(self, job_uuid: str) -> PostTrainingJobArtifactsResponse:
        """A job's checkpoints (each a loadable adapter or model folder) and its model."""
        return cast(
            "PostTrainingJobArtifactsResponse",
            await self._call("get_training_job_artifacts", locals()),
        )

    async def resume_training_job(self, job_uuid: str) -> PostTrainingJob:
        """Continue a cancelled or interrupted job from its last checkpoint (ours)."""
        return cast("PostTrainingJob", await self._call("resume_training_job", locals()))
