"""The inline::llama-cpp provider: chat and text completions from GGUF files with llama.cpp."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    SamplingFields,
)
from llama_workbench.apis.models.models import ModelType, ProviderModel
from llama_workbench.core.errors import ConfigError
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
from llama_workbench.providers.utils.local_llm import LocalLLMProvider

_NAME = "inline::llama-cpp"


class LlamaCppInferenceImpl(LocalLLMProvider[ModelRunner]):
    """Serves the configured GGUF models; each loads on its first request, off the event loop.

    Sampling: temperature 0 or unset is greedy (deterministic); a temperature > 0 samples, with
    top_p / top_k / seed as given. response_format JSON and forced tool calls are constrained by
    a llama.cpp grammar. Parameters it can't honour are a BadRequestError.
    """

    provider_type = _NAME
    local_models = "a local .gguf file"

    def __init__(self, config: LlamaCppInferenceConfig, provider_id: str) -> None:
        self._config = config
        self._settings = RunnerSettings(
            n_ctx=config.n_ctx, n_threads=config.n_threads, n_batch=config.n_batch
        )
        runners = {}
        for model in config.models:
            path = check_gguf(model.path, f"models[{model.model_id}].path") if model.path else None
            runners[model.model_id] = ModelRunner(path, self._settings, provider_id)
        super().__init__(provider_id, runners, config.default_max_tokens)

    def new_runner(self, path: Path) -> ModelRunner:
        return ModelRunner(path, self._settings, self._provider_id)

    def check_path(self, path: str, what: str) -> Path:
        return check_gguf(path, what)

    def close_runner(self, runner: ModelRunner) -> None:
        runner.close()

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

    # -- inference

    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        runner = self.chat_runner(request)
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
        runner = self.completion_runner(request)

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
        too_long = f"the context holds {lm.n_ctx} (n_ctx in the {_NAME} config)."
        max_tokens = self.max_tokens(prompts, lm.n_ctx, limit, too_long)
        sampling = Sampling(
            **Sampling.of(request),
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
