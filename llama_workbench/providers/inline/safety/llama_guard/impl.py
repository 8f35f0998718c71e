"""The Llama Guard shield: render the conversation, ask the guard model, read its verdict."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llama_workbench.apis.inference.api import Inference
from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionRequest,
    Message,
    UserMessage,
)
from llama_workbench.apis.models.api import Models
from llama_workbench.apis.models.models import ModelType
from llama_workbench.apis.safety.models import ModerationResult, RunShieldResponse, ViolationLevel
from llama_workbench.apis.shields.models import Shield
from llama_workbench.core.errors import BadRequestError, ProviderError
from llama_workbench.providers.inline.safety.common import moderation, verdict
from llama_workbench.providers.inline.safety.llama_guard.config import (
    LlamaGuardConfig,
    checked_exclusions,
)
from llama_workbench.providers.inline.safety.llama_guard.prompt import (
    CATEGORIES,
    Turn,
    build_prompt,
    conversation,
    moderation_name,
    parse_answer,
)

PARAMS = ("excluded_categories", "user_message")
MODERATION_CONCURRENCY = 8


@dataclass(frozen=True)
class _Settings:
    excluded: frozenset[str]
    user_message: str


class LlamaGuardSafety:
    """A SafetyProvider whose shields name a guard model (`provider_resource_id`)."""

    def __init__(
        self, provider_id: str, config: LlamaGuardConfig, inference: Inference, models: Models
    ) -> None:
        self._provider_id = provider_id
        self._config = config
        self._inference = inference
        self._models = models

    async def register_shield(self, shield: Shield) -> Shield:
        self._settings(shield.params or {}, shield)
        model = await self._models.retrieve(shield.provider_resource_id)
        if model.model_type != ModelType.llm:
            raise BadRequestError(
                f"Shield '{shield.identifier}': model '{model.identifier}' has model_type "
                f"'{model.model_type.value}'; Llama Guard needs an 'llm' (chat) model."
            )
        return shield

    async def run_shield(
        self, shield: Shield, messages: builtins.list[Message], params: dict[str, Any]
    ) -> RunShieldResponse:
        settings = self._settings(params, shield)
        try:
            turns = conversation(messages)
        except ValueError as exc:
            raise BadRequestError(f"Shield '{shield.identifier}': {exc}.") from None
        flagged = await self._check(shield, turns, settings)
        if not flagged:
            return verdict(None)
        return verdict(
            ViolationLevel.error,
            settings.user_message,
            violation_type=",".join(flagged),
            categories=[CATEGORIES[c] for c in flagged],
        )

    async def run_moderation(
        self, shield: Shield, texts: builtins.list[str]
    ) -> builtins.list[ModerationResult]:
        settings = self._settings(shield.params or {}, shield)
        gate = asyncio.Semaphore(MODERATION_CONCURRENCY)

        async def one(text: str) -> ModerationResult:
            async with gate:
                flagged = await self._check(shield, [Turn("User", text)], settings)
            return _moderation_result(flagged, settings)

        return list(await asyncio.gather(*(one(t) for t in texts)))

    async def shutdown(self) -> None:
        return None

    # -- the guard model

    async def _check(self, shield: Shield, turns: Sequence[Turn], settings: _Settings) -> list[str]:
        """The categories the guard model finds in the last turn, less the excluded ones."""
        request = ChatCompletionRequest(
            model=shield.provider_resource_id,
            messages=[UserMessage(role="user", content=build_prompt(turns, settings.excluded))],
            temperature=0.0,
            max_tokens=self._config.max_tokens,
            stream=False,
            store=False,  # a guard's verdicts are not the user's chat completions
        )
        reply = await self._inference.chat_completion(request)
        if not isinstance(reply, ChatCompletion) or not reply.choices:
            raise ProviderError(
                self._provider_id,
                f"guard model '{shield.provider_resource_id}' returned no answer.",
            )
        choice = reply.choices[0]
        answer = choice.message.content or ""
        cut = choice.finish_reason == "length"
        try:
            codes = parse_answer(answer)
        except ValueError as exc:
            raise self._bad_answer(shield, answer, str(exc), cut) from None
        flagged = [c for c in codes if c not in settings.excluded]
        if codes and not flagged and cut:
            # Only excluded categories were read, but the ones cut off may not be excluded.
            raise self._bad_answer(shield, answer, "it was cut off after excluded categories", cut)
        return flagged

    def _bad_answer(self, shield: Shield, answer: str, why: str, cut: bool) -> ProviderError:
        hint = (
            f"The answer was cut at max_tokens={self._config.max_tokens}; raise it."
            if cut
            else "Is it a Llama Guard model?"
        )
        return ProviderError(
            self._provider_id,
            f"guard model '{shield.provider_resource_id}' answered {answer[:200]!r}, "
            f"which can't be read as a Llama Guard verdict: {why}. {hint}",
        )

    def _settings(self, params: dict[str, Any], shield: Shield) -> _Settings:
        """The config, with the shield's (and the request's) params laid over it."""
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise BadRequestError(
                f"Shield '{shield.identifier}': unknown params {unknown} for inline::llama-guard; "
                f"it accepts {', '.join(PARAMS)}."
            )
        excluded = params.get("excluded_categories")
        if excluded is None:
            excluded = self._config.excluded_categories
        if isinstance(excluded, str):
            excluded = [excluded]
        try:
            codes = checked_exclusions(list(excluded))
        except (TypeError, ValueError) as exc:
            raise BadRequestError(
                f"Shield '{shield.identifier}': params.excluded_categories: {exc}."
            ) from None
        user_message = params.get("user_message", self._config.user_message)
        if not isinstance(user_message, str) or not user_message:
            raise BadRequestError(
                f"Shield '{shield.identifier}': params.user_message must be a non-empty string."
            )
        return _Settings(frozenset(codes), user_message)


def _moderation_result(flagged: Sequence[str], settings: _Settings) -> ModerationResult:
    """OpenAI's shape, scored as Llama Stack 0.7.3: safe, every category 1.0; flagged, 1.0/0.0."""
    scores = {moderation_name(code): 1.0 if code in flagged else 0.0 for code in CATEGORIES}
    metadata: dict[str, Any] = {}
    if flagged:
        metadata = {
            "violation_type": ",".join(flagged),
            "categories": [CATEGORIES[c] for c in flagged],
        }
    return moderation(
        scores, [moderation_name(c) for c in flagged], settings.user_message, **metadata
    )
