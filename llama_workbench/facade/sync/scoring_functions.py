"""`stack.scoring_functions`: the ScoringFunctions API as calls that return results.

Generated from llama_workbench/apis/scoring_functions/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import SyncFace

if TYPE_CHECKING:
    import builtins
    from typing import Any

    from llama_workbench.apis.scoring_functions.models import ParamType, ScoringFn, ScoringFnParams


class ScoringFunctionsApi(SyncFace):
    """The registry of scoring functions: built into providers, from the run config, registered."""

    __slots__ = ()

    def list(self) -> builtins.list[ScoringFn]:
        """Every scoring function the stack can run."""
        return cast("builtins.list[ScoringFn]", self._call("list", locals()))

    def retrieve(self, scoring_fn_id: str) -> ScoringFn:
        """One scoring function; NotFoundError lists the others."""
        return cast("ScoringFn", self._call("retrieve", locals()))

    def register(
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
        return cast("ScoringFn", self._call("register", locals()))

    def unregister(self, scoring_fn_id: str) -> None:
        """Remove a registered scoring function (or a Python one registered in this process)."""
        self._call("unregister", locals())
