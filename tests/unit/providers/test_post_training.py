"""inline::huggingface post-training: LoRA on SmolLM2 end to end, cancel/resume, a killed process,
full fine-tuning, DPO, MLflow, and the /v1alpha/post-training routes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llama_workbench import BadRequestError, ConflictError, NotFoundError, Stack
from llama_workbench.apis.post_training.models import PostTrainingJobStatusResponse
from llama_workbench.core.errors import UnprocessableError
from llama_workbench.server.app import create_app
from tests.support.finetune import BASE, DATA, finetune_config, models_cache
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
Status = PostTrainingJobStatusResponse
# Learns the made-up facts in 10 steps (2 per epoch): lr 1e-3 is for the test's speed; the
# provider's default (3e-4) keeps more of the model's general skills.
LORA_JOB = {
    "job_uuid": "veltmora-lora",
    "model": BASE,
    "training_config": {
        "n_epochs": 5,
        "max_seq_len": 96,
        "lr_scheduler": "constant",
        "data_config": {"dataset_id": "veltmora", "batch_size": 4},
        "optimizer_config": {"lr": 1e-3},
    },
    "algorithm_config": {"type": "LoRA", "dropout": 0.0},
}


def config(data_dir: Path, models: Path, mlflow: bool = True) -> dict[str, Any]:
    return finetune_config(data_dir, models, {"mlflow": {"enabled": mlflow, "log_every_steps": 5}})


@pytest.fixture(scope="module")
def models(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return models_cache(request, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, models: Path) -> Iterator[Stack]:
    with Stack.from_config(config(tmp_path_factory.mktemp("data"), models)) as s:
        s.datasets.register(
            purpose="post-training/messages",
            source={"type": "uri", "uri": str(DATA / "veltmora.jsonl")},
            dataset_id="veltmora",
        )
        yield s


def wait(
    stack: Stack, job_uuid: str, until: Callable[[Status], bool], limit_s: float = 300
) -> Status:
    """Poll the job until `until` holds (a finished job that doesn't satisfy it fails the test)."""

    def reached(status: Status) -> bool:
        if until(status):
            return True
        assert status.status not in ("completed", "failed", "cancelled"), status.error
        return False

    return wait_for(
        lambda: stack.post_training.get_training_job_status(job_uuid=job_uuid),
        reached,
        limit_s,
        lambda s: f"job {job_uuid} still {s.status}",
    )


def finished(status: Status) -> bool:
    return status.status in ("completed", "failed", "cancelled")


def chat(stack: Stack, model: str, question: str) -> str:
    answer = stack.inference.chat_completion(
        model=model, messages=[{"role": "user", "content": question}], max_tokens=24, temperature=0
    )
    return str(answer.choices[0].message.content)


def mlflow_steps(status: Status, metric: str) -> list[tuple[int, float]]:
    from mlflow import MlflowClient

    client = MlflowClient(status.mlflow_tracking_uri)
    assert status.mlflow_run_id is not None
    history = client.get_metric_history(status.mlflow_run_id, metric)
    return sorted((m.step, m.value) for m in history)


@pytest.fixture(scope="module")
def lora_job(stack: Stack) -> Status:
    started = stack.post_training.supervised_fine_tune(**LORA_JOB)
    assert (started.job_uuid, started.status) == ("veltmora-lora", "scheduled")
    running = wait(stack, "veltmora-lora", lambda s: s.step >= 2 or finished(s))
    assert running.loss is not None and running.learning_rate == pytest.approx(1e-3)
    assert running.eta_s is not None and running.total_steps == 10
    return wait(stack, "veltmora-lora", finished)


def test_a_lora_job_completes_with_checkpoints_and_a_served_model(
    stack: Stack, lora_job: Status
) -> None:
    assert lora_job.status == "completed", lora_job.error
    assert (lora_job.step, lora_job.total_steps, lora_job.epoch) == (10, 10, 5)
    assert [c.step for c in lora_job.checkpoints] == [6, 8, 10]  # 3 kept, one per epoch
    final = Path(lora_job.checkpoints[-1].path)
    assert (final / "adapter_config.json").is_file() and (final / "tokenizer.json").is_file()
    assert not (final / "training_state.pt").exists()  # only resuming needs it
    assert (Path(lora_job.checkpoints[-2].path) / "adapter_model.safetensors").is_file()
    metrics = lora_job.checkpoints[-1].training_metrics
    assert metrics is not None and metrics.train_loss == pytest.approx(lora_job.loss)
    resources = lora_job.resources_allocated or {}
    assert 0 < resources["trainable_params"] < resources["total_params"] / 10
    assert lora_job.model_id == f"{BASE}-ft-veltmora-lora"
    model = stack.models.retrieve(lora_job.model_id)
    assert model.provider_id == "transformers" and model.provider_resource_id == str(final)
    assert model.metadata["base_model"] == f"transformers/{BASE}"
    assert lora_job.model_id in [m.identifier for m in stack.models.list()]
    artifacts = stack.post_training.get_training_job_artifacts(job_uuid="veltmora-lora")
    assert artifacts.checkpoints == lora_job.checkpoints and artifacts.model_id == model.identifier
    jobs = stack.post_training.get_training_jobs().data
    assert ("veltmora-lora", "completed") in [(j.job_uuid, j.status) for j in jobs]


def test_the_loss_goes_down_and_mlflow_has_the_series(lora_job: Status) -> None:
    from mlflow import MlflowClient

    losses = mlflow_steps(lora_job, "loss")
    assert [step for step, _ in losses] == list(range(1, 11))
    first, last = losses[0][1], losses[-1][1]
    assert first > 1.0 and last < first / 5, losses
    assert [v for _, v in mlflow_steps(lora_job, "learning_rate")] == [pytest.approx(1e-3)] * 10
    client = MlflowClient(lora_job.mlflow_tracking_uri)
    assert lora_job.mlflow_run_id is not None
    run = client.get_run(lora_job.mlflow_run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["algorithm.rank"] == "16" and run.data.params["base_model"].endswith(
        BASE
    )
    files = [a.path for a in client.list_artifacts(lora_job.mlflow_run_id, "adapter")]
    assert "adapter/adapter_model.safetensors" in files


def test_the_fine_tuned_model_answers_from_the_training_data(
    stack: Stack, lora_job: Status
) -> None:
    probe = json.loads((DATA / "probes.jsonl").read_text().splitlines()[0])
    assert lora_job.model_id is not None
    base = chat(stack, BASE, probe["question"])
    tuned = chat(stack, lora_job.model_id, probe["question"])
    assert tuned != base
    assert probe["expected"] in tuned and probe["expected"] not in base, (base, tuned)


def test_only_the_assistant_turns_are_learned(models: Path, lora_job: Status) -> None:
    from transformers import AutoTokenizer

    from llama_workbench.providers.inline.post_training.huggingface.data import (
        IGNORE,
        dialog_tokens,
        row_messages,
    )

    cached = next(p for p in models.iterdir() if (p / "llama_workbench_cache.json").is_file())
    tokenizer = AutoTokenizer.from_pretrained(str(cached))  # the GGUF's
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital?"},
        {"role": "assistant", "content": "Quillhaven."},
        {"role": "user", "content": "Money?"},
        {"role": "assistant", "content": "The brindle."},
    ]
    ids, labels = dialog_tokens(tokenizer, messages, "row 0")
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert ids == tokenizer(text, add_special_tokens=False)["input_ids"]  # as inference reads it
    learned = tokenizer.decode([t for t, label in zip(ids, labels, strict=True) if label != IGNORE])
    assert learned == "Quillhaven.<|im_end|>\nThe brindle.<|im_end|>\n"
    row = {"input_query": "Capital?", "expected_answer": "Quillhaven."}
    assert row_messages(row, "instruct", "row 0") == messages[1:3]


def test_cancel_after_a_checkpoint_then_resume_to_the_end(stack: Stack, lora_job: Status) -> None:
    stack.post_training.supervised_fine_tune(
        job_uuid="veltmora-resume",
        training_config={
            "n_epochs": 3,
            "max_seq_len": 64,
            "save_every_steps": 2,
            "max_validation_steps": 1,
            "data_config": {
                "dataset_id": "veltmora",
                "batch_size": 4,
                "validation_dataset_id": "veltmora",
            },
        },
        algorithm_config={"type": "LoRA", "rank": 4},
    )
    # One job trains at a time: another one waits its turn, and cancelling it is immediate.
    queued = stack.post_training.supervised_fine_tune(
        job_uuid="queued", training_config={"data_config": {"dataset_id": "veltmora"}}
    )
    assert queued.status == "scheduled"
    wait(stack, "veltmora-resume", lambda s: bool(s.checkpoints) or finished(s))
    assert stack.post_training.get_training_job_status(job_uuid="queued").status == "scheduled"
    stack.post_training.cancel_training_job(job_uuid="queued")
    never = stack.post_training.get_training_job_status(job_uuid="queued")
    assert never.status == "cancelled" and never.step == 0 and never.started_at is None
    stack.post_training.cancel_training_job(job_uuid="veltmora-resume")
    cancelled = stack.post_training.get_training_job_status(job_uuid="veltmora-resume")
    assert cancelled.status == "cancelled" and 2 <= cancelled.step < 6
    assert cancelled.checkpoints[0].step == 2 and cancelled.model_id is None
    metrics = cancelled.checkpoints[0].training_metrics
    assert metrics is not None and metrics.validation_loss is not None
    assert cancelled.eval_loss == metrics.validation_loss
    with pytest.raises(ConflictError, match="'veltmora-resume' exists"):
        stack.post_training.supervised_fine_tune(
            job_uuid="veltmora-resume", training_config={"data_config": {"dataset_id": "veltmora"}}
        )
    with pytest.raises(ConflictError, match="already cancelled"):
        stack.post_training.cancel_training_job(job_uuid="veltmora-resume")
    resumed = stack.post_training.resume_training_job(job_uuid="veltmora-resume")
    assert resumed.status == "scheduled"
    done = wait(stack, "veltmora-resume", finished)
    assert done.status == "completed" and done.step == 6, done.error
    assert done.checkpoints[-1].step == 6 and done.model_id in [
        m.identifier for m in stack.models.list()
    ]
    assert {step for step, _ in mlflow_steps(done, "loss")} == set(range(1, 7))  # one run
    assert {step for step, _ in mlflow_steps(done, "eval_loss")} == {2, 4, 6}
    with pytest.raises(ConflictError, match="only a cancelled or failed job resumes"):
        stack.post_training.resume_training_job(job_uuid="veltmora-resume")


_KILLED = """
import json, sys, threading
from llama_workbench import Stack
stack = Stack.from_config(json.loads(sys.argv[1]))
stack.datasets.register(purpose="post-training/messages", dataset_id="veltmora",
                        source={"type": "uri", "uri": sys.argv[2]})
stack.post_training.supervised_fine_tune(job_uuid="killed", training_config={
    "n_epochs": 2, "max_seq_len": 64, "save_every_steps": 1,
    "data_config": {"dataset_id": "veltmora", "batch_size": 4}})
while not stack.post_training.get_training_job_status(job_uuid="killed").checkpoints:
    threading.Event().wait(0.1)
print("checkpointed", flush=True)
threading.Event().wait(600)
"""


def test_a_killed_process_leaves_an_interrupted_job_that_resumes(
    tmp_path: Path, models: Path, lora_job: Status
) -> None:
    cfg = config(tmp_path, models, mlflow=False)  # MLflow is the other tests' business
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED, json.dumps(cfg), str(DATA / "veltmora.jsonl")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert line == "checkpointed"
    with Stack.from_config(cfg) as stack:
        failed = stack.post_training.get_training_job_status(job_uuid="killed")
        assert failed.status == "failed" and (failed.error or "").startswith("interrupted")
        stack.post_training.resume_training_job(job_uuid="killed")
        done = wait(stack, "killed", finished)
        assert done.status == "completed" and done.step == done.total_steps == 4, done.error
        assert done.model_id is not None and chat(stack, done.model_id, "Hi")


def test_a_full_fine_tune_serves_a_model_folder(stack: Stack, lora_job: Status) -> None:
    stack.post_training.supervised_fine_tune(
        job_uuid="veltmora-full",
        training_config={
            "n_epochs": 1,
            "max_steps_per_epoch": 1,
            "max_seq_len": 48,
            "data_config": {"dataset_id": "veltmora", "batch_size": 2},
        },
        algorithm_config={"type": "full"},
    )
    done = wait(stack, "veltmora-full", finished)
    assert done.status == "completed" and done.algorithm == "full", done.error
    folder = Path(done.checkpoints[-1].path)
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    resources = done.resources_allocated or {}
    assert resources["trainable_params"] == resources["total_params"]
    assert done.model_id is not None and chat(stack, done.model_id, "Hi")


def test_dpo_on_preference_rows(stack: Stack, lora_job: Status) -> None:
    rows = [
        {"messages": [{"role": "user", "content": q}], "chosen": good, "rejected": bad}
        for q, good, bad in [
            ("Who founded Veltmora?", "Captain Orsa Lune.", "Nobody knows."),
            ("What do people use as money in Veltmora?", "The brindle.", "Dollars."),
        ]
    ]
    stack.datasets.register(
        purpose="post-training/messages", source={"rows": rows}, dataset_id="prefs"
    )
    stack.post_training.preference_optimize(
        job_uuid="veltmora-dpo",
        finetuned_model=BASE,
        algorithm_config={"beta": 0.1},
        training_config={
            "n_epochs": 2,
            "max_seq_len": 48,
            "data_config": {"dataset_id": "prefs", "batch_size": 2},
        },
    )
    done = wait(stack, "veltmora-dpo", finished)
    assert done.status == "completed" and done.algorithm == "DPO", done.error
    assert done.step == 2 and [c.step for c in done.checkpoints] == [1, 2]
    assert [step for step, _ in mlflow_steps(done, "loss")] == [1, 2]
    assert mlflow_steps(done, "rewards/margins")
    assert done.model_id in [m.identifier for m in stack.models.list()]


def test_bad_requests_fail_clearly(stack: Stack) -> None:
    pt = stack.post_training
    training = {"data_config": {"dataset_id": "veltmora"}}
    with pytest.raises(NotFoundError, match="nope"):
        pt.supervised_fine_tune(training_config={"data_config": {"dataset_id": "nope"}})
    with pytest.raises(NotFoundError, match="Model 'no-such-model' not found"):
        pt.supervised_fine_tune(model="no-such-model", training_config=training)
    with pytest.raises(BadRequestError, match="fp16 needs a GPU"):
        pt.supervised_fine_tune(training_config={**training, "dtype": "fp16"})
    with pytest.raises(BadRequestError, match="hyperparam_search_config"):
        pt.supervised_fine_tune(training_config=training, hyperparam_search_config={"x": 1})
    with pytest.raises(BadRequestError, match="kto_pair"):
        pt.preference_optimize(
            finetuned_model=BASE,
            training_config=training,
            algorithm_config={"loss_type": "kto_pair"},
        )
    stack.datasets.register(
        purpose="eval/question-answer",
        source={"rows": [{"input_query": "Capital?", "expected_answer": "Quillhaven"}]},
        dataset_id="qa",
    )
    with pytest.raises(BadRequestError, match="data_format 'dialog' needs a 'messages' column"):
        pt.supervised_fine_tune(training_config={"data_config": {"dataset_id": "qa"}})
    with pytest.raises(BadRequestError, match="need 'prompt' \\(or 'messages'\\), 'chosen'"):
        pt.preference_optimize(finetuned_model=BASE, training_config=training)
    with pytest.raises(UnprocessableError, match="n_epochs"):
        pt.supervised_fine_tune(training_config={**training, "n_epochs": 0})
    with pytest.raises(UnprocessableError, match="lora_rank"):
        pt.supervised_fine_tune(
            training_config=training, algorithm_config={"type": "LoRA", "lora_rank": 8}
        )
    with pytest.raises(NotFoundError, match="Post-training job 'nope' not found"):
        pt.get_training_job_status(job_uuid="nope")


def test_a_bad_lora_module_fails_the_job_with_the_model_s_module_names(stack: Stack) -> None:
    stack.post_training.supervised_fine_tune(
        job_uuid="bad-modules",
        training_config={"data_config": {"dataset_id": "veltmora"}},
        algorithm_config={"type": "LoRA", "lora_attn_modules": ["wq"]},
    )
    failed = wait(stack, "bad-modules", finished)
    assert failed.status == "failed"
    assert "LoRA modules wq are not in this model" in (failed.error or "")
    assert "q_proj" in (failed.error or "")
    with pytest.raises(ConflictError, match="exists"):
        stack.post_training.supervised_fine_tune(
            job_uuid="bad-modules", training_config={"data_config": {"dataset_id": "veltmora"}}
        )


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(create_app(stack))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_routes(http: httpx.AsyncClient, lora_job: Status) -> None:
    base = "/v1alpha/post-training"
    jobs = await http.get(f"{base}/jobs")
    assert jobs.status_code == 200
    assert {"job_uuid": "veltmora-lora", "status": "completed"} in jobs.json()["data"]
    status = await http.get(f"{base}/job/status", params={"job_uuid": "veltmora-lora"})
    body = status.json()
    assert status.status_code == 200 and body["status"] == "completed"
    assert {"job_uuid", "scheduled_at", "started_at", "completed_at", "resources_allocated"} <= set(
        body
    )
    checkpoint = body["checkpoints"][-1]
    assert {"identifier", "created_at", "epoch", "post_training_job_id", "path"} <= set(checkpoint)
    assert set(checkpoint["training_metrics"]) >= {
        "epoch",
        "train_loss",
        "validation_loss",
        "perplexity",
    }
    artifacts = await http.get(f"{base}/job/artifacts", params={"job_uuid": "veltmora-lora"})
    assert artifacts.status_code == 200 and artifacts.json()["checkpoints"] == body["checkpoints"]
    missing = await http.get(f"{base}/job/status", params={"job_uuid": "nope"})
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]
    assert (await http.post(f"{base}/job/cancel", json={"job_uuid": "nope"})).status_code == 404
    cancel = await http.post(f"{base}/job/cancel", json={"job_uuid": "veltmora-lora"})
    assert cancel.status_code == 409
    resume = await http.post(f"{base}/job/resume", json={"job_uuid": "veltmora-lora"})
    assert resume.status_code == 409


async def test_routes_reject_bad_configs(http: httpx.AsyncClient) -> None:
    url = "/v1alpha/post-training/supervised-fine-tune"
    data = {"dataset_id": "veltmora", "batch_size": 4, "shuffle": True, "data_format": "dialog"}
    good = {"n_epochs": 1, "data_config": data}
    bodies = [
        {"job_uuid": "x"},  # no training_config
        {"job_uuid": "x", "training_config": {**good, "n_epochs": 0}},
        {"job_uuid": "x", "training_config": good, "algorithm_config": {"type": "QAT"}},
        {"job_uuid": "../x", "training_config": good},
    ]
    for body in bodies:
        answer = await http.post(url, json=body)
        assert answer.status_code == 400, (body, answer.text)
    fp16 = await http.post(
        url, json={"job_uuid": "x", "training_config": {**good, "dtype": "fp16"}}
    )
    assert fp16.status_code == 400 and "fp16" in fp16.json()["error"]["message"]
    dpo = await http.post(
        "/v1alpha/post-training/preference-optimize",
        json={"finetuned_model": "nope", "training_config": good},
    )
    assert dpo.status_code == 404
    assert (await http.get("/v1alpha/post-training/job/status")).status_code == 400
