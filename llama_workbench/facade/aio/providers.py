"""`stack.aio.providers`: the Providers API as coroutines.

Generated from llama_workbench/apis/providers/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import AsyncFace

if TYPE_CHECKING:
    import builtins

    from llama_workbench.apis.providers.models import ProviderInfo


class AsyncProvidersApi(AsyncFace):
    """The provider instances this stack runs."""

    __slots__ = ()

    async def list(self) -> builtins.list[ProviderInfo]:
        """Every provider instance, across APIs."""
        return cast("builtins.list[ProviderInfo]", await self._call("list", locals()))

    async def retrieve(self, provider_id: str) -> ProviderInfo:
        """One provider instance by id; NotFoundError lists the others."""
        return cast("ProviderInfo", await self._call("retrieve", locals()))
