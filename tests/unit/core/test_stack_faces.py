"""`stack.<api>`: typed faces whose arguments are validated as the request model validates a body."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest

from llama_workbench import Stack, UnprocessableError
from llama_workbench.apis.inference.models import ChatCompletionRequest
from llama_workbench.facade._runtime import _arguments
from llama_workbench.facade.sync.inference import InferenceApi
from tests.unit.core.conftest import two_provider_config

HI = [{"role": "user", "content": "hi"}]


def test_request_arguments_fail_as_the_request_model_does(stub_a, stub_b, tmp_path: Path) -> None:
    with Stack.from_config(two_provider_config(stub_a, stub_b, tmp_path)) as stack:
        with pytest.raises(
            UnprocessableError, match=r"(?s)Invalid ChatCompletionRequest.*messages is required"
        ):
            stack.inference.chat_completion(model="alpha")  # type: ignore[call-overload]
        with pytest.raises(UnprocessableError, match="temperature = 'hot'"):
            stack.inference.chat_completion(model="alpha", messages=HI, temperature="hot")  # type: ignore[call-overload]
        with pytest.raises(
            UnprocessableError, match="bogus is not a field of RegisterModelRequest"
        ):
            stack.models.register(model_id="x", provider_id="a", bogus=1)  # type: ignore[call-arg]
        with pytest.raises(UnprocessableError, match="as keyword arguments"):
            stack.models.register("x", "a")  # type: ignore[misc]
        # A request built beforehand is taken as the fields it was given.
        built = ChatCompletionRequest(model="alpha", messages=HI, seed=3)
        answer = stack.inference.chat_completion(built)  # type: ignore[call-overload]
        assert answer.choices[0].message.content == "echo: hi"

        async def main() -> None:
            with pytest.raises(UnprocessableError, match="messages is required"):
                await stack.aio.inference.chat_completion(model="alpha")  # type: ignore[call-overload]

        asyncio.run(main())


def test_only_the_arguments_given_reach_the_request() -> None:
    # What the method's locals() hold for chat_completion(model="m", messages=HI, stream=False,
    # n=2, x=1): every parameter, most at their defaults.
    params = inspect.signature(InferenceApi.chat_completion).parameters.values()
    values = {p.name: p.default for p in params if p.default is not p.empty}
    values |= {"model": "m", "messages": HI, "stream": False, "n": 2, "extra": {"x": 1}}
    args, kwargs = _arguments(InferenceApi, "chat_completion", values)
    # stream=False and temperature=None are the defaults: left to the model, as an absent field.
    assert args == [] and kwargs == {"model": "m", "messages": HI, "n": 2, "x": 1}


def test_faces_are_typed_objects_with_the_apis_methods(stub_a, stub_b, tmp_path: Path) -> None:
    with Stack.from_config(two_provider_config(stub_a, stub_b, tmp_path)) as stack:
        assert type(stack.inference).__name__ == "InferenceApi"
        assert type(stack.aio.inference).__name__ == "AsyncInferenceApi"
        assert stack.inference is stack.inference  # one face per stack
        assert "chat_completion" in repr(stack.inference)
        # Tab completion offers the APIs this stack serves, not every API there is.
        assert "inference" in dir(stack) and "models" in dir(stack.aio)
        assert "safety" not in dir(stack) and "vector_io" not in dir(stack.aio)
        with pytest.raises(AttributeError, match="API 'safety' is not enabled"):
            stack.aio.safety  # noqa: B018
        with pytest.raises(AttributeError, match="Stack has no attribute 'infrence'"):
            stack.infrence  # type: ignore[attr-defined]  # noqa: B018
