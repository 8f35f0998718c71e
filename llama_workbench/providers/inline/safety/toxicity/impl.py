"""inline::toxicity: scores messages with alt-profanity-check, batching concurrent calls."""

from __future__ import annotations

import asyncio
import builtins
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from llama_workbench.apis.safety.models import ModerationResult, RunShieldResponse
from llama_workbench.apis.shields.models import Shield
from llama_workbench.providers.inline.safety.common import (
    ClassifierSettings,
    ClassifierShield,
    classifier_settings,
    moderation,
    older_sklearn_pickles,
    verdict,
)
from llama_workbench.providers.inline.safety.toxicity.config import ToxicityConfig

PROVIDER_TYPE = "inline::toxicity"
MODEL = "alt-profanity-check"
# The model has one class, offensive or not: it can't tell hate, sexual or violent content from
# insults, so it reports OpenAI's nearest category only, and no "hate".
CATEGORY = "harassment"
USER_MESSAGE = "The message contains offensive language."

_Batch = list[tuple[list[str], "asyncio.Future[list[float]]"]]


class _Batcher:
    """Scores concurrent callers' texts in one library call (each call costs ~3 ms, a text ~0.25)."""

    def __init__(self, score: Callable[[list[str]], list[float]]) -> None:
        self._score = score
        self._pending: _Batch = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._jobs: set[asyncio.Task[list[float]]] = set()

    async def score(self, texts: list[str]) -> list[float]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests, a restarted bridge): start afresh
            self._loop, self._pending = loop, []
        future: asyncio.Future[list[float]] = loop.create_future()
        self._pending.append((texts, future))
        if len(self._pending) == 1:
            # Callers already scheduled on this loop run before the dispatch, and join the batch.
            loop.call_soon(self._dispatch)
        return await future

    def _dispatch(self) -> None:
        batch, self._pending = self._pending, []
        texts = [t for chunk, _ in batch for t in chunk]
        # A task of its own: a cancelled caller must not cancel the others' scoring.
        job = asyncio.get_running_loop().create_task(asyncio.to_thread(self._score, texts))
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)
        job.add_done_callback(partial(_settle, batch))


def _settle(batch: _Batch, job: asyncio.Future[list[float]]) -> None:
    """Hand each caller of a batch its slice of the scores (or the batch's error)."""
    error = None if job.cancelled() else job.exception()
    start = 0
    for texts, future in batch:
        if future.done():  # its caller was cancelled
            pass
        elif job.cancelled():
            future.cancel()
        elif error is not None:
            future.set_exception(error)
        else:
            future.set_result(job.result()[start : start + len(texts)])
        start += len(texts)


class ToxicityImpl(ClassifierShield):
    """Flags messages that alt-profanity-check scores as offensive."""

    def __init__(self, config: ToxicityConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._predict: Callable[[list[str]], Any] | None = None
        self._batcher = _Batcher(self._score)

    async def _score_texts(self, texts: builtins.list[str]) -> builtins.list[Any]:
        return await self._batcher.score(texts)

    def _verdict(
        self,
        picked: builtins.list[tuple[int, str]],
        scores: builtins.list[Any],
        settings: ClassifierSettings,
    ) -> RunShieldResponse:
        if not picked:
            return verdict(None)
        k = max(range(len(scores)), key=scores.__getitem__)
        if scores[k] < settings.threshold:
            return verdict(None)
        return verdict(
            settings.level,
            USER_MESSAGE,
            score=scores[k],
            threshold=settings.threshold,
            model=MODEL,
            message_index=picked[k][0],
            label="offensive",
        )

    async def run_moderation(
        self, shield: Shield, texts: builtins.list[str]
    ) -> builtins.list[ModerationResult]:
        threshold = self._settings(shield.params or {}).threshold
        scores = await self._batcher.score(texts)
        return [
            moderation(
                {CATEGORY: score},
                [CATEGORY] if score >= threshold else [],
                USER_MESSAGE,
                model=MODEL,
                threshold=threshold,
                label="offensive" if score >= threshold else "clean",
            )
            for score in scores
        ]

    async def shutdown(self) -> None:
        with self._lock:
            self._predict = None

    def _settings(self, params: dict[str, Any]) -> ClassifierSettings:
        return classifier_settings(
            params, self._config.threshold, self._config.level, self._config.roles, PROVIDER_TYPE
        )

    def _score(self, texts: builtins.list[str]) -> builtins.list[float]:
        """Runs in a worker thread: loads the model on first use, then scores all texts at once."""
        keep = [i for i, t in enumerate(texts) if t.strip()]
        scores = [0.0] * len(texts)
        if keep:
            found = self._loaded()([texts[i] for i in keep])
            for i, p in zip(keep, found, strict=True):
                scores[i] = float(p)
        return scores

    def _loaded(self) -> Callable[[list[str]], Any]:
        with self._lock:
            if self._predict is None:
                # The package loads its model (two joblib files it carries) when imported.
                with older_sklearn_pickles():
                    from profanity_check import predict_prob

                self._predict = predict_prob
            return self._predict
