"""Generation jobs and the thread-safe channel that carries their output back to the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass

from llama_workbench.providers.inline.inference.transformers.config import (
    DEFAULT_REPETITION_PENALTY,
)
from llama_workbench.providers.inline.inference.transformers.loop_guard import LoopGuard
from llama_workbench.providers.utils.local_llm import BaseSampling
from llama_workbench.providers.utils.stop_sequences import StopSequenceBuffer


@dataclass(frozen=True)
class Sampling(BaseSampling):
    """How the next token is picked (temperature 0 or None means greedy), with transformers' and
    CTranslate2's penalties."""

    repetition_penalty: float | None = None  # None: the default of the engine that serves it
    no_repeat_ngram_size: int = 0

    def penalty_for(self, engine: str) -> float:
        """The repetition penalty on `engine`: the one set, else that engine's default."""
        if self.repetition_penalty is not None:
            return self.repetition_penalty
        return DEFAULT_REPETITION_PENALTY[engine]

    def batch_key(self) -> tuple[object, ...] | None:
        """Jobs with equal keys can share a batch: one generate() call takes one sampling setup.

        None means "run alone": a seeded sampling job, so that its seed alone decides its output.
        """
        penalties = (self.repetition_penalty, self.no_repeat_ngram_size)
        if self.greedy:
            return ("greedy", *penalties)
        if self.seed is not None:
            return None
        return ("sample", self.temperature, self.top_p, self.top_k, *penalties)


@dataclass(frozen=True)
class Event:
    """One piece of a job's output: a text delta, or the end (finish reason and token counts)."""

    index: int
    delta: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: BaseException | None = None
    loop_guard: bool = False  # the loop guard ended this output (finish_reason "stop")


class Sink:
    """Delivers events from the generation thread to an asyncio queue on the caller's loop.

    `closed` is set when the caller stops listening (stream closed, task cancelled, loop gone);
    the generation thread checks it every token and drops the job.
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.closed = threading.Event()

    def put(self, event: Event) -> None:
        if self.closed.is_set():
            return
        try:
            self._loop.call_soon_threadsafe(self.queue.put_nowait, event)
        except RuntimeError:  # the caller's loop is closed: nobody will read this
            self.closed.set()


@dataclass(eq=False)  # jobs are compared by identity: two may hold the same prompt
class Job:
    """One sequence to generate: a prompt (token ids) and its limits."""

    index: int
    input_ids: list[int]
    sampling: Sampling
    max_tokens: int
    stops: list[str]
    sink: Sink


class RowState:
    """The output of one job while its batch generates: tokens, decoded text, stop handling."""

    def __init__(
        self,
        job: Job,
        decode: Callable[[list[int]], str],
        eos_ids: set[int],
        on_token: Callable[[], None],
        loop_repeats: int = 0,
    ) -> None:
        self.job = job
        self._on_token = on_token
        self.done = False
        self._decode = decode
        self._eos_ids = eos_ids
        self._tokens: list[int] = []
        self._generated = 0
        self._stops = StopSequenceBuffer(job.stops)
        self._guard = LoopGuard(loop_repeats)
        self._looped = False
        self._shown = 0  # characters of the output emitted so far

    def step(self, token: int) -> None:
        """Take the row's next token; finishes the row on EOS, a stop sequence or its limit."""
        if self.done:
            return
        if self.job.sink.closed.is_set():
            self.done = True
            return
        self._generated += 1
        self._on_token()
        if token in self._eos_ids:
            self.finish("stop")
            return
        self._tokens.append(token)
        text = self._decode(self._tokens)
        if not text.endswith("\ufffd"):  # an incomplete UTF-8 character: wait for its end
            self._stops.feed(text)
            self._looped = not self._stops.stopped and self._guard.looping(self._tokens, text)
            if not self._looped:  # a sentence that may be a repeat waits until it is decided
                safe = self._stops.text
                self._show(safe[: len(safe) - self._guard.held(safe)])
        if self._stops.stopped or self._looped:
            self.finish("stop")
        elif self._generated >= self.job.max_tokens:
            self.finish("length")

    def finish(self, reason: str) -> None:
        if self.done:
            return
        self.done = True
        self._stops.flush(self._decode(self._tokens))
        cut = self._guard.cut if self._looped else None
        self._show(self._stops.text[:cut])  # a repeated prose sentence is dropped
        self.job.sink.put(
            Event(
                self.job.index,
                finish_reason=reason,
                prompt_tokens=len(self.job.input_ids),
                completion_tokens=self._generated,
                loop_guard=self._looped,
            )
        )

    def fail(self, error: BaseException) -> None:
        if not self.done:
            self.done = True
            self.job.sink.put(Event(self.job.index, error=error))

    @property
    def generated(self) -> int:
        return self._generated

    def _show(self, text: str) -> None:
        """Emit what of `text` (a prefix of the output) has not been shown yet."""
        if len(text) > self._shown:
            self.job.sink.put(Event(self.job.index, delta=text[self._shown :]))
            self._shown = len(text)
