"""`%llama finetune`: fine-tune a model on a dataset with progress and a loss curve."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from llama_workbench.core.errors import BadRequestError
from llama_workbench.jupyter.display import Table
from llama_workbench.jupyter.host import first_model
from llama_workbench.jupyter.parsing import MagicParser, parse, positive_int, split
from llama_workbench.jupyter.results import loss_history

if TYPE_CHECKING:
    from llama_workbench.jupyter.host import MagicHost

ACTIONS = ("run", "jobs", "status", "cancel", "resume")
RUNNING = ("scheduled", "in_progress")
DESCRIPTION = (
    "Fine-tuning: `%llama finetune <data> --model M` trains a LoRA adapter (or --full) on a "
    "registered dataset, a JSONL/CSV/Parquet file or a DataFrame/list variable (rows with "
    "`messages`, or question/answer), shows progress with the loss (Ctrl-C cancels at the next "
    "step), then the loss curve, the new model's id and the MLflow run; `jobs` lists jobs, "
    "`status <job>` shows one, `cancel <job>` stops one, `resume <job>` continues a cancelled or "
    "failed one from its last checkpoint."
)


def finetune_parser() -> MagicParser:
    p = MagicParser(
        prog="%llama finetune",
        summary="Fine-tune a model on rows (LoRA): progress, loss curve, the new model; jobs.",
        description=DESCRIPTION,
    )
    p.add_argument("words", nargs="*", help="[run] <data> | jobs | status|cancel|resume <job>")
    p.add_argument("--model", "-m", help="run: the base model (default: the first chat model).")
    p.add_argument("--job-id", "-j", help="run: the job's id (default: <data>-<random>).")
    p.add_argument("--epochs", "-e", type=positive_int, default=1, help="run: passes over data.")
    p.add_argument("--max-steps", type=positive_int, help="run: optimizer steps per epoch at most.")
    p.add_argument("--batch-size", "-b", type=positive_int, default=4, help="run: rows per step.")
    p.add_argument("--lr", type=_learning_rate, help="run: learning rate (provider default).")
    p.add_argument("--rank", "-r", type=positive_int, default=16, help="run: LoRA rank.")
    p.add_argument("--alpha", type=positive_int, default=32, help="run: LoRA alpha.")
    p.add_argument(
        "--max-seq-len", type=positive_int, default=512, help="run: longer rows are cut."
    )
    p.add_argument("--full", action="store_true", help="run: train every weight, not LoRA.")
    p.add_argument(
        "--validation", help="run: a dataset, file or variable to compute the eval loss on."
    )
    p.add_argument("--no-wait", action="store_true", help="run/resume: start and return the job.")
    p.add_argument(
        "--monitor",
        action="store_true",
        help="run/resume: show the FineTuneMonitor widget (live loss curve, cancel, chat with "
        "the result) instead of waiting.",
    )
    return p


def _learning_rate(text: str) -> float:
    import argparse

    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def run_finetune_magic(magic: MagicHost, line: str, cell: str | None) -> Any:
    parser = finetune_parser()
    args = parse(parser, split(line, parser))
    words = list(args.words)
    action = words.pop(0) if words and words[0] in ACTIONS else "run"
    stack = magic.session.stack
    if "post_training" not in {a.value for a in stack.apis}:
        raise UsageError(
            "%llama finetune: this stack has no post_training API (the starter distribution "
            "has one; %llama config starter)"
        )
    if action == "jobs":
        _no_more(words, "jobs")
        return jobs_table(stack)
    if action in ("status", "cancel", "resume"):
        if len(words) != 1:
            raise UsageError(f"%llama finetune {action}: give one job id (%llama finetune jobs)")
        job_uuid = words[0]
        if action == "status":
            status = stack.post_training.get_training_job_status(job_uuid=job_uuid)
            magic.show(LossCurve(loss_history(status, []), title=job_uuid))
            return _status_table(status)
        if action == "cancel":
            stack.post_training.cancel_training_job(job_uuid=job_uuid)
            status = stack.post_training.get_training_job_status(job_uuid=job_uuid)
            print(f"Cancelled {job_uuid} at step {status.step}; %llama finetune resume {job_uuid}")
            return None
        stack.post_training.resume_training_job(job_uuid=job_uuid)
        return _after_start(magic, stack, job_uuid, args)
    if len(words) != 1:
        raise UsageError(
            "%llama finetune: give one dataset, file or variable with the training rows"
        )
    model = args.model or _first_llm(stack)
    job_uuid = args.job_id or f"{_slug(words[0])}-{uuid.uuid4().hex[:8]}"
    dataset_id, data_format = register_rows(magic.user_ns, stack, words[0])
    data_config: dict[str, Any] = {
        "dataset_id": dataset_id,
        "batch_size": args.batch_size,
        "data_format": data_format,
    }
    if args.validation:
        data_config["validation_dataset_id"] = register_rows(magic.user_ns, stack, args.validation)[
            0
        ]
    training: dict[str, Any] = {
        "n_epochs": args.epochs,
        "max_steps_per_epoch": args.max_steps,
        "max_seq_len": args.max_seq_len,
        "data_config": data_config,
        "optimizer_config": {"lr": args.lr},
    }
    algorithm = (
        {"type": "full"} if args.full else {"type": "LoRA", "rank": args.rank, "alpha": args.alpha}
    )
    stack.post_training.supervised_fine_tune(
        job_uuid=job_uuid, model=model, training_config=training, algorithm_config=algorithm
    )
    return _after_start(magic, stack, job_uuid, args)


def _after_start(magic: MagicHost, stack: Any, job_uuid: str, args: Any) -> Any:
    if args.monitor:
        from llama_workbench.jupyter.widgets.finetune import FineTuneMonitor

        return FineTuneMonitor(stack, job_uuid=job_uuid)
    if args.no_wait:
        print(f"Started {job_uuid}; %llama finetune status {job_uuid} shows its progress")
        return stack.post_training.get_training_job_status(job_uuid=job_uuid)
    return follow(magic, stack, job_uuid)


def follow(magic: MagicHost, stack: Any, job_uuid: str) -> str:
    """Progress with the loss until the job ends; Ctrl-C cancels it (checkpoints are kept)."""
    from tqdm.auto import tqdm

    status = stack.post_training.get_training_job_status(job_uuid=job_uuid)
    points: list[tuple[int, float]] = []
    bar = tqdm(total=status.total_steps, desc=job_uuid, unit="step", initial=status.step)
    pause = threading.Event()
    try:
        while status.status in RUNNING:
            pause.wait(0.25)
            status = stack.post_training.get_training_job_status(job_uuid=job_uuid)
            if status.total_steps and bar.total != status.total_steps:
                bar.total = status.total_steps
                bar.refresh()
            if status.step > bar.n:
                bar.update(status.step - bar.n)
                if status.loss is not None:
                    points.append((status.step, status.loss))
                    bar.set_postfix(loss=f"{status.loss:.4f}", refresh=True)
    except KeyboardInterrupt:
        stack.post_training.cancel_training_job(job_uuid=job_uuid)
        raise UsageError(
            f"%llama finetune: cancelled {job_uuid} at step {status.step}; continue from its "
            f"last checkpoint with %llama finetune resume {job_uuid}"
        ) from None
    finally:
        bar.close()
    if status.status != "completed":
        raise UsageError(
            f"%llama finetune: job {job_uuid} {status.status}: {status.error or ''}".rstrip(": ")
        )
    magic.show(LossCurve(loss_history(status, points), title=job_uuid))
    _summary(status)
    magic.result(status.model_id)
    return str(status.model_id)


def _summary(status: Any) -> None:
    from llama_workbench.tracking.mlflow_runs import ui_command

    loss = f", final loss {status.loss:.4f}" if status.loss is not None else ""
    print(f"{status.job_uuid}: {status.step} steps{loss}")
    if status.model_id:
        print(f"Model '{status.model_id}' is served: %llama chat --model {status.model_id} ...")
    if status.mlflow_run_id and status.mlflow_tracking_uri:
        print(f"MLflow run {status.mlflow_run_id}: {ui_command(status.mlflow_tracking_uri)}")


def jobs_table(stack: Any) -> Table:
    rows = []
    for job in stack.post_training.get_training_jobs().data:
        s = stack.post_training.get_training_job_status(job_uuid=job.job_uuid)
        rows.append(
            (
                s.job_uuid,
                s.status,
                s.algorithm or "",
                s.model or "",
                f"{s.step}/{s.total_steps if s.total_steps is not None else '?'}",
                "" if s.loss is None else f"{s.loss:.4f}",
                s.model_id or "",
                s.mlflow_run_id or "",
            )
        )
    headers = ["job", "status", "algorithm", "base", "steps", "loss", "model", "mlflow run"]
    return Table("Fine-tuning jobs", headers, rows)


def _status_table(s: Any) -> Table:
    rows = [
        ("status", s.status),
        ("algorithm", s.algorithm),
        ("base model", s.model),
        ("steps", f"{s.step}/{s.total_steps if s.total_steps is not None else '?'}"),
        ("epoch", s.epoch),
        ("loss", None if s.loss is None else f"{s.loss:.4f}"),
        ("eval loss", None if s.eval_loss is None else f"{s.eval_loss:.4f}"),
        ("eta", None if s.eta_s is None or s.status not in RUNNING else f"{s.eta_s:.0f} s"),
        ("checkpoints", ", ".join(str(c.step) for c in s.checkpoints)),
        ("model", s.model_id),
        ("mlflow run", s.mlflow_run_id),
        ("error", s.error),
    ]
    return Table(f"Fine-tuning job {s.job_uuid}", ["field", "value"], rows)


def _first_llm(stack: Any) -> str:
    return first_model(stack, "llm")


def _no_more(words: Sequence[str], action: str) -> None:
    if words:
        raise UsageError(f"%llama finetune {action}: unexpected '{' '.join(words)}'")


def _slug(text: str) -> str:
    stem = Path(text).stem if ("/" in text or "." in text) else text
    return re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:40] or "finetune"


def register_rows(namespace: dict[str, Any], stack: Any, data: str) -> tuple[str, str]:
    """The dataset id for `data` (a registered dataset, a file, or a DataFrame/list variable) and
    the rows' format: `dialog` (a `messages` column) or `instruct` (question and answer)."""
    known = {d.identifier: d for d in stack.datasets.list()}
    if data in known:
        return data, _format_of(stack, data)
    value = namespace.get(data)
    if value is not None:
        rows = _rows_of(value, data)
        source: dict[str, Any] = {"type": "rows", "rows": rows}
        digest = hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode())
    elif Path(data).expanduser().is_file():
        path = Path(data).expanduser().resolve()
        source = {"type": "uri", "uri": str(path)}
        digest = hashlib.sha256(path.read_bytes())
    else:
        raise UsageError(
            f"%llama finetune: '{data}' is not a dataset, a file or a variable "
            "(%llama finetune --help)"
        )
    # The content's hash in the id: editing the rows and running the cell again registers anew.
    dataset_id = f"{_slug(data)}-{digest.hexdigest()[:8]}"
    if dataset_id not in known:
        try:
            stack.datasets.register(
                purpose="post-training/messages", source=source, dataset_id=dataset_id
            )
        except BadRequestError as messages_error:
            try:  # question/answer rows train as instruct rows
                stack.datasets.register(
                    purpose="eval/question-answer", source=source, dataset_id=dataset_id
                )
            except BadRequestError:
                raise messages_error from None
    return dataset_id, _format_of(stack, dataset_id)


def _format_of(stack: Any, dataset_id: str) -> str:
    rows = stack.datasetio.iterrows(dataset_id, start_index=0, limit=1).data
    return "dialog" if rows and "messages" in rows[0] else "instruct"


def _rows_of(value: Any, name: str) -> list[dict[str, Any]]:
    if hasattr(value, "to_dict"):  # a pandas DataFrame
        value = value.to_dict("records")
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise UsageError(
            f"%llama finetune: variable '{name}' is a {type(value).__name__}; give a DataFrame "
            "or a list of dicts"
        )
    return value


class LossCurve:
    """The loss per step: an SVG chart in a notebook (matplotlib), a few numbers as text."""

    def __init__(self, points: Sequence[tuple[int, float]], title: str = "") -> None:
        self.points = list(points)
        self.title = title

    def _repr_svg_(self) -> str | None:
        if len(self.points) < 2:
            return None
        import io

        from matplotlib.figure import Figure

        figure = Figure(figsize=(5.5, 2.6), dpi=96, layout="tight")
        axes = figure.add_subplot()
        axes.plot(*zip(*self.points, strict=True), marker="." if len(self.points) < 60 else "")
        axes.set_xlabel("step")
        axes.set_ylabel("training loss")
        axes.set_title(f"{self.title} loss" if self.title else "loss", fontsize=10)
        axes.grid(alpha=0.3)
        out = io.StringIO()
        figure.savefig(out, format="svg")
        return out.getvalue()

    def __repr__(self) -> str:
        if not self.points:
            return f"{self.title}: no loss recorded yet"
        first, last = self.points[0], self.points[-1]
        low = min(self.points, key=lambda p: p[1])
        return (
            f"{self.title} loss: step {first[0]} {first[1]:.4f} -> step {last[0]} "
            f"{last[1]:.4f} (lowest {low[1]:.4f} at step {low[0]}; {len(self.points)} steps)"
        )
