"""The Safety API protocols: run shields on messages, moderate text."""

from __future__ import annotations

import builtins
from typing import Any, Protocol, runtime_checkable

from llama_workbench.apis.inference.models import Message
from llama_workbench.apis.safety.models import (
    ModerationObject,
    ModerationResult,
    RunModerationRequest,
    RunShieldBatchRequest,
    RunShieldRequest,
    RunShieldResponse,
)
from llama_workbench.apis.shields.models import Shield


@runtime_checkable
class Safety(Protocol):
    """Shields as input and output guardrails, and OpenAI's /v1/moderations."""

    async def run_shield(self, request: RunShieldRequest) -> RunShieldResponse:
        """Check messages with one shield: a violation (level, message, metadata) or none."""
        ...

    async def run_shield_batch(
        self, request: RunShieldBatchRequest
    ) -> builtins.list[RunShieldResponse]:
        """Check many conversations with one shield, concurrently; results in input order."""
        ...

    async def run_moderation(self, request: RunModerationRequest) -> ModerationObject:
        """OpenAI-shaped moderation of each input by one shield (`model`) or all of them."""
        ...


@runtime_checkable
class SafetyProvider(Protocol):
    """A safety provider: validates the shields it is given and runs them."""

    async def register_shield(self, shield: Shield) -> Shield:
        """Check a shield's params before it is registered (raise a clear error if wrong)."""
        ...

    async def run_shield(
        self, shield: Shield, messages: builtins.list[Message], params: dict[str, Any]
    ) -> RunShieldResponse: ...

    async def run_moderation(
        self, shield: Shield, texts: builtins.list[str]
    ) -> builtins.list[ModerationResult]:
        """One result per text, categories in OpenAI's names where one fits."""
        ...

    async def shutdown(self) -> None: ...
