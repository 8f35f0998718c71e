"""Response assembly and prompt rendering of inline::transformers, with a scripted engine."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llama_workbench.apis.inference.models import ChatCompletionChunk, ChatCompletionRequest
from llama_workbench.core.errors import UnprocessableError
from llama_workbench.providers.inline.inference.transformers import TransformersInferenceImpl
from llama_workbench.providers.inline.inference.transformers.jobs import Event, Job, Sampling
from llama_workbench.providers.inline.inference.transformers.prompts import chat_prompt_ids
from llama_workbench.providers.inline.inference.transformers.responses import (
    ChoiceResult,
    Plan,
    chat_completion_from,
    chat_stream,
)

from .conftest import LLM

TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
CALL = [
    "<tool",
    '_call>{"name": "get_weather", ',
    '"arguments": {"city": "Paris"}}',
    "</tool_call>",
]


class ScriptedEngine:
    """Stands in for GenerationEngine: answers every job with the same text pieces."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces

    def submit(self, jobs: list[Job]) -> None:
        for job in jobs:
            for piece in self.pieces:
                job.sink.put(Event(job.index, delta=piece))
            job.sink.put(Event(job.index, finish_reason="stop", completion_tokens=len(self.pieces)))


def plan(n: int = 1) -> Plan:
    return Plan("t", [[1, 2, 3]], n, Sampling(), [32], [], [""])


def request(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest(model=LLM, messages=[{"role": "user", "content": "hi"}], **fields)


async def stream(
    pieces: list[str], req: ChatCompletionRequest, n: int = 1
) -> list[ChatCompletionChunk]:
    engine: Any = ScriptedEngine(pieces)
    chunks: AsyncIterator[ChatCompletionChunk] = chat_stream(engine, plan(n), req, req.tools or [])
    return [c async for c in chunks]


async def test_a_streamed_tool_call_is_held_back_and_sent_as_tool_calls() -> None:
    chunks = await stream(CALL, request(tools=[TOOL]))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert not any(c.choices[0].delta.content for c in chunks)
    calls = [d for c in chunks for d in (c.choices[0].delta.tool_calls or [])]
    assert len(calls) == 1 and calls[0].function and calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments or "") == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_plain_text_with_tools_streams_as_content() -> None:
    chunks = await stream(["The", " weather", " is nice"], request(tools=[TOOL]))
    content = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert content == ["The", " weather", " is nice"]
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_n_choices_stream_with_one_usage() -> None:
    chunks = await stream(["a", "b"], request(n=2, stream_options={"include_usage": True}), n=2)
    by_index = {0: "", 1: ""}
    for c in chunks[:-1]:
        by_index[c.choices[0].index] += c.choices[0].delta.content or ""
    assert by_index == {0: "ab", 1: "ab"}
    usage = chunks[-1].usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (3, 4)


async def test_a_stream_that_breaks_the_json_format_ends_in_an_error() -> None:
    fmt = {"type": "json_object"}
    with pytest.raises(UnprocessableError, match="not valid JSON"):
        await stream(["Sure", "!"], request(response_format=fmt))
    chunks = await stream(['{"a"', ": 1}"], request(response_format=fmt))
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_whole_completions_parse_tool_calls() -> None:
    results = [ChoiceResult(text="".join(CALL), completion_tokens=4)]
    req = request(tools=[TOOL])
    result = chat_completion_from(results, plan(), req, req.tools or [])
    message = result.choices[0].message
    assert result.choices[0].finish_reason == "tool_calls" and message.content is None
    assert message.tool_calls and message.tool_calls[0].function.name == "get_weather"


class TemplateRecorder:
    """A tokenizer whose chat template takes tools: records what it is asked to render."""

    chat_template = "{% if tools %}...{% endif %}"

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def apply_chat_template(self, messages: list[dict[str, Any]], **options: Any) -> str:
        self.calls.append({"messages": messages, **options})
        return "rendered"

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        return {"input_ids": [len(text)]}


def test_templates_with_tool_support_get_the_tools_natively() -> None:
    recorder = TemplateRecorder()
    call = {"id": "c1", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    req = ChatCompletionRequest(
        model=LLM,
        tools=[TOOL],
        messages=[
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ],
    )
    assert chat_prompt_ids(recorder, req) == [len("rendered")]
    (seen,) = recorder.calls
    assert seen["tools"][0]["function"]["name"] == "get_weather"
    assert seen["messages"][1]["tool_calls"][0]["function"]["arguments"] == {"city": "Oslo"}
    assert seen["messages"][2] == {"role": "tool", "content": "sunny", "tool_call_id": "c1"}


def test_templates_without_tool_support_get_tools_in_the_system_prompt(
    llm: TransformersInferenceImpl,
) -> None:
    loaded = llm.engine(LLM).loaded
    assert loaded is not None
    req = ChatCompletionRequest(
        model=LLM,
        tools=[TOOL],
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "weather?"},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ],
    )
    text = loaded.tokenizer.decode(chat_prompt_ids(loaded.tokenizer, req))
    assert "Be brief." in text and '"name": "get_weather"' in text and "<tool_call>" in text
    assert "<tool_response>\nsunny\n</tool_response>" in text
    assert text.endswith("<|im_start|>assistant\n")
