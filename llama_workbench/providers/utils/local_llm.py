"""What the in-process LLM providers (inline::transformers, inline::llama-cpp) share: the models
they serve, each behind a runner that loads it on first use, and the checks every request gets.
Their answers (completions, chunk streams, usage) are built in local_llm_responses.py."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

from llama_workbench.apis.models.models import Model, ModelType
from llama_workbench.core.errors import (
    BadRequestError,
    ConfigError,
    NotFoundError,
    ProviderUnavailableError,
)

if TYPE_CHECKING:
    from llama_workbench.apis.inference.models import (
        ChatCompletionRequest,
        CompletionRequest,
        EmbeddingsRequest,
        EmbeddingsResponse,
        SamplingFields,
    )

R = TypeVar("R")


@dataclass(frozen=True)
class BaseSampling:
    """OpenAI's sampling fields as both in-process engines read them: temperature 0 or unset is
    greedy; an unset filter (top_p, top_k) is off. Each engine adds its own penalties."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return not self.temperature

    @staticmethod
    def of(request: SamplingFields) -> dict[str, Any]:
        """The request's sampling fields, as keyword arguments of a subclass."""
        return {
            "temperature": request.temperature,
            "top_p": request.top_p,
            "top_k": request.top_k,
            "seed": request.seed,
        }


class LocalLLMProvider(abc.ABC, Generic[R]):
    """The models of an in-process LLM provider: `runners` by provider model id (the configured
    models, then local paths registered at run time), each closed in a worker thread at shutdown.

    A subclass names itself (`provider_type`), builds a runner for a local path (`new_runner`),
    checks such a path (`check_path`) and says what paths it takes (`local_models`).
    """

    provider_type = "inline::?"
    local_models = "a local model file"
    extra_fields: frozenset[str] = frozenset()  # extra body fields it reads (as vLLM does)

    def __init__(self, provider_id: str, runners: dict[str, R], default_max_tokens: int) -> None:
        self._provider_id = provider_id
        self._runners = runners
        self._default_max_tokens = default_max_tokens
        self._closed = False

    @abc.abstractmethod
    def new_runner(self, path: Path) -> R:
        """A runner for the model at `path` (it loads the model on first use)."""

    @abc.abstractmethod
    def check_path(self, path: str, what: str) -> Path:
        """`path` as a Path when this provider can serve it, else a clear error naming `what`."""

    @abc.abstractmethod
    def close_runner(self, runner: R) -> None:
        """Release what `runner` holds (runs in a worker thread at shutdown)."""

    def runner(self, model_id: str) -> R:
        """The runner serving `model_id` (a provider model id), or a 404 naming the served ones."""
        if self._closed:
            raise ProviderUnavailableError(self._provider_id, "the provider was shut down")
        runner = self._runners.get(model_id)
        if runner is None:
            raise NotFoundError(
                "model", model_id, self._runners, hint=f"(provider '{self._provider_id}')"
            )
        return runner

    async def register_model(self, model: Model) -> Model:
        """Accept a configured model id, or an existing local path (served from then on)."""
        if model.model_type != ModelType.llm:
            raise BadRequestError(
                f"{self.provider_type} serves LLMs; '{model.identifier}' is a "
                f"{model.model_type.value} model."
            )
        resource = model.provider_resource_id
        if resource in self._runners:
            return model
        if Path(resource).expanduser().exists():
            try:
                path = self.check_path(resource, "provider_model_id")
            except ConfigError as exc:
                raise BadRequestError(exc.message) from exc
            self._runners[resource] = self.new_runner(path)
            return model
        served = ", ".join(sorted(self._runners))
        raise BadRequestError(
            f"Provider '{self._provider_id}' does not serve '{resource}'. Configured models: "
            f"{served}; or give {self.local_models} as provider_model_id."
        )

    async def shutdown(self) -> None:
        self._closed = True
        close: Callable[[R], None] = self.close_runner
        await asyncio.gather(*(asyncio.to_thread(close, r) for r in self._runners.values()))

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        raise BadRequestError(
            f"Model '{request.model}' is served by {self.provider_type}, which serves LLMs; "
            "use an embedding model (e.g. from inline::sentence-transformers)."
        )

    def unsupported(self, request: SamplingFields) -> list[str]:
        """The request's fields this provider can't honour: logit_bias, and extra body fields
        it does not read. A provider adds its own (each is named in one 400)."""
        problems = ["logit_bias"] if request.logit_bias else []
        unknown = sorted(set(request.model_extra or {}) - self.extra_fields)
        if unknown:
            problems.append(", ".join(unknown))
        return problems

    def chat_runner(self, request: ChatCompletionRequest) -> R:
        """The runner of `request.model`, once the request is one this provider can answer."""
        self._check_fields(request)
        if request.logprobs or request.top_logprobs:
            self._refuse("logprobs are not supported")
        return self.runner(request.model)

    def completion_runner(self, request: CompletionRequest) -> R:
        """The runner of `request.model`, once the request is one this provider can answer."""
        self._check_fields(request)
        if request.logprobs is not None or request.suffix is not None:
            self._refuse("logprobs and suffix are not supported")
        if request.best_of is not None and request.best_of != (request.n or 1):
            self._refuse("best_of is not supported", "(use n)")
        return self.runner(request.model)

    def max_tokens(
        self, prompts: list[list[int]], context: int, limit: int | None, too_long: str
    ) -> list[int]:
        """Each prompt's token budget: the request's `limit` (else the configured default), or
        what the context has room for (`too_long` says the context's size, for the 400)."""
        return token_budgets(prompts, context, limit or self._default_max_tokens, too_long)

    def _check_fields(self, request: SamplingFields) -> None:
        """Fields it can't honour are errors, never silently ignored."""
        problems = self.unsupported(request)
        if problems:
            raise BadRequestError(f"{self.provider_type} does not support: {'; '.join(problems)}")

    def _refuse(self, what: str, after: str = "") -> NoReturn:
        raise BadRequestError(f"{what} by {self.provider_type}{f' {after}' if after else ''}")


def token_budgets(prompts: list[list[int]], context: int, wanted: int, too_long: str) -> list[int]:
    """Each prompt's max new tokens: `wanted`, or what its context has room for. A prompt that
    fills the context is a 400 (`too_long` names the context's size and where it is set)."""
    budgets = []
    for ids in prompts:
        room = context - len(ids)
        if room <= 0:
            raise BadRequestError(f"The prompt has {len(ids)} tokens; {too_long}")
        budgets.append(min(wanted, room))
    return budgets


def completion_prompt_ids(
    request: CompletionRequest, vocab: int, tokenize: Callable[[str], list[int]]
) -> list[list[int]]:
    """Each prompt as token ids: text is tokenized, token ids are checked against the vocabulary."""
    prompt = request.prompt
    if isinstance(prompt, str) or (prompt and all(isinstance(p, int) for p in prompt)):
        items: list[Any] = [prompt]
    else:
        items = list(prompt)
    if not items:
        raise BadRequestError("prompt is empty")
    result: list[list[int]] = []
    for item in items:
        if isinstance(item, str):
            ids = tokenize(item)
        else:
            ids = [int(t) for t in item]
            if any(t < 0 or t >= vocab for t in ids):
                raise BadRequestError(
                    f"prompt has token ids outside the vocabulary (0..{vocab - 1})"
                )
        if not ids:
            raise BadRequestError("a prompt is empty")
        result.append(ids)
    return result


def echo_texts(
    request: CompletionRequest, prompts: list[list[int]], decode: Callable[[list[int]], str]
) -> list[str]:
    """The text `echo` puts before each completion: the prompt as given (token ids decoded)."""
    if not request.echo:
        return [""] * len(prompts)
    given = request.prompt
    if isinstance(given, str):
        return [given]
    if all(isinstance(p, str) for p in given):
        return [str(p) for p in given]
    return [decode(ids) for ids in prompts]
