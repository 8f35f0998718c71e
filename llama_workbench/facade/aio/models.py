"""`stack.aio.models`: the Models API as coroutines.

Generated from llama_workbench/apis/models/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.apis.models.models import ModelType, RegisterModelRequest
from llama_workbench.facade._runtime import AsyncFace, fields_of

if TYPE_CHECKING:
    import builtins
    from typing import Any

    from llama_workbench.apis.models.models import Model


class AsyncModelsApi(AsyncFace):
    """The registry of models, federated across every inference provider."""

    __slots__ = ()

    async def list(self) -> builtins.list[Model]:
        """Every model the stack can serve, from all providers."""
        return cast("builtins.list[Model]", await self._call("list", locals()))

    async def retrieve(self, model_id: str) -> Model:
        """One model by identifier (`id` or `provider_id/id`); NotFoundError lists the others."""
        return cast("Model", await self._call("retrieve", locals()))

    @fields_of(RegisterModelRequest)
    async def register(
        self,
        *,
        model_id: str,
        provider_model_id: str | None = None,
        provider_id: str | None = None,
        model_type: ModelType | str = ModelType.llm,
        metadata: dict[str, Any] | None = None,
        fallback_model_id: str | None = None,
    ) -> Model:
        """Register a model; it persists across restarts.

        Keyword arguments: the fields of `RegisterModelRequest`: Register a model under
        `model_id`, served by `provider_id` as `provider_model_id`.
        """
        return cast("Model", await self._send(RegisterModelRequest, "register", locals()))

    async def unregister(self, model_id: str) -> None:
        """Remove a registered model."""
        await self._call("unregister", locals())
