"""The shared answers of the in-process LLMs (providers/utils/local_llm_responses.py), driven
through inline::llama-cpp's engine-specific part with a scripted runner: llama.cpp itself is
not needed, so these run everywhere."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llama_workbench.apis.inference.models import ChatCompletionRequest
from llama_workbench.core.errors import UnprocessableError
from llama_workbench.providers.inline.inference.llama_cpp import responses
from llama_workbench.providers.inline.inference.llama_cpp.runner import Event, Sampling, Task
from llama_workbench.providers.utils.local_llm_responses import ChoiceResult, Generation, collect

TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


class ScriptedRunner:
    """Stands in for ModelRunner: every choice says the same pieces, then ends."""

    def __init__(self, pieces: list[str], finish: str = "stop") -> None:
        self.pieces, self.finish = pieces, finish

    async def events(self, task: Task) -> AsyncIterator[Event]:
        for index in range(task.choices):
            for piece in self.pieces:
                yield Event(index, delta=piece)
            yield Event(index, finish_reason=self.finish, completion_tokens=len(self.pieces))


def task(n: int = 1) -> Task:
    return Task([[1, 2, 3], [4]], n, [16, 16], [], Sampling())


def request(**fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}], **fields)


async def test_a_forced_call_streams_as_one_whole_call_then_usage() -> None:
    runner: Any = ScriptedRunner(['{"city": ', '"Paris"}'])
    req = request(tools=[TOOL], stream_options={"include_usage": True})
    tool = req.tools[0] if req.tools else None
    chunks = [c async for c in responses.chat_stream(runner, task(), req, tool)]
    assert [c.choices[0].delta.content for c in chunks[:2]] == [None, None]  # role chunks
    assert not any(c.choices and c.choices[0].delta.content for c in chunks)
    calls = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or []]
    assert [json.loads(d.function.arguments or "") for d in calls if d.function] == [
        {"city": "Paris"}
    ] * 2
    ends = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert ends == ["tool_calls"] * 2
    usage = chunks[-1].usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (4, 4)
    assert len({c.id for c in chunks}) == 1


async def test_cut_off_arguments_are_an_error_before_any_call_is_sent() -> None:
    runner: Any = ScriptedRunner(['{"city": '], finish="length")
    req = request(tools=[TOOL])
    sent = []
    with pytest.raises(UnprocessableError, match="finish_reason length; raise max_tokens"):
        async for chunk in responses.chat_stream(runner, task(), req, req.tools[0]):  # type: ignore[index]
            sent.append(chunk)
    assert all(not c.choices[0].delta.tool_calls for c in sent)


async def test_whole_answers_count_every_prompt_and_choice() -> None:
    runner: Any = ScriptedRunner(["Hel", "lo"], finish="length")
    results = await responses.collect(runner, task(n=2), ["> ", ""])
    assert [r.text for r in results] == ["> Hello", "> Hello", "Hello", "Hello"]
    done = responses.completion_from(results, task(n=2), "m")
    assert [c.finish_reason for c in done.choices] == ["length"] * 4
    assert done.usage is not None and done.usage.total_tokens == 4 + 8
    assert all(c.metadata is None for c in done.choices)  # llama.cpp has no loop guard
    chat = responses.chat_completion_from(results[:1], task(), request(), None)
    assert chat.choices[0].message.content == "> Hello"


async def test_completion_streams_echo_first_and_close_the_generation() -> None:
    closed = []

    async def events() -> AsyncIterator[Any]:
        try:
            for piece in ("a", "b", "c"):
                yield Event(0, delta=piece)
            yield Event(0, finish_reason="stop", completion_tokens=3)
        finally:
            closed.append(True)

    generation = Generation([[1]], 1, ["echo "], events)
    results: list[ChoiceResult] = await collect(generation)
    assert results[0].text == "echo abc" and closed == [True]
    runner: Any = ScriptedRunner(["x"])
    parts = [p async for p in responses.completion_stream(runner, task(), "m", ["e:", ""], True)]
    assert [p.choices[0].text for p in parts[:2]] == ["e:", "x"]
    assert parts[-1].choices == [] and parts[-1].usage is not None
