"""Drives one job from the event loop: its training thread, progress written to the store, the model."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

from llama_workbench.apis.models.models import RegisterModelRequest
from llama_workbench.apis.post_training.models import Checkpoint, PostTrainingJobStatusResponse
from llama_workbench.core.errors import error_line
from llama_workbench.providers.inline.post_training.huggingface.jobs import JobSpec, JobStore
from llama_workbench.providers.inline.post_training.huggingface.training import (
    JobControl,
    TrainPlan,
    TrainResult,
)

logger = logging.getLogger(__name__)
_SAVE_EVERY_S = 1.0  # how often a running job's progress is written to the store


def interrupted(job: PostTrainingJobStatusResponse, why: str) -> str:
    """The error of a job a stop left unfinished: where it was, and where resuming starts."""
    start = (
        f"its checkpoint of step {job.checkpoints[-1].step}"
        if job.checkpoints
        else "the beginning (no checkpoint yet)"
    )
    return f"interrupted: {why} at step {job.step}; resume_training_job continues from {start}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def sync_progress(job: PostTrainingJobStatusResponse, control: JobControl) -> None:
    """Copy what the training thread reported into the job's status."""
    p = control.progress
    job.step, job.total_steps, job.epoch = p.step, p.total_steps or job.total_steps, p.epoch
    job.loss, job.learning_rate, job.eval_loss, job.eta_s = (
        p.loss,
        p.learning_rate,
        p.eval_loss,
        p.eta_s,
    )
    job.resources_allocated = p.resources or job.resources_allocated
    job.checkpoints = list(control.checkpoints)
    job.mlflow_run_id = control.run_id or job.mlflow_run_id


class JobRunner:
    """Runs a job: waits its turn (one job trains at a time), trains in a thread, registers."""

    def __init__(
        self,
        store: JobStore,
        turn: asyncio.Lock,
        register: Callable[[RegisterModelRequest], Awaitable[Any]] | None,
        closing: Callable[[], bool],
    ) -> None:
        self._store = store
        self._turn = turn
        self._register = register
        self._closing = closing

    async def run(
        self,
        job: PostTrainingJobStatusResponse,
        spec: JobSpec,
        control: JobControl,
        plan: TrainPlan,
        trainer: Callable[[TrainPlan, JobControl], Callable[[], TrainResult]],
    ) -> None:
        try:
            async with self._turn:
                result = TrainResult("stopped", None)  # cancelled while waiting its turn
                if not control.stop.is_set():
                    job.status, job.started_at = "in_progress", utcnow()
                    await self._store.save(job)
                    result = await self._train(job, control, trainer(plan, control))
            if result.outcome == "completed":
                job.model_id = await self._model(job, spec, result.final)
                job.status, job.eta_s = "completed", 0.0
            else:
                self._stopped(job, control)
        except asyncio.CancelledError:
            self._stopped(job, control)
        except Exception as exc:
            logger.debug("post-training job %s failed", job.job_uuid, exc_info=True)
            job.status, job.error = "failed", error_line(exc)
        finally:
            sync_progress(job, control)
            if job.status != "completed":
                job.eta_s = None
            job.completed_at = utcnow()
            await asyncio.shield(self._store.save(job))

    def _stopped(self, job: PostTrainingJobStatusResponse, control: JobControl) -> None:
        sync_progress(job, control)
        if self._closing():
            job.status = "failed"
            job.error = interrupted(job, "the stack shut down")
        else:
            job.status = "cancelled"

    async def _train(
        self,
        job: PostTrainingJobStatusResponse,
        control: JobControl,
        work: Callable[[], TrainResult],
    ) -> TrainResult:
        """Train in a thread of its own (torch releases the GIL); write progress every second."""
        future: Future[TrainResult] = Future()

        def target() -> None:
            try:
                future.set_result(work())
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=target, name=f"post-training-{job.job_uuid}", daemon=True).start()
        waiting = asyncio.wrap_future(future)
        try:
            while True:
                done, _ = await asyncio.wait({waiting}, timeout=_SAVE_EVERY_S)
                sync_progress(job, control)
                await self._store.save(job)
                if done:
                    return waiting.result()
        except asyncio.CancelledError:
            control.stop.set()  # the thread ends at its next step; don't leave it writing
            with contextlib.suppress(Exception):
                await asyncio.wait({waiting})
            raise

    async def _model(
        self, job: PostTrainingJobStatusResponse, spec: JobSpec, final: Checkpoint | None
    ) -> str | None:
        """Register the final checkpoint as `<base>-ft-<job_uuid>`, served by the base's provider."""
        if self._register is None or final is None:
            return None
        base = spec.base
        name = base.model_id.removeprefix(f"{base.provider_id}/")
        request = RegisterModelRequest(
            model_id=f"{name}-ft-{job.job_uuid}",
            provider_id=base.provider_id,
            provider_model_id=final.path,
            metadata={
                "base_model": base.model_id,
                "post_training_job": job.job_uuid,
                "algorithm": job.algorithm,
                "step": final.step,
                "mlflow_run_id": job.mlflow_run_id,
            },
        )
        model = await self._register(request)
        return str(model.identifier)
