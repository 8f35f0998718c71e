"""One model's generation thread: loads on first use, batches jobs that arrive together."""

from __future__ import annotations

import functools
import gc
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_workbench.providers.inline.inference.transformers import ct2
from llama_workbench.providers.inline.inference.transformers.jobs import Event, Job, RowState
from llama_workbench.providers.inline.inference.transformers.loader import (
    ADAPTER_CONFIG,
    LoadedModel,
    default_gguf_path,
    load_model,
)
from llama_workbench.providers.utils.quiet import quiet_loading

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineSettings:
    dtype: str
    num_threads: int
    max_batch_size: int
    batch_wait_s: float
    cache_dir: Path
    engine: str = "transformers"  # or ctranslate2
    compute_type: str = "int8"  # ctranslate2's
    ct2_threads: int = 1  # ctranslate2's CPU threads
    loop_guard_repeats: int = 0


@dataclass
class EngineStats:
    """Counters that show what the engine did (tests and benchmarks read them)."""

    loads: int = 0
    batches: int = 0
    largest_batch: int = 0
    tokens_generated: int = 0
    engine_switches: int = 0  # an adapter moved from transformers to its CTranslate2 conversion


class GenerationEngine:
    """Serves one model: a lock-guarded lazy load and one worker thread that generates batches
    with CTranslate2 (a cached conversion) or transformers (fp32, exact).

    Jobs submitted within `batch_wait_s` of each other (and with the same sampling setup) are
    generated together in one left-padded batch; each row stops on its own (EOS, stop sequence,
    token limit, or its caller closing the stream).
    """

    def __init__(self, path: Path | None, tokenizer: Path | None, settings: EngineSettings) -> None:
        self._path = path
        self._tokenizer_path = tokenizer
        self._settings = settings
        self._load_lock = threading.Lock()
        self._load: Future[LoadedModel] | None = None
        self._loaded: LoadedModel | None = None
        self._cond = threading.Condition()
        self._pending: list[Job] = []
        self._active: list[Job] = []
        self._closed = False
        self._thread: threading.Thread | None = None
        self.stats = EngineStats()

    # -- loading

    def load_future(self) -> Future[LoadedModel]:
        """The model's load: started by the first caller in its own thread, shared by the rest.

        Async callers await it (`asyncio.wrap_future`) without holding an executor thread; a
        failed load is forgotten, so the next call tries again (e.g. after a pip install).
        """
        with self._load_lock:
            if self._closed:
                raise RuntimeError("the inference provider was shut down")
            future = self._load
            if future is None or (future.done() and future.exception() is not None):
                future = self._load = Future()
                # Running futures can't be cancelled: one caller giving up must not cancel the
                # load the others wait for.
                future.set_running_or_notify_cancel()
                threading.Thread(
                    target=self._load_into, args=(future,), name="transformers-load", daemon=True
                ).start()
            return future

    def ensure_loaded(self) -> LoadedModel:
        """The loaded model, loading it first if needed (blocking)."""
        return self.load_future().result()

    def _load_into(self, future: Future[LoadedModel]) -> None:
        try:
            loaded = self._load_now()
        except BaseException as exc:
            future.set_exception(exc)
            return
        with self._load_lock:
            if self._closed:  # shut down while loading: don't keep the weights
                future.set_exception(RuntimeError("the inference provider was shut down"))
                return
            self._loaded = loaded
            self.stats.loads += 1
        future.set_result(loaded)

    def _load_now(self) -> LoadedModel:
        s, path = self._settings, self.weights_path()
        if s.engine != "ctranslate2":
            return load_model(path, self._tokenizer_path, s.dtype, s.num_threads, s.cache_dir)
        target = ct2.conversion_dir(path, s.cache_dir, s.compute_type)
        if ct2.is_converted(target):
            return self._load_converted(target, "cache")
        if (path / ADAPTER_CONFIG).is_file():
            # Served at once (merged, through transformers) while its conversion runs behind.
            loaded = load_model(path, self._tokenizer_path, s.dtype, s.num_threads, s.cache_dir)
            threading.Thread(
                target=self._convert_adapter, args=(loaded, target), name="ct2-convert", daemon=True
            ).start()
            return loaded
        source = functools.partial(ct2.hf_folder, path, s.cache_dir)
        try:
            ct2.convert(target, s.compute_type, source, self._tokenizer_path)
        except (ValueError, NotImplementedError) as exc:
            # An architecture CTranslate2's converter doesn't know: transformers still serves
            # it (the provider's health shows which engine each model runs on).
            logger.warning("CTranslate2 can't convert %s (%s); using transformers", path, exc)
            return load_model(path, self._tokenizer_path, s.dtype, s.num_threads, s.cache_dir)
        return self._load_converted(target, "gguf" if path.is_file() else "folder")

    def _load_converted(self, target: Path, source: str) -> LoadedModel:
        s = self._settings
        return ct2.load_converted(
            target, self._tokenizer_path, s.compute_type, s.ct2_threads, source
        )

    def _convert_adapter(self, merged: LoadedModel, target: Path) -> None:
        """Save the merged adapter, convert it, and serve the conversion from the next batch on."""
        s = self._settings
        try:
            s.cache_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=s.cache_dir, prefix=".merged-") as tmp:

                def save() -> Path:
                    with quiet_loading():
                        merged.model.save_pretrained(tmp)
                        merged.tokenizer.save_pretrained(tmp)
                    return Path(tmp)

                ct2.convert(target, s.compute_type, save)
            fast = self._load_converted(target, "adapter")
        except Exception:
            logger.exception("converting the adapter failed; it stays on transformers")
            return
        with self._load_lock:
            if self._closed:
                return
            self._loaded, self._load = fast, Future()
            self._load.set_running_or_notify_cancel()
            self._load.set_result(fast)
            self.stats.engine_switches += 1
        logger.info("adapter %s now served by %s", self.weights_path().name, fast.describe())

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def weights_path(self) -> Path:
        """The model's file or folder: the configured one, else the bundled GGUF."""
        return self._path or default_gguf_path()

    @property
    def tokenizer_path(self) -> Path | None:
        return self._tokenizer_path

    # -- jobs

    def submit(self, jobs: list[Job]) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the inference provider was shut down")
            self._pending.extend(jobs)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="transformers-generate", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def close(self) -> None:
        """Stop the worker (the running batch stops at its next token) and free the model.

        Callers still waiting get an error rather than an answer that never comes.
        """
        with self._cond:
            self._closed = True
            for job in self._pending + self._active:
                job.sink.put(
                    Event(job.index, error=RuntimeError("the inference provider was shut down"))
                )
                job.sink.closed.set()
            self._pending.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=60)
        with self._load_lock:
            self._closed = True
            had_model = self._loaded is not None
            self._loaded = self._load = None
        if had_model:  # free the weights now; a never-loaded engine holds nothing to collect
            gc.collect()

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if batch:
                self._generate(batch)

    def _next_batch(self) -> list[Job] | None:
        """Wait for work, give latecomers `batch_wait_s` to join, take one compatible batch."""
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            first = self._pending[0]
            key = first.sampling.batch_key()
            batch = [first] if key is None else self._gather(key)
            self._pending = [j for j in self._pending if j not in batch]
            self._active = [j for j in batch if not j.sink.closed.is_set()]
            return self._active

    def _gather(self, key: tuple[object, ...]) -> list[Job]:
        """Pending jobs with `key`, after waiting up to `batch_wait_s` for the batch to fill."""
        deadline = time.monotonic() + self._settings.batch_wait_s
        limit = self._settings.max_batch_size
        while True:
            same = [j for j in self._pending if j.sampling.batch_key() == key]
            left = deadline - time.monotonic()
            if self._closed or len(same) >= limit or left <= 0:
                return same[:limit]
            self._cond.wait(left)

    def _generate(self, jobs: list[Job]) -> None:
        try:
            lm = self.ensure_loaded()
            lm = self._loaded or lm  # an adapter's conversion may have replaced the first load
            decode, eos = _decoder(lm.tokenizer), set(lm.eos_ids)
            repeats = self._settings.loop_guard_repeats
            rows = [RowState(job, decode, eos, self._count_token, repeats) for job in jobs]
        except Exception as exc:  # every waiting caller gets the load error
            for job in jobs:
                RowState(job, lambda _: "", set(), self._count_token).fail(exc)
            return
        self.stats.batches += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(rows))
        try:
            if lm.engine == "ctranslate2":
                ct2.generate(lm, rows)
            else:
                _run_generate(lm, rows)
        except Exception as exc:
            logger.exception("generation failed")
            for row in rows:
                row.fail(exc)
        finally:
            # Rows the batch ended for (the context is full) without an end of their own.
            for row in rows:
                row.finish("length")
            with self._cond:
                self._active = []

    def _count_token(self) -> None:
        # Called by the generation thread before the token's events go out, so a caller that
        # got its answer sees its tokens counted.
        self.stats.tokens_generated += 1


def _decoder(tokenizer: Any) -> Callable[[list[int]], str]:
    def decode(tokens: list[int]) -> str:
        return str(tokenizer.decode(tokens, skip_special_tokens=True))

    return decode


class _RowsCriteria:
    """A stopping criterion that feeds each new token to its row and reports the finished rows."""

    def __init__(self, rows: list[RowState]) -> None:
        import torch

        self._rows = rows
        self._torch = torch

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        last = input_ids[:, -1].tolist()
        for row, token in zip(self._rows, last, strict=True):
            row.step(int(token))
        return self._torch.tensor([row.done for row in self._rows], dtype=self._torch.bool)


def _run_generate(lm: LoadedModel, rows: list[RowState]) -> None:
    import torch
    from transformers import GenerationConfig, StoppingCriteriaList

    prompts = [row.job.input_ids for row in rows]
    width = max(len(p) for p in prompts)
    input_ids = torch.tensor([[lm.pad_id] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    sampling = rows[0].job.sampling
    options: dict[str, Any] = {"do_sample": False}
    if not sampling.greedy:
        # top_k 0 and top_p 1 switch those filters off: transformers' own defaults would not.
        options = {
            "do_sample": True,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p if sampling.top_p is not None else 1.0,
            "top_k": sampling.top_k or 0,
        }
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
    config = GenerationConfig(
        max_new_tokens=max(row.job.max_tokens for row in rows),
        eos_token_id=lm.eos_ids,
        pad_token_id=lm.pad_id,
        repetition_penalty=sampling.penalty_for(lm.engine),
        no_repeat_ngram_size=sampling.no_repeat_ngram_size,
        **options,
    )
    with torch.inference_mode():
        lm.model.generate(
            input_ids=input_ids,
            attention_mask=mask,
            generation_config=config,
            stopping_criteria=StoppingCriteriaList([_RowsCriteria(rows)]),
        )
