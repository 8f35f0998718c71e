"""IBM Cloud IAM: an API key exchanged for a bearer token, kept until a minute before it
expires, fetched again when watsonx.ai answers 401 (a revoked or expired token)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

import httpx

from llama_workbench.core.errors import (
    AuthenticationError,
    ProviderError,
    ProviderUnavailableError,
)
from llama_workbench.providers.utils.openai_compat import _verify
from llama_workbench.providers.utils.request_keys import missing_key_error

if TYPE_CHECKING:
    from llama_workbench.providers.remote.inference.watsonx.impl import WatsonXAdapter

GRANT = "urn:ibm:params:oauth:grant-type:apikey"
_MARGIN_S = 60.0


class IamTokens:
    """Bearer tokens by API key (a caller's own key gets its own), each with its expiry."""

    def __init__(self, adapter: WatsonXAdapter) -> None:
        self._adapter = adapter
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    async def token(self, api_key: str, *, fresh: bool = False) -> str:
        async with self._lock:
            kept = self._tokens.get(api_key)
            if kept is not None and not fresh and time.time() < kept[1] - _MARGIN_S:
                return kept[0]
            token, expiry = await self._exchange(api_key)
            self._tokens[api_key] = (token, expiry)
            return token

    async def _exchange(self, api_key: str) -> tuple[str, float]:
        from llama_workbench.providers.utils.recording import current_settings

        if current_settings().mode == "replay":
            return "replayed", time.time() + 3600  # replay sends nothing, so needs no token
        config, pid = self._adapter.config, self._adapter.provider_id
        # Its own plain client: the exchange (its form carries the key) is never recorded.
        async with httpx.AsyncClient(
            timeout=config.timeout_s, verify=_verify(config.verify)
        ) as client:
            try:
                response = await client.post(
                    config.iam_url,
                    data={"grant_type": GRANT, "apikey": api_key},
                    headers={"Accept": "application/json"},
                )
            except httpx.TransportError as exc:
                raise ProviderUnavailableError(
                    pid, f"IBM Cloud IAM ({config.iam_url}) is unreachable: {type(exc).__name__}"
                ) from None
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code != 200 or "access_token" not in payload:
            why = payload.get("errorMessage") or response.text[:200]
            message = f"IBM Cloud IAM refused the API key ({response.status_code}): {why}"
            if self._adapter._api_key()[1]:
                raise AuthenticationError(f"Provider '{pid}': {message}")
            raise ProviderError(pid, message, upstream_status=response.status_code)
        expiry = float(
            payload.get("expiration") or time.time() + float(payload.get("expires_in", 3600))
        )
        return str(payload["access_token"]), expiry


class IamAuth(httpx.Auth):
    """The bearer token of this request's API key; on a 401, one more try with a new token."""

    def __init__(self, adapter: WatsonXAdapter) -> None:
        self._adapter = adapter

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        key, _ = self._adapter._api_key()
        if key is None:
            raise missing_key_error(
                self._adapter.provider_id, self._adapter.config.provider_data_api_key_field
            )
        tokens = self._adapter.tokens
        request.headers["Authorization"] = f"Bearer {await tokens.token(key)}"
        response = yield request
        if response.status_code == 401:
            await response.aread()
            request.headers["Authorization"] = f"Bearer {await tokens.token(key, fresh=True)}"
            yield request
