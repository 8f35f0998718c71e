"""A provider that does not implement its API's Protocol (missing and non-async methods)."""

from __future__ import annotations

from typing import Any

from llama_workbench.core.datatypes import Api, ProviderDeps, ProviderSpec
from tests.support.providers.echo import EchoConfig

SPEC = ProviderSpec(
    api=Api.inference,
    provider_type="inline::broken",
    module="tests.support.providers.broken",
    config_class="tests.support.providers.echo:EchoConfig",
)


class BrokenInference:
    async def list_provider_models(self) -> list[Any]:
        return []

    async def register_model(self, model: Any) -> Any:
        return model

    def chat_completion(self, request: Any) -> Any:  # not async
        return None

    async def completion(self) -> Any:  # takes no request
        return None

    async def shutdown(self) -> None:
        return None


async def create(config: EchoConfig, deps: ProviderDeps) -> BrokenInference:
    return BrokenInference()
