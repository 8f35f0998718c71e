"""`%llama finetune` and the FineTuneMonitor widget, with LoRA on the bundled SmolLM2, in a real
IPython InteractiveShell."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from llama_workbench import BadRequestError, NotFoundError
from llama_workbench.jupyter.widgets import FineTuneMonitor, show
from tests.support.finetune import BASE, DATA, finetune_config, models_cache
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

# Short rows and small steps: each step takes ~1 s on 2 cores.
QUICK = "--max-seq-len 64 --batch-size 2 --lr 1e-3"


@pytest.fixture(scope="module")
def shell(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("finetune-magic")
    mlflow = {"mlflow": {"enabled": True, "log_every_steps": 2}}
    config = finetune_config(root / "data", models_cache(request, root / "models"), mlflow)
    path = root / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    mp = pytest.MonkeyPatch()
    mp.setenv("LLAMA_WORKBENCH_CONFIG", str(path))
    ip = InteractiveShell.instance()
    assert ip.run_cell("%load_ext llama_workbench").success
    yield ip
    ip.run_cell("%unload_ext llama_workbench")
    InteractiveShell.clear_instance()
    mp.undo()


def run(ip: InteractiveShell, code: str) -> tuple[Any, str, list[dict[str, Any]]]:
    with capture_output() as out:
        result = ip.run_cell(code)
    data = [o.data for o in out.outputs]
    shown = "".join(d.get("text/plain", "") for d in data)
    return result, out.stdout + out.stderr + shown, data


def status(ip: InteractiveShell, job: str) -> Any:
    stack = ip.user_ns["_lw_stack"]
    return stack.post_training.get_training_job_status(job_uuid=job)


def test_finetune_trains_shows_the_curve_and_serves_the_model(shell: InteractiveShell) -> None:
    shell.run_cell("_lw_stack = %llama stack")
    result, out, data = run(
        shell,
        f"%llama finetune {DATA / 'veltmora.jsonl'} -m {BASE} --job-id ft1 --epochs 2 {QUICK}",
    )
    assert result.success, out
    assert shell.user_ns["_"] == f"{BASE}-ft-ft1"
    assert f"Model '{BASE}-ft-ft1' is served: %llama chat --model {BASE}-ft-ft1" in out
    assert "ft1: 8 steps, final loss" in out and "mlflow ui --backend-store-uri sqlite:///" in out
    # The loss curve: an SVG (matplotlib) with a text form naming the first and last steps.
    curve = next(d for d in data if "image/svg+xml" in d)
    assert "<svg" in curve["image/svg+xml"]
    assert "ft1 loss: step 1 " in curve["text/plain"] and "-> step 8 " in curve["text/plain"]
    # The model answers in chat, and the job is listed.
    result, out, _ = run(shell, f"%llama chat --model {BASE}-ft-ft1 -n 8 What is Veltmora?")
    assert result.success and out.strip(), out
    result, out, _ = run(shell, "%llama finetune jobs")
    assert result.success and "ft1" in out and "completed" in out and "8/8" in out, out
    result, out, data = run(shell, "%llama finetune status ft1")
    assert result.success and "checkpoints" in out and f"{BASE}-ft-ft1" in out, out
    assert any("image/svg+xml" in d for d in data)


def test_a_dataframe_of_questions_trains_as_instruct_rows(shell: InteractiveShell) -> None:
    shell.run_cell(
        "import pandas as pd\n"
        "qa = pd.DataFrame({'question': ['Capital of Veltmora?', 'Currency of Veltmora?'], "
        "'answer': ['Quillhaven.', 'The brindle.']})"
    )
    result, out, _ = run(shell, f"%llama finetune qa --job-id ft-qa --max-steps 1 {QUICK}")
    assert result.success, out
    stack = shell.user_ns["_lw_stack"]
    ids = [d.identifier for d in stack.datasets.list()]
    qa_sets = [d for d in ids if d.startswith("qa-")]
    assert (
        len(qa_sets) == 1 and stack.datasets.retrieve(qa_sets[0]).purpose == "eval/question-answer"
    )
    # Running the same cell again reuses the registration; changed rows register anew.
    shell.run_cell("qa.loc[0, 'answer'] = 'Quillhaven, on the coast.'")
    result, out, _ = run(
        shell, "%llama finetune qa --job-id ft-qa2 --max-steps 1 --no-wait " + QUICK
    )
    assert result.success and "Started ft-qa2" in out, out
    assert len([d.identifier for d in stack.datasets.list() if d.identifier.startswith("qa-")]) == 2
    wait_until(
        lambda: status(shell, "ft-qa2").status in ("completed", "failed"),
        lambda: status(shell, "ft-qa2"),
    )
    assert status(shell, "ft-qa2").status == "completed", status(shell, "ft-qa2").error


def test_ctrl_c_cancels_and_resume_finishes(shell: InteractiveShell) -> None:
    """A real SIGINT while the magic follows the job: the job is cancelled at its next step and
    the cell fails with one line; `resume` continues from the last checkpoint."""
    fired = threading.Event()

    def first_step_done() -> bool:
        try:
            return bool(status(shell, "ft-stop").step >= 1)
        except NotFoundError:  # not submitted yet
            return False

    def interrupt_after_first_step() -> None:
        wait_until(first_step_done, lambda: "job ft-stop never made a step")
        fired.set()
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_after_first_step, daemon=True).start()
    result, out, _ = run(
        shell,
        f"%llama finetune {DATA / 'veltmora.jsonl'} --job-id ft-stop --epochs 20 "
        f"--max-seq-len 64 --batch-size 2",
    )
    assert fired.is_set()
    assert not result.success
    error = str(result.error_in_exec)
    assert "cancelled ft-stop at step" in error and "%llama finetune resume ft-stop" in error
    assert "Traceback" not in out
    wait_until(
        lambda: status(shell, "ft-stop").status == "cancelled", lambda: status(shell, "ft-stop")
    )
    stopped_at = status(shell, "ft-stop").step
    assert stopped_at < 80
    # Resume, watch it start, then cancel from the magic (the whole run would take minutes).
    result, out, _ = run(shell, "%llama finetune resume ft-stop --no-wait")
    assert result.success and "Started ft-stop" in out, out
    wait_until(lambda: status(shell, "ft-stop").step > stopped_at, lambda: status(shell, "ft-stop"))
    result, out, _ = run(shell, "%llama finetune cancel ft-stop")
    assert result.success and "Cancelled ft-stop" in out, out


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%llama finetune", "give one dataset, file or variable"),
        (
            "%llama finetune /nowhere.jsonl",
            "'/nowhere.jsonl' is not a dataset, a file or a variable",
        ),
        ("%llama finetune status", "give one job id"),
        ("%llama finetune status nope", "Post-training job 'nope' not found"),
        ("%llama finetune cancel nope", "not found"),
        ("%llama finetune jobs extra", "unexpected 'extra'"),
        ("%llama finetune x --lr 3", "must be in (0, 1]"),
        ("%llama finetune x --batch-size 0", "must be at least 1"),
        ("%llama finetune x --epochs many", "invalid positive_int value"),
        ("%llama finetune _lw_stack", "give a DataFrame or a list of dicts"),
        (f"%llama finetune {DATA / 'veltmora.jsonl'} -m nope", "Model 'nope' not found"),
        (f"%llama finetune {DATA / 'veltmora.jsonl'} --job-id ft1", "ft1"),
    ],
)
def test_bad_input_is_one_line(shell: InteractiveShell, line: str, message: str) -> None:
    result, out, _ = run(shell, line)
    assert not result.success, out
    shown = str(result.error_in_exec)
    assert message.lower() in shown.lower(), shown
    assert "Traceback" not in out and len(shown.splitlines()) == 1


def test_help(shell: InteractiveShell) -> None:
    result, out, _ = run(shell, "%llama finetune --help")
    assert result.success and "usage: %llama finetune" in out and "--monitor" in out


def test_monitor_follows_a_job_and_chats_with_the_result(shell: InteractiveShell) -> None:
    stack = shell.user_ns["_lw_stack"]
    # Opened on a finished job: the curve comes from its MLflow run, every step.
    monitor = FineTuneMonitor(stack, job_uuid="ft1")
    assert monitor.wait(30)
    assert monitor.job["status"] == "completed" and monitor.job["model_id"] == f"{BASE}-ft-ft1"
    assert [p[0] for p in monitor.losses] == list(range(1, 9))
    assert monitor.losses[-1][1] < monitor.losses[0][1]
    assert "mlflow ui" in monitor.job["mlflow_command"]
    # Front-end messages: ask the tuned model and its base.
    monitor._on_message(monitor, {"type": "ask", "prompt": "What is the capital of Veltmora?"}, [])
    assert monitor.wait(60)
    entry = monitor.answers[-1]
    assert entry["tuned"] and entry["base"] and entry["prompt"].startswith("What is")
    assert "fine-tuned model: " in repr(monitor) and "tuned: " in repr(monitor)
    # Bad actions land in the error trait.
    monitor._on_message(monitor, {"type": "ask", "prompt": "  "}, [])
    assert monitor.error == "BadRequestError: Type a prompt first."
    monitor._on_message(monitor, {"type": "select", "job_uuid": "nope"}, [])
    assert "Post-training job 'nope' not found" in monitor.error


def test_monitor_from_the_magic_runs_live_and_cancels(shell: InteractiveShell) -> None:
    result, out, _ = run(
        shell,
        f"%llama finetune {DATA / 'veltmora.jsonl'} --job-id ft-live --epochs 20 --monitor "
        "--max-seq-len 64 --batch-size 2",
    )
    assert result.success, out
    monitor = shell.user_ns["_"]
    assert isinstance(monitor, FineTuneMonitor) and monitor.job_uuid == "ft-live"
    assert "FineTuneMonitor(job=ft-live)" in out  # the text form outside a browser
    wait_until(lambda: len(monitor.losses) >= 2, lambda: monitor.job)  # points arrive live
    assert monitor.job["status"] == "in_progress" and monitor.job["total_steps"] == 80
    monitor._on_message(monitor, {"type": "cancel"}, [])
    assert monitor.wait(60)
    assert monitor.job["status"] == "cancelled" and monitor.losses
    with pytest.raises(BadRequestError, match="has no fine-tuned model yet"):
        monitor.ask("hello")
    # The widget is also reachable by name, on the latest job.
    latest = show("finetune", shell.user_ns["_lw_stack"])
    assert latest.job_uuid == "ft-live"
    latest.wait(10)
