"""Request fields of Llama Stack 0.7.3's schemas that were accepted and ignored, now honoured or
refused with a 400 naming them: parallel_tool_calls and strict functions (inline), a chat's
metadata (stored), ranking_options.weights, json_schema descriptions, embeddings' extra body
(inline)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from llama_workbench import Stack
from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionRequest,
    EmbeddingsRequest,
    ResponseFormatJsonSchema,
    Tool,
)
from llama_workbench.apis.vector_io.models import (
    ChunkMetadata,
    EmbeddedChunk,
    RankingOptions,
    ScoredChunk,
)
from llama_workbench.core.errors import BadRequestError, UnprocessableError
from llama_workbench.core.vector_stores.search import fuse
from llama_workbench.providers.utils.structured_output import check_strict_calls, json_instruction
from llama_workbench.providers.utils.tool_calls import parse_tool_calls
from tests.support.fields import CHAT, scripted_model, scripted_stack_config
from tests.support.rag import rag_config
from tests.support.scripted_llm import ScriptedModelServer, say

TOOLS = [Tool.model_validate({"function": {"name": "f", "parameters": {"type": "object"}}})]
TWO_CALLS = '[{"name": "f", "arguments": {"x": 1}}, {"name": "f", "arguments": {"x": 2}}]'


def test_parallel_tool_calls_false_keeps_the_first_call() -> None:
    assert len(parse_tool_calls(TWO_CALLS, TOOLS).tool_calls) == 2
    (only,) = parse_tool_calls(TWO_CALLS, TOOLS, parallel=False).tool_calls
    assert json.loads(only.function.arguments) == {"x": 1}


def test_a_json_schema_description_is_given_to_inline_models() -> None:
    fmt = ResponseFormatJsonSchema.model_validate(
        {
            "type": "json_schema",
            "json_schema": {"name": "city", "description": "a city and its country", "schema": {}},
        }
    )
    assert "JSON value (a city and its country) that conforms" in (json_instruction(fmt) or "")


def _hit(chunk_id: str, score: float) -> ScoredChunk:
    chunk = EmbeddedChunk(
        content=chunk_id,
        chunk_id=chunk_id,
        chunk_metadata=ChunkMetadata(),
        embedding=[0.0],
        embedding_model="e",
        embedding_dimension=1,
    )
    return ScoredChunk(chunk=chunk, score=score)


@pytest.mark.parametrize("ranker", ["rrf", "weighted"])
def test_ranking_weights_set_each_rankings_share(ranker: str) -> None:
    vector = [_hit("a", 0.9), _hit("b", 0.5), _hit("c", 0.1)]
    keyword = [_hit("c", 9.0), _hit("b", 5.0), _hit("a", 1.0)]
    only_vector = RankingOptions(ranker=ranker, weights={"vector": 1.0, "keyword": 0.0})
    only_keyword = RankingOptions(ranker=ranker, weights={"vector": 0.0, "keyword": 1.0})
    assert [h.chunk.chunk_id for h in fuse(vector, keyword, only_vector)] == ["a", "b", "c"]
    assert [h.chunk.chunk_id for h in fuse(vector, keyword, only_keyword)] == ["c", "b", "a"]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"vector": 0.5, "keyword": 0.4}, "sum to 1.0"),
        ({"vector": 0.5, "semantic": 0.5}, "keys must be from"),
        ({"vector": 0.5, "neural": 0.5}, "weights.neural is not supported"),
    ],
)
def test_bad_ranking_weights_are_refused(weights: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RankingOptions(ranker="rrf", weights=weights)


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with scripted_model() as server:
        yield server


@pytest.fixture(scope="module")
def stack(model: ScriptedModelServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = scripted_stack_config(model, tmp_path_factory.mktemp("request-fields"))
    with Stack.from_config(config) as built:
        yield built


def test_a_stored_chat_completion_keeps_its_metadata(stack: Stack) -> None:
    request = ChatCompletionRequest.model_validate(
        {
            "model": CHAT,
            "messages": [{"role": "user", "content": "hi"}],
            "metadata": {"team": "search", "run": "7"},
        }
    )
    answer = stack.inference.chat_completion(request)
    assert isinstance(answer, ChatCompletion)
    stored = stack.inference.get_chat_completion(answer.id)
    assert stored.metadata == {"team": "search", "run": "7"}


def test_responses_json_schema_description_reaches_the_model(
    stack: Stack, model: ScriptedModelServer
) -> None:
    text: dict[str, Any] = {
        "format": {
            "type": "json_schema",
            "name": "city",
            "description": "a city and its country",
            "schema": {"type": "object"},
        }
    }
    model.responder = lambda body: say("{}")
    try:
        stack.responses.create_response(model=CHAT, input="Paris?", text=text)
    finally:
        model.responder = None
    spec = model.requests[-1]["response_format"]["json_schema"]
    assert spec["description"] == "a city and its country" and spec["name"] == "city"


def test_inline_embeddings_refuse_an_extra_body(tmp_path_factory: pytest.TempPathFactory) -> None:
    config = rag_config(tmp_path_factory.mktemp("st-extra"))
    with Stack.from_config(config) as stack:
        (model,) = [m for m in stack.models.list() if m.model_type == "embedding"][:1]
        request = EmbeddingsRequest.model_validate(
            {"model": model.identifier, "input": "x", "input_type": "query"}
        )
        with pytest.raises(BadRequestError, match="does not support: input_type"):
            stack.inference.embeddings(request)


def test_a_strict_functions_call_must_match_its_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"x": {"type": "integer"}},
        "required": ["x"],
        "additionalProperties": False,
    }
    strict = [
        Tool.model_validate({"function": {"name": "f", "parameters": schema, "strict": True}})
    ]
    loose = [Tool.model_validate({"function": {"name": "f", "parameters": schema}})]
    good = parse_tool_calls('{"name": "f", "arguments": {"x": 1}}', strict).tool_calls
    bad = parse_tool_calls('{"name": "f", "arguments": {"x": "one"}}', strict).tool_calls
    check_strict_calls(good, strict)
    check_strict_calls(bad, loose)  # not strict: passed on as the model made it
    with pytest.raises(UnprocessableError, match="strict function 'f'") as info:
        check_strict_calls(bad, strict)
    assert info.value.status_code == 400


@pytest.mark.parametrize(("size", "count"), [("low", 2), ("medium", 4), ("high", 8)])
async def test_search_context_size_sets_how_many_results(size: str, count: int) -> None:
    from llama_workbench.providers.remote.tool_runtime.tavily_search.config import (
        TavilySearchToolConfig,
    )
    from llama_workbench.providers.remote.tool_runtime.tavily_search.impl import (
        TavilySearchToolRuntime,
    )
    from tests.support.search_server import KEY, StubSearchServer

    with StubSearchServer() as stub:
        config = TavilySearchToolConfig(api_key=KEY, base_url=stub.base_url, max_results=4)
        rt = TavilySearchToolRuntime("tavily", config)
        try:
            kwargs = {"query": "llama", "search_context_size": size}
            result = await rt.invoke_tool("web_search", kwargs)
            assert stub.requests[-1]["body"]["max_results"] == count
            assert len(json.loads(result.content or "")["top_k"]) == count
            with pytest.raises(BadRequestError, match="search_context_size 'huge'"):
                await rt.invoke_tool("web_search", {"query": "x", "search_context_size": "huge"})
        finally:
            await rt.shutdown()
