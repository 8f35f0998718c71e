"""The search tool runtimes against a stub on 127.0.0.1 speaking each service's documented API:
the request (path, where the key goes, query), the text the model gets (Llama Stack 0.7.3's
shapes), and errors (401, 429 with retry-after, 5xx, no key, unreachable)."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from typing import Any

import pytest

from llama_workbench.core.errors import (
    AuthenticationError,
    BadRequestError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)
from llama_workbench.providers.remote.tool_runtime.bing_search.config import BingSearchToolConfig
from llama_workbench.providers.remote.tool_runtime.bing_search.impl import BingSearchToolRuntime
from llama_workbench.providers.remote.tool_runtime.brave_search.config import (
    BraveSearchToolConfig,
)
from llama_workbench.providers.remote.tool_runtime.brave_search.impl import (
    BraveSearchToolRuntime,
)
from llama_workbench.providers.remote.tool_runtime.tavily_search.config import (
    TavilySearchToolConfig,
)
from llama_workbench.providers.remote.tool_runtime.tavily_search.impl import (
    TavilySearchToolRuntime,
)
from llama_workbench.providers.remote.tool_runtime.wolfram_alpha.config import (
    WolframAlphaToolConfig,
)
from llama_workbench.providers.remote.tool_runtime.wolfram_alpha.impl import (
    WolframAlphaToolRuntime,
)
from llama_workbench.providers.utils.search_tools import SearchToolRuntime
from tests.support.search_server import KEY, StubSearchServer
from tests.support.stub_server import free_port

_RUNTIMES: dict[str, tuple[Any, Any]] = {
    "brave": (BraveSearchToolRuntime, BraveSearchToolConfig),
    "tavily": (TavilySearchToolRuntime, TavilySearchToolConfig),
    "bing": (BingSearchToolRuntime, BingSearchToolConfig),
    "wolfram": (WolframAlphaToolRuntime, WolframAlphaToolConfig),
}


@pytest.fixture(scope="module")
def stub() -> Iterator[StubSearchServer]:
    with StubSearchServer() as server:
        yield server


def runtime(kind: str, base_url: str, key: str | None = KEY, **config: Any) -> SearchToolRuntime:
    cls, config_cls = _RUNTIMES[kind]
    made: SearchToolRuntime = cls(kind, config_cls(api_key=key, base_url=base_url, **config))
    return made


async def search(rt: SearchToolRuntime, query: str = "llama 4") -> str:
    try:
        result = await rt.invoke_tool(rt.spec.name, {"query": query})
    finally:
        await rt.shutdown()
    assert result.error_message is None and result.content is not None
    return result.content


async def test_brave_request_and_results(stub: StubSearchServer) -> None:
    content = await search(runtime("brave", stub.base_url, max_results=2))
    sent = stub.requests[-1]
    assert (sent["method"], sent["path"], sent["query"]) == (
        "GET",
        "/res/v1/web/search",
        {"q": "llama 4"},
    )
    assert sent["headers"]["x-subscription-token"] == KEY
    assert sent["headers"]["accept"] == "application/json"
    # One line per mixed.main entry (max_results of them): a web result, then all news.
    first, second = content.split("\n")
    web = ast.literal_eval(first)
    assert web["url"] == "https://example.org/1" and web["type"] == "search_result"
    assert set(web) == {"type", "title", "url", "description", "extra_snippets"}
    news = ast.literal_eval(second)
    assert news == [{"type": "news_result", "title": "News", "url": "https://news.example/1"}]


async def test_tavily_request_and_results(stub: StubSearchServer) -> None:
    content = await search(runtime("tavily", stub.base_url, max_results=2))
    sent = stub.requests[-1]
    assert (sent["method"], sent["path"]) == ("POST", "/search")
    assert sent["body"] == {"api_key": KEY, "query": "llama 4", "max_results": 2}
    answer = json.loads(content)
    assert answer["query"] == "llama 4"
    assert [r["url"] for r in answer["top_k"]] == ["https://example.org/1", "https://example.org/2"]
    assert set(answer["top_k"][0]) == {"title", "url", "content", "score", "raw_content"}


async def test_bing_request_and_results(stub: StubSearchServer) -> None:
    content = await search(runtime("bing", stub.base_url, top_k=2))
    sent = stub.requests[-1]
    assert (sent["method"], sent["path"]) == ("GET", "/v7.0/search")
    assert sent["query"] == {
        "count": "2",
        "textDecorations": "true",
        "textFormat": "HTML",
        "q": "llama 4",
    }
    assert sent["headers"]["ocp-apim-subscription-key"] == KEY
    answer = json.loads(content)
    assert answer["query"] == "llama 4"
    pages, news = answer["top_k"][:2], answer["top_k"][2]
    assert pages[0] == {
        "name": "llama 4 - Result 1",
        "url": "https://example.org/1",
        "snippet": "About <b>llama 4</b>, part 1.",
    }
    assert news == [
        {"name": "News", "url": "https://news.example/1", "description": "llama 4 in the news."}
    ]


async def test_wolfram_request_and_results(stub: StubSearchServer) -> None:
    content = await search(runtime("wolfram", stub.base_url), "2+2")
    sent = stub.requests[-1]
    assert (sent["method"], sent["path"]) == ("GET", "/v2/query")
    assert sent["query"] == {"input": "2+2", "appid": KEY, "format": "plaintext", "output": "json"}
    result = json.loads(content)["queryresult"]
    assert "timing" not in result and "host" not in result and result["inputstring"] == "2+2"
    # Pods up to the one titled Result, without their scanner/id/position/...
    assert [p["title"] for p in result["pods"]] == ["Input", "Result"]
    assert result["pods"][1] == {
        "title": "Result",
        "primary": True,
        "subpods": [{"title": "", "plaintext": "4"}],
    }


async def test_tool_groups_and_tools_as_llama_stack_names_them(stub: StubSearchServer) -> None:
    for kind, (group, tool) in {
        "brave": ("builtin::websearch", "web_search"),
        "tavily": ("builtin::websearch", "web_search"),
        "bing": ("builtin::websearch", "web_search"),
        "wolfram": ("builtin::wolfram_alpha", "wolfram_alpha"),
    }.items():
        rt = runtime(kind, stub.base_url)
        assert [g.identifier for g in await rt.list_tool_groups()] == [group]
        (tool_def,) = await rt.list_tools()
        assert (tool_def.name, tool_def.toolgroup_id) == (tool, group)
        assert tool_def.input_schema["required"] == ["query"]
        assert await rt.list_tools("mcp::other") == []
        with pytest.raises(BadRequestError, match="non-empty 'query'"):
            await rt.invoke_tool(tool, {"query": " "})
        with pytest.raises(BadRequestError, match=f"has no tool 'nope' \\(it has {tool}\\)"):
            await rt.invoke_tool("nope", {"query": "x"})


@pytest.mark.parametrize("kind", ["brave", "tavily", "bing", "wolfram"])
async def test_a_wrong_key_is_an_authentication_error_naming_the_provider(
    stub: StubSearchServer, kind: str
) -> None:
    with pytest.raises(
        AuthenticationError, match=f"Provider '{kind}' rejected its API key"
    ) as info:
        await search(runtime(kind, stub.base_url, key="wrong-key"))
    assert "wrong-key" not in str(info.value)


@pytest.mark.parametrize("kind", ["brave", "tavily", "bing", "wolfram"])
async def test_no_key_says_what_to_set(stub: StubSearchServer, kind: str) -> None:
    before = len(stub.requests)
    env = {"brave": "BRAVE_SEARCH_API_KEY", "tavily": "TAVILY_SEARCH_API_KEY"}.get(kind, "")
    with pytest.raises(AuthenticationError, match=f"Provider '{kind}' has no API key.*{env}"):
        await search(runtime(kind, stub.base_url, key=""))  # ${env.X:=} unset
    assert len(stub.requests) == before  # nothing was sent


@pytest.mark.parametrize("kind", ["brave", "tavily", "bing", "wolfram"])
async def test_rate_limit_carries_retry_after(stub: StubSearchServer, kind: str) -> None:
    stub.fail_next(429, {"error": {"message": "Too many requests"}}, {"Retry-After": "7"})
    with pytest.raises(
        RateLimitError, match=f"Provider '{kind}' rate limit \\(retry after 7 s\\)"
    ) as info:
        await search(runtime(kind, stub.base_url))
    assert info.value.retry_after == 7.0 and info.value.status_code == 429


async def test_brave_rate_limit_reset_header(stub: StubSearchServer) -> None:
    error = {
        "type": "ErrorResponse",
        "error": {"code": "RATE_LIMITED", "detail": "Request rate limit exceeded"},
    }
    stub.fail_next(429, error, {"X-RateLimit-Limit": "1, 15000", "X-RateLimit-Reset": "1, 1419704"})
    with pytest.raises(RateLimitError, match="Request rate limit exceeded") as info:
        await search(runtime("brave", stub.base_url))
    assert info.value.retry_after == 1.0


@pytest.mark.parametrize("kind", ["brave", "tavily", "bing", "wolfram"])
async def test_server_errors_are_provider_errors(stub: StubSearchServer, kind: str) -> None:
    stub.fail_next(500, {"detail": {"error": "Internal Server Error"}})
    with pytest.raises(
        ProviderError, match=f"Provider '{kind}': 500: Internal Server Error"
    ) as info:
        await search(runtime(kind, stub.base_url))
    assert info.value.status_code == 502 and info.value.upstream_status == 500


async def test_wolfram_error_element_and_malformed_answers(stub: StubSearchServer) -> None:
    stub.fail_next(
        200, {"queryresult": {"success": False, "error": {"code": "1000", "msg": "boom"}}}
    )
    with pytest.raises(ProviderError, match="error 1000: boom"):
        await search(runtime("wolfram", stub.base_url))
    stub.fail_next(200, {"unexpected": True})
    with pytest.raises(ProviderError, match="unexpected answer"):
        await search(runtime("bing", stub.base_url))


async def test_unreachable_service() -> None:
    with pytest.raises(ProviderUnavailableError, match="is unreachable"):
        await search(runtime("brave", f"http://127.0.0.1:{free_port()}"))


def test_key_is_secret_and_config_keys_are_llama_stacks() -> None:
    config = BraveSearchToolConfig.model_validate({"api_key": "sk-123", "max_results": 3})
    assert "sk-123" not in repr(config) and "sk-123" not in str(config.model_dump())
    assert BingSearchToolConfig.model_validate({"api_key": "k"}).top_k == 3
    assert TavilySearchToolConfig.model_validate({"api_key": None}).api_key is None
    with pytest.raises(ValueError, match="max_result"):
        BraveSearchToolConfig.model_validate({"max_result": 3})  # a typo is an error


@pytest.mark.parametrize(
    ("kind", "count"), [("brave", 2), ("tavily", 2), ("bing", 2), ("wolfram", 0)]
)
async def test_sources_are_the_pages_found(stub: StubSearchServer, kind: str, count: int) -> None:
    config: dict[str, Any] = {"top_k": 2} if kind == "bing" else {"max_results": 2}
    config = {} if kind == "wolfram" else config
    rt = runtime(kind, stub.base_url, **config)
    result = await rt.invoke_tool(rt.spec.name, {"query": "llama"})
    await rt.shutdown()
    sources = (result.metadata or {}).get("sources", [])
    assert sources == [f"https://example.org/{n}" for n in range(1, count + 1)]


async def test_a_key_passed_per_request_as_llama_stack_clients_pass_it(
    stub: StubSearchServer,
) -> None:
    from llama_workbench.core.provider_data import provider_data

    rt = runtime("tavily", stub.base_url, key=None)
    with provider_data({"tavily_search_api_key": KEY, "brave_search_api_key": "other"}):
        assert json.loads(await search(rt))["query"] == "llama 4"
    assert stub.requests[-1]["body"]["api_key"] == KEY
    with (
        provider_data({"brave_search_api_key": KEY}),
        pytest.raises(AuthenticationError, match='"tavily_search_api_key": <your api key>'),
    ):
        await search(runtime("tavily", stub.base_url, key=None))
    configured = runtime("bing", stub.base_url)  # a configured key is used first
    with provider_data({"bing_search_api_key": "ignored"}):
        await search(configured)
    assert stub.requests[-1]["headers"]["ocp-apim-subscription-key"] == KEY
