"""inline::builtin eval: jobs end to end with MLflow, cancel and resume, a killed process, agents."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import BadRequestError, ConflictError, NotFoundError, Stack
from tests.support.scripted_llm import ScriptedModelServer, Turn
from tests.support.waiting import wait_until

MODEL = "scripted/scripted-model"
ANSWERS = {
    "capital of France": "Paris",
    "2 + 2": "4",
    "color of the sky": "blue",
    "largest ocean": "Atlantic",
}
ROWS = [
    {"input_query": "What is the capital of France?", "expected_answer": "Paris"},
    {"input_query": "What is 2 + 2?", "expected_answer": "4"},
    {"input_query": "What is the color of the sky?", "expected_answer": "blue"},
    {"input_query": "What is the largest ocean?", "expected_answer": "Pacific"},
]
CANDIDATE = {"eval_candidate": {"type": "model", "model": MODEL}}


def answer(delay_s: float = 0.0, slow: tuple[str, ...] = ()) -> Callable[[dict[str, Any]], Turn]:
    """Answers by question; questions naming a `slow` key take 3 s (a job to cancel mid-way)."""

    def respond(body: dict[str, Any]) -> Turn:
        question = body["messages"][-1]["content"]
        text = next((a for key, a in ANSWERS.items() if key in question), "unknown")
        pause = 3.0 if any(key in question for key in slow) else delay_s
        return Turn(text=text, delay_s=pause)

    return respond


def config(data_dir: Path, model: ScriptedModelServer, concurrency: int = 2) -> dict[str, Any]:
    return {
        "data_dir": str(data_dir),
        "apis": ["inference", "datasetio", "scoring", "eval", "responses"],
        "providers": {
            "inference": [model.provider_config()],
            "datasetio": [{"provider_id": "localfs", "provider_type": "inline::localfs"}],
            "scoring": [{"provider_id": "basic", "provider_type": "inline::basic"}],
            "eval": [
                {
                    "provider_id": "builtin",
                    "provider_type": "inline::builtin",
                    "config": {"max_concurrency": concurrency},
                }
            ],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
        },
        "registered_resources": {
            "datasets": [
                {
                    "dataset_id": "qa",
                    "purpose": "eval/question-answer",
                    "source": {"type": "rows", "rows": ROWS},
                }
            ],
            "benchmarks": [
                {
                    "benchmark_id": "qa-bench",
                    "dataset_id": "qa",
                    "scoring_functions": ["basic::equality", "basic::subset_of"],
                }
            ],
        },
    }


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        server.responder = answer()
        yield server


@pytest.fixture
def stack(tmp_path: Path, model: ScriptedModelServer) -> Iterator[Stack]:
    with Stack.from_config(config(tmp_path, model)) as built:
        yield built


def finished(stack: Stack, job_id: str) -> bool:
    return stack.eval.job_status("qa-bench", job_id).status in ("completed", "failed", "cancelled")


def test_job_end_to_end_with_an_mlflow_run(stack: Stack) -> None:
    job = stack.eval.run_eval("qa-bench", CANDIDATE)
    assert job.status == "scheduled" and job.total_rows == 4
    wait_until(lambda: finished(stack, job.job_id))
    status = stack.eval.job_status("qa-bench", job.job_id)
    assert status.status == "completed" and status.completed_rows == 4, status.error
    result = stack.eval.job_result("qa-bench", job.job_id)
    assert [g["generated_answer"] for g in result.generations] == ["Paris", "4", "blue", "Atlantic"]
    equality = result.scores["basic::equality"]
    assert [r["score"] for r in equality.score_rows] == [1.0, 1.0, 1.0, 0.0]
    assert equality.aggregated_results == {
        "accuracy": {"accuracy": 0.75, "num_correct": 3, "num_total": 4}
    }

    from mlflow import MlflowClient

    run = MlflowClient(status.mlflow_tracking_uri).get_run(status.mlflow_run_id)
    assert run.data.metrics["basic::equality/accuracy"] == 0.75
    assert run.data.params["model"] == MODEL and run.data.params["num_rows"] == "4"
    assert status.mlflow_tracking_uri == f"sqlite:///{(stack.data_dir / 'mlflow.db').resolve()}"
    assert [j.job_id for j in stack.eval.list_jobs("qa-bench")] == [job.job_id]


def test_evaluate_rows_and_num_examples(stack: Stack, model: ScriptedModelServer) -> None:
    quick = stack.eval.evaluate_rows(
        "qa-bench",
        input_rows=[{"question": "What is 2 + 2?", "answer": "4"}],
        scoring_functions=["basic::equality"],
        benchmark_config={
            **CANDIDATE,
            "eval_candidate": {
                **CANDIDATE["eval_candidate"],
                "system_message": {"content": "Answer in one word."},
                "sampling_params": {"max_tokens": 8},
            },
        },
    )
    assert quick.generations == [{"generated_answer": "4"}]
    assert quick.scores["basic::equality"].score_rows[0]["score"] == 1.0
    sent = model.requests[-1]
    assert sent["messages"][0] == {"role": "system", "content": "Answer in one word."}
    assert sent["temperature"] == 0.0 and sent["max_tokens"] == 8
    job = stack.eval.run_eval("qa-bench", {**CANDIDATE, "num_examples": 2})
    wait_until(lambda: finished(stack, job.job_id))
    assert len(stack.eval.job_result("qa-bench", job.job_id).generations) == 2


def test_cancel_keeps_rows_and_resume_finishes(stack: Stack, model: ScriptedModelServer) -> None:
    model.responder = answer(slow=("largest ocean",))
    job = stack.eval.run_eval("qa-bench", CANDIDATE)
    wait_until(lambda: stack.eval.job_status("qa-bench", job.job_id).completed_rows >= 3)
    stack.eval.job_cancel("qa-bench", job.job_id)
    cancelled = stack.eval.job_status("qa-bench", job.job_id)
    assert cancelled.status == "cancelled" and cancelled.completed_rows == 3
    with pytest.raises(ConflictError, match="cancelled"):
        stack.eval.job_result("qa-bench", job.job_id)
    asked = len(model.requests)
    model.responder = answer()
    stack.eval.job_resume("qa-bench", job.job_id)
    wait_until(lambda: finished(stack, job.job_id))
    assert stack.eval.job_status("qa-bench", job.job_id).status == "completed"
    assert len(model.requests) - asked == 4 - cancelled.completed_rows  # finished rows not redone
    with pytest.raises(ConflictError, match="completed"):
        stack.eval.job_resume("qa-bench", job.job_id)


_KILLED_JOB = """
import json, sys, threading
from llama_workbench import Stack
stack = Stack.from_config(json.loads(sys.argv[1]))
job = stack.eval.run_eval("qa-bench", {"eval_candidate": {"type": "model", "model": "%s"}})
while stack.eval.job_status("qa-bench", job.job_id).completed_rows < 1:
    threading.Event().wait(0.05)
print(job.job_id, flush=True)
threading.Event().wait(600)
"""


def test_a_killed_process_leaves_a_failed_job_that_resumes(
    tmp_path: Path, model: ScriptedModelServer
) -> None:
    model.responder = answer(delay_s=0.5)
    cfg = config(tmp_path, model, concurrency=1)
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_JOB % MODEL, json.dumps(cfg)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
    )
    try:
        assert proc.stdout is not None
        job_id = proc.stdout.readline().strip()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert job_id == "0"  # numbered from "0" as Llama Stack 0.7.3 numbers eval jobs
    model.responder = answer()
    with Stack.from_config(cfg) as stack:
        failed = stack.eval.job_status("qa-bench", job_id)
        assert failed.status == "failed" and "interrupted" in (failed.error or "")
        assert 1 <= failed.completed_rows < 4
        stack.eval.job_resume("qa-bench", job_id)
        wait_until(lambda: finished(stack, job_id))
        result = stack.eval.job_result("qa-bench", job_id)
        # The numbering continues from the persisted jobs: ids stay unique across restarts.
        again = stack.eval.run_eval("qa-bench", CANDIDATE)
        assert again.job_id == "1"
        wait_until(lambda: finished(stack, again.job_id))
    assert [g["generated_answer"] for g in result.generations] == ["Paris", "4", "blue", "Atlantic"]


def test_agent_candidate(stack: Stack) -> None:
    job = stack.eval.run_eval(
        "qa-bench",
        {
            "eval_candidate": {
                "type": "agent",
                "config": {"model": MODEL, "instructions": "Be brief."},
            },
            "num_examples": 1,
        },
    )
    wait_until(lambda: finished(stack, job.job_id))
    result = stack.eval.job_result("qa-bench", job.job_id)
    assert result.generations[0]["generated_answer"] == "Paris"


def test_errors(stack: Stack) -> None:
    with pytest.raises(NotFoundError, match="qa-bench"):
        stack.eval.run_eval("nope", CANDIDATE)
    with pytest.raises(BadRequestError, match="eval_candidate"):
        stack.eval.run_eval("qa-bench", {"eval_candidate": {"type": "model"}})
    with pytest.raises(NotFoundError):
        stack.benchmarks.register(
            benchmark_id="b2", dataset_id="missing", scoring_functions=["basic::equality"]
        )
    with pytest.raises(NotFoundError):
        stack.benchmarks.register(benchmark_id="b2", dataset_id="qa", scoring_functions=["nope"])
    with pytest.raises(NotFoundError, match="evaljob"):
        stack.eval.job_status("qa-bench", "evaljob-missing")


def test_over_http_a_short_job_answers_completed_a_long_one_in_progress(
    tmp_path: Path, model: ScriptedModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POST .../jobs answers once the job has run, as Llama Stack 0.7.3 does, up to
    RUN_EVAL_WAIT_S; past that it answers in_progress and the job goes on."""
    import httpx

    from llama_workbench.apis.eval import routes
    from llama_workbench.server.runner import start_server
    from tests.support.stub_server import free_port

    url = "/v1alpha/eval/benchmarks/qa-bench/jobs"
    body = {"benchmark_config": CANDIDATE}
    with (
        Stack.from_config(config(tmp_path, model)) as stack,
        start_server(stack, port=free_port()) as running,
    ):
        quick = httpx.post(running.url + url, json=body, timeout=120).raise_for_status()
        assert quick.json()["status"] == "completed"
        model.responder = answer(slow=("capital of France",))
        monkeypatch.setattr(routes, "RUN_EVAL_WAIT_S", 0.2)
        slow = httpx.post(running.url + url, json=body, timeout=120).raise_for_status()
        assert slow.json()["status"] == "in_progress"
        wait_until(lambda: finished(stack, slow.json()["job_id"]))
