"""Fine-tuning cost on the CPU: seconds per optimizer step and peak memory, LoRA vs full.

SmolLM2-135M (the bundled GGUF, dequantized to fp32), batch 4 x 128 tokens, through the
post-training API (inline::huggingface: the job, its thread, MLflow per-step logging). Each
algorithm runs in a process of its own so its peak RSS is its own; the step time is the median
of the `step_seconds` the job logs, the first (warm-up) step left out (the fastest step, the
least disturbed by other processes, is shown too); "job MB" is the peak
RSS less the process's RSS before the job (torch imported, no model). Baseline: full
fine-tuning; the ratio column is LoRA (rank 16 on attention + MLP) over full.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

STEPS = int(os.environ.get("BENCH_FINETUNE_STEPS", "8"))
BATCH, SEQ = 4, 128
ALGORITHMS = {"full": {"type": "full"}, "LoRA r16": {"type": "LoRA", "rank": 16}}
_WORDS = [
    "harbour",
    "lantern",
    "quill",
    "heron",
    "brindle",
    "glass",
    "summit",
    "founder",
    "island",
    "north",
    "tide",
]


def rows(n: int) -> list[dict[str, Any]]:
    """Conversations longer than SEQ tokens, so every sequence is cut to exactly SEQ."""
    out = []
    for i in range(n):
        words = [_WORDS[(i * 7 + k * 3) % len(_WORDS)] for k in range(160)]
        answer = " ".join(words).capitalize() + "."
        question = f"Describe place number {i} in detail."
        out.append(
            {
                "messages": [
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer},
                ]
            }
        )
    return out


def config(data_dir: str, models: str) -> dict[str, Any]:
    return {
        "data_dir": data_dir,
        "apis": ["inference", "datasetio", "post_training"],
        "providers": {
            "inference": [
                {
                    "provider_id": "transformers",
                    "provider_type": "inline::transformers",
                    "config": {"cache_dir": models},
                }
            ],
            "datasetio": [{"provider_id": "localfs", "provider_type": "inline::localfs"}],
            "post_training": [
                {
                    "provider_id": "huggingface",
                    "provider_type": "inline::huggingface",
                    "config": {"register_models": False, "keep_checkpoints": 1},
                }
            ],
        },
    }


def child(name: str, models: str) -> None:
    """One algorithm's job in this process; prints its figures as one JSON line."""
    import resource

    from mlflow import MlflowClient

    from llama_workbench import Stack

    with tempfile.TemporaryDirectory() as tmp, Stack.from_config(config(tmp, models)) as stack:
        import torch  # noqa: F401  (what any job imports, so the baseline RSS holds it)

        before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        stack.datasets.register(
            purpose="post-training/messages", source={"rows": rows(BATCH * STEPS)}, dataset_id="d"
        )
        stack.post_training.supervised_fine_tune(
            job_uuid="bench",
            training_config={
                "n_epochs": 1,
                "max_seq_len": SEQ,
                "data_config": {"dataset_id": "d", "batch_size": BATCH, "shuffle": False},
            },
            algorithm_config=ALGORITHMS[name],
        )
        status = stack.post_training.get_training_job_status(job_uuid="bench")
        while status.status in ("scheduled", "in_progress"):
            threading.Event().wait(0.5)
            status = stack.post_training.get_training_job_status(job_uuid="bench")
        assert status.status == "completed", status.error
        history = MlflowClient(status.mlflow_tracking_uri).get_metric_history(
            str(status.mlflow_run_id), "step_seconds"
        )
        seconds = [m.value for m in sorted(history, key=lambda m: m.step)][1:]
        resources = status.resources_allocated or {}
    print(
        json.dumps(
            {
                "s_per_step": statistics.median(seconds),
                "min_s": min(seconds),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "before_mb": before_mb,
                "trainable": resources.get("trainable_params"),
                "total": resources.get("total_params"),
            }
        )
    )


def warm(models: str) -> None:
    """Dequantize the GGUF into the shared cache, so no measured process pays (or peaks on) it."""
    from llama_workbench.providers.inline.inference.transformers.loader import (
        default_gguf_path,
        load_model,
    )

    load_model(default_gguf_path(), None, "float32", os.cpu_count() or 1, Path(models))


def run(name: str, models: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "child", name, models],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    print(
        f"SmolLM2-135M fp32 on {os.cpu_count()} CPU cores, batch {BATCH} x {SEQ} tokens, "
        f"{STEPS} optimizer steps (median of steps 2..{STEPS}):"
    )
    print(
        f"{'':>10}{'s/step':>8}{'min':>7}{'peak RSS MB':>13}{'job MB':>8}{'trainable':>13}"
        f"{'vs full: s/step':>17}{'min':>6}{'RSS':>6}"
    )
    with tempfile.TemporaryDirectory() as models:
        subprocess.run([sys.executable, __file__, "warm", models], check=True)
        results = {name: run(name, models) for name in ALGORITHMS}
    full = results["full"]
    for name, r in results.items():
        print(
            f"{name:>10}{r['s_per_step']:8.2f}{r['min_s']:7.2f}{r['peak_rss_mb']:13.0f}"
            f"{r['peak_rss_mb'] - r['before_mb']:8.0f}{r['trainable']:13,d}"
            f"{r['s_per_step'] / full['s_per_step']:17.2f}{r['min_s'] / full['min_s']:6.2f}"
            f"{r['peak_rss_mb'] / full['peak_rss_mb']:6.2f}"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "warm":
        warm(sys.argv[2])
    else:
        main()
