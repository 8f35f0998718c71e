"""Contextual chunking: the stack's LLM writes a line that situates each chunk in its document."""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionRequest,
    SystemMessage,
    UserMessage,
)
from llama_workbench.apis.vector_io.models import (
    ChunkingStrategyContextual,
    ChunkingStrategyContextualConfig,
)
from llama_workbench.core.errors import BadRequestError, UnprocessableError

if TYPE_CHECKING:
    from llama_workbench.core.inference_router import InferenceRouter
    from llama_workbench.core.vector_stores_config import ContextualRetrievalParams

logger = logging.getLogger(__name__)

DOCUMENT = "{{WHOLE_DOCUMENT}}"
CHUNK = "{{CHUNK_CONTENT}}"
CONTEXT_MAX_TOKENS = 256  # as Llama Stack 0.7.3 asks for


def contextual_model(strategy: Any, params: ContextualRetrievalParams) -> str | None:
    """The LLM of a contextual strategy (its model_id, else the config's default); None for
    other strategies. A contextual strategy with neither is a 400, as in Llama Stack 0.7.3."""
    if not isinstance(strategy, ChunkingStrategyContextual):
        return None
    if strategy.contextual.model_id:
        return strategy.contextual.model_id
    if params.model is not None:
        model = params.model
        return f"{model.provider_id}/{model.model_id}" if model.provider_id else model.model_id
    raise BadRequestError(
        "Failed to initialize contextual chunking: model_id is required. Provide it in "
        "chunking_strategy.contextual or configure a default in "
        "vector_stores.contextual_retrieval_params.model on the server."
    )


@dataclass
class Contextualizer:
    """Prepends `<context>\\n\\n` to each chunk (Llama Stack 0.7.3's form). The document goes in
    the system message and the chunk in the user message, so servers can reuse the prefix.

    A chunk whose call fails or answers nothing keeps its text; when no chunk of the file got a
    context, `check` raises (the file fails), as in 0.7.3."""

    inference: InferenceRouter
    model_id: str
    config: ChunkingStrategyContextualConfig
    params: ContextualRetrievalParams
    document: str
    counts: dict[str, int] = field(default_factory=lambda: {"ok": 0, "failed": 0, "empty": 0})

    def __post_init__(self) -> None:
        estimate = len(self.document) // 4
        if estimate > self.params.max_document_tokens:
            raise UnprocessableError(
                f"Failed to process document for contextual retrieval: size (~{estimate} tokens) "
                f"exceeds maximum allowed ({self.params.max_document_tokens} tokens)"
            )
        prompt = self.config.context_prompt
        split = prompt.index(CHUNK)
        self._system = prompt[:split].replace(DOCUMENT, self.document).rstrip()
        self._user = prompt[split:]
        limit = self.config.max_concurrency or self.params.default_max_concurrency
        self._gate = asyncio.Semaphore(limit)
        self._timeout = self.config.timeout_seconds or self.params.default_timeout_seconds

    async def __call__(self, texts: builtins.list[str]) -> builtins.list[str]:
        contexts = await asyncio.gather(*(self._context(text) for text in texts))
        return [f"{c}\n\n{t}" if c else t for c, t in zip(contexts, texts, strict=True)]

    async def _context(self, text: str) -> str:
        request = ChatCompletionRequest(
            model=self.model_id,
            messages=[
                SystemMessage(role="system", content=self._system),
                UserMessage(role="user", content=self._user.replace(CHUNK, text)),
            ],
            temperature=0.0,
            max_tokens=CONTEXT_MAX_TOKENS,
            stream=False,
            store=False,  # the stack's own calls are not the user's completions
        )
        async with self._gate:
            try:
                response = await asyncio.wait_for(
                    self.inference.chat_completion(request), self._timeout
                )
            except Exception as exc:  # one chunk without context is not the file's failure
                logger.warning("contextual chunking: %s failed: %s", self.model_id, exc)
                self.counts["failed"] += 1
                return ""
        context = _answer(response).strip()
        self.counts["ok" if context else "empty"] += 1
        return context

    def check(self) -> None:
        """Raises when no chunk got a context (every call failed, or all answered nothing)."""
        if self.counts["ok"] or not (self.counts["failed"] or self.counts["empty"]):
            return
        if self.counts["failed"]:
            raise UnprocessableError(
                f"Failed to contextualize any chunks for model {self.model_id}"
            )
        raise UnprocessableError(
            f"Failed to generate context using model {self.model_id}: empty context for all "
            f"{self.counts['empty']} chunks."
        )


def contextualizer(
    strategy: Any, inference: InferenceRouter, params: ContextualRetrievalParams
) -> Callable[[str], Contextualizer] | None:
    """For a contextual strategy: document text -> its Contextualizer; None for the others."""
    model_id = contextual_model(strategy, params)
    if model_id is None:
        return None
    return partial(Contextualizer, inference, model_id, strategy.contextual, params)


def _answer(response: Any) -> str:
    if not isinstance(response, ChatCompletion) or not response.choices:
        return ""
    return response.choices[0].message.content or ""
