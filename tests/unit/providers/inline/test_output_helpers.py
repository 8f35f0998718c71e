"""The text helpers the inline LLM provider uses: stop sequences, tool-call parsing, JSON checks."""

from __future__ import annotations

import json

import pytest

from llama_workbench.apis.inference.models import (
    ResponseFormatJsonObject,
    ResponseFormatJsonSchema,
    Tool,
)
from llama_workbench.core.errors import UnprocessableError
from llama_workbench.providers.utils.stop_sequences import StopSequenceBuffer
from llama_workbench.providers.utils.structured_output import check_json_output
from llama_workbench.providers.utils.tool_calls import may_be_tool_call, parse_tool_calls

TOOLS = [
    Tool.model_validate({"function": {"name": "get_weather", "parameters": {"type": "object"}}})
]


def stream(buffer: StopSequenceBuffer, text: str) -> str:
    out = "".join(buffer.feed(text[:i]) for i in range(1, len(text) + 1))
    return out + buffer.flush(text)


@pytest.mark.parametrize(
    ("stops", "text", "expected", "stopped"),
    [
        (["END"], "hello END world", "hello ", True),
        (["END"], "hello EN", "hello EN", False),  # a partial stop at the end is released
        (["aab"], "xyaaaab tail", "xyaa", True),  # overlapping prefixes
        (["\n\n", "STOP"], "one\ntwo\n\nthree", "one\ntwo", True),
        ([], "anything", "anything", False),
    ],
)
def test_stop_sequences(stops: list[str], text: str, expected: str, stopped: bool) -> None:
    buffer = StopSequenceBuffer(stops)
    assert stream(buffer, text) == expected
    assert buffer.stopped is stopped and buffer.text == expected


def test_stop_text_is_held_back_until_decided() -> None:
    buffer = StopSequenceBuffer(["END"])
    assert buffer.feed("ab E") == "ab "
    assert buffer.feed("ab EN") == ""
    assert buffer.feed("ab ENx") == "ENx"


@pytest.mark.parametrize(
    "text",
    [
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>',
        '{"name": "get_weather", "parameters": {"city": "Paris"}}',
        '```json\n[{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}]\n```',
        '<tool_call>[get_weather(city="Paris")]</tool_call>',
        'get_weather(city="Paris")',
    ],
)
def test_tool_calls_parse(text: str) -> None:
    parsed = parse_tool_calls(text, TOOLS)
    assert len(parsed.tool_calls) == 1 and parsed.content is None
    call = parsed.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {
        "city": "Paris"
    }
    assert call.id.startswith("call_")


@pytest.mark.parametrize(
    "text",
    [
        "The weather in Paris is sunny.",
        '{"name": "send_email", "arguments": {}}',  # not one of the tools: never invented
        '<tool_call>{"name": "get_weather", "arguments": [1]}</tool_call>',
        "<tool_call>get_weather(</tool_call>",
        '{"city": "Paris"}',
        "print('x')",
    ],
)
def test_non_calls_stay_content(text: str) -> None:
    parsed = parse_tool_calls(text, TOOLS)
    assert parsed.tool_calls == [] and parsed.content == text


def test_text_around_tagged_calls_is_content() -> None:
    text = 'Let me check.\n<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'
    parsed = parse_tool_calls(text, TOOLS)
    assert parsed.content == "Let me check." and len(parsed.tool_calls) == 1


def test_may_be_tool_call() -> None:
    assert may_be_tool_call("") and may_be_tool_call("  <tool") and may_be_tool_call('{"na')
    assert not may_be_tool_call("The answer") and not may_be_tool_call("<b>")


def test_json_checks() -> None:
    schema = ResponseFormatJsonSchema.model_validate(
        {
            "type": "json_schema",
            "json_schema": {
                "name": "p",
                "schema": {
                    "type": "object",
                    "properties": {"age": {"type": "integer"}},
                    "required": ["age"],
                },
            },
        }
    )
    assert check_json_output('```json\n{"age": 3}\n```', schema) == '{"age": 3}'
    with pytest.raises(UnprocessableError, match="not valid JSON"):
        check_json_output("Sure! Here it is", schema)
    with pytest.raises(UnprocessableError, match="age"):
        check_json_output('{"age": "three"}', schema)
    with pytest.raises(UnprocessableError, match="not an object"):
        check_json_output("[1, 2]", ResponseFormatJsonObject(type="json_object"))
    assert check_json_output("plain text", None) == "plain text"
