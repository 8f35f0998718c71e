"""Fine-tuning on a real local Ray cluster: LoRA on SmolLM2 over 2 Ray Train workers (DDP on
gloo), its checkpoints reported to Ray and kept as the job's, its adapter then served."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import BadRequestError, Stack
from llama_workbench.apis.post_training.models import PostTrainingJobStatusResponse
from tests.support.finetune import BASE, DATA, finetune_config, models_cache
from tests.support.ray_cluster import RayCluster
from tests.support.waiting import wait_for

pytest.importorskip("ray.train.torch")
pytestmark = pytest.mark.slow  # Ray Train starts a controller and 2 worker processes

Status = PostTrainingJobStatusResponse
JOB = {
    "job_uuid": "ray-lora",
    "model": BASE,
    "training_config": {
        "n_epochs": 2,  # 8 rows, 4 a step (2 on each worker): 4 steps
        "save_every_steps": 1,
        "max_seq_len": 48,
        "lr_scheduler": "constant",
        "data_config": {"dataset_id": "veltmora", "batch_size": 4},
        "optimizer_config": {"lr": 1e-3},
    },
    "algorithm_config": {"type": "LoRA", "rank": 8, "alpha": 16, "dropout": 0.0},
}


@pytest.fixture(scope="module")
def models(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return models_cache(request, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def stack(
    ray_head: RayCluster, tmp_path_factory: pytest.TempPathFactory, models: Path
) -> Iterator[Stack]:
    config: dict[str, Any] = finetune_config(
        tmp_path_factory.mktemp("data"), models, {"mlflow": {"log_every_steps": 1}}
    )
    config["execution"] = {
        "engine": "ray",
        "address": ray_head.address,
        "num_workers": 2,
        "resources_per_worker": {"CPU": 1},
        "connect_timeout_s": 60,
    }
    with Stack.from_config(config) as s:
        s.datasets.register(
            purpose="post-training/messages",
            source={"type": "uri", "uri": str(DATA / "veltmora.jsonl")},
            dataset_id="veltmora",
        )
        yield s


def wait(stack: Stack, job_uuid: str, until: Any = None, limit_s: float = 300) -> Status:
    return wait_for(
        lambda: stack.post_training.get_training_job_status(job_uuid=job_uuid),
        until or (lambda s: s.status in ("completed", "failed", "cancelled")),
        limit_s,
        lambda s: f"job {job_uuid} still {s.status} at step {s.step}: {s.error}",
    )


def test_a_lora_run_on_two_ray_workers_cancels_resumes_and_serves(stack: Stack) -> None:
    started = time.monotonic()
    stack.post_training.supervised_fine_tune(**JOB)
    running = wait(stack, "ray-lora", lambda s: s.checkpoints or s.status != "in_progress")
    assert running.status == "in_progress", running.error
    resources = running.resources_allocated or {}
    assert resources["execution_engine"] == "ray" and resources["num_workers"] == 2
    workers = resources["workers"]  # host:pid of each rank, two processes
    assert len(workers) == 2 and len(set(workers)) == 2, workers
    assert 0 < resources["trainable_params"] < resources["total_params"] / 10

    stack.post_training.cancel_training_job(job_uuid="ray-lora")  # waits for the job to stop
    cancelled = stack.post_training.get_training_job_status(job_uuid="ray-lora")
    assert cancelled.status == "cancelled" and 1 <= cancelled.step < 4, cancelled
    assert cancelled.checkpoints[-1].step == cancelled.step  # every step is checkpointed
    resume_from = Path(cancelled.checkpoints[-1].path)
    assert (resume_from / "training_state.pt").is_file()
    first_fit = time.monotonic() - started

    stack.post_training.resume_training_job(job_uuid="ray-lora")
    done = wait(stack, "ray-lora")
    assert done.status == "completed", done.error
    assert (done.step, done.total_steps, done.epoch) == (4, 4, 2)
    assert [c.step for c in done.checkpoints] == [2, 3, 4]  # 3 kept

    # Ray persisted each reported checkpoint as the job's own step-N folder.
    final = Path(done.checkpoints[-1].path)
    assert final.parent.name == "ray-lora" and final.name == "step-4"
    assert (final / "adapter_model.safetensors").is_file() and (final / "checkpoint.json").is_file()
    assert not (final / "training_state.pt").exists()
    snapshot = json.loads((final.parent / "checkpoint_manager_snapshot.json").read_text())
    assert "step-4" in json.dumps(snapshot)

    from mlflow import MlflowClient

    client = MlflowClient(done.mlflow_tracking_uri)
    assert done.mlflow_run_id is not None and done.mlflow_run_id == cancelled.mlflow_run_id
    run = client.get_run(done.mlflow_run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["execution_engine"] == "ray"
    assert run.data.params["execution_num_workers"] == "2"
    losses = client.get_metric_history(done.mlflow_run_id, "loss")
    assert sorted(m.step for m in losses) == [1, 2, 3, 4]  # none trained twice

    # The adapter serves through inline::transformers, as an in-process fine-tune's does.
    assert done.model_id == f"{BASE}-ft-ray-lora"
    model = stack.models.retrieve(done.model_id)
    assert model.provider_id == "transformers" and model.provider_resource_id == str(final)
    answer = stack.inference.chat_completion(
        model=done.model_id,
        messages=[{"role": "user", "content": "What is the capital of Veltmora?"}],
        max_tokens=12,
        temperature=0,
    )
    assert answer.choices[0].message.content
    print(
        f"ray LoRA: first fit to cancel {first_fit:.1f} s, all {time.monotonic() - started:.1f} s"
    )


def test_dpo_on_ray_is_a_clear_400(stack: Stack) -> None:
    with pytest.raises(BadRequestError, match=r"preference_optimize \(DPO\) runs in-process"):
        stack.post_training.preference_optimize(
            job_uuid="ray-dpo",
            finetuned_model=BASE,
            algorithm_config={"beta": 0.1},
            training_config={"n_epochs": 1, "data_config": {"dataset_id": "veltmora"}},
        )
    assert "ray-dpo" not in [j.job_uuid for j in stack.post_training.get_training_jobs().data]


def test_an_unreachable_cluster_fails_the_call_clearly(tmp_path: Path, models: Path) -> None:
    from llama_workbench.core.errors import EngineUnavailableError
    from llama_workbench.execution.engine import disconnect
    from tests.support.stub_server import free_port

    disconnect()  # one process reaches one cluster: leave the session's (the next job rejoins)
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    config: dict[str, Any] = finetune_config(tmp_path, models)
    config["execution"] = {"engine": "ray", "address": address}
    with Stack.from_config(config) as stack:
        started = time.monotonic()
        with pytest.raises(EngineUnavailableError) as caught:
            stack.post_training.supervised_fine_tune(**{**JOB, "job_uuid": "nowhere"})
        assert time.monotonic() - started < 15
        assert address in str(caught.value) and "ray start" in str(caught.value)
        assert stack.post_training.get_training_jobs().data == []  # no job was created
