"""Checked by mypy (tests/unit/facade/test_typing.py), never run: what the typed faces promise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import assert_type

from llama_workbench import Stack
from llama_workbench.apis.inference.models import ChatCompletion, ChatCompletionChunk
from llama_workbench.apis.models.models import Model
from llama_workbench.apis.vector_io.models import SearchResultsPage
from llama_workbench.core.bridge import SyncStream


def sync_calls(stack: Stack) -> None:
    messages = [{"role": "user", "content": "Hello"}]
    answer = stack.inference.chat_completion(model="m", messages=messages)
    assert_type(answer, ChatCompletion)
    stream = stack.inference.chat_completion(model="m", messages=messages, stream=True)
    assert_type(stream, SyncStream[ChatCompletionChunk])
    flag: bool = bool(messages)
    either = stack.inference.chat_completion(model="m", messages=messages, stream=flag)
    assert_type(either, ChatCompletion | SyncStream[ChatCompletionChunk])
    assert_type(stack.models.list(), list[Model])
    page = stack.vector_io.search_vector_store("vs_1", "query", max_num_results=3)
    assert_type(page, SearchResultsPage)
    # Mistakes mypy catches (each ignore must be needed: warn_unused_ignores is on).
    stack.inference.chat_completion(model="m")  # type: ignore[call-overload]
    stack.inference.chat_completion(model="m", messages=messages, temperature="hot")  # type: ignore[call-overload]
    stack.vector_io.search_vector_store("vs_1", query=3)  # type: ignore[arg-type]
    stack.models.retrieve(model="m")  # type: ignore[call-arg]


async def async_calls(stack: Stack) -> None:
    messages = [{"role": "user", "content": "Hello"}]
    answer = await stack.aio.inference.chat_completion(model="m", messages=messages)
    assert_type(answer, ChatCompletion)
    stream = await stack.aio.inference.chat_completion(model="m", messages=messages, stream=True)
    assert_type(stream, AsyncIterator[ChatCompletionChunk])
    page = await stack.aio.vector_io.search_vector_store("vs_1", "query")
    assert_type(page, SearchResultsPage)
