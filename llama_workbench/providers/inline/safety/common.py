"""What every shield shares: which message text it checks, and how findings are reported."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llama_workbench.apis.inference.models import Message, content_text
from llama_workbench.apis.safety.models import (
    ModerationResult,
    RunShieldResponse,
    SafetyViolation,
    ViolationLevel,
)
from llama_workbench.apis.shields.models import Shield
from llama_workbench.core.errors import BadRequestError

ROLES = ("user", "assistant", "system", "developer", "tool")


@contextmanager
def older_sklearn_pickles() -> Iterator[None]:
    """Load a model package's scikit-learn pickles without the version-skew warning.

    alt-profanity-check 1.9.1 and prompt-guardrail 1.0.1 carry estimators pickled by
    scikit-learn 1.7.2, and unpickling them under a newer release warns once per estimator.
    Their scores are checked by this project's tests (test_toxicity.py, test_prompt_guard.py),
    so in a user's notebook the warning is only noise.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Trying to unpickle estimator")
        yield


def checked_text(messages: Sequence[Message], roles: Sequence[str] | None = None) -> str:
    """The text a content shield checks: the last message (of `roles`, if given)."""
    chosen = [m for m in messages if roles is None or m.role in roles]
    if not chosen:
        return ""
    return content_text(chosen[-1].content)


def all_text(messages: Sequence[Message], roles: Sequence[str] | None = None) -> list[str]:
    """Every message's text (of `roles`, if given), in order."""
    return [content_text(m.content) for m in messages if roles is None or m.role in roles]


def picked_texts(messages: Sequence[Message], roles: Sequence[str] | None) -> list[tuple[int, str]]:
    """(message index, text) of the non-empty messages of `roles` (None: all): what classifiers score."""
    return [
        (i, text)
        for i, m in enumerate(messages)
        if (roles is None or m.role in roles) and (text := content_text(m.content)).strip()
    ]


def roles_param(params: dict[str, Any], default: Sequence[str] | None = None) -> list[str] | None:
    """The `roles` shield param: which messages a shield checks (None: all of them)."""
    roles = params.get("roles", default)
    if roles is None:
        return None
    if isinstance(roles, str):
        roles = [roles]
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise BadRequestError(f"Unknown roles {unknown} in shield params; use {', '.join(ROLES)}.")
    return list(roles)


def verdict(
    level: ViolationLevel | None, user_message: str | None = None, **metadata: Any
) -> RunShieldResponse:
    """A run_shield answer: no violation when `level` is None."""
    if level is None:
        return RunShieldResponse()
    return RunShieldResponse(
        violation=SafetyViolation(
            violation_level=level, user_message=user_message, metadata=metadata
        )
    )


def moderation(
    scores: dict[str, float],
    flagged_categories: Sequence[str],
    user_message: str | None = None,
    **metadata: Any,
) -> ModerationResult:
    """An OpenAI-shaped moderation result from per-category scores and the categories flagged.

    category_scores follow Llama Stack 0.7.3's moderation semantics (its Llama Guard's
    run_moderation, which its suite asserts): on a safe verdict every category scores 1.0, a
    confidence in "safe" rather than a probability of harm, so a provider's own non-zero scores
    (a classifier's probability, a finding under the severity threshold) move to
    metadata["scores"]; on a flagged verdict the scores are the provider's own, a flagged category
    scoring 1.0 for a finding or the classifier's probability (at least the threshold).
    """
    flagged = set(flagged_categories)
    categories = {name: name in flagged for name in {*scores, *flagged}}
    if not flagged:
        own = {name: float(score) for name, score in scores.items() if score}
        return ModerationResult(
            flagged=False,
            categories=categories,
            category_scores=dict.fromkeys(categories, 1.0),
            metadata=metadata | ({"scores": own} if own else {}),
        )
    return ModerationResult(
        flagged=True,
        categories=categories,
        category_scores={
            name: float(scores.get(name, 1.0 if name in flagged else 0.0)) for name in categories
        },
        category_applied_input_types={name: ["text"] for name in flagged},
        user_message=user_message,
        metadata=metadata,
    )


def params_problems(exc: ValidationError) -> str:
    """A pydantic error about shield params as one line: each bad param, why, and what was given."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']} (got {e['input']!r})"
        for e in exc.errors()
    )


class _ClassifierParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(ge=0.0, le=1.0)
    level: ViolationLevel
    roles: Any = None  # checked by roles_param


@dataclass(frozen=True)
class ClassifierSettings:
    """A classifier shield's config overridden by shield and request params."""

    threshold: float
    level: ViolationLevel
    roles: list[str] | None


def classifier_settings(
    params: dict[str, Any],
    threshold: float,
    level: ViolationLevel,
    roles: Sequence[str] | None,
    provider_type: str,
) -> ClassifierSettings:
    """Params `threshold`, `level`, `roles` over the config's; a BadRequestError names a bad one."""
    try:
        checked = _ClassifierParams.model_validate(
            {"threshold": threshold, "level": level, **params}
        )
    except ValidationError as exc:
        raise BadRequestError(
            f"Bad shield params for {provider_type}: {params_problems(exc)} "
            "(params: threshold 0..1, level info|warn|error, roles)."
        ) from None
    return ClassifierSettings(checked.threshold, checked.level, roles_param(params, roles))


class ClassifierShield(ABC):
    """Base of shields that score each message's text: run_shield and batches over one scoring."""

    @abstractmethod
    def _settings(self, params: dict[str, Any]) -> ClassifierSettings: ...

    @abstractmethod
    async def _score_texts(self, texts: list[str]) -> list[Any]:
        """One score per text, in one call (a classifier's cost is mostly per call)."""
        ...

    @abstractmethod
    def _verdict(
        self, picked: list[tuple[int, str]], scores: list[Any], settings: ClassifierSettings
    ) -> RunShieldResponse: ...

    async def register_shield(self, shield: Shield) -> Shield:
        self._settings(shield.params or {})
        return shield

    async def run_shield(
        self, shield: Shield, messages: list[Message], params: dict[str, Any]
    ) -> RunShieldResponse:
        (result,) = await self.run_shield_batch(shield, [messages], params)
        return result

    async def run_shield_batch(
        self, shield: Shield, conversations: list[list[Message]], params: dict[str, Any]
    ) -> list[RunShieldResponse]:
        """Every conversation's texts scored together, each verdict from its own slice."""
        settings = self._settings(params)
        picks = [picked_texts(messages, settings.roles) for messages in conversations]
        flat = [text for picked in picks for _, text in picked]
        scores = await self._score_texts(flat) if flat else []
        results, start = [], 0
        for picked in picks:
            results.append(self._verdict(picked, scores[start : start + len(picked)], settings))
            start += len(picked)
        return results
