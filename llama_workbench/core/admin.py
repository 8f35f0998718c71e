"""The Admin API over the stack's Providers and Inspect implementations, for admins only."""

from __future__ import annotations

from typing import Any

from llama_workbench.apis.inspect.models import HealthInfo, VersionInfo
from llama_workbench.apis.providers.models import ListProvidersResponse, ProviderInfo
from llama_workbench.core.access import current_principal
from llama_workbench.core.errors import PermissionDeniedError


def require_admin() -> None:
    """Raise a 403 unless nobody is authenticated (library mode, no auth) or the caller is an
    admin."""
    principal = current_principal.get()
    if principal is not None and not principal.is_admin:
        raise PermissionDeniedError(
            f"Principal '{principal.name}' may not use the admin API: it needs the 'admin' role."
        )


class AdminImpl:
    """Each call checks the caller's role first."""

    def __init__(self, providers: Any, inspect: Any) -> None:
        self._providers = providers
        self._inspect = inspect

    async def list_providers(self) -> ListProvidersResponse:
        require_admin()
        return ListProvidersResponse(data=await self._providers.list())

    async def inspect_provider(self, provider_id: str) -> ProviderInfo:
        require_admin()
        info: ProviderInfo = await self._providers.retrieve(provider_id)
        return info

    async def health(self) -> HealthInfo:
        require_admin()
        health: HealthInfo = await self._inspect.health()
        return health

    async def version(self) -> VersionInfo:
        require_admin()
        version: VersionInfo = await self._inspect.version()
        return version
