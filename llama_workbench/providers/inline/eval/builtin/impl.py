"""inline::builtin eval: generate answers row by row (bounded concurrency), score them, log to MLflow."""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from llama_workbench.apis.benchmarks.models import Benchmark
from llama_workbench.apis.eval.models import (
    AgentCandidate,
    BenchmarkConfig,
    EvaluateResponse,
    Job,
)
from llama_workbench.core.datatypes import Api, ProviderDeps
from llama_workbench.core.errors import BadRequestError, ConfigError, ConflictError, error_line
from llama_workbench.providers.inline.eval.builtin.candidates import eval_row, generate
from llama_workbench.providers.inline.eval.builtin.config import BuiltinEvalConfig
from llama_workbench.providers.inline.eval.builtin.jobs import JobStore
from llama_workbench.providers.utils.jobs import Every, JobTasks, run_items

logger = logging.getLogger(__name__)
_PAGE = 1000  # rows read from datasetio per call
_PROGRESS_EVERY_S = 0.2  # how often a running job's progress is written


@dataclass
class _Apis:
    inference: Any
    datasetio: Any
    scoring: Any
    responses: Any


class BuiltinEval:
    """Jobs run as tasks on the stack's loop; each finished row is stored before the next counts."""

    def __init__(self, config: BuiltinEvalConfig, deps: ProviderDeps) -> None:
        self._config = config
        self._apis = _Apis(
            inference=deps.apis[Api.inference],
            datasetio=deps.apis[Api.datasetio],
            scoring=deps.apis[Api.scoring],
            responses=deps.apis.get(Api.responses),
        )
        self._jobs = JobStore(deps.storage, config.jobs_store)
        self._data_dir = deps.data_dir
        self._engine = deps.execution
        self._tracker = deps.tracker
        if config.mlflow.enabled and self._tracker is None:
            raise ConfigError(
                "inline::builtin eval: mlflow.enabled needs a run tracker, which a stack passes "
                "in its deps; set mlflow.enabled: false to build it alone"
            )
        self._models = deps.apis.get(Api.models)
        self._tasks = JobTasks()
        self._live: dict[str, Job] = {}  # jobs running here, as they progress
        self._sweeping = asyncio.Lock()
        self._swept = False

    async def initialize(self) -> None:
        """Nothing is opened at startup (the jobs table is read on first use)."""

    async def _sweep(self) -> None:
        """Jobs a stopped process left running are failed, once; job_resume continues them."""
        async with self._sweeping:
            if self._swept:
                return
            for job in await self._jobs.unfinished():
                if job.job_id not in self._tasks:
                    job.completed_rows = len(await self._jobs.rows(job.job_id))
                    job.status = "failed"
                    job.error = (
                        "interrupted: the process stopped; job_resume continues from the "
                        "finished rows"
                    )
                    await self._jobs.save(job)
            self._swept = True

    @property
    def tracking_uri(self) -> str:
        if self._config.mlflow.tracking_uri:
            return self._config.mlflow.tracking_uri
        if self._tracker is None:
            raise ConfigError("inline::builtin eval: no run tracker (mlflow.enabled is false)")
        return self._tracker.default_uri(self._data_dir)

    async def register_benchmark(self, benchmark: Benchmark) -> None:
        return None  # the dataset and scoring functions are checked by the Benchmarks table

    # -- jobs

    async def run_eval(self, benchmark: Benchmark, config: BenchmarkConfig) -> Job:
        await self._sweep()
        rows = await self._rows(benchmark, config)
        if self._engine is not None and self._on_ray(config.eval_candidate):
            await self._engine.connect()  # an unreachable cluster: this call's one clear error
        job = await self._jobs.create_numbered(
            lambda job_id: Job(
                job_id=job_id,
                status="scheduled",
                benchmark_id=benchmark.identifier,
                created_at=int(time.time()),
                total_rows=len(rows),
            ),
            config,
        )
        self._start(benchmark, job, config, rows, {})
        return job.model_copy()

    async def job_resume(self, benchmark: Benchmark, job_id: str) -> Job:
        await self._sweep()
        job, config, _ = await self._jobs.get(benchmark.identifier, job_id)
        if job.status not in ("cancelled", "failed") or job_id in self._tasks:
            raise ConflictError(f"Eval job {job_id} is {job.status}; only a stopped job resumes.")
        rows = await self._rows(benchmark, config)
        done = await self._jobs.rows(job_id)
        job.status, job.error, job.completed_at = "scheduled", None, None
        job.total_rows = len(rows)
        await self._jobs.save(job)
        self._start(benchmark, job, config, rows, done)
        return job.model_copy()

    def _start(
        self,
        benchmark: Benchmark,
        job: Job,
        config: BenchmarkConfig,
        rows: list[dict[str, Any]],
        done: dict[int, dict[str, Any]],
    ) -> None:
        self._live[job.job_id] = job
        self._tasks.start(
            job.job_id,
            self._run(benchmark, job, config, rows, done),
            lambda: self._live.pop(job.job_id, None),
        )

    async def _run(
        self,
        benchmark: Benchmark,
        job: Job,
        config: BenchmarkConfig,
        rows: list[dict[str, Any]],
        done: dict[int, dict[str, Any]],
    ) -> None:
        job.status, job.completed_rows = "in_progress", len(done)
        job.engine = "ray" if self._on_ray(config.eval_candidate) else "inprocess"
        await self._jobs.save(job)
        try:
            generations = await self._generate_all(job, config, rows, done)
            scores = await self._score(rows, generations, benchmark.scoring_functions, config)
            job.mlflow_run_id = await self._track(benchmark, job, config, rows, generations, scores)
            job.mlflow_tracking_uri = self.tracking_uri if job.mlflow_run_id else None
            scored = {k: v.model_dump(mode="json") for k, v in scores.items()}
            await self._finish(job, scored, status="completed")
        except asyncio.CancelledError:
            await asyncio.shield(self._finish(job, None, status="cancelled"))
        except Exception as exc:
            logger.debug("eval job %s failed", job.job_id, exc_info=True)
            await self._finish(job, None, status="failed", error=error_line(exc))

    async def _finish(self, job: Job, scores: dict[str, Any] | None, **update: Any) -> None:
        """Store the job's end, then show it: job_status reads the live job, so a client that
        sees `completed` there finds the stored results too."""
        final = job.model_copy(update={**update, "completed_at": int(time.time())})
        await self._jobs.save(final, scores)
        for key, value in update.items():
            setattr(job, key, value)
        job.completed_at = final.completed_at

    async def _generate_all(
        self,
        job: Job,
        config: BenchmarkConfig,
        rows: list[dict[str, Any]],
        done: dict[int, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        generations = dict(done)
        candidate = config.eval_candidate
        progress = Every(_PROGRESS_EVERY_S)

        async def work(index: int) -> dict[str, Any]:
            return await generate(candidate, rows[index], self._apis)

        async def finished(index: int, generation: dict[str, Any]) -> None:
            await self._jobs.add_row(job.job_id, index, generation)
            generations[index] = generation
            job.completed_rows = len(generations)
            if progress():  # the rows are already stored
                await self._jobs.save(job)

        pending = [i for i in range(len(rows)) if i not in done]
        if self._on_ray(candidate):
            from llama_workbench.execution.rows import run_rows_on_ray

            assert self._models is not None and not isinstance(candidate, AgentCandidate)
            model = await self._models.retrieve(candidate.model)
            spec = candidate.model_dump(mode="json")
            items = [(i, {"candidate": spec, "row": rows[i]}) for i in pending]
            workers: set[str] = set()

            async def stored(index: int, generation: dict[str, Any]) -> None:
                job.workers = sorted(workers)
                await finished(index, generation)

            assert self._engine is not None
            handler = "llama_workbench.providers.inline.eval.builtin.candidates:answer_row"
            stack = self._engine.worker_stack([model])
            await run_rows_on_ray(self._engine, stack, handler, items, stored, workers)
        else:
            await run_items(pending, work, finished, self._config.max_concurrency)
        return [generations[i] for i in range(len(rows))]

    def _on_ray(self, candidate: Any) -> bool:
        """Model candidates run on Ray when the stack's engine is Ray; an agent candidate needs
        the whole stack (tools, vector stores) and runs in-process (its job says so)."""
        return (
            self._engine is not None
            and self._engine.is_ray
            and self._models is not None
            and not isinstance(candidate, AgentCandidate)
        )

    async def _score(
        self,
        rows: list[dict[str, Any]],
        generations: list[dict[str, Any]],
        functions: list[str],
        config: BenchmarkConfig,
    ) -> dict[str, Any]:
        scored = [{**row, **gen} for row, gen in zip(rows, generations, strict=True)]
        wanted = {fn: config.scoring_params.get(fn) for fn in functions}
        response = await self._apis.scoring.score(scored, wanted)
        return dict(response.results)

    async def _track(
        self,
        benchmark: Benchmark,
        job: Job,
        config: BenchmarkConfig,
        rows: list[dict[str, Any]],
        generations: list[dict[str, Any]],
        scores: dict[str, Any],
    ) -> str | None:
        if not self._config.mlflow.enabled or self._tracker is None:
            return None
        candidate = config.eval_candidate
        model = candidate.config.model if isinstance(candidate, AgentCandidate) else candidate.model
        params = {
            "benchmark_id": benchmark.identifier,
            "dataset_id": benchmark.dataset_id,
            "dataset_sha256": _digest(rows),
            "num_rows": len(rows),
            "candidate_type": candidate.type,
            "model": model,
            "scoring_functions": ",".join(benchmark.scoring_functions),
            "candidate": candidate.model_dump_json(exclude_none=True),
            "job_id": job.job_id,
            **self._engine_params(config),
        }
        metrics = self._tracker.flatten_metrics(
            {fn: result.aggregated_results for fn, result in scores.items()}
        )
        table = [
            {**row, **gen, **_row_scores(scores, i)}
            for i, (row, gen) in enumerate(zip(rows, generations, strict=True))
        ]
        return await asyncio.to_thread(
            self._tracker.log_run,
            self.tracking_uri,
            self._config.mlflow.experiment_name,
            f"{benchmark.identifier}:{job.job_id}",
            params,
            metrics,
            [{k: _cell(v) for k, v in r.items()} for r in table],
            {"llama_workbench.kind": "eval", "llama_workbench.benchmark": benchmark.identifier},
            self._data_dir / "mlartifacts",
        )

    def _engine_params(self, config: BenchmarkConfig) -> dict[str, Any]:
        if self._engine is None or not self._on_ray(config.eval_candidate):
            return {"execution_engine": "inprocess"}
        return self._engine.params()

    # -- reads

    async def job_status(self, benchmark_id: str, job_id: str) -> Job:
        await self._sweep()
        live = self._live.get(job_id)
        if live is not None and live.benchmark_id == benchmark_id:
            return live.model_copy()  # progress is written to the store only every 0.2 s
        return (await self._jobs.get(benchmark_id, job_id))[0]

    async def job_cancel(self, benchmark_id: str, job_id: str) -> None:
        await self._sweep()
        job, _, _ = await self._jobs.get(benchmark_id, job_id, "update")
        if job_id not in self._tasks and job.status in ("completed", "failed", "cancelled"):
            raise ConflictError(f"Eval job {job_id} is already {job.status}.")
        await self._tasks.cancel(job_id)

    async def job_result(self, benchmark_id: str, job_id: str) -> EvaluateResponse:
        await self._sweep()
        job, _, scores = await self._jobs.get(benchmark_id, job_id)
        if job.status != "completed":
            hint = f" ({job.error})" if job.error else ""
            raise ConflictError(
                f"Eval job {job_id} is {job.status}{hint}; results come when it completes."
            )
        rows = await self._jobs.rows(job_id)
        generations = [rows[i] for i in sorted(rows)]
        return EvaluateResponse.model_validate({"generations": generations, "scores": scores})

    async def list_jobs(self, benchmark_id: str | None = None) -> builtins.list[Job]:
        await self._sweep()
        return await self._jobs.list(benchmark_id)

    async def evaluate_rows(
        self,
        benchmark: Benchmark,
        input_rows: builtins.list[dict[str, Any]],
        scoring_functions: builtins.list[str],
        config: BenchmarkConfig,
    ) -> EvaluateResponse:
        rows = [eval_row(r) for r in input_rows]
        gate = asyncio.Semaphore(self._config.max_concurrency)

        async def one(row: dict[str, Any]) -> dict[str, Any]:
            async with gate:
                return await generate(config.eval_candidate, row, self._apis)

        generations = list(await asyncio.gather(*(one(r) for r in rows)))
        scores = await self._score(rows, generations, scoring_functions, config)
        return EvaluateResponse(generations=generations, scores=scores)

    async def _rows(self, benchmark: Benchmark, config: BenchmarkConfig) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        limit = config.num_examples
        while True:
            page = await self._apis.datasetio.iterrows(
                benchmark.dataset_id, start_index=len(rows), limit=_PAGE
            )
            rows.extend(page.data)
            if not page.has_more or (limit is not None and len(rows) >= limit):
                break
        rows = rows[:limit] if limit is not None else rows
        if not rows:
            raise BadRequestError(f"Dataset '{benchmark.dataset_id}' has no rows to evaluate.")
        return [eval_row(r) for r in rows]

    async def shutdown(self) -> None:
        await self._tasks.shutdown()


def _digest(rows: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


def _row_scores(scores: dict[str, Any], index: int) -> dict[str, Any]:
    out = {}
    for fn_id, result in scores.items():
        if index < len(result.score_rows):
            out[f"{fn_id}.score"] = result.score_rows[index].get("score")
    return out


def _cell(value: Any) -> Any:
    """Table cells MLflow can store: scalars stay, structures become JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, default=str)
