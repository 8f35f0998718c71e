"""Responses' model-call options as Llama Stack 0.7.3 takes them: include logprobs, top_logprobs,
penalties, reasoning effort, the extra body (honoured: sent to the model); truncation 'auto',
reasoning.summary, encrypted reasoning (refused with a 400 that names them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import BadRequestError, Stack
from llama_workbench.apis.responses.models import MessageItem, OutputText
from tests.support.scripted_llm import ScriptedModelServer, say

MODEL = "scripted/scripted-model"


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


def _config(data_dir: Path, model: ScriptedModelServer) -> dict[str, Any]:
    return {
        "data_dir": str(data_dir),
        "apis": ["inference", "responses"],
        "providers": {
            "inference": [model.provider_config()],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
        },
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, model: ScriptedModelServer) -> Iterator[Stack]:
    with Stack.from_config(_config(tmp_path_factory.mktemp("resp-opts"), model)) as built:
        yield built


def text_part(response: Any) -> OutputText:
    (message,) = [i for i in response.output if isinstance(i, MessageItem)]
    part = message.content[0]
    assert isinstance(part, OutputText)
    return part


def test_include_logprobs_returns_them_on_output_text(
    stack: Stack, model: ScriptedModelServer
) -> None:
    model.script(say("Humans live on Earth."))
    plain = stack.responses.create_response(model=MODEL, input="Which planet?")
    assert text_part(plain).logprobs == []
    assert "logprobs" not in model.requests[-1]
    model.script(say("Humans live on Earth."))
    response = stack.responses.create_response(
        model=MODEL, input="Which planet?", include=["message.output_text.logprobs"]
    )
    sent = model.requests[-1]
    assert sent["logprobs"] is True and "top_logprobs" not in sent
    logprobs = text_part(response).logprobs
    assert logprobs and "".join(p["token"] for p in logprobs) == "Humans live on Earth."
    assert all(p["logprob"] < 0 for p in logprobs)


def test_top_logprobs_and_penalties_reach_the_model(
    stack: Stack, model: ScriptedModelServer
) -> None:
    model.script(say("Earth."))
    response = stack.responses.create_response(
        model=MODEL,
        input="Which planet?",
        top_logprobs=2,
        frequency_penalty=0.5,
        presence_penalty=-0.5,
        reasoning={"effort": "low"},
        service_tier="auto",
        prompt_cache_key="k1",
        safety_identifier="user-1",
    )
    sent = model.requests[-1]
    assert sent["logprobs"] is True and sent["top_logprobs"] == 2
    assert sent["frequency_penalty"] == 0.5 and sent["presence_penalty"] == -0.5
    assert sent["reasoning_effort"] == "low" and sent["service_tier"] == "auto"
    assert sent["prompt_cache_key"] == "k1" and sent["safety_identifier"] == "user-1"
    (first,) = text_part(response).logprobs or []
    assert len(first["top_logprobs"]) == 2
    assert response.top_logprobs == 2 and response.truncation == "disabled"
    assert response.reasoning is not None and response.reasoning.effort == "low"


def test_reasoning_effort_none_and_extra_body(stack: Stack, model: ScriptedModelServer) -> None:
    model.script(say("ok"))
    stack.responses.create_response(
        model=MODEL, input="hi", reasoning={"effort": "none"}, truncation="disabled", seed=7
    )
    sent = model.requests[-1]
    assert "reasoning_effort" not in sent
    assert sent["seed"] == 7  # the extra body goes to the model, as in Llama Stack 0.7.3


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"truncation": "auto"}, "truncation"),
        ({"reasoning": {"effort": "low", "summary": "auto"}}, "reasoning.summary"),
        ({"include": ["reasoning.encrypted_content"]}, "reasoning.encrypted_content"),
    ],
)
def test_options_this_stack_cannot_honour_are_400s(
    stack: Stack, fields: dict[str, Any], named: str
) -> None:
    with pytest.raises(BadRequestError, match=named):
        stack.responses.create_response(model=MODEL, input="hi", **fields)


def test_streamed_logprobs_as_llama_stack_sends_them(
    stack: Stack, model: ScriptedModelServer
) -> None:
    model.script(say("Earth it is."))
    events = list(
        stack.responses.create_response(
            model=MODEL,
            input="Which planet?",
            stream=True,
            include=["message.output_text.logprobs"],
        )
    )
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert deltas and all(e.logprobs for e in deltas)
    (done,) = [e for e in events if e.type == "response.output_text.done"]
    assert len(done.logprobs) == sum(len(e.logprobs) for e in deltas)
    (part_done,) = [e for e in events if e.type == "response.content_part.done"]
    assert part_done.part["logprobs"] == []
    (item_done,) = [e for e in events if e.type == "response.output_item.done"]
    assert item_done.item["content"][0]["logprobs"] == done.logprobs


def test_a_function_tools_strict_reaches_the_model(
    stack: Stack, model: ScriptedModelServer
) -> None:
    fn = {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}
    model.script(say("no call"))
    stack.responses.create_response(model=MODEL, input="hi", tools=[fn])
    (offered,) = model.requests[-1]["tools"]
    assert offered["function"]["strict"] is True
