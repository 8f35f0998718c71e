"""The Shields API protocol."""

from __future__ import annotations

import builtins
from typing import Protocol, runtime_checkable

from llama_workbench.apis.shields.models import RegisterShieldRequest, Shield


@runtime_checkable
class Shields(Protocol):
    """The registry of shields: from the run config, from providers, and registered by users."""

    async def list(self) -> builtins.list[Shield]:
        """Every shield the stack can run."""
        ...

    async def retrieve(self, identifier: str) -> Shield:
        """One shield; NotFoundError lists the others."""
        ...

    async def register(self, request: RegisterShieldRequest) -> Shield:
        """Register a shield; it persists across restarts."""
        ...

    async def unregister(self, identifier: str) -> None:
        """Remove a registered shield."""
        ...
