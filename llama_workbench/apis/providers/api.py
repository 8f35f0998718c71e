"""The Providers API protocol."""

from __future__ import annotations

import builtins
from typing import Protocol, runtime_checkable

from llama_workbench.apis.providers.models import ProviderInfo


@runtime_checkable
class Providers(Protocol):
    """The provider instances this stack runs."""

    async def list(self) -> builtins.list[ProviderInfo]:
        """Every provider instance, across APIs."""
        ...

    async def retrieve(self, provider_id: str) -> ProviderInfo:
        """One provider instance by id; NotFoundError lists the others."""
        ...
