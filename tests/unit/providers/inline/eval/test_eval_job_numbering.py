"""Eval job ids: numbered "0", "1", ... as Llama Stack 0.7.3, unique over a persisted store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from llama_workbench.apis.eval.models import BenchmarkConfig, Job
from llama_workbench.providers.inline.eval.builtin.jobs import JobStore
from llama_workbench.storage.config import SqlStoreRef, StorageConfig
from llama_workbench.storage.manager import StorageManager

CONFIG = BenchmarkConfig.model_validate(
    {"eval_candidate": {"type": "model", "model": "m", "sampling_params": {}}}
)
REF = SqlStoreRef(backend="sql_default", table_name="eval_jobs")


def _job(benchmark_id: str) -> Callable[[str], Job]:
    def make(job_id: str) -> Job:
        return Job(job_id=job_id, status="scheduled", benchmark_id=benchmark_id)

    return make


async def test_ids_count_across_benchmarks_concurrent_calls_and_reopening(tmp_path: Path) -> None:
    store = JobStore(StorageManager(StorageConfig(), tmp_path), REF)
    # An id of the older random scheme is kept and not counted.
    await store.create(Job(job_id="evaljob-0123456789ab", status="completed"), CONFIG)
    made = await asyncio.gather(
        *(store.create_numbered(_job(f"b{i % 2}"), CONFIG) for i in range(5))
    )
    assert sorted(j.job_id for j in made) == ["0", "1", "2", "3", "4"]
    reopened = JobStore(StorageManager(StorageConfig(), tmp_path), REF)
    assert (await reopened.create_numbered(_job("b0"), CONFIG)).job_id == "5"
    assert (await reopened.get("b1", "1"))[0].benchmark_id == "b1"
