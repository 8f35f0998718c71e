"""An eval job end to end on the real bundled SmolLM2: real generations, real scores, an MLflow run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llama_workbench import Stack
from tests.support.waiting import wait_for

LLM = "transformers/HuggingFaceTB/SmolLM2-135M-Instruct"
QA = [
    {"question": "What is the capital of France?", "answer": "Paris"},
    {"question": "What color is the sky on a clear day?", "answer": "blue"},
    {"question": "How many legs does a spider have?", "answer": "eight"},
]


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    mp = pytest.MonkeyPatch()
    mp.setenv("LLAMA_WORKBENCH_DATA_DIR", str(tmp_path_factory.mktemp("eval")))
    with Stack.from_distribution("starter") as stack:
        yield stack
    mp.undo()


def test_eval_job_with_the_inline_model(starter: Stack) -> None:
    starter.datasets.register(
        purpose="eval/question-answer", source={"type": "rows", "rows": QA}, dataset_id="tiny-qa"
    )
    starter.benchmarks.register(
        benchmark_id="tiny",
        dataset_id="tiny-qa",
        scoring_functions=["basic::subset_of", "basic::equality"],
    )
    config = {
        "eval_candidate": {
            "type": "model",
            "model": LLM,
            "sampling_params": {"max_tokens": 24},
            "system_message": {"content": "Answer in a few words."},
        }
    }
    job = starter.eval.run_eval("tiny", config)
    status = wait_for(
        lambda: starter.eval.job_status("tiny", job.job_id),
        lambda s: s.status not in ("scheduled", "in_progress"),
        240,
    )
    assert status.status == "completed", status.error
    result = starter.eval.job_result("tiny", job.job_id)
    answers = [g["generated_answer"] for g in result.generations]
    assert all(a.strip() for a in answers) and "Paris" in answers[0]
    subset = result.scores["basic::subset_of"]
    expected = [
        1.0 if row["answer"].lower() in a.lower() else 0.0
        for row, a in zip(QA, answers, strict=True)
    ]
    assert [r["score"] for r in subset.score_rows] == expected

    from mlflow import MlflowClient

    run = MlflowClient(status.mlflow_tracking_uri).get_run(status.mlflow_run_id)
    for fn_id, scored in result.scores.items():
        # Nested per aggregation function, as Llama Stack 0.7.3: {"accuracy": {"accuracy": ...}}.
        accuracy = scored.aggregated_results["accuracy"]["accuracy"]
        assert run.data.metrics[f"{fn_id}/accuracy"] == accuracy
    assert run.data.params["model"] == LLM and run.data.params["benchmark_id"] == "tiny"
