"""remote::watsonx: watsonx.ai's text/chat, text/chat_stream and text/embeddings APIs, with
IBM Cloud IAM tokens; models (and embedding sizes) from foundation_model_specs."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    EmbeddingData,
    EmbeddingsRequest,
    EmbeddingsResponse,
    Usage,
)
from llama_workbench.apis.models.models import Model, ModelType, ProviderModel
from llama_workbench.core.errors import BadRequestError, ProviderError, ProviderUnavailableError
from llama_workbench.providers.remote.inference.watsonx.config import WatsonXConfig
from llama_workbench.providers.remote.inference.watsonx.iam import IamAuth, IamTokens
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter, _validate

_API = "/ml/v1"
_SPECS_PAGE = 200
# OpenAI fields the chat API has no counterpart for: refused, never dropped.
_UNSERVED = ("logit_bias", "user")
_LOCAL = {"store", "metadata", "stream_options", "parallel_tool_calls", "model", "stream"}


class WatsonXAdapter(OpenAICompatAdapter):
    """Chat completions (plain, streamed, tool calls) and embeddings on watsonx.ai."""

    config: WatsonXConfig

    def __init__(self, provider_id: str, config: WatsonXConfig) -> None:
        super().__init__(provider_id, config)
        self.tokens = IamTokens(self)
        self._specs: dict[str, dict[str, Any]] = {}

    def _auth(self) -> httpx.Auth:
        return IamAuth(self)

    def _target(self, path: str, body: dict[str, Any] | None) -> tuple[str, dict[str, str]]:
        # httpx's `params` replace a URL's own query: the path's parameters join them.
        path, _, query = path.partition("?")
        params = dict(httpx.QueryParams(query))
        return f"{_API}{path}", {**params, "version": self.config.api_version}

    def _project(self) -> dict[str, str]:
        from llama_workbench.core.provider_data import provider_value

        project = provider_value("watsonx_project_id") or self.config.project_id
        if not project:
            raise BadRequestError(
                f"Provider '{self.provider_id}' has no project_id: set it in its config (the "
                "starter config reads WATSONX_PROJECT_ID) or pass watsonx_project_id per request."
            )
        return {"project_id": project}

    # -- models

    async def _discover_model_ids(self) -> list[str]:
        """foundation_model_specs, page by page; chat and embedding models, with their limits."""
        start: str | None = None
        while True:
            query = f"?limit={_SPECS_PAGE}" + (f"&start={start}" if start else "")
            page = await self._json("GET", f"/foundation_model_specs{query}")
            specs = page.get("resources") if isinstance(page, dict) else None
            if not isinstance(specs, list):
                raise ProviderError(self.provider_id, f"unexpected specs: {str(page)[:200]}")
            self._specs.update({s["model_id"]: s for s in specs if "model_id" in s})
            start = httpx.URL((page.get("next") or {}).get("href", "")).params.get("start")
            if not start:
                return list(self._specs)

    def _provider_model(self, model_id: str) -> ProviderModel:
        spec = self._specs.get(model_id)
        functions = {f.get("id") for f in (spec or {}).get("functions", [])}
        if "embedding" not in functions:
            return super()._provider_model(model_id)
        limits = spec.get("model_limits", {}) if spec else {}
        metadata = {"embedding_dimension": limits.get("embedding_dimension", 0)}
        if limits.get("max_sequence_length"):
            metadata["context_length"] = limits["max_sequence_length"]
        return ProviderModel(
            provider_model_id=model_id, model_type=ModelType.embedding, metadata=metadata
        )

    async def register_model(self, model: Model) -> Model:
        listed = self._provider_model(model.provider_resource_id)
        for key, value in listed.metadata.items():
            model.metadata.setdefault(key, value)
        return await super().register_model(model)

    # -- chat

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        body = self._chat_body(request)
        if request.stream:
            response = await self._send("POST", "/text/chat_stream", body, stream=True)
            return self._chunks(response)
        payload = await self._json("POST", "/text/chat", body)
        return _validate(ChatCompletion, _openai(payload, "chat.completion"), self.provider_id)

    def _chat_body(self, request: ChatCompletionRequest) -> dict[str, Any]:
        named = [n for n in _UNSERVED if getattr(request, n) is not None]
        if request.parallel_tool_calls is False:
            named.append("parallel_tool_calls: false")
        if named:
            raise BadRequestError(
                f"watsonx.ai's chat API does not serve {', '.join(named)}; leave "
                f"{'it' if len(named) == 1 else 'them'} out for remote::watsonx models."
            )
        sent = self._body(request)
        body: dict[str, Any] = {"model_id": request.model, **self._project()}
        body.update({k: v for k, v in sent.items() if k not in _LOCAL})
        if "max_completion_tokens" in body:
            body["max_tokens"] = body.pop("max_completion_tokens")
        choice = body.pop("tool_choice", None)
        if isinstance(choice, str):
            body["tool_choice_option"] = choice
        elif choice is not None:
            body["tool_choice"] = choice
        return body

    async def _chunks(self, response: httpx.Response) -> AsyncIterator[ChatCompletionChunk]:
        from httpx_sse import EventSource

        try:
            async for event in EventSource(response).aiter_sse():
                if not event.data.strip():
                    continue
                try:
                    payload = json.loads(event.data)
                except json.JSONDecodeError:
                    raise ProviderError(
                        self.provider_id, f"malformed stream event: {event.data[:200]!r}"
                    ) from None
                if "errors" in payload or event.event == "error":
                    raise ProviderError(self.provider_id, str(payload.get("errors", payload))[:300])
                chunk = _openai(payload, "chat.completion.chunk")
                yield _validate(ChatCompletionChunk, chunk, self.provider_id)
        except httpx.TransportError as exc:
            raise ProviderUnavailableError(
                self.provider_id, f"stream interrupted: {type(exc).__name__}"
            ) from None
        finally:
            await response.aclose()

    # -- embeddings

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        texts = [request.input] if isinstance(request.input, str) else request.input
        if not all(isinstance(t, str) for t in texts):
            raise BadRequestError("watsonx.ai embeds text: give input as a string or strings")
        if request.dimensions is not None or request.user is not None:
            raise BadRequestError("watsonx.ai's embeddings API has no dimensions or user field")
        body = {"inputs": texts, "model_id": request.model, **self._project()}
        payload = await self._json("POST", "/text/embeddings", body)
        results = payload.get("results") if isinstance(payload, dict) else None
        if not isinstance(results, list) or len(results) != len(texts):
            raise ProviderError(self.provider_id, f"unexpected embeddings: {str(payload)[:200]}")
        tokens = int(payload.get("input_token_count") or 0)
        data = [
            EmbeddingData(index=i, embedding=_encoded(r["embedding"], request.encoding_format))
            for i, r in enumerate(results)
        ]
        return EmbeddingsResponse(
            data=data, model=request.model, usage=Usage(prompt_tokens=tokens, total_tokens=tokens)
        )


def _openai(payload: Any, kind: str) -> Any:
    """watsonx.ai's reply or chunk with OpenAI's `model` and `object` (it names model_id)."""
    if isinstance(payload, dict):
        payload.setdefault("model", payload.get("model_id", ""))
        payload["object"] = kind
    return payload


def _encoded(vector: list[float], encoding: str | None) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    return vector
