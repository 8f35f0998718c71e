"""The Models API protocol."""

from __future__ import annotations

import builtins
from typing import Protocol, runtime_checkable

from llama_workbench.apis.models.models import Model, RegisterModelRequest


@runtime_checkable
class Models(Protocol):
    """The registry of models, federated across every inference provider."""

    async def list(self) -> builtins.list[Model]:
        """Every model the stack can serve, from all providers."""
        ...

    async def retrieve(self, model_id: str) -> Model:
        """One model by identifier (`id` or `provider_id/id`); NotFoundError lists the others."""
        ...

    async def register(self, request: RegisterModelRequest) -> Model:
        """Register a model; it persists across restarts."""
        ...

    async def unregister(self, model_id: str) -> None:
        """Remove a registered model."""
        ...
