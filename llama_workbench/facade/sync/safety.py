"""`stack.safety`: the Safety API as calls that return results.

Generated from llama_workbench/apis/safety/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.apis.safety.models import (
    RunModerationRequest,
    RunShieldBatchRequest,
    RunShieldRequest,
)
from llama_workbench.facade._runtime import SyncFace, fields_of

if TYPE_CHECKING:
    import builtins
    from collections.abc import Sequence
    from typing import Any

    from llama_workbench.apis.inference.models import Message
    from llama_workbench.apis.safety.models import ModerationObject, RunShieldResponse


class SafetyApi(SyncFace):
    """Shields as input and output guardrails, and OpenAI's /v1/moderations."""

    __slots__ = ()

    @fields_of(RunShieldRequest)
    def run_shield(
        self,
        *,
        shield_id: str,
        messages: Sequence[Message | dict[str, Any]],
        params: dict[str, Any] | None = None,
    ) -> RunShieldResponse:
        """Check messages with one shield: a violation (level, message, metadata) or none.

        Keyword arguments: the fields of `RunShieldRequest`: POST /v1/safety/run-shield.
        """
        return cast("RunShieldResponse", self._send(RunShieldRequest, "run_shield", locals()))

    @fields_of(RunShieldBatchRequest)
    def run_shield_batch(
        self,
        *,
        shield_id: str,
        conversations: Sequence[Sequence[Message | dict[str, Any]]],
        params: dict[str, Any] | None = None,
    ) -> builtins.list[RunShieldResponse]:
        """Check many conversations with one shield, concurrently; results in input order.

        Keyword arguments: the fields of `RunShieldBatchRequest`: Many conversations through one
        shield, concurrently.
        """
        return cast(
            "builtins.list[RunShieldResponse]",
            self._send(RunShieldBatchRequest, "run_shield_batch", locals()),
        )

    @fields_of(RunModerationRequest)
    def run_moderation(
        self, *, input: str | Sequence[str], model: str | None = None
    ) -> ModerationObject:
        """OpenAI-shaped moderation of each input by one shield (`model`) or all of them.

        Keyword arguments: the fields of `RunModerationRequest`: POST /v1/moderations: `model`
        names a shield (or its provider's model); none: every shield.
        """
        return cast(
            "ModerationObject", self._send(RunModerationRequest, "run_moderation", locals())
        )
