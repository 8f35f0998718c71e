"""`stack.providers`: the Providers API as calls that return results.

Generated from llama_workbench/apis/providers/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import SyncFace

if TYPE_CHECKING:
    import builtins

    from llama_workbench.apis.providers.models import ProviderInfo


class ProvidersApi(SyncFace):
    """The provider instances this stack runs."""

    __slots__ = ()

    def list(self) -> builtins.list[ProviderInfo]:
        """Every provider instance, across APIs."""
        return cast("builtins.list[ProviderInfo]", self._call("list", locals()))

    def retrieve(self, provider_id: str) -> ProviderInfo:
        """One provider instance by id; NotFoundError lists the others."""
        return cast("ProviderInfo", self._call("retrieve", locals()))
