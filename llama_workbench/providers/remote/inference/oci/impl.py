"""remote::oci: the OpenAI-compatible adapter, each request signed as OCI's API requires;
models listed from the Generative AI management API, as Llama Stack 0.7.3 lists them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from llama_workbench.apis.models.models import ModelType, ProviderModel
from llama_workbench.core.errors import AuthenticationError, BadRequestError, ProviderError
from llama_workbench.providers.remote.inference.oci.config import OCIConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter

_SKIPPED = {"FINE_TUNE", "UNKNOWN_ENUM_VALUE"}


class _Signer:
    """The `oci` package's signer for the configured principal, made once, on first use (an
    instance principal asks the instance metadata service, so this runs off the event loop)."""

    def __init__(self, config: OCIConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._signer: Any = None

    def get(self) -> Any:
        with self._lock:
            if self._signer is None:
                self._signer = self._make()
            return self._signer

    def _make(self) -> Any:
        import oci

        config = self._config
        try:
            if config.oci_auth_type == "instance_principal":
                return oci.auth.signers.InstancePrincipalsSecurityTokenSigner()
            profile = oci.config.from_file(config.oci_config_file_path, config.oci_config_profile)
            oci.config.validate_config(profile)
            return oci.signer.Signer(
                tenancy=profile["tenancy"],
                user=profile["user"],
                fingerprint=profile["fingerprint"],
                private_key_file_location=profile.get("key_file"),
                pass_phrase=profile.get("pass_phrase"),
            )
        except (oci.exceptions.ClientError, OSError, ValueError) as exc:
            raise AuthenticationError(
                f"remote::oci: no usable {config.oci_auth_type} credentials "
                f"({type(exc).__name__}: {exc})"
            ) from None


class _OciAuth(httpx.Auth):
    """OCI's request signature (draft-cavage HTTP signatures, RSA-SHA256) on every request."""

    requires_request_body = True

    def __init__(self, signer: _Signer, compartment_id: str) -> None:
        self._signer = signer
        self._compartment_id = compartment_id

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        import requests

        if not self._compartment_id:
            raise BadRequestError(
                "remote::oci has no oci_compartment_id: set it in its config (the distribution "
                "reads OCI_COMPARTMENT_OCID)."
            )
        signer = await asyncio.to_thread(self._signer.get)
        request.headers["CompartmentId"] = self._compartment_id
        # The oci signer signs a `requests` request: the same method, URL, headers and body.
        prepared = requests.Request(
            request.method,
            str(request.url),
            headers={k: v for k, v in request.headers.items() if k.lower() != "content-length"},
            data=request.content or None,
        ).prepare()
        signer.do_request_sign(prepared)
        for name, value in prepared.headers.items():
            request.headers[name] = value if isinstance(value, str) else value.decode()
        yield request


class OCIAdapter(OpenAICompatAdapter):
    """Chat completions, completions and embeddings on OCI Generative AI's OpenAI-compatible
    endpoint; models (and which embed) from the management API's ACTIVE models."""

    config: OCIConfig

    def __init__(self, provider_id: str, config: OCIConfig) -> None:
        super().__init__(provider_id, config)
        self._signer = _Signer(config)
        self._embedding_models: set[str] = set()

    def _auth(self) -> httpx.Auth:
        return _OciAuth(self._signer, self.config.oci_compartment_id)

    def _needs_key(self) -> bool:
        # No compartment, nothing to list in (the configured models still show).
        return not self.config.oci_compartment_id

    def _api_key(self) -> tuple[str | None, bool]:
        return None, False  # OCI signs requests; there is no key

    async def _discover_model_ids(self) -> list[str]:
        ids: list[str] = []
        page: str | None = None
        base = f"{self.config.management_url.rstrip('/')}/models"
        while True:
            query = {"compartmentId": self.config.oci_compartment_id, "lifecycleState": "ACTIVE"}
            if page:
                query["page"] = page
            response = await self._send(
                "GET", f"{base}?{httpx.QueryParams(query)}", None, stream=False
            )
            payload = response.json()
            items = payload.get("items") if isinstance(payload, dict) else None
            if not isinstance(items, list):
                raise ProviderError(self.provider_id, f"unexpected models: {str(payload)[:200]}")
            for model in items:
                name = model.get("displayName")
                capabilities = set(model.get("capabilities") or ())
                retired = model.get("timeDeprecated") or model.get("timeOnDemandRetired")
                if not name or retired or capabilities & _SKIPPED or name in ids:
                    continue
                ids.append(name)
                if "TEXT_EMBEDDINGS" in capabilities:
                    self._embedding_models.add(name)
            page = response.headers.get("opc-next-page")
            if not page:
                return ids

    def _provider_model(self, model_id: str) -> ProviderModel:
        if model_id in self._embedding_models and model_id not in self.config.embedding_models:
            return ProviderModel(provider_model_id=model_id, model_type=ModelType.embedding)
        return super()._provider_model(model_id)
