"""The shared adapter of every OpenAI-compatible remote inference provider (httpx, async, pooled)."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import ssl
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
)
from llama_workbench.apis.inference.rerank_models import RerankRequest, RerankResponse
from llama_workbench.apis.models.models import Model, ModelType, ProviderModel
from llama_workbench.core.errors import (
    BadRequestError,
    LlamaWorkbenchError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)
from llama_workbench.core.outbound_headers import outbound_headers
from llama_workbench.providers.utils.request_keys import (
    KeyAuth,
    caller_key,
    caller_key_rejected,
    missing_key_error,
)

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from llama_workbench.providers.utils.http_transport import DirectSender

T = TypeVar("T", bound=BaseModel)

_RETRY_STATUS = {429, 500, 502, 503, 504}
_MAX_RETRY_AFTER_S = 30.0


class OpenAICompatConfig(BaseModel):
    """Settings shared by every OpenAI-compatible provider; `api_key` never shows in repr or logs."""

    model_config = ConfigDict(extra="forbid")

    # Per service (Llama Stack 0.7.3's names): the X-LlamaStack-Provider-Data field holding a
    # caller's own key, which wins over api_key; whether the service needs a key at all; the
    # endpoints it does not serve (path -> why); whether image URLs are fetched here first.
    provider_data_api_key_field: ClassVar[str | None] = None
    requires_api_key: ClassVar[bool] = False
    unserved: ClassVar[dict[str, str]] = {}
    download_images: ClassVar[bool] = False

    base_url: str = Field(description="The server's OpenAI-compatible base URL, ending in /v1.")
    api_key: SecretStr | None = Field(None, description="Sent as a bearer token.")
    timeout_s: float = Field(120.0, gt=0, description="Seconds to wait for a response.")
    connect_timeout_s: float = Field(5.0, gt=0, description="Seconds to wait for a connection.")
    max_retries: int = Field(
        2, ge=0, le=10, description="Retries on connection errors, 429 and 5xx."
    )
    backoff_s: float = Field(0.5, ge=0, description="First retry delay; doubles each retry.")
    discover_models: bool = Field(True, description="List the server's models from GET /models.")
    models: list[str] = Field(default_factory=list, description="Models to list without discovery.")
    embedding_models: dict[str, int] = Field(
        default_factory=dict, description="Embedding model ids and their dimensions."
    )
    rerank_models: list[str] = Field(
        default_factory=list, description="Rerank model ids (listed with model_type rerank)."
    )
    rerank_path: str = Field(
        "/rerank",
        description=(
            "The rerank endpoint, under base_url (vLLM, Jina, Cohere-style: /rerank; NVIDIA "
            "NIM: /ranking); an absolute URL is used as it is."
        ),
    )
    rerank_protocol: Literal["cohere", "nvidia"] = Field(
        "cohere",
        description=(
            "cohere: {query, documents, top_n} -> results[{index, relevance_score}] (vLLM, "
            "Jina, Cohere); nvidia: {query: {text}, passages: [{text}]} -> rankings[{index, logit}]."
        ),
    )
    supports_top_k: bool = Field(True, description="Whether the server accepts `top_k`.")
    extra_headers: dict[str, str] = Field(default_factory=dict)
    verify: bool | str = Field(
        True, description="Verify the server's TLS certificate: true, false, or a CA bundle path."
    )
    default_max_tokens: int | None = Field(
        None, ge=1, description="max_tokens of chat and completion requests that set none."
    )

    @field_validator("verify", mode="before")
    @classmethod
    def _verify_flag(cls, value: Any) -> Any:
        """`${env.X:=true}` substitutes to text: 'true'/'false' are flags, not CA paths."""
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        return value


class OpenAICompatAdapter:
    """Chat, completions, embeddings and model discovery against an OpenAI-compatible server."""

    def __init__(self, provider_id: str, config: OpenAICompatConfig) -> None:
        self.provider_id = provider_id
        self.config = config
        self._client: httpx.AsyncClient | None = None
        self._direct: DirectSender | None = None  # plain JSON requests, past httpx's client layer

    # -- InferenceProvider

    async def list_provider_models(self) -> list[ProviderModel]:
        ids = [*self.config.models, *self.config.rerank_models]
        # A service that needs a key lists nothing without one (as Llama Stack 0.7.3): the
        # configured models still show, and a call says which key to set.
        keyless = self._needs_key() and self._api_key()[0] is None
        if self.config.discover_models and not keyless:
            ids += await self._discover_model_ids()
        return [self._provider_model(i) for i in dict.fromkeys(ids)]

    async def _discover_model_ids(self) -> list[str]:
        payload = await self._json("GET", "/models")
        # OpenAI wraps the list in {"data": [...]}; some servers (Together) answer a bare list.
        items = payload.get("data", []) if isinstance(payload, dict) else payload
        if not isinstance(items, list):
            raise ProviderError(
                self.provider_id, f"unexpected /models response: {str(payload)[:200]}"
            )
        return [str(m["id"]) for m in items if isinstance(m, dict) and "id" in m]

    async def register_model(self, model: Model) -> Model:
        dim = self.config.embedding_models.get(model.provider_resource_id)
        if dim and "embedding_dimension" not in model.metadata:
            model.metadata["embedding_dimension"] = dim
        return model

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        self._refuse_unserved("/chat/completions")
        body = self._body(request)
        if self.config.download_images:
            from llama_workbench.providers.utils.image_urls import inline_image_urls

            body = await inline_image_urls(body, self.config.timeout_s)
        if request.stream:
            return await self._stream("/chat/completions", body, ChatCompletionChunk)
        return _validate(
            ChatCompletion, await self._json("POST", "/chat/completions", body), self.provider_id
        )

    async def completion(
        self, request: CompletionRequest
    ) -> Completion | AsyncIterator[Completion]:
        self._refuse_unserved("/completions")
        body = self._body(request)
        if request.stream:
            return await self._stream("/completions", body, Completion)
        return _validate(
            Completion, await self._json("POST", "/completions", body), self.provider_id
        )

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        self._refuse_unserved("/embeddings")
        payload = await self._json("POST", "/embeddings", request.model_dump(exclude_none=True))
        return _validate(EmbeddingsResponse, payload, self.provider_id)

    async def rerank(self, request: RerankRequest) -> RerankResponse:
        query, items = request.texts()
        protocol = self.config.rerank_protocol
        body: dict[str, Any]
        if protocol == "nvidia":
            body = {
                "model": request.model,
                "query": {"text": query},
                "passages": [{"text": item} for item in items],
            }
        else:
            body = {"model": request.model, "query": query, "documents": items}
            if request.max_num_results is not None:
                body["top_n"] = request.max_num_results
        payload = await self._json("POST", self._rerank_url(request.model), body)
        return RerankResponse.from_scores(
            _rerank_scores(payload, protocol, len(items), self.provider_id),
            request.max_num_results,
        )

    async def shutdown(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = self._direct = None

    # -- HTTP

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Accept": "application/json", **self.config.extra_headers}
            auth = self._auth()
            key = self.config.api_key
            if auth is None and key is not None and key.get_secret_value():
                headers["Authorization"] = f"Bearer {key.get_secret_value()}"
            from llama_workbench.providers.utils.http_transport import DirectSender, fast_transport
            from llama_workbench.providers.utils.recording import transport_for

            verify = _verify(self.config.verify)
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
            transport = transport_for() or fast_transport(verify=verify, limits=limits)
            self._client = httpx.AsyncClient(
                base_url=self.config.base_url.rstrip("/"),
                transport=transport,
                verify=verify,
                headers=headers,
                auth=auth,
                timeout=httpx.Timeout(self.config.timeout_s, connect=self.config.connect_timeout_s),
                limits=limits,
            )
            self._direct = DirectSender.for_client(self._client, transport, auth)
        return self._client

    def _auth(self) -> httpx.Auth | None:
        """How requests authenticate: by default the key of each request (the caller's own from
        X-LlamaStack-Provider-Data, else api_key) in `_key_headers`' form; services that sign
        requests or run a token flow override this."""
        return KeyAuth(self._credentials)

    def _api_key(self) -> tuple[str | None, bool]:
        """This request's key, and whether the caller gave it (provider data wins, as 0.7.3)."""
        given = caller_key(self.config.provider_data_api_key_field)
        if given is not None:
            return given, True
        key = self.config.api_key
        return (key.get_secret_value() or None if key is not None else None), False

    def _needs_key(self) -> bool:
        return self.config.requires_api_key

    def _key_headers(self, key: str) -> dict[str, str]:
        """The headers that carry a key (a bearer token unless the service says otherwise)."""
        return {"Authorization": f"Bearer {key}"}

    def _credentials(self) -> dict[str, str]:
        key, _ = self._api_key()
        if key is not None:
            return self._key_headers(key)
        if not self._needs_key():
            return {}
        raise missing_key_error(self.provider_id, self.config.provider_data_api_key_field)

    def _target(self, path: str, body: dict[str, Any] | None) -> tuple[str, dict[str, str]]:
        """The URL (under base_url, or absolute) and query parameters of an endpoint."""
        return path, {}

    def _rerank_url(self, model: str) -> str:
        return self.config.rerank_path

    def _refuse_unserved(self, path: str) -> None:
        why = self.config.unserved.get(path)
        if why is not None:
            raise BadRequestError(f"Provider '{self.provider_id}' does not serve {path}: {why}")

    def _body(self, request: BaseModel) -> dict[str, Any]:
        body = request.model_dump(exclude_none=True, by_alias=True)
        if not self.config.supports_top_k:
            body.pop("top_k", None)
        generates = isinstance(request, ChatCompletionRequest | CompletionRequest)
        limited = "max_tokens" in body or "max_completion_tokens" in body
        if self.config.default_max_tokens and generates and not limited:
            body["max_tokens"] = self.config.default_max_tokens
        return body

    def _provider_model(self, model_id: str) -> ProviderModel:
        if model_id in self.config.rerank_models:
            return ProviderModel(provider_model_id=model_id, model_type=ModelType.rerank)
        dim = self.config.embedding_models.get(model_id)
        if dim is None:
            return ProviderModel(provider_model_id=model_id)
        return ProviderModel(
            provider_model_id=model_id,
            model_type=ModelType.embedding,
            metadata={"embedding_dimension": dim},
        )

    async def _json(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self._send(method, path, body, stream=False)
        try:
            payload = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ProviderError(
                self.provider_id,
                f"malformed JSON from {path}: {response.text[:200]!r}",
                upstream_status=response.status_code,
            ) from None
        return payload

    async def _stream(self, path: str, body: dict[str, Any], cls: type[T]) -> AsyncIterator[T]:
        # The request is sent (and errors raised) before the iterator is returned, so the router
        # can fall back to another model when this server is unreachable.
        response = await self._send("POST", path, body, stream=True)
        return self._events(response, cls)

    async def _events(self, response: httpx.Response, cls: type[T]) -> AsyncIterator[T]:
        from httpx_sse import EventSource

        try:
            async for event in EventSource(response).aiter_sse():
                if event.data.strip() == "[DONE]":
                    # Read on to the end of the body rather than break: a response read to its
                    # end returns its connection to the pool; one closed early is dropped.
                    continue
                try:
                    # The fast path: JSON straight into the chunk model.
                    yield cls.model_validate_json(event.data)
                except ValidationError:
                    chunk = self._stream_error(event.data, cls)
                    if chunk is not None:
                        yield chunk
        except httpx.TransportError as exc:
            raise ProviderUnavailableError(
                self.provider_id, f"stream interrupted: {_describe(exc)}"
            ) from None
        finally:
            await response.aclose()

    def _stream_error(self, data: str, cls: type[T]) -> T | None:
        """Why a stream event is not a chunk: malformed JSON, an error event, or the wrong shape;
        None for an event that carries no chunk (Azure's content-filter notes: object "")."""
        try:
            payload = json.loads(data)
        except json.JSONDecodeError:
            raise ProviderError(
                self.provider_id, f"malformed stream event: {data[:200]!r}"
            ) from None
        if isinstance(payload, dict) and "error" in payload:
            raise ProviderError(self.provider_id, _message(payload))
        if isinstance(payload, dict) and payload.get("object") == "":
            return None
        return _validate(cls, payload, self.provider_id)

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None, *, stream: bool
    ) -> httpx.Response:
        attempt = 0
        while True:
            try:
                # The current span (when the stack traces calls) continues in the server's trace.
                headers = outbound_headers()
                url, params = self._target(path, body)
                client = self.client
                if not stream and self._direct is not None:
                    response = await self._direct.send(method, url, params, body, headers)
                else:
                    request = client.build_request(
                        method, url, params=params or None, json=body, headers=headers
                    )
                    response = await client.send(request, stream=stream)
            except (
                httpx.ConnectError,
                httpx.ConnectTimeout,
                httpx.RemoteProtocolError,
                httpx.ReadTimeout,
            ) as exc:
                if attempt >= self.config.max_retries:
                    raise ProviderUnavailableError(
                        self.provider_id, f"{self.config.base_url} is unreachable: {_describe(exc)}"
                    ) from None
                await asyncio.sleep(self._delay(attempt, None))
            else:
                if response.status_code < 400:
                    return response
                if response.status_code in _RETRY_STATUS and attempt < self.config.max_retries:
                    await response.aclose()
                    await asyncio.sleep(self._delay(attempt, response.headers.get("retry-after")))
                else:
                    await response.aread()
                    await response.aclose()
                    raise self._error(response)
            attempt += 1

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            seconds = _retry_after_seconds(retry_after)
            if seconds is not None:
                return min(seconds, _MAX_RETRY_AFTER_S)
        return float(self.config.backoff_s * (2**attempt))

    def _error(self, response: httpx.Response) -> LlamaWorkbenchError:
        status = response.status_code
        try:
            message = _message(response.json())
        except (json.JSONDecodeError, UnicodeDecodeError):
            message = response.text[:300] or response.reason_phrase
        pid = self.provider_id
        if status in (401, 403) and self._api_key()[1]:
            field = self.config.provider_data_api_key_field
            return caller_key_rejected(pid, field, status, message)
        if status == 429:
            return RateLimitError(
                f"Provider '{pid}' rate limit: {message}",
                retry_after=_retry_after_seconds(response.headers.get("retry-after") or ""),
            )
        if status == 404:
            return NotFoundError(
                "Provider resource",
                response.request.url.path,
                hint=f"Provider '{pid}' said: {message}",
            )
        if status in (400, 413, 422):
            return BadRequestError(f"Provider '{pid}' rejected the request: {message}")
        if status in (401, 403):
            return ProviderError(
                pid, f"rejected our credentials ({status}): {message}", upstream_status=status
            )
        if status in (502, 503, 504):
            return ProviderUnavailableError(pid, f"{status}: {message}", upstream_status=status)
        return ProviderError(pid, f"{status}: {message}", upstream_status=status)


def _verify(verify: bool | str) -> bool | ssl.SSLContext:
    """httpx's `verify`: a CA bundle path becomes an SSL context that trusts it."""
    if isinstance(verify, bool):
        return verify
    return ssl.create_default_context(cafile=os.path.expanduser(verify))


def _validate(cls: type[T], data: Any, provider_id: str) -> T:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ProviderError(
            provider_id,
            f"response does not match {cls.__name__}: {exc.errors(include_url=False)[:2]}",
        ) from None


def _rerank_scores(payload: Any, protocol: str, count: int, provider_id: str) -> dict[int, float]:
    """Scores by item index from a Cohere-shaped (`results`) or NVIDIA-shaped (`rankings`)
    answer (which may hold only the server's top_n)."""
    key, score_key = (
        ("rankings", "logit") if protocol == "nvidia" else ("results", "relevance_score")
    )
    rows = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(rows, list):
        raise ProviderError(provider_id, f"unexpected rerank response: {str(payload)[:200]}")
    try:
        scores = {int(row["index"]): float(row[score_key]) for row in rows}
    except (KeyError, TypeError, ValueError):
        raise ProviderError(provider_id, f"malformed rerank result: {str(rows)[:200]}") from None
    if any(not 0 <= i < count for i in scores):
        raise ProviderError(provider_id, f"rerank result index out of range: {str(rows)[:200]}")
    return scores


def _message(payload: Any) -> str:
    if isinstance(payload, list) and len(payload) == 1:  # Gemini's [{"error": {...}}]
        payload = payload[0]
    if isinstance(payload, dict) and isinstance(payload.get("errors"), list):  # IBM's shape
        messages = [
            str(e.get("message", e) if isinstance(e, dict) else e) for e in payload["errors"]
        ]
        return "; ".join(messages) or str(payload)
    if isinstance(payload, dict):
        error = payload.get("error", payload.get("detail", payload))
        if isinstance(error, dict):
            return str(error.get("message") or error)
        return str(error)
    return str(payload)


def _retry_after_seconds(value: str) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
