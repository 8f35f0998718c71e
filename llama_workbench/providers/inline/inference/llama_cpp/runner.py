"""One GGUF model on llama.cpp: loaded once on first use, generating on its own worker thread."""

from __future__ import annotations

import asyncio
import codecs
import gc
import logging
import random
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from llama_workbench.core.errors import (
    LlamaWorkbenchError,
    ProviderError,
    ProviderUnavailableError,
)
from llama_workbench.providers.inline.inference.llama_cpp.loader import (
    LoadedModel,
    RunnerSettings,
    load_gguf,
)
from llama_workbench.providers.utils.local_llm import BaseSampling
from llama_workbench.providers.utils.stop_sequences import StopSequenceBuffer

logger = logging.getLogger(__name__)

T = TypeVar("T")
_SHUT_DOWN = "the inference provider was shut down"
_EARLY = "generation ended before every choice finished"


@dataclass(frozen=True)
class Sampling(BaseSampling):
    """OpenAI sampling fields (temperature 0 or unset is greedy, as in the other inline provider)
    with llama.cpp's frequency and presence penalties."""

    frequency_penalty: float | None = None
    presence_penalty: float | None = None

    def options(self) -> dict[str, Any]:
        """Keyword arguments of `Llama.generate`: OpenAI's meaning, not llama.cpp's defaults.

        llama.cpp would otherwise filter with top_k 40, top_p 0.95 and min_p 0.05 even when the
        request sets none of them; here an unset filter is off (top_k 0, top_p 1, min_p 0).
        frequency / presence penalties are llama.cpp's, over its window of the last 64 tokens.
        """
        penalties = {
            "frequency_penalty": self.frequency_penalty or 0.0,
            "presence_penalty": self.presence_penalty or 0.0,
            "repeat_penalty": 1.0,
        }
        if self.greedy:
            return {"temp": 0.0, **penalties}
        return {
            "temp": self.temperature,
            "top_p": self.top_p if self.top_p is not None else 1.0,
            "top_k": self.top_k or 0,
            "min_p": 0.0,
            "typical_p": 1.0,
            **penalties,
        }


@dataclass(frozen=True)
class Task:
    """What to generate for one request: each prompt `n` times, choice index = prompt * n + j."""

    prompts: list[list[int]]
    n: int
    max_tokens: list[int]  # per prompt
    stops: list[str]
    sampling: Sampling
    grammar: str | None = None  # GBNF text constraining every choice

    @property
    def choices(self) -> int:
        return len(self.prompts) * self.n


@dataclass(frozen=True)
class Event:
    """A piece of one choice's output; the last one of a choice carries its finish_reason."""

    index: int
    delta: str = ""
    finish_reason: str | None = None
    completion_tokens: int = 0
    error: BaseException | None = None
    loop_guard: bool = (
        False  # llama.cpp has no loop guard: never set (the shared responses read it)
    )


@dataclass
class RunnerStats:
    """Counters that show what the runner did (tests and benchmarks read them)."""

    loads: int = 0
    tokens_generated: int = 0


class ModelRunner:
    """Serves one GGUF: a lazy load and one worker thread, so requests run one at a time.

    A llama.cpp context is not thread-safe: everything that touches it runs on the worker and
    under `_lock`, which `close()` also takes before it frees the model.
    """

    def __init__(self, path: Path | None, settings: RunnerSettings, provider_id: str) -> None:
        self._path = path
        self._settings = settings
        self._provider_id = provider_id
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-cpp")
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._closed = False
        self.stats = RunnerStats()

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    async def model(self) -> LoadedModel:
        """The loaded model; the first call loads it (concurrent first calls share one load)."""
        loaded = self._loaded
        return loaded if loaded is not None else await self.call(lambda lm: lm)

    async def call(self, fn: Callable[[LoadedModel], T]) -> T:
        """Run `fn(model)` on the worker thread, loading the model first if needed."""
        try:
            future = self._executor.submit(self._locked, fn)
        except RuntimeError as exc:  # the executor was shut down
            raise ProviderUnavailableError(self._provider_id, _SHUT_DOWN) from exc
        try:
            return await asyncio.wrap_future(future)
        except Exception as exc:
            raise self._error(exc) from exc

    def _locked(self, fn: Callable[[LoadedModel], T]) -> T:
        with self._lock:
            if self._closed:
                raise RuntimeError(_SHUT_DOWN)
            if self._loaded is None:
                self._loaded = load_gguf(self._path, self._settings)
                self.stats.loads += 1
            return fn(self._loaded)

    async def events(self, task: Task) -> AsyncGenerator[Event, None]:
        """Run `task` on the worker; yield its events as tokens arrive.

        Closing the iterator early (or cancelling its consumer) stops generation at the next
        token; a task still queued behind another request never starts.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue()
        cancel = threading.Event()

        def emit(event: Event) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, event)
            except RuntimeError:  # the consumer's event loop is gone
                cancel.set()

        def run(lm: LoadedModel) -> None:
            for index in range(task.choices):
                if cancel.is_set():
                    return
                self._generate(lm, index, task, emit, cancel)

        def finished(done: asyncio.Future[None]) -> None:
            # Runs after every event the worker emitted: a failure reaches the consumer in order.
            if not done.cancelled():
                error = done.exception()
                queue.put_nowait(Event(-1, error=error or ProviderError(self._provider_id, _EARLY)))

        asyncio.ensure_future(self.call(run)).add_done_callback(finished)
        left = task.choices
        try:
            while left:
                event = await queue.get()
                if event.error is not None:
                    raise event.error
                left -= event.finish_reason is not None
                yield event
        finally:
            cancel.set()

    def _generate(
        self,
        lm: LoadedModel,
        index: int,
        task: Task,
        emit: Callable[[Event], None],
        cancel: threading.Event,
    ) -> None:
        """One choice, token by token: EOS, a stop sequence, the token limit or `cancel` end it."""
        from llama_cpp import LlamaGrammar

        llm = lm.llm
        seed = task.sampling.seed
        llm.set_seed(seed if seed is not None else random.randrange(2**31))
        grammar = LlamaGrammar.from_string(task.grammar, verbose=False) if task.grammar else None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stops = StopSequenceBuffer(task.stops)
        limit = task.max_tokens[index // task.n]
        text, count, finish = "", 0, "length"
        prompt = task.prompts[index // task.n]
        tokens = llm.generate(prompt, grammar=grammar, **task.sampling.options())
        try:
            for token in tokens:
                if cancel.is_set():
                    return
                if self._closed:
                    raise RuntimeError(_SHUT_DOWN)
                if lm.is_eog(token):
                    finish = "stop"
                    break
                count += 1
                self.stats.tokens_generated += 1
                text += decoder.decode(bytes(llm.detokenize([token])))
                delta = stops.feed(text)
                if delta:
                    emit(Event(index, delta))
                if stops.stopped:
                    finish = "stop"
                    break
                if count >= limit:
                    break
        finally:
            tokens.close()
        text += decoder.decode(b"", final=True)
        emit(Event(index, stops.flush(text), finish, count))

    def _error(self, exc: BaseException) -> BaseException:
        if isinstance(exc, LlamaWorkbenchError):
            return exc
        if isinstance(exc, RuntimeError) and str(exc) == _SHUT_DOWN:
            return ProviderUnavailableError(self._provider_id, _SHUT_DOWN)
        logger.error("llama.cpp generation failed", exc_info=exc)
        return ProviderError(self._provider_id, f"llama.cpp failed: {exc}")

    def close(self) -> None:
        """Stop the running generation at its next token, let queued work fail, free the model."""
        self._closed = True
        self._executor.shutdown(wait=True)
        with self._lock:
            loaded, self._loaded = self._loaded, None
        if loaded is not None:
            loaded.llm.close()
            del loaded
            gc.collect()
