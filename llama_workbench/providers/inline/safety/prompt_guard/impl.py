"""inline::prompt-guard: scores messages with an offline prompt-injection classifier."""

from __future__ import annotations

import asyncio
import builtins
import os
import threading
from typing import Any, Protocol

from llama_workbench.apis.safety.models import ModerationResult, RunShieldResponse
from llama_workbench.apis.shields.models import Shield
from llama_workbench.core.errors import ConfigError
from llama_workbench.providers.inline.safety.common import (
    ClassifierSettings,
    ClassifierShield,
    classifier_settings,
    moderation,
    older_sklearn_pickles,
    verdict,
)
from llama_workbench.providers.inline.safety.prompt_guard.config import PromptGuardConfig

PROVIDER_TYPE = "inline::prompt-guard"
# Not one of OpenAI's moderation categories (it has none for this): our own name.
CATEGORY = "prompt_injection"
_MESSAGES = {"jailbreak": "The message looks like a jailbreak attempt."}
_DEFAULT_MESSAGE = "The message looks like a prompt injection."


class _Scorer(Protocol):
    name: str

    def score(self, text: str) -> tuple[float, str]:
        """The probability that `text` is an attack, and the kind of attack it most looks like."""
        ...


class _SecureVector:
    """securevector-guardian-model: word and char TF-IDF + logistic regression, in pure Python."""

    name = "securevector"
    threshold = 0.8

    def __init__(self) -> None:
        from svguardian import resolve_runtime
        from svguardian.model.pure_infer import PureGuardian

        # download=False: the wheel carries the bundle; never fall back to its GitHub download.
        path = resolve_runtime(download=False)
        if not os.path.exists(path):
            raise ConfigError(
                f"{PROVIDER_TYPE}: securevector-guardian-model has no model bundle at {path}; "
                "reinstall the wheel, or set SV_GUARDIAN_RUNTIME to a guardian.runtime.json.gz."
            )
        self._guardian = PureGuardian.load(path)

    def score(self, text: str) -> tuple[float, str]:
        from svguardian.window import predict_windowed

        # Windows long texts (a span buried in a web page) and rescans decoded base64/hex blobs.
        found = predict_windowed(self._guardian, text)
        attacks = [c for c, _ in found["top3"] if c != self._guardian.benign]
        label = found["category"] or (attacks[0] if attacks else CATEGORY)
        return float(found["malicious_score"]), str(label)


class _PromptGuardrail:
    """prompt-guardrail: word n-gram TF-IDF + logistic regression (scikit-learn)."""

    name = "prompt-guardrail"
    threshold = 0.5

    def __init__(self) -> None:
        from guardify import LogisticRegressionGuardrail

        with older_sklearn_pickles():
            self._model = LogisticRegressionGuardrail()

    def score(self, text: str) -> tuple[float, str]:
        found = self._model.predict(text)
        # Its score is the winning label's probability; a threshold needs P(injection).
        p = float(found["score"])
        return (p if found["label"] == "injection" else 1.0 - p), CATEGORY


_SCORERS: dict[str, type[_SecureVector] | type[_PromptGuardrail]] = {
    "securevector": _SecureVector,
    "prompt-guardrail": _PromptGuardrail,
}


class PromptGuardImpl(ClassifierShield):
    """Flags the user and tool messages that a classifier scores as an injection or jailbreak."""

    def __init__(self, config: PromptGuardConfig) -> None:
        self._config = config
        self._threshold = (
            config.threshold if config.threshold is not None else _SCORERS[config.model].threshold
        )
        self._lock = threading.Lock()
        self._scorer: _Scorer | None = None

    async def _score_texts(self, texts: builtins.list[str]) -> builtins.list[Any]:
        return await asyncio.to_thread(self._score_all, texts)

    def _verdict(
        self,
        picked: builtins.list[tuple[int, str]],
        scores: builtins.list[Any],
        settings: ClassifierSettings,
    ) -> RunShieldResponse:
        if not picked:
            return verdict(None)
        k = max(range(len(scores)), key=lambda j: scores[j][0])
        score, label = scores[k]
        if score < settings.threshold:
            return verdict(None)
        return verdict(
            settings.level,
            _MESSAGES.get(label, _DEFAULT_MESSAGE),
            score=score,
            threshold=settings.threshold,
            model=self._config.model,
            message_index=picked[k][0],
            label=label,
        )

    async def run_moderation(
        self, shield: Shield, texts: builtins.list[str]
    ) -> builtins.list[ModerationResult]:
        threshold = self._settings(shield.params or {}).threshold
        scores = await asyncio.to_thread(self._score_all, texts)
        return [
            moderation(
                {CATEGORY: score},
                [CATEGORY] if score >= threshold else [],
                _MESSAGES.get(label, _DEFAULT_MESSAGE),
                model=self._config.model,
                threshold=threshold,
                label=label,
            )
            for score, label in scores
        ]

    async def shutdown(self) -> None:
        with self._lock:
            self._scorer = None

    def _settings(self, params: dict[str, Any]) -> ClassifierSettings:
        return classifier_settings(
            params, self._threshold, self._config.level, self._config.roles, PROVIDER_TYPE
        )

    def _score_all(self, texts: builtins.list[str]) -> builtins.list[tuple[float, str]]:
        """Runs in a worker thread: loads the model on first use, then scores each text."""
        scorer = self._loaded()
        return [scorer.score(t) if t.strip() else (0.0, CATEGORY) for t in texts]

    def _loaded(self) -> _Scorer:
        with self._lock:
            if self._scorer is None:
                self._scorer = _SCORERS[self._config.model]()
            return self._scorer
