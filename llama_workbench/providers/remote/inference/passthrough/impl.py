"""remote::passthrough: chat, completions and embeddings forwarded as they are to another Llama
Stack server (its /v1 routes), with its models and their types as it lists them."""

from __future__ import annotations

from typing import Any

from llama_workbench.apis.models.models import ModelType, ProviderModel
from llama_workbench.core.errors import BadRequestError, ProviderError
from llama_workbench.providers.remote.inference.passthrough.config import PassthroughConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter
from llama_workbench.providers.utils.request_keys import caller_key


class PassthroughAdapter(OpenAICompatAdapter):
    """The shared OpenAI-compatible adapter with Llama Stack 0.7.3's passthrough rules: the
    configured key wins over the caller's, provider-data keys named in forward_headers are
    sent as headers, and the server may be named per request."""

    config: PassthroughConfig

    def _api_key(self) -> tuple[str | None, bool]:
        key = self.config.api_key
        if key is not None and key.get_secret_value():
            return key.get_secret_value(), False
        given = caller_key(self.config.provider_data_api_key_field)
        return given, given is not None

    def _credentials(self) -> dict[str, str]:
        from llama_workbench.core.provider_data import provider_value

        headers: dict[str, str] = {}
        for key, header in (self.config.forward_headers or {}).items():
            value = provider_value(key)
            if value is not None:
                # One header per name, whatever its case; control characters never go out.
                headers = {k: v for k, v in headers.items() if k.lower() != header.lower()}
                headers[header] = "".join(c for c in value if c.isprintable())
        api_key, _ = self._api_key()
        if api_key is not None:
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            headers.update(self._key_headers(api_key))
        return headers

    def _target(self, path: str, body: dict[str, Any] | None) -> tuple[str, dict[str, str]]:
        from llama_workbench.core.provider_data import HEADER, provider_value

        root = self.config.base_url or provider_value("passthrough_url")
        if not root:
            raise BadRequestError(
                f"Provider '{self.provider_id}' has no server: set base_url in its config, or "
                f'pass one per request in the {HEADER} header as {{"passthrough_url": <url>}}.'
            )
        return f"{root.rstrip('/')}/v1{path}", {}

    async def list_provider_models(self) -> list[ProviderModel]:
        """The server's models, typed as it types them (custom_metadata.model_type)."""
        listed = [super()._provider_model(i) for i in self.config.models]
        if self.config.discover_models:
            payload = await self._json("GET", "/models")
            items = payload.get("data") if isinstance(payload, dict) else None
            if not isinstance(items, list):
                raise ProviderError(self.provider_id, f"unexpected /models: {str(payload)[:200]}")
            listed += [_listed(m) for m in items if isinstance(m, dict) and "id" in m]
        return list({m.provider_model_id: m for m in listed}.values())


def _listed(entry: dict[str, Any]) -> ProviderModel:
    metadata = dict(entry.get("custom_metadata") or {})
    kind = metadata.get("model_type", "llm")
    model_type = ModelType(kind) if kind in ModelType._value2member_map_ else ModelType.llm
    return ProviderModel(
        provider_model_id=str(entry["id"]), model_type=model_type, metadata=metadata
    )
