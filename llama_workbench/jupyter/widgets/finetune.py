"""`FineTuneMonitor`: a fine-tuning job's progress and live loss curve; cancel, resume, and chat
with the fine-tuned model next to its base."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import traitlets

from llama_workbench.core.errors import BadRequestError, NotFoundError, error_line
from llama_workbench.jupyter.widgets._base import JS_DIR, StackWidget, short

if TYPE_CHECKING:
    from llama_workbench.core.stack import Stack

_RUNNING = ("scheduled", "in_progress")
POLL_S = 0.5


class FineTuneMonitor(StackWidget):
    """Watch a post-training job: `job` is its status, `losses` its [step, loss] points so far.

    Following the job runs on a thread of its own (the kernel stays free); the curve is filled
    from the job's MLflow run when it has one, so a job opened after it started shows every
    step. Cancel stops it at the next step, resume continues a cancelled or failed job from its
    last checkpoint. Once the fine-tuned model is served, `ask(prompt)` answers with it and with
    its base model (greedy), side by side in `answers`.
    """

    _esm = JS_DIR / "finetune.js"
    _css = JS_DIR / "finetune.css"
    _actions = {
        "select": "select",
        "cancel": "cancel",
        "resume": "resume",
        "ask": "ask",
        "refresh": "refresh",
    }

    jobs = traitlets.List(traitlets.Unicode()).tag(sync=True)
    job_uuid = traitlets.Unicode("").tag(sync=True)
    job = traitlets.Dict().tag(sync=True)
    losses = traitlets.List(traitlets.List()).tag(sync=True)
    max_tokens = traitlets.Int(64).tag(sync=True)
    answers = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(self, stack: Stack, job_uuid: str | None = None) -> None:
        if "post_training" not in {a.value for a in stack.apis}:
            raise BadRequestError(
                "This stack has no post_training API: add one (the starter distribution has it)."
            )
        jobs = [j.job_uuid for j in stack.post_training.get_training_jobs().data]
        if job_uuid and job_uuid not in jobs:
            raise NotFoundError("Post-training job", job_uuid, jobs)
        super().__init__(stack, jobs=jobs)
        self._following: threading.Event | None = None
        self._follower: threading.Thread | None = None
        if job_uuid or jobs:
            self.select(job_uuid or jobs[0])  # the newest job first

    # -- actions (front-end messages and Python calls)

    def select(self, job_uuid: str) -> None:
        """Follow another job (the curve starts from its MLflow run)."""
        if job_uuid not in self.jobs:
            self.refresh()
            if job_uuid not in self.jobs:
                raise NotFoundError("Post-training job", job_uuid, self.jobs)
        if self._following is not None:
            self._following.set()
        stop = self._following = threading.Event()
        self.job_uuid, self.answers, self.error = job_uuid, [], ""
        status = self._status()
        self._show(status)
        self.losses = [list(p) for p in self._history(status, [])]
        self._follower = threading.Thread(
            target=self._follow,
            args=(job_uuid, stop),
            name="llama-workbench-FineTuneMonitor-follow",
            daemon=True,
        )
        self._follower.start()

    def cancel(self) -> None:
        """Stop the job at its next step (its checkpoints are kept; resume continues)."""
        if self.job.get("status") in _RUNNING:
            self._stack.post_training.cancel_training_job(job_uuid=self.job_uuid)
            self._show(self._status())

    def resume(self) -> None:
        """Continue a cancelled or failed job from its last checkpoint, and follow it."""
        if not self.job_uuid:
            raise BadRequestError("No job selected.")
        self._stack.post_training.resume_training_job(job_uuid=self.job_uuid)
        self.select(self.job_uuid)

    def ask(self, prompt: str, max_tokens: int | None = None) -> None:
        """Answer `prompt` with the fine-tuned model and with its base, in the background."""
        model_id, base = self.job.get("model_id"), self.job.get("model")
        if not model_id:
            raise BadRequestError(
                f"Job {self.job_uuid or '(none)'} has no fine-tuned model yet: it is served once "
                "the job completes."
            )
        if not prompt.strip():
            raise BadRequestError("Type a prompt first.")
        if max_tokens is not None:
            self.max_tokens = int(max_tokens)
        self.error = ""
        entry: dict[str, Any] = {"prompt": prompt, "tuned": None, "base": None}
        self.answers = [*self.answers, entry]

        def work() -> None:
            for key, model in (("tuned", model_id), ("base", base)):
                if not model:
                    continue
                entry = {**self.answers[-1], key: self._answer(model, prompt)}
                self.answers = [*self.answers[:-1], entry]

        self._submit(work)

    def refresh(self) -> None:
        """Reload the list of jobs."""
        self.jobs = [j.job_uuid for j in self._stack.post_training.get_training_jobs().data]

    def wait(self, timeout: float | None = 30.0) -> bool:
        """Block until the followed job has ended and the chat answers are in; False when
        `timeout` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        follower = self._follower
        if follower is not None:
            follower.join(timeout)
            if follower.is_alive():
                return False
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        return super().wait(left)

    # -- background work

    def _follow(self, job_uuid: str, stop: threading.Event) -> None:
        try:
            status = self._status(job_uuid)
            points = dict(tuple(p) for p in self.losses)
            while status.status in _RUNNING and not stop.is_set():
                stop.wait(POLL_S)
                status = self._status(job_uuid)
                if stop.is_set():
                    return
                if status.loss is not None and status.step and status.step not in points:
                    points[status.step] = status.loss
                    self.losses = [[s, v] for s, v in sorted(points.items())]
                self._show(status)
            if not stop.is_set():  # the whole curve, as the MLflow run recorded it
                self.losses = [list(p) for p in self._history(status, sorted(points.items()))]
                self._show(status)
        except Exception as exc:
            self.error = error_line(exc)

    def _status(self, job_uuid: str | None = None) -> Any:
        return self._stack.post_training.get_training_job_status(job_uuid=job_uuid or self.job_uuid)

    def _show(self, status: Any) -> None:
        from llama_workbench.tracking.mlflow_runs import ui_command

        info = status.model_dump(
            mode="json",
            include={
                "job_uuid",
                "status",
                "algorithm",
                "model",
                "step",
                "total_steps",
                "epoch",
                "loss",
                "eval_loss",
                "eta_s",
                "error",
                "mlflow_run_id",
                "model_id",
            },
        )
        info["checkpoints"] = [c.step for c in status.checkpoints]
        if status.mlflow_run_id and status.mlflow_tracking_uri:
            info["mlflow_command"] = ui_command(status.mlflow_tracking_uri)
        self.job = info

    def _history(self, status: Any, seen: list[tuple[int, float]]) -> list[tuple[int, float]]:
        from llama_workbench.jupyter.results import loss_history

        return loss_history(status, seen)

    def _answer(self, model: str, prompt: str) -> str:
        answer = self._stack.inference.chat_completion(
            model=model,
            messages=[{"role": "user", "content": prompt}],
            max_tokens=self.max_tokens,
            temperature=0,
        )
        return str(answer.choices[0].message.content or "")

    # -- text form

    def summary(self) -> str:
        job = self.job
        if not job:
            return "FineTuneMonitor(no post-training job yet: %llama finetune <data> starts one)"
        steps = f"{job.get('step', 0)}/{job.get('total_steps') or '?'}"
        loss = "" if job.get("loss") is None else f", loss {job['loss']:.4f}"
        lines = [f"FineTuneMonitor(job={job['job_uuid']}): {job['status']}, step {steps}{loss}"]
        if self.losses:
            first, last = self.losses[0], self.losses[-1]
            lines.append(
                f"  loss curve: step {first[0]} {first[1]:.4f} -> step {last[0]} {last[1]:.4f}"
            )
        if job.get("model_id"):
            lines.append(f"  fine-tuned model: {job['model_id']}")
        if job.get("error"):
            lines.append(f"  job error: {short(job['error'], 120)}")
        for entry in self.answers[-3:]:
            lines.append(f"  Q: {short(entry['prompt'], 80)}")
            lines.append(f"    tuned: {short(entry['tuned'] or '...', 100)}")
            lines.append(f"    base:  {short(entry['base'] or '...', 100)}")
        if job.get("mlflow_command"):
            lines.append(f"  MLflow run {job['mlflow_run_id']}: {job['mlflow_command']}")
        return "\n".join(lines)
