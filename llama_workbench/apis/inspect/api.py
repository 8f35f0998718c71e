"""The Inspect API protocol."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from llama_workbench.apis.inspect.models import HealthInfo, VersionInfo


@runtime_checkable
class Inspect(Protocol):
    """Health and version of the stack."""

    async def health(self) -> HealthInfo:
        """OK when the stack is up."""
        ...

    async def version(self) -> VersionInfo:
        """The llama_workbench version."""
        ...
