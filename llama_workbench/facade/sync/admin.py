"""`stack.admin`: the Admin API as calls that return results.

Generated from llama_workbench/apis/admin/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import SyncFace

if TYPE_CHECKING:
    from llama_workbench.apis.inspect.models import HealthInfo, VersionInfo
    from llama_workbench.apis.providers.models import ListProvidersResponse, ProviderInfo


class AdminApi(SyncFace):
    """What operators see; with server auth on, only principals with the 'admin' role."""

    __slots__ = ()

    def list_providers(self) -> ListProvidersResponse:
        """Every provider instance with its (masked) config and health."""
        return cast("ListProvidersResponse", self._call("list_providers", locals()))

    def inspect_provider(self, provider_id: str) -> ProviderInfo:
        """One provider instance."""
        return cast("ProviderInfo", self._call("inspect_provider", locals()))

    def health(self) -> HealthInfo:
        """The service's health."""
        return cast("HealthInfo", self._call("health", locals()))

    def version(self) -> VersionInfo:
        """The service's version."""
        return cast("VersionInfo", self._call("version", locals()))
