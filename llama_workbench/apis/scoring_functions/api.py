"""The ScoringFunctions API protocol."""

from __future__ import annotations

import builtins
from typing import Any, Protocol, runtime_checkable

from llama_workbench.apis.scoring_functions.models import ParamType, ScoringFn, ScoringFnParams


@runtime_checkable
class ScoringFunctions(Protocol):
    """The registry of scoring functions: built into providers, from the run config, registered."""

    async def list(self) -> builtins.list[ScoringFn]:
        """Every scoring function the stack can run."""
        ...

    async def retrieve(self, scoring_fn_id: str) -> ScoringFn:
        """One scoring function; NotFoundError lists the others."""
        ...

    async def register(
        self,
        scoring_fn_id: str,
        description: str,
        return_type: ParamType | str | dict[str, Any],
        provider_scoring_fn_id: str | None = None,
        provider_id: str | None = None,
        params: ScoringFnParams | dict[str, Any] | None = None,
    ) -> ScoringFn:
        """Register a scoring function (an alias of a provider's function with its own params,
        or a new judge); it persists across restarts. `return_type` may be a name ("number")."""
        ...

    async def unregister(self, scoring_fn_id: str) -> None:
        """Remove a registered scoring function (or a Python one registered in this process)."""
        ...
