"""`ChatWidget`: chat with the stack's models, streamed token by token, shields as guardrails."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import traitlets

from llama_workbench.core.errors import BadRequestError, NotFoundError
from llama_workbench.jupyter.widgets._base import (
    JS_DIR,
    StackWidget,
    llm_ids,
    shield_ids,
    short,
    violation_info,
)

if TYPE_CHECKING:
    from llama_workbench.core.stack import Stack

_SYNC_EVERY_S = 0.1  # how often the growing answer is copied into the `partial` trait


class ChatWidget(StackWidget):
    """A chat over `stack.inference`: model, system prompt, sampling, history and shields.

    `send(prompt)` (or the Send button) answers in the background: tokens reach the views as
    custom messages while `partial` holds the answer so far. Selected shields check the prompt
    before and the answer after; an `error`-level finding blocks the turn (shown in `violation`,
    the history is left as it was). `stop()` ends generation and keeps what was written.
    """

    _esm = JS_DIR / "chat.js"
    _css = JS_DIR / "chat.css"
    _actions = {"send": "send", "stop": "stop", "clear": "clear", "refresh": "refresh"}

    models = traitlets.List(traitlets.Unicode()).tag(sync=True)
    model = traitlets.Unicode("").tag(sync=True)
    system = traitlets.Unicode("").tag(sync=True)
    temperature = traitlets.Float(0.7, min=0.0, max=2.0).tag(sync=True)
    max_tokens = traitlets.Int(512, min=1).tag(sync=True)
    messages = traitlets.List(traitlets.Dict()).tag(sync=True)  # [{role, content}], no system
    pending = traitlets.Unicode("").tag(sync=True)  # the prompt being answered
    partial = traitlets.Unicode("").tag(sync=True)  # the answer so far
    streaming = traitlets.Bool(False).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    shields = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected_shields = traitlets.List(traitlets.Unicode()).tag(sync=True)
    violation = traitlets.Dict().tag(sync=True)  # {} or {shield_id, stage, level, ...}

    def __init__(
        self,
        stack: Stack,
        model: str | None = None,
        system: str | None = None,
        shields: Sequence[str] = (),
    ) -> None:
        self._stop = threading.Event()
        self._stream: Any = None
        self._epoch = 0  # bumped by clear(): a turn started before it is not recorded
        models, available = llm_ids(stack), shield_ids(stack)
        if model and model not in models:
            raise NotFoundError("Model", model, models)
        for shield in shields:
            if shield not in available:
                raise NotFoundError("Shield", shield, available)
        super().__init__(
            stack,
            models=models,
            model=model or (models[0] if models else ""),
            system=system or "",
            shields=available,
            selected_shields=list(shields),
        )

    # -- actions

    def send(self, prompt: Any, buffers: Any = None) -> None:
        """Answer `prompt` in the background (returns at once; `wait()` blocks until done)."""
        if isinstance(prompt, Mapping):
            # ipywidgets' own send(content, buffers) (focus(), blur()) keeps working.
            super().send(prompt, buffers)
            return
        prompt = str(prompt).strip()
        if not prompt:
            raise BadRequestError("Type a message first.")
        if not self.model:
            raise BadRequestError("This stack serves no chat model (llm).")
        with self._lock:
            if self.busy:
                raise BadRequestError("Still answering: stop() it or wait() for it.")
            self._stop.clear()
            self.error = ""
            self.violation = {}
            self.pending, self.partial = prompt, ""
            self.status = "thinking"
            epoch = self._epoch
            self._submit(lambda: self._turn(prompt, epoch))

    def stop(self) -> None:
        """Stop the answer being generated (what was written so far is kept)."""
        with self._lock:
            self._stop.set()
            stream = self._stream
        if stream is not None:
            # Closing waits for the producer to stop: do it off the kernel's thread.
            threading.Thread(target=stream.close, daemon=True).start()

    def clear(self) -> None:
        """Forget the conversation (and stop an answer in progress)."""
        with self._lock:
            self._epoch += 1
            if self.busy:
                self.stop()
            self.messages, self.pending, self.partial = [], "", ""
            self.violation, self.error, self.status = {}, "", ""

    def refresh(self) -> None:
        """Reload the model and shield lists."""
        self.models, self.shields = llm_ids(self._stack), shield_ids(self._stack)
        if self.model not in self.models:
            self.model = self.models[0] if self.models else ""
        self.selected_shields = [s for s in self.selected_shields if s in self.shields]

    def transcript(self) -> str:
        """The conversation as text (what the Copy button copies)."""
        return "\n\n".join(f"{m['role']}: {m['content']}" for m in self.messages)

    def close(self) -> None:
        if hasattr(self, "_lock"):  # not so when the constructor raised (ipywidgets' __del__)
            self.stop()
        super().close()

    # -- the turn (on the worker thread)

    def _turn(self, prompt: str, epoch: int) -> None:
        answer: str | None = None
        try:
            answer = self._answer(prompt)
        finally:
            # One message to the views: the turn joins the history as the live bubble goes.
            with self._lock, self.hold_sync():
                if answer is not None and epoch == self._epoch:
                    turn = [{"role": "user", "content": prompt}]
                    turn.append({"role": "assistant", "content": answer})
                    self.messages = [*self.messages, *turn]
                self.pending, self.partial, self.streaming = "", "", False
                if self.status != "stopped" or epoch != self._epoch:
                    self.status = ""

    def _answer(self, prompt: str) -> str | None:
        """The answer to record, or None (a shield blocked the turn, or it was stopped early)."""
        messages = [*self.messages, {"role": "user", "content": prompt}]
        if self.system:
            messages.insert(0, {"role": "system", "content": self.system})
        if self._blocked("prompt", "user", prompt) or self._stop.is_set():
            return None
        answer = self._generate(messages)
        if not answer and self._stop.is_set():
            return None
        if answer and self._blocked("answer", "assistant", answer):
            return None
        return answer

    def _blocked(self, stage: str, role: str, text: str) -> bool:
        """Run the selected shields on `text`; True (and `violation` set) when one blocks it."""
        for shield in list(self.selected_shields):
            self.status = f"checking the {stage} with {shield}"
            verdict = self._stack.safety.run_shield(
                shield_id=shield, messages=[{"role": role, "content": text}]
            )
            if verdict.violation is None:
                continue
            found = {**violation_info(shield, verdict.violation), "stage": stage, "text": text}
            blocks = found["level"] == "error"
            self.violation = {**found, "blocked": blocks}
            if blocks:
                return True
        return False

    def _generate(self, messages: list[dict[str, str]]) -> str:
        """Stream the answer: a custom message per token, `partial` every 0.1 s."""
        stream = self._stack.inference.chat_completion(
            model=self.model,
            messages=messages,
            stream=True,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
        )
        with self._lock:
            self._stream = stream
            self.streaming, self.status = True, "generating"
        parts: list[str] = []
        offset, synced = 0, 0.0
        try:
            for chunk in stream:
                if self._stop.is_set():
                    break
                text = "".join(c.delta.content or "" for c in chunk.choices)
                if not text:
                    continue
                # Offsets count UTF-16 units, as JavaScript strings do.
                self._push({"type": "token", "offset": offset, "text": text})
                parts.append(text)
                offset += len(text.encode("utf-16-le")) // 2
                if time.monotonic() - synced >= _SYNC_EVERY_S:
                    self.partial, synced = "".join(parts), time.monotonic()
        except BaseException:
            if not self._stop.is_set():  # a stopped stream ends with CancelledError
                raise
        finally:
            with self._lock:
                self._stream = None
            stream.close()
        if self._stop.is_set():
            self.status = "stopped"
        self.partial = "".join(parts)
        return self.partial

    # -- text form

    def summary(self) -> str:
        shields = ", ".join(self.selected_shields) or "none"
        lines = [
            f"ChatWidget(model={self.model or '(none)'}, {len(self.messages)} messages, "
            f"shields: {shields})"
        ]
        lines += [f"  {m['role']}: {short(str(m['content']))}" for m in self.messages[-6:]]
        if self.pending:
            lines.append(f"  user: {short(self.pending)}")
            lines.append(f"  assistant (streaming): {short(self.partial)}")
        if self.violation:
            v = self.violation
            lines.append(
                f"  {'blocked' if v.get('blocked') else 'flagged'} by {v['shield_id']} "
                f"({v['stage']}, {v['level']}): {v['user_message']}"
            )
        return "\n".join(lines)
