"""The inline::transformers provider: chat and text completions from local causal LMs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    SamplingFields,
)
from llama_workbench.apis.models.models import ModelType, ProviderModel
from llama_workbench.core.errors import (
    MissingDependencyError,
)
from llama_workbench.providers.inline.inference.transformers.config import (
    TransformersInferenceConfig,
)
from llama_workbench.providers.inline.inference.transformers.ct2 import ctranslate2_installed
from llama_workbench.providers.inline.inference.transformers.engine import (
    EngineSettings,
    GenerationEngine,
)
from llama_workbench.providers.inline.inference.transformers.jobs import Sampling
from llama_workbench.providers.inline.inference.transformers.loader import (
    LoadedModel,
    ModelSource,
    check_path,
)
from llama_workbench.providers.inline.inference.transformers.prompts import (
    active_tools,
    chat_prompt_ids,
    completion_prompts,
    echo_texts,
)
from llama_workbench.providers.inline.inference.transformers.responses import (
    Plan,
    chat_completion_from,
    chat_stream,
    collect,
    completion_from,
    completion_stream,
)
from llama_workbench.providers.utils.call_recording import recorded
from llama_workbench.providers.utils.local_llm import LocalLLMProvider


class TransformersInferenceImpl(LocalLLMProvider[GenerationEngine]):
    """Serves the configured models; each loads on its first request, in a worker thread.

    Sampling: temperature 0 or unset is greedy (deterministic); a temperature > 0 samples, with
    top_p / top_k / seed as given; `repetition_penalty` and `no_repeat_ngram_size` (extra body
    fields, as vLLM takes them) override the config's defaults. Parameters it can't honour are
    a BadRequestError.
    """

    provider_type = "inline::transformers"
    local_models = "a local model folder, adapter folder or .gguf file"
    extra_fields = frozenset({"repetition_penalty", "no_repeat_ngram_size"})

    def __init__(
        self, config: TransformersInferenceConfig, provider_id: str, data_dir: Path
    ) -> None:
        self._config = config
        cache_dir = Path(config.cache_dir).expanduser() if config.cache_dir else data_dir / "models"
        self._settings = EngineSettings(
            dtype=config.dtype,
            num_threads=config.num_threads,
            max_batch_size=config.max_batch_size,
            batch_wait_s=config.batch_wait_ms / 1000.0,
            cache_dir=cache_dir,
            engine=_engine(config),
            compute_type=config.compute_type,
            ct2_threads=config.ctranslate2_threads,
            loop_guard_repeats=config.loop_guard_repeats,
        )
        engines = {}
        for model in config.models:
            path = check_path(model.path, f"models[{model.model_id}].path") if model.path else None
            tokenizer = check_path(model.tokenizer, "tokenizer") if model.tokenizer else None
            engines[model.model_id] = GenerationEngine(path, tokenizer, self._settings)
        super().__init__(provider_id, engines, config.default_max_tokens)
        self._engines = engines  # the runners (one dict): what this provider calls them

    def new_runner(self, path: Path) -> GenerationEngine:
        return GenerationEngine(path, None, self._settings)

    def check_path(self, path: str, what: str) -> Path:
        return check_path(path, what)

    def close_runner(self, runner: GenerationEngine) -> None:
        runner.close()

    def engine(self, model_id: str) -> GenerationEngine:
        """The engine serving `model_id` (a provider model id), or a 404 naming the served ones."""
        return self.runner(model_id)

    def model_source(self, model_id: str) -> ModelSource:
        """Where `model_id` (a provider model id) loads from: post-training loads its own copy."""
        engine = self.engine(model_id)
        return ModelSource(engine.weights_path(), engine.tokenizer_path, self._settings.cache_dir)

    # -- models

    @property
    def engine_name(self) -> str:
        """ctranslate2 or transformers: the configured engine, or the one the default picked."""
        return self._settings.engine

    def _precision(self) -> str:
        s = self._settings
        return s.compute_type if s.engine == "ctranslate2" else s.dtype

    async def health(self) -> dict[str, Any]:
        """The engine and its precision, and how each model is served once loaded."""
        served = {
            model_id: engine.loaded.describe() if engine.loaded else "not loaded"
            for model_id, engine in self._runners.items()
        }
        return {
            "status": "OK",
            "engine": self.engine_name,
            "compute_type": self._precision(),
            "models": served,
        }

    async def list_provider_models(self) -> list[ProviderModel]:
        metadata = {"engine": self.engine_name, "compute_type": self._precision()}
        return [
            ProviderModel(
                provider_model_id=m.model_id, model_type=ModelType.llm, metadata=dict(metadata)
            )
            for m in self._config.models
        ]

    # -- inference

    def unsupported(self, request: SamplingFields) -> list[str]:
        """Besides the common ones: the OpenAI penalties (it has repetition_penalty instead),
        and that one and no_repeat_ngram_size out of range."""
        penalties = request.frequency_penalty or request.presence_penalty
        problems = ["frequency_penalty / presence_penalty"] if penalties else []
        return [
            *problems,
            *super().unsupported(request),
            *_check_penalties(request.model_extra or {}),
        ]

    @recorded("inline::transformers", ChatCompletion, ChatCompletionChunk)
    async def chat_completion(
        self, request: ChatCompletionRequest
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        engine = self.chat_runner(request)
        lm = await asyncio.wrap_future(engine.load_future())
        prompt = await asyncio.to_thread(chat_prompt_ids, lm.tokenizer, request)
        tools = active_tools(request)
        plan = self._plan(lm, [prompt], request, request.token_limit(), [""])
        if request.stream:
            return chat_stream(engine, plan, request, tools)
        return chat_completion_from(await collect(engine, plan), plan, request, tools)

    @recorded("inline::transformers", Completion, Completion)
    async def completion(
        self, request: CompletionRequest
    ) -> Completion | AsyncIterator[Completion]:
        engine = self.completion_runner(request)
        lm = await asyncio.wrap_future(engine.load_future())
        prompts = await asyncio.to_thread(completion_prompts, lm.tokenizer, request)
        prefixes = echo_texts(lm.tokenizer, request, prompts)
        plan = self._plan(lm, prompts, request, request.max_tokens, prefixes)
        if request.stream:
            usage = bool(request.stream_options and request.stream_options.include_usage)
            return completion_stream(engine, plan, request.model, usage)
        return completion_from(await collect(engine, plan), plan, request.model)

    def _plan(
        self,
        lm: LoadedModel,
        prompts: list[list[int]],
        request: SamplingFields,
        limit: int | None,
        prefixes: list[str],
    ) -> Plan:
        too_long = f"the model's context holds {lm.context_length}."
        max_tokens = self.max_tokens(prompts, lm.context_length, limit, too_long)
        extra, c = request.model_extra or {}, self._config
        sampling = Sampling(
            **Sampling.of(request),
            repetition_penalty=_or(extra.get("repetition_penalty"), c.repetition_penalty),
            no_repeat_ngram_size=_or(extra.get("no_repeat_ngram_size"), c.no_repeat_ngram_size),
        )
        return Plan(
            provider_id=self._provider_id,
            prompts=prompts,
            n=request.n or 1,
            sampling=sampling,
            max_tokens=max_tokens,
            stops=request.stop_list(),
            prefixes=prefixes,
        )


def _engine(config: TransformersInferenceConfig) -> str:
    """The configured engine; unset: ctranslate2 when it is installed (no import here)."""
    if config.engine == "transformers":
        return "transformers"
    if ctranslate2_installed():
        return "ctranslate2"
    if config.engine == "ctranslate2":
        raise MissingDependencyError(
            "ctranslate2", "inline", needed_by="inline::transformers with engine: ctranslate2"
        )
    return "transformers"


def _check_penalties(extra: dict[str, Any]) -> list[str]:
    """The extra body's repetition_penalty (>= 1) and no_repeat_ngram_size (>= 0), if any."""
    penalty, size = extra.get("repetition_penalty"), extra.get("no_repeat_ngram_size")
    problems = []
    if penalty is not None and (not isinstance(penalty, int | float) or not 1 <= penalty <= 2):
        problems.append("repetition_penalty must be a number from 1 to 2")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        problems.append("no_repeat_ngram_size must be an integer >= 0")
    return problems


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value
