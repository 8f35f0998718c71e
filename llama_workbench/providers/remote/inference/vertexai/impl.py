"""remote::vertexai: the OpenAI-compatible adapter with Google's OAuth tokens."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from llama_workbench.core.errors import AuthenticationError, MissingDependencyError
from llama_workbench.providers.remote.inference.vertexai.config import VertexAIConfig, endpoint
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


class _DefaultCredentials:
    """Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's, the metadata
    server), found once and refreshed when their token expires; blocking, so run in a thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._credentials: Any = None

    def token(self) -> str:
        try:
            import google.auth
            import google.auth.exceptions
            from google.auth.transport.requests import Request
        except ModuleNotFoundError:
            raise MissingDependencyError(
                "google-auth",
                "vertexai",
                needed_by="remote::vertexai (Application Default Credentials)",
            ) from None
        with self._lock:
            try:
                if self._credentials is None:
                    self._credentials, _ = google.auth.default(scopes=list(SCOPES))
                if not self._credentials.valid:
                    self._credentials.refresh(Request())
            except google.auth.exceptions.GoogleAuthError as exc:
                raise AuthenticationError(
                    f"Vertex AI: no usable Google credentials ({type(exc).__name__}: {exc}); set "
                    "access_token, pass vertex_access_token per request, or set up Application "
                    "Default Credentials (GOOGLE_APPLICATION_CREDENTIALS)."
                ) from None
            return str(self._credentials.token)


class _VertexAuth(httpx.Auth):
    """The request's access token (provider data), else access_token, else one from ADC."""

    def __init__(self, adapter: VertexAIAdapter) -> None:
        self._adapter = adapter

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        key, _ = self._adapter._api_key()
        if key is None:
            key = await asyncio.to_thread(self._adapter.google.token)
        request.headers["Authorization"] = f"Bearer {key}"
        yield request


class VertexAIAdapter(OpenAICompatAdapter):
    """Chat completions, completions and embeddings on Vertex AI's OpenAI-compatible endpoint."""

    config: VertexAIConfig

    def __init__(self, provider_id: str, config: VertexAIConfig) -> None:
        super().__init__(provider_id, config)
        self.google = _DefaultCredentials()

    def _auth(self) -> httpx.Auth:
        return _VertexAuth(self)

    def _target(self, path: str, body: dict[str, Any] | None) -> tuple[str, dict[str, str]]:
        """Another project or location for this request when its provider data names one."""
        from llama_workbench.core.provider_data import provider_value

        project, location = provider_value("vertex_project"), provider_value("vertex_location")
        if project is None and location is None:
            return path, {}
        config = self.config
        project, location = project or config.project, location or config.location
        if config.base_url == endpoint(config.project, config.location):
            return f"{endpoint(project, location)}{path}", {}
        here = f"/projects/{config.project}/locations/{config.location}/"
        there = f"/projects/{project}/locations/{location}/"
        return f"{config.base_url.replace(here, there)}{path}", {}
