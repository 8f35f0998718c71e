"""`stack.aio.scoring_functions`: the ScoringFunctions API as coroutines.

Generated from llama_workbench/apis/scoring_functions/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import AsyncFace

if TYPE_CHECKING:
    import builtins
    from typing import Any

    from llama_workbench.apis.scoring_functions.models import ParamType, ScoringFn, ScoringFnParams


class AsyncScoringFunctionsApi(AsyncFace):
    """The registry of scoring functions: built into providers, from the run config, registered."""

    __slots__ = ()

    async def list(self) -> builtins.list[ScoringFn]:
        """Every scoring function the stack can run."""
        return cast("builtins.list[ScoringFn]", await self._call("list", locals()))

    async def retrieve(self, scoring_fn_id: str) -> ScoringFn:
        """One scoring function; NotFoundError lists the others."""
        return cast("ScoringFn", await self._call("retrieve", locals()))

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
        or a new judge); it persists across restarts. `return_type` may be a name ("number").
        """
        return cast("ScoringFn", await self._call("register", locals()))

    async def unregister(self, scoring_fn_id: str) -> None:
        """Remove a registered scoring function (or a Python one registered in this process)."""
        await self._call("unregister", locals())
