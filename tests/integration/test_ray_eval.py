"""Eval jobs on a real local Ray cluster: rows on Ray Data actors, each stored as it finishes."""

from __future__ import annotations

import collections
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import Stack
from llama_workbench.core.errors import EngineUnavailableError
from tests.support.ray_cluster import RayCluster
from tests.support.scripted_llm import ScriptedModelServer, Turn
from tests.support.stub_server import free_port
from tests.support.waiting import wait_until
from tests.unit.providers.test_eval_builtin import CANDIDATE, answer, config, finished

pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # Ray starts worker processes: seconds each on 2 cores


def ray_config(data_dir: Path, model: ScriptedModelServer, address: str) -> dict[str, Any]:
    return {
        **config(data_dir, model),
        "execution": {
            "engine": "ray",
            "address": address,
            "num_workers": 2,
            "resources_per_worker": {"CPU": 1},
            "connect_timeout_s": 60,
        },
    }


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        server.responder = answer()
        yield server


def slow_ocean(body: dict[str, Any]) -> Turn:
    """The last row takes 10 s: a job to cancel while that row is on a worker (the model server
    waits for it when it stops, so no longer than the resume takes)."""
    turn = answer()(body)
    turn.delay_s = 10.0 if "ocean" in body["messages"][-1]["content"] else 0.0
    return turn


def asked(model: ScriptedModelServer) -> collections.Counter[str]:
    return collections.Counter(r["messages"][-1]["content"] for r in model.requests)


def test_eval_job_on_ray_end_to_end_and_resume(
    ray_head: RayCluster, tmp_path: Path, model: ScriptedModelServer
) -> None:
    with Stack.from_config(ray_config(tmp_path, model, ray_head.address)) as stack:
        model.responder = slow_ocean
        job = stack.eval.run_eval("qa-bench", CANDIDATE)
        progress = lambda: stack.eval.job_status("qa-bench", job.job_id).completed_rows  # noqa: E731
        wait_until(lambda: progress() >= 2, limit_s=120)
        stack.eval.job_cancel("qa-bench", job.job_id)  # the 10 s row is still on its worker
        cancelled = stack.eval.job_status("qa-bench", job.job_id)
        kept = cancelled.completed_rows
        assert cancelled.status == "cancelled" and 2 <= kept < 4
        assert cancelled.engine == "ray" and cancelled.workers
        time.sleep(1.0)
        assert progress() == kept  # nothing is stored after a cancel

        model.responder = answer()
        before = asked(model)
        stack.eval.job_resume("qa-bench", job.job_id)
        wait_until(lambda: finished(stack, job.job_id), limit_s=120)
        status = stack.eval.job_status("qa-bench", job.job_id)
        assert status.status == "completed" and status.completed_rows == 4, status.error
        again = asked(model) - before
        # Only the rows not stored before the cancel are asked again, once each.
        assert sum(again.values()) == len(again) == 4 - kept
        result = stack.eval.job_result("qa-bench", job.job_id)
        answers = [g["generated_answer"] for g in result.generations]
        assert answers == ["Paris", "4", "blue", "Atlantic"]
        assert [r["score"] for r in result.scores["basic::equality"].score_rows] == [1, 1, 1, 0]

        from mlflow import MlflowClient

        run = MlflowClient(status.mlflow_tracking_uri).get_run(status.mlflow_run_id)
        assert run.data.params["execution_engine"] == "ray"
        assert run.data.params["execution_address"] == ray_head.address
        assert run.data.metrics["basic::equality/accuracy"] == 0.75


def test_a_worker_killed_mid_job_loses_no_row(
    ray_head: RayCluster, tmp_path: Path, model: ScriptedModelServer
) -> None:
    model.responder = answer(delay_s=0.4)
    with Stack.from_config(ray_config(tmp_path, model, ray_head.address)) as stack:
        job = stack.eval.run_eval("qa-bench", CANDIDATE)
        progress = lambda: stack.eval.job_status("qa-bench", job.job_id).completed_rows  # noqa: E731
        wait_until(lambda: progress() >= 1, limit_s=120)
        # A worker of this job running a row (an earlier job's actors may still be exiting).
        wait_until(lambda: _running_rows(ray_head), limit_s=30)
        os.kill(_running_rows(ray_head)[0], signal.SIGKILL)
        kept = progress()  # stored before the kill: never asked again
        wait_until(lambda: finished(stack, job.job_id), limit_s=120)
        status = stack.eval.job_status("qa-bench", job.job_id)
        assert status.status == "completed" and status.completed_rows == 4, status.error
        result = stack.eval.job_result("qa-bench", job.job_id)
        assert [g["generated_answer"] for g in result.generations] == [
            "Paris",
            "4",
            "blue",
            "Atlantic",
        ]
        # Every row stored once; only rows not stored when the worker died are asked again
        # (its row, and those in flight or not yet handed back when its pool failed), once.
        counts = asked(model)
        assert set(counts) == {r["input_query"] for r in _rows()}
        assert set(counts.values()) <= {1, 2}
        assert sum(counts.values()) - 4 <= 4 - kept


def _running_rows(cluster: RayCluster) -> list[int]:
    """Pids of RowWorker actors in the middle of a row (their title names the method)."""
    running = []
    for pid in cluster.worker_pids("RowWorker"):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if ".submit" in title:
            running.append(pid)
    return running


def test_an_unreachable_cluster_is_one_clear_error(
    tmp_path: Path, model: ScriptedModelServer
) -> None:
    from llama_workbench.execution.engine import disconnect

    disconnect()  # one process reaches one cluster: leave the session's (the next job rejoins)
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    with Stack.from_config(ray_config(tmp_path, model, address)) as stack:
        started = time.monotonic()
        with pytest.raises(EngineUnavailableError) as caught:
            stack.eval.run_eval("qa-bench", CANDIDATE)
        assert time.monotonic() - started < 15
        message = str(caught.value)
        assert address in message and "TCP connection" in message and "ray start" in message
        assert stack.eval.list_jobs("qa-bench") == []  # no job was created for it


def _rows() -> list[dict[str, Any]]:
    from tests.unit.providers.test_eval_builtin import ROWS

    return ROWS


def test_a_batch_on_ray_writes_every_line_once(ray_head: RayCluster, tmp_path: Path) -> None:
    from tests.support.batches import batch_config, chat_lines, jsonl, parse_jsonl

    with ScriptedModelServer() as server:
        config = batch_config(tmp_path, [server.provider_config()])
        config["execution"] = {"engine": "ray", "address": ray_head.address, "num_workers": 2}
        with Stack.from_config(config) as stack:
            lines = chat_lines("scripted/scripted-model", ["a", "b", "c"], max_tokens=5)
            lines.append(
                {
                    **lines[0],
                    "custom_id": "bad",
                    "body": {"model": "scripted/scripted-model", "messages": [{"x": 1}]},
                }
            )
            uploaded = stack.files.upload_file(jsonl(lines), "batch", "input.jsonl")
            batch = stack.batches.create_batch(
                input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            wait_until(
                lambda: stack.batches.retrieve_batch(batch.id).status == "completed", limit_s=120
            )
            done = stack.batches.retrieve_batch(batch.id)
            assert done.request_counts is not None
            assert done.request_counts.model_dump() == {"total": 4, "completed": 3, "failed": 1}
            output = parse_jsonl(stack.files.retrieve_file_content(done.output_file_id))
            assert sorted(o["custom_id"] for o in output) == ["r0", "r1", "r2"]
            assert (
                '"content":"echo: a"'
                in next(o for o in output if o["custom_id"] == "r0")["response"]["body"]
            )
            from llama_workbench.execution.engine import stack_engine_info
            from llama_workbench.jupyter.widgets import StackInspector

            info = stack_engine_info(stack)  # what %llama status prints
            assert info.connected and info.nodes == 1 and info.cpus_total == 2
            assert info.line().startswith(f"ray at {ray_head.address}: 1 node, CPUs ")
            assert StackInspector(stack).engine == info.line()
            (error,) = parse_jsonl(stack.files.retrieve_file_content(done.error_file_id))
            assert error["custom_id"] == "bad" and "messages" in error["error"]["message"]
        assert len(server.requests) == 3  # each valid line asked once


def test_eval_on_ray_with_the_real_smollm2(
    ray_head: RayCluster, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The bundled SmolLM2 loaded once by a Ray actor (inline::transformers), 2 rows: the same
    answers as the driver's own copy of the model gives in-process."""
    from tests.support.finetune import BASE, models_cache

    models = models_cache(request, tmp_path / "models")
    rows = _rows()[:2]
    config: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "apis": ["inference", "datasetio", "scoring", "eval"],
        "providers": {
            "inference": [
                {
                    "provider_id": "transformers",
                    "provider_type": "inline::transformers",
                    "config": {"cache_dir": str(models), "engine": "transformers"},
                }
            ],
            "datasetio": [{"provider_id": "localfs", "provider_type": "inline::localfs"}],
            "scoring": [{"provider_id": "basic", "provider_type": "inline::basic"}],
            "eval": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
        },
        "registered_resources": {
            "datasets": [
                {"dataset_id": "qa", "purpose": "eval/question-answer", "source": {"rows": rows}}
            ],
            "benchmarks": [
                {
                    "benchmark_id": "qa-bench",
                    "dataset_id": "qa",
                    "scoring_functions": ["basic::subset_of"],
                }
            ],
        },
        "execution": {
            "engine": "ray",
            "address": ray_head.address,
            "num_workers": 1,  # one actor, one copy of the model
            "connect_timeout_s": 60,
        },
    }
    candidate = {
        "eval_candidate": {"type": "model", "model": BASE, "sampling_params": {"max_tokens": 16}}
    }
    with Stack.from_config(config) as stack:
        job = stack.eval.run_eval("qa-bench", candidate)
        wait_until(lambda: finished(stack, job.job_id), limit_s=240)
        status = stack.eval.job_status("qa-bench", job.job_id)
        assert status.status == "completed" and status.completed_rows == 2, status.error
        assert status.engine == "ray" and len(status.workers) == 1
        result = stack.eval.job_result("qa-bench", job.job_id)
        answers = [g["generated_answer"] for g in result.generations]
        here = [
            stack.inference.chat_completion(
                model=BASE,
                messages=[{"role": "user", "content": row["input_query"]}],
                max_tokens=16,
                temperature=0,
            )
            .choices[0]
            .message.content
            for row in rows
        ]
        assert answers == here and all(answers), (answers, here)
        assert "Paris" in answers[0]
