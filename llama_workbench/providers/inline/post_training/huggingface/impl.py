"""inline::huggingface post-training: SFT (LoRA or full) and DPO jobs on the inline transformers model."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

from llama_workbench.apis.models.models import ModelType
from llama_workbench.apis.post_training.models import (
    ListPostTrainingJobsResponse,
    LoraFinetuningConfig,
    PostTrainingJob,
    PostTrainingJobArtifactsResponse,
    PostTrainingJobStatusResponse,
    PreferenceOptimizeRequest,
    SupervisedFineTuneRequest,
    TrainingConfig,
)
from llama_workbench.core.datatypes import Api, ProviderDeps
from llama_workbench.core.errors import BadRequestError, ConfigError, ConflictError
from llama_workbench.providers.inline.post_training.huggingface.checkpoints import (
    scan_checkpoints,
)
from llama_workbench.providers.inline.post_training.huggingface.config import (
    HuggingfacePostTrainingConfig,
)
from llama_workbench.providers.inline.post_training.huggingface.jobs import (
    BaseModelRef,
    JobSpec,
    JobStore,
)
from llama_workbench.providers.inline.post_training.huggingface.plans import (
    build_plan,
    check_engine,
    check_request,
    check_rows,
    request_of,
    trainer_for,
)
from llama_workbench.providers.inline.post_training.huggingface.runner import (
    JobRunner,
    interrupted,
    sync_progress,
    utcnow,
)
from llama_workbench.providers.inline.post_training.huggingface.training import (
    JobControl,
    MlflowTarget,
    Progress,
)

_PAGE = 1000  # rows read from datasetio per call
_FINISHED = ("completed", "failed", "cancelled")
Rows = list[dict[str, Any]]


class HuggingfacePostTraining:
    """Jobs run one at a time, each in a worker thread driven by a task on the stack's loop."""

    def __init__(self, config: HuggingfacePostTrainingConfig, deps: ProviderDeps) -> None:
        self._config = config
        self._datasetio = deps.apis[Api.datasetio]
        self._models = deps.apis.get(Api.models)
        self._engine = deps.execution
        self._tracker = deps.tracker  # MLflow runs go through it (the stack passes one)
        if config.mlflow.enabled and self._tracker is None:
            raise ConfigError(
                "inline::huggingface post-training: mlflow.enabled needs a run tracker, which a "
                "stack passes in its deps; set mlflow.enabled: false to build it alone"
            )
        self._data_dir = deps.data_dir
        self._jobs = JobStore(deps.storage, config.jobs_store)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._controls: dict[str, JobControl] = {}
        self._live: dict[str, PostTrainingJobStatusResponse] = {}
        self._closing = False
        register = self._models.register if config.register_models and self._models else None
        self._runner = JobRunner(self._jobs, asyncio.Lock(), register, lambda: self._closing)
        self._sweeping = asyncio.Lock()
        self._swept = False

    @property
    def tracking_uri(self) -> str:
        if self._config.mlflow.tracking_uri:
            return self._config.mlflow.tracking_uri
        if self._tracker is None:
            raise ConfigError(
                "inline::huggingface post-training: no run tracker (mlflow.enabled is false)"
            )
        return self._tracker.default_uri(self._data_dir)

    def _mlflow(self) -> MlflowTarget | None:
        settings = self._config.mlflow
        if not settings.enabled or self._tracker is None:
            return None
        return MlflowTarget(
            self.tracking_uri,
            settings.experiment_name,
            self._data_dir / "mlartifacts",
            settings.log_every_steps,
            self._tracker,
        )

    # -- starting jobs

    async def supervised_fine_tune(self, request: SupervisedFineTuneRequest) -> PostTrainingJob:
        await self._sweep()
        check_request(
            request.training_config, request.hyperparam_search_config, request.logger_config
        )
        algorithm = request.algorithm_config or LoraFinetuningConfig()
        await self._check_engine("sft")
        base = await self._base_model(request.model or self._config.default_model)
        job_uuid = request.job_uuid or f"ptjob-{uuid.uuid4().hex[:12]}"
        request = request.model_copy(update={"job_uuid": job_uuid, "algorithm_config": algorithm})
        kind = "LoRA" if isinstance(algorithm, LoraFinetuningConfig) else "full"
        return await self._create("sft", kind, request, base, request.checkpoint_dir)

    async def preference_optimize(self, request: PreferenceOptimizeRequest) -> PostTrainingJob:
        await self._sweep()
        check_request(
            request.training_config, request.hyperparam_search_config, request.logger_config
        )
        if request.algorithm_config.loss_type == "kto_pair":
            raise BadRequestError(
                "loss_type 'kto_pair' is gone from trl (KTO is a trainer of its own); "
                "use sigmoid, hinge or ipo."
            )
        await self._check_engine("dpo")
        base = await self._base_model(request.finetuned_model)
        job_uuid = request.job_uuid or f"ptjob-{uuid.uuid4().hex[:12]}"
        request = request.model_copy(update={"job_uuid": job_uuid})
        return await self._create("dpo", "DPO", request, base, request.checkpoint_dir)

    async def _create(
        self,
        kind: str,
        algorithm: str,
        request: SupervisedFineTuneRequest | PreferenceOptimizeRequest,
        base: BaseModelRef,
        checkpoint_dir: str | None,
    ) -> PostTrainingJob:
        assert request.job_uuid is not None
        await self._jobs.check_new(request.job_uuid)
        output_dir = self._output_dir(checkpoint_dir, request.job_uuid)
        spec = JobSpec.model_validate(
            {
                "kind": kind,
                "request": request.model_dump(mode="json"),
                "base": base,
                "output_dir": str(output_dir),
            }
        )
        rows = await self._read(request.training_config)  # a missing dataset fails this call
        check_rows(kind, request.training_config, rows)
        job = PostTrainingJobStatusResponse(
            job_uuid=request.job_uuid,
            status="scheduled",
            scheduled_at=utcnow(),
            algorithm=algorithm,
            model=base.model_id,
            mlflow_tracking_uri=self.tracking_uri if self._config.mlflow.enabled else None,
        )
        await self._jobs.create(job, spec)
        self._start(job, spec, JobControl([], None), rows)
        return PostTrainingJob(job_uuid=job.job_uuid, status=job.status)

    async def resume_training_job(self, job_uuid: str) -> PostTrainingJob:
        await self._sweep()
        job, spec = await self._jobs.get(job_uuid, "update")
        if job.status not in ("cancelled", "failed") or job_uuid in self._tasks:
            raise ConflictError(
                f"Post-training job {job_uuid} is {job.status}; only a cancelled or failed job "
                "resumes."
            )
        await self._check_engine(spec.kind)
        training = request_of(spec).training_config
        rows = await self._read(training)
        check_rows(spec.kind, training, rows)
        job.status, job.error, job.completed_at, job.eta_s = "scheduled", None, None, None
        await self._jobs.save(job)
        checkpoints = scan_checkpoints(Path(spec.output_dir))
        self._start(job, spec, JobControl(checkpoints, job.mlflow_run_id), rows)
        return PostTrainingJob(job_uuid=job_uuid, status=job.status)

    def _start(
        self,
        job: PostTrainingJobStatusResponse,
        spec: JobSpec,
        control: JobControl,
        rows: tuple[Rows, Rows | None],
    ) -> None:
        plan = build_plan(job, spec, rows, self._config, self._mlflow())
        plan.params |= self._engine.params() if self._engine else {"execution_engine": "inprocess"}
        control.progress = Progress(  # where a resumed job stood, until its thread reports
            step=job.step,
            total_steps=job.total_steps,
            epoch=job.epoch,
            loss=job.loss,
            learning_rate=job.learning_rate,
            eval_loss=job.eval_loss,
            resources=job.resources_allocated or {},
        )
        task = asyncio.get_running_loop().create_task(
            self._runner.run(
                job, spec, control, plan, trainer_for(spec, job, control, self._engine)
            )
        )
        self._tasks[job.job_uuid] = task
        self._controls[job.job_uuid] = control
        self._live[job.job_uuid] = job

        def forget(_: object) -> None:
            for table in (self._tasks, self._controls, self._live):
                table.pop(job.job_uuid, None)

        task.add_done_callback(forget)

    # -- reads and cancel

    async def get_training_jobs(self) -> ListPostTrainingJobsResponse:
        await self._sweep()
        jobs = [self._live.get(j.job_uuid, j) for j in await self._jobs.list()]
        return ListPostTrainingJobsResponse(
            data=[PostTrainingJob(job_uuid=j.job_uuid, status=j.status) for j in jobs]
        )

    async def get_training_job_status(self, job_uuid: str) -> PostTrainingJobStatusResponse:
        await self._sweep()
        job, _ = await self._jobs.get(job_uuid)  # 404, and others' jobs stay invisible
        live = self._live.get(job_uuid)
        if live is None:
            return job
        sync_progress(live, self._controls[job_uuid])
        return live.model_copy(deep=True)

    async def get_training_job_artifacts(self, job_uuid: str) -> PostTrainingJobArtifactsResponse:
        job = await self.get_training_job_status(job_uuid)
        return PostTrainingJobArtifactsResponse(
            job_uuid=job_uuid,
            checkpoints=job.checkpoints,
            model_id=job.model_id,
            mlflow_run_id=job.mlflow_run_id,
            mlflow_tracking_uri=job.mlflow_tracking_uri,
        )

    async def cancel_training_job(self, job_uuid: str) -> None:
        await self._sweep()
        job, _ = await self._jobs.get(job_uuid, "update")
        task = self._tasks.get(job_uuid)
        if task is None:
            if job.status in _FINISHED:
                raise ConflictError(f"Post-training job {job_uuid} is already {job.status}.")
            return
        self._controls[job_uuid].stop.set()  # a training job stops at its next step
        if self._live[job_uuid].status == "scheduled":
            task.cancel()  # still waiting for its turn
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def shutdown(self) -> None:
        """Running jobs stop at their next step and read `failed: interrupted` (resumable)."""
        self._closing = True
        for control in self._controls.values():
            control.stop.set()
        for task in list(self._tasks.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- helpers

    async def _check_engine(self, kind: str) -> None:
        """On Ray: a job the engine can't run is a 400; an unreachable cluster this call's error."""
        check_engine(kind, self._engine)
        if self._engine is not None and self._engine.is_ray:
            await self._engine.connect()

    async def _sweep(self) -> None:
        """Jobs a stopped process left running read failed (interrupted), once; resume continues them."""
        async with self._sweeping:
            if self._swept:
                return
            for job in await self._jobs.unfinished():
                if job.job_uuid not in self._tasks:
                    job.status, job.eta_s, job.completed_at = "failed", None, utcnow()
                    job.error = interrupted(job, "the process stopped")
                    await self._jobs.save(job)
            self._swept = True

    async def _base_model(self, model_id: str) -> BaseModelRef:
        """The served model behind `model_id`, which must be an inline::transformers LLM."""
        if self._models is None:
            raise BadRequestError("Post-training needs the models API (an inference provider).")
        model = await self._models.retrieve(model_id)
        provider = self._models.provider_for(model)
        source = getattr(provider, "model_source", None)
        if model.model_type != ModelType.llm or source is None:
            raise BadRequestError(
                f"Model '{model.identifier}' is served by provider '{model.provider_id}'; "
                "post-training fine-tunes LLMs that inline::transformers serves."
            )
        found = source(model.provider_resource_id)
        return BaseModelRef(
            model_id=model.identifier,
            provider_id=model.provider_id,
            path=str(found.path),
            tokenizer=str(found.tokenizer) if found.tokenizer else None,
            cache_dir=str(found.cache_dir),
        )

    def _output_dir(self, checkpoint_dir: str | None, job_uuid: str) -> Path:
        configured = checkpoint_dir if checkpoint_dir not in (None, "", "null") else None
        root = configured or self._config.checkpoint_dir or self._data_dir / "post_training"
        target = Path(root).expanduser().resolve() / job_uuid
        if target.exists() and any(target.iterdir()):
            raise ConflictError(
                f"The checkpoint folder {target} is not empty; choose another job_uuid or "
                "checkpoint_dir."
            )
        return target

    async def _read(self, training: TrainingConfig) -> tuple[Rows, Rows | None]:
        data = training.data_config
        rows = await self._rows(data.dataset_id)
        validation = None
        if data.validation_dataset_id:
            validation = await self._rows(data.validation_dataset_id)
        return rows, validation

    async def _rows(self, dataset_id: str) -> Rows:
        rows: Rows = []
        while True:
            page = await self._datasetio.iterrows(dataset_id, start_index=len(rows), limit=_PAGE)
            rows.extend(page.data)
            if not page.has_more:
                break
        if not rows:
            raise BadRequestError(f"Dataset '{dataset_id}' has no rows to train on.")
        return rows
