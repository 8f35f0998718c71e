"""Guardrails of a response: the shields that check the user's input and the model's answer."""

from __future__ import annotations

from typing import Any

REFUSAL = "I can't help with that request."


async def violation(safety: Any, shields: list[str], texts: list[str], role: str) -> str | None:
    """The message of the first shield that blocks any of the texts, or None."""
    if not shields or not texts:
        return None
    from llama_workbench.apis.safety.models import RunShieldRequest

    for shield_id in shields:
        for text in texts:
            request = RunShieldRequest.model_validate(
                {"shield_id": shield_id, "messages": [{"role": role, "content": text}]}
            )
            result = await safety.run_shield(request)
            found = result.violation
            if found is not None and found.violation_level == "error":
                return str(found.user_message or REFUSAL)
    return None
