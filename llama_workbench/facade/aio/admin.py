"""`stack.aio.admin`: the Admin API as coroutines.

Generated from llama_workbench/apis/admin/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import AsyncFace

if TYPE_CHECKING:
    from llama_workbench.apis.inspect.models import HealthInfo, VersionInfo
    from llama_workbench.apis.providers.models import ListProvidersResponse, ProviderInfo


class AsyncAdminApi(AsyncFace):
    """What operators see; with server auth on, only principals with the 'admin' role."""

    __slots__ = ()

    async def list_providers(self) -> ListProvidersResponse:
        """Every provider instance with its (masked) config and health."""
        return cast("ListProvidersResponse", await self._call("list_providers", locals()))

    async def inspect_provider(self, provider_id: str) -> ProviderInfo:
        """One provider instance."""
        return cast("ProviderInfo", await self._call("inspect_provider", locals()))

    async def health(self) -> HealthInfo:
        """The service's health."""
        return cast("HealthInfo", await self._call("health", locals()))

    async def version(self) -> VersionInfo:
        """The service's version."""
        return cast("VersionInfo", await self._call("version", locals()))
