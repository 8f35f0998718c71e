"""The Admin API protocol (Llama Stack 0.7.3's /v1alpha/admin routes)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from llama_workbench.apis.inspect.models import HealthInfo, VersionInfo
from llama_workbench.apis.providers.models import ListProvidersResponse, ProviderInfo


@runtime_checkable
class Admin(Protocol):
    """What operators see; with server auth on, only principals with the 'admin' role."""

    async def list_providers(self) -> ListProvidersResponse:
        """Every provider instance with its (masked) config and health."""
        ...

    async def inspect_provider(self, provider_id: str) -> ProviderInfo:
        """One provider instance."""
        ...

    async def health(self) -> HealthInfo:
        """The service's health."""
        ...

    async def version(self) -> VersionInfo:
        """The service's version."""
        ...
