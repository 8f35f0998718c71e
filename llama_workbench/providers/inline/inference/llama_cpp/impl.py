"""The inline::llama-cpp provider: chat and text completions from GGUF files with llama.cpp."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    SamplingFields,
)
from llama_workbench.apis.models.models import Model, ModelType, ProviderModel
from llama_workbench.core.errors import (
    BadRequestError,
    ConfigError,
    NotFoundError,
    ProviderUnavailableError,
)
from llama_workbench.providers.inline.inference.llama_cpp.config import LlamaCppInferenceConfig
from llama_workbench.providers.inline.inference.llama_cpp.loader import (
    LoadedModel,
    RunnerSettings,
)
from llama_workbench.providers.inline.inference.llama_cpp.prompts import (
    chat_prompt,
    completion_prompts,
    echo_texts,
    forced_tool,
    grammar,
)
from llama_workbench.providers.inline.inference.llama_cpp.responses import (
    chat_completion_from,
    chat_stream,
    collect,
    completion_from,
    completion_stream,
)
from llama_workbench.providers.inline.inference.llama_cpp.runner import ModelRunner, Sampling, Task

_NAME = "inline::llama-cpp"


class LlamaCppInferenceImpl:
    """Serves the configured GGUF models; each loads on its first request, off the event loop.

    Sampling: temperature 0 or unset is greedy (deterministic); a temperature > 0 samples, with
    top_p / top_k / seed as given. response_format JSON and forced tool calls are constrained by
    a llama.cpp grammar. Parameters it can't honour are a BadRequestError.
    """

    def __init__(self, config: LlamaCppInferenceConfig, provider_id: str) -> None:
        self._config = config
        self._provider_id = provider_id
        self._settings = RunnerSettings(
            n_ctx=config.n_ctx, n_threads=config.n_threads, n_batch=config.n_batch
        )
        self._runners: dict[str, ModelRunner] = {}
        self._closed = False
        for model in config.models:
            path = check_gguf(model.path, f"models[{model.model_id}].path") if model.path else None
            self._runners[model.model_id] = ModelRunner(path, self._settings, provider_id)

    def runner(self, model_id: str) -> ModelRunner:
        """The runner serving `model_id` (a provider model id), or a 404 naming the served ones."""
        if self._closed:
            raise ProviderUnavailableError(self._provider_id, "the provider was shut down")
        runner = self._runners.get(model_id)
        if runner is None:
            raise NotFoundError(
                "model", model_id, self._runners, hint=f"(provider '{self._provider_id}')"
            )
        return runner

    # -- models

    async def list_provider_models(self) -> list[ProviderModel]:
        return [
            ProviderModel(
                provider_model_id=m.model_id,
                model_type=ModelType.llm,
                metadata={"backend": "llama.cpp", "format": "gguf"},
            )
            for m in self._config.models
        ]

    async def register_model(self, model: Model) -> Model:
        """Accept a configured model id, or an existing .gguf path (served from then on)."""
        if model.model_type != ModelType.llm:
            raise BadRequestError(
                f"{_NAME} serves LLMs; '{model.identifier}' is a {model.model_type.value} model."
            )
        resource = model.provider_resource_id
        if resource in self._runners:
            return model
        if Path(resource).expanduser().exists():
            try:
                path = check_gguf(resource, "provider_model_id")
            except ConfigError as exc:
                raise BadRequestError(exc.message) from exc
            self._runners[resource] = ModelRunner(path, self._settings, self._provider_id)
            return model
        served = ", ".join(sorted(self._runners))
        raise BadRequestError(
            f"Provider '{self._provider_id}' does not serve '{resource}'. Configured models: "
            f"{served}; or give a local .gguf file as provider_model_id."
        )

    async def shutdown(self) -> None:
        self._closed = True
        await asyncio.gather(*(asyncio.to_thread(r.close) for r in self._runners.values()))

    # -- inference

    async def embeddings(self, request: EmbeddingsRequest) -> EmbeddingsResponse:
        raise BadRequestError(
            f"Model '{request.model}' is served by {_NAME}, which serves LLMs; use an embedding "
            "model (e.g. from inline::sentence-transformers)."
        )

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        _reject_unsupported(request)
        if request.logprobs or request.top_logprobs:
            raise BadRequestError(f"logprobs are not supported by {_NAME}")
        runner = self.runner(request.model)
        tool = forced_tool(request)

        def prepare(lm: LoadedModel) -> Task:
            prompt = chat_prompt(lm, request, tool)
            return self._task(lm, [prompt], request, request.token_limit(), grammar(request, tool))

        task = await runner.call(prepare)
        if request.stream:
            return chat_stream(runner, task, request, tool)
        results = await collect(runner, task, [""])
        return chat_completion_from(results, task, request, tool)

    async def completion(
        self, request: CompletionRequest
    ) -> Completion | AsyncIterator[Completion]:
        _reject_unsupported(request)
        if request.logprobs is not None or request.suffix is not None:
            raise BadRequestError(f"logprobs and suffix are not supported by {_NAME}")
        if request.best_of is not None and request.best_of != (request.n or 1):
            raise BadRequestError(f"best_of is not supported by {_NAME} (use n)")
        runner = self.runner(request.model)

        def prepare(lm: LoadedModel) -> tuple[Task, list[str]]:
            prompts = completion_prompts(lm, request)
            task = self._task(lm, prompts, request, request.max_tokens, None)
            return task, echo_texts(lm, request, prompts)

        task, prefixes = await runner.call(prepare)
        if request.stream:
            include = bool(request.stream_options and request.stream_options.include_usage)
            return completion_stream(runner, task, request.model, prefixes, include)
        return completion_from(await collect(runner, task, prefixes), task, request.model)

    def _task(
        self,
        lm: LoadedModel,
        prompts: list[list[int]],
        request: SamplingFields,
        limit: int | None,
        gbnf: str | None,
    ) -> Task:
        wanted = limit or self._config.default_max_tokens
        max_tokens = []
        for ids in prompts:
            room = lm.n_ctx - len(ids)
            if room <= 0:
                raise BadRequestError(
                    f"The prompt has {len(ids)} tokens; the context holds {lm.n_ctx} "
                    f"(n_ctx in the {_NAME} config)."
                )
            max_tokens.append(min(wanted, room))
        sampling = Sampling(
            temperature=request.temperature,
            top_p=request.top_p,
            top_k=request.top_k,
            seed=request.seed,
            frequency_penalty=request.frequency_penalty,
            presence_penalty=request.presence_penalty,
        )
        return Task(prompts, request.n or 1, max_tokens, request.stop_list(), sampling, gbnf)


def check_gguf(path: str, what: str) -> Path:
    """An existing .gguf file, or a ConfigError that says which setting is wrong."""
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise ConfigError(f"{_NAME}: {what} '{path}' is not an existing file")
    if resolved.suffix != ".gguf":
        raise ConfigError(f"{_NAME}: {what} '{path}' is not a .gguf file")
    return resolved


def _reject_unsupported(request: SamplingFields) -> None:
    """Parameters this provider can't honour are errors, never silently ignored."""
    problems = []
    if request.logit_bias:
        problems.append("logit_bias")
    if request.model_extra:
        problems.append(", ".join(sorted(request.model_extra)))
    if problems:
        raise BadRequestError(f"{_NAME} does not support: {'; '.join(problems)}")
