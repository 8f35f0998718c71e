"""remote::azure's adapter: OpenAI's protocol at Azure's URLs, with Azure's key header."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from llama_workbench.core.errors import BadRequestError
from llama_workbench.core.provider_data import provider_value
from llama_workbench.providers.remote.inference.azure.config import AzureConfig, is_v1_api
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


class AzureAdapter(OpenAICompatAdapter):
    """A request's provider data may carry its own azure_api_key, azure_api_version,
    azure_api_type and (only with its own key) azure_api_base, as Llama Stack 0.7.3 names them."""

    config: AzureConfig

    def _key_headers(self, key: str) -> dict[str, str]:
        api_type = provider_value("azure_api_type") or self.config.api_type
        if api_type not in ("azure", "azure_ad"):
            raise BadRequestError(
                f"azure_api_type {api_type!r} in the request's provider data: expected azure "
                "(a resource key) or azure_ad (an Entra ID token)"
            )
        return {"Authorization": f"Bearer {key}"} if api_type == "azure_ad" else {"api-key": key}

    def _target(self, path: str, body: dict[str, Any] | None) -> tuple[str, dict[str, str]]:
        base = self._request_base()
        base_url = base or self.config.base_url
        version = provider_value("azure_api_version") or self.config.api_version
        params = {"api-version": version} if version else {}
        if is_v1_api(base_url):
            return (f"{base.rstrip('/')}{path}" if base else path), params
        if not version:
            raise BadRequestError(
                "The Azure deployments API needs an api-version: set api_version in the "
                "provider's config, or azure_api_version in the request's provider data"
            )
        model = (body or {}).get("model")
        if not model:
            raise BadRequestError(f"Azure's deployments API has no {path} without a deployment")
        # The resource endpoint, with or without its /openai segment.
        prefix = "" if urlsplit(base_url).path.rstrip("/").endswith("/openai") else "/openai"
        route = f"{prefix}/deployments/{quote(str(model), safe='')}{path}"
        return (f"{base.rstrip('/')}{route}" if base else route), params

    def _request_base(self) -> str | None:
        """A request's own azure_api_base: honoured only with its own key, so this provider's
        key is never sent to an address a caller chose."""
        base = provider_value("azure_api_base")
        if base is None:
            return None
        if provider_value("azure_api_key") is None:
            raise BadRequestError(
                "azure_api_base in the request's provider data needs azure_api_key beside it "
                "(the configured key is only sent to the configured base_url)"
            )
        if urlsplit(base).scheme not in ("http", "https"):
            raise BadRequestError(f"azure_api_base {base!r} is not an http(s) URL")
        return base
