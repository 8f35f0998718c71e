"""What the search tool runtimes share (Brave, Tavily, Bing, Wolfram Alpha): one tool in one
builtin group, the key as a secret, an httpx client (record-replay aware), errors by status."""

from __future__ import annotations

import builtins
import email.utils
import json
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from llama_workbench.apis.tool_runtime.models import ToolDef, ToolGroup, ToolInvocationResult
from llama_workbench.core.errors import (
    AuthenticationError,
    BadRequestError,
    LlamaWorkbenchError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)

WEBSEARCH_GROUP = "builtin::websearch"
WEB_SEARCH_TOOL = "web_search"


class SearchToolConfig(BaseModel):
    """Settings every search provider has; `api_key` never shows in repr or logs."""

    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr | None = Field(
        None, description="The service's API key (an empty value means none)."
    )
    timeout_s: float = Field(30.0, gt=0, description="Seconds to wait for the service.")

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        # Llama Stack's configs say `api_key: ${env.X:=}`: unset is an empty string.
        return None if value is None or (isinstance(value, str) and not value.strip()) else value


@dataclass(frozen=True)
class SearchToolSpec:
    """The tool a provider serves, as Llama Stack 0.7.3 names and describes it."""

    group: str
    name: str
    description: str
    query_description: str
    key_env: str  # where the starter config reads the key from
    key_field: str  # its name in a request's provider data (Llama Stack 0.7.3's)

    def tool_def(self) -> ToolDef:
        schema = {
            "type": "object",
            "properties": {"query": {"type": "string", "description": self.query_description}},
            "required": ["query"],
        }
        return ToolDef(
            name=self.name,
            description=self.description,
            input_schema=schema,
            toolgroup_id=self.group,
        )


class SearchToolRuntime:
    """A tool_runtime provider with one search tool; subclasses build the request and read
    the answer into the text the model gets."""

    spec: ClassVar[SearchToolSpec]

    def __init__(
        self,
        provider_id: str,
        config: SearchToolConfig,
        base_url: str,
        results: int | None = None,
    ) -> None:
        self.provider_id = provider_id
        self._config = config
        self._results = results  # per search (max_results/top_k); None: the service decides
        self._base_url = base_url.rstrip("/")
        self._client: httpx.AsyncClient | None = None

    def has_api_key(self) -> bool:
        """Whether a key is configured (with several providers of one group, a keyed one serves it)."""
        return self._config.api_key is not None

    async def list_tool_groups(self) -> builtins.list[ToolGroup]:
        group = self.spec.group
        return [
            ToolGroup(identifier=group, provider_id=self.provider_id, provider_resource_id=group)
        ]

    async def list_tools(self, tool_group_id: str | None = None) -> builtins.list[ToolDef]:
        return [self.spec.tool_def()] if tool_group_id in (None, self.spec.group) else []

    async def invoke_tool(
        self, tool_name: str, kwargs: dict[str, Any], toolgroup_id: str | None = None
    ) -> ToolInvocationResult:
        if tool_name != self.spec.name or toolgroup_id not in (None, self.spec.group):
            raise BadRequestError(
                f"Tool group {self.spec.group} has no tool '{tool_name}' (it has {self.spec.name})."
            )
        query = kwargs.get("query")
        if not isinstance(query, str) or not query.strip():
            raise BadRequestError(f"{self.spec.name} needs a non-empty 'query' string.")
        limit = self._limit(kwargs.get("search_context_size"))
        request = self._request(self.client, query, self._key(), limit)
        payload = await self._send(request)
        try:
            content, sources = self._content(payload, limit), self._sources(payload, limit)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProviderError(
                self.provider_id, f"unexpected answer ({type(exc).__name__}: {exc})"
            ) from None
        # The pages found (the Responses API's web_search_call.action.sources).
        return ToolInvocationResult(
            content=content, metadata={"sources": sources} if sources else None
        )

    async def shutdown(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _limit(self, size: Any) -> int | None:
        """Results for a search: the configured number, halved for search_context_size 'low'
        and doubled for 'high' (the Responses API's web_search option; 'medium' as configured)."""
        if size is None or size == "medium":
            return self._results
        if size not in ("low", "high") or self._results is None:
            raise BadRequestError(
                f"{self.spec.name}: search_context_size {size!r} is not supported"
                + ("; use low, medium or high." if self._results else " by this tool.")
            )
        return max(1, (self._results + 1) // 2) if size == "low" else self._results * 2

    # -- for subclasses (`limit`: how many results to ask for and keep)

    def _request(
        self, client: httpx.AsyncClient, query: str, key: str, limit: int | None
    ) -> httpx.Request:
        raise NotImplementedError

    def _content(self, payload: Any, limit: int | None) -> str:
        raise NotImplementedError

    def _sources(self, payload: Any, limit: int | None) -> builtins.list[str]:
        """The URLs of the pages found."""
        return []

    # -- HTTP

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            from llama_workbench.providers.utils.recording import transport_for

            self._client = httpx.AsyncClient(
                base_url=self._base_url,
                transport=transport_for(),
                headers={"Accept": "application/json"},
                timeout=httpx.Timeout(
                    self._config.timeout_s, connect=min(5.0, self._config.timeout_s)
                ),
            )
        return self._client

    def _key(self) -> str:
        """The configured key, else the request's (X-LlamaStack-Provider-Data), as 0.7.3."""
        if self._config.api_key is not None:
            return self._config.api_key.get_secret_value()
        from llama_workbench.core.provider_data import HEADER, provider_value

        key = provider_value(self.spec.key_field)
        if key is None:
            raise AuthenticationError(
                f"Provider '{self.provider_id}' has no API key: set api_key in its config "
                f"(the starter config reads {self.spec.key_env}), or pass it per request in "
                f'the {HEADER} header as {{"{self.spec.key_field}": <your api key>}}.'
            )
        return key

    async def _send(self, request: httpx.Request) -> Any:
        try:
            response = await self.client.send(request)
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise ProviderUnavailableError(
                self.provider_id, f"{self._base_url} is unreachable: {reason}"
            ) from None
        if response.status_code >= 400:
            raise self._error(response)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ProviderError(
                self.provider_id, f"malformed JSON: {response.text[:200]!r}"
            ) from None

    def _error(self, response: httpx.Response) -> LlamaWorkbenchError:
        status, pid = response.status_code, self.provider_id
        message = _message(response)
        if status in (401, 403):
            return AuthenticationError(
                f"Provider '{pid}' rejected its API key ({status}): {message}. Check api_key "
                f"in its config ({self.spec.key_env} in the starter config)."
            )
        if status == 429:
            # Retry-After, else Brave's X-RateLimit-Reset ("1, 1419704": seconds per window).
            reset = (response.headers.get("x-ratelimit-reset") or "").split(",")[0]
            retry_after = retry_after_seconds(response.headers.get("retry-after") or reset)
            wait = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
            return RateLimitError(
                f"Provider '{pid}' rate limit{wait}: {message}", retry_after=retry_after
            )
        if status in (400, 422):
            return BadRequestError(f"Provider '{pid}' rejected the search: {message}")
        return ProviderError(pid, f"{status}: {message}", upstream_status=status)


def _message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:300] or response.reason_phrase
    if isinstance(payload, dict):
        # Brave: {"error": {"detail": ...}}; Tavily: {"detail": {"error": ...}}; Bing:
        # {"error": {"message": ...}}; others a plain message.
        error = payload.get("error", payload.get("detail", payload))
        if isinstance(error, dict):
            return str(error.get("message") or error.get("detail") or error.get("error") or error)
        return str(error)
    return str(payload)[:300]


def retry_after_seconds(value: str) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date); None when absent."""
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())
