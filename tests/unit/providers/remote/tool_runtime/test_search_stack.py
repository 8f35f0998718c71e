"""The search tool runtimes in a Stack: the starter turns them on by key, one provider serves
builtin::websearch when several are configured (Llama Stack 0.7.3's rule), tools run through
the router, and committed cassettes (the services' documented answer shapes) replay offline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench import Stack
from llama_workbench.core.errors import AuthenticationError
from llama_workbench.providers.utils.recording import recording
from tests.support.search_server import KEY, StubSearchServer
from tests.support.stub_server import free_port
from tests.unit.providers.remote.tool_runtime.test_search_tools import runtime, search

# Each cassette says in its "comment" which shapes come from the service's documentation.
CASSETTES = Path(__file__).parents[4] / "data" / "cassettes" / "search"


@pytest.fixture(scope="module")
def stub() -> Iterator[StubSearchServer]:
    with StubSearchServer() as server:
        yield server


def search_config(data_dir: Path, *entries: tuple[str, str, str | None, str]) -> dict[str, Any]:
    """A stack of tool_runtime providers: (provider id, type, key, base URL) each."""
    providers = [
        {
            "provider_id": pid,
            "provider_type": f"remote::{ptype}",
            "config": {"api_key": key, "base_url": url},
        }
        for pid, ptype, key, url in entries
    ]
    return {
        "data_dir": str(data_dir),
        "apis": ["tool_runtime"],
        "providers": {"tool_runtime": providers},
    }


def test_a_keyed_provider_serves_the_group(tmp_path: Path, stub: StubSearchServer) -> None:
    config = search_config(
        tmp_path,
        ("brave-search", "brave-search", "", stub.base_url),  # no key: 0.7.3's starter as it is
        ("tavily-search", "tavily-search", KEY, stub.base_url),
        ("wolfram-alpha", "wolfram-alpha", KEY, stub.base_url),
    )
    with Stack.from_config(config) as stack:
        groups = {g.identifier: g.provider_id for g in stack.tool_runtime.list_tool_groups()}
        assert groups == {
            "builtin::websearch": "tavily-search",
            "builtin::wolfram_alpha": "wolfram-alpha",
        }
        names = [t.name for t in stack.tool_runtime.list_tools()]
        assert names == ["web_search", "wolfram_alpha"]  # listed once, not once per provider
        result = stack.tool_runtime.invoke_tool("web_search", {"query": "llama"})
        assert json.loads(result.content)["query"] == "llama"
        assert stub.requests[-1]["path"] == "/search"  # Tavily's API
        result = stack.tool_runtime.invoke_tool("wolfram_alpha", {"query": "2+2"})
        assert "Result" in result.content


def test_without_any_key_the_first_serves_and_says_what_to_set(
    tmp_path: Path, stub: StubSearchServer
) -> None:
    config = search_config(
        tmp_path,
        ("brave-search", "brave-search", None, stub.base_url),
        ("tavily-search", "tavily-search", None, stub.base_url),
    )
    with Stack.from_config(config) as stack:
        (group,) = stack.tool_runtime.list_tool_groups()
        assert group.provider_id == "brave-search"
        with pytest.raises(AuthenticationError, match="BRAVE_SEARCH_API_KEY"):
            stack.tool_runtime.invoke_tool("web_search", {"query": "llama"})


def test_starter_turns_search_on_by_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_WORKBENCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TAVILY_SEARCH_API_KEY", "tvly-test")
    monkeypatch.setenv("WOLFRAM_ALPHA_API_KEY", "wa-test")
    for name in ("BRAVE_SEARCH_API_KEY", "BING_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with Stack.from_distribution("starter") as stack:
        ids = [p.provider_id for p in stack.providers.list() if p.api == "tool_runtime"]
        assert ids == ["rag-runtime", "model-context-protocol", "tavily-search", "wolfram-alpha"]
        groups = {g.identifier: g.provider_id for g in stack.tool_runtime.list_tool_groups()}
        assert groups["builtin::websearch"] == "tavily-search"
        assert groups["builtin::wolfram_alpha"] == "wolfram-alpha"
        assert "tvly-test" not in repr(stack.providers.list())


@pytest.mark.parametrize(
    ("kind", "query", "expected"),
    [
        ("brave", "llama 4", "'url': 'https://example.org/1'"),
        ("tavily", "llama 4", '"top_k": [{"title": "llama 4 - Result 1"'),
        ("bing", "llama 4", '"snippet": "About <b>llama 4</b>, part 1."'),
        ("wolfram", "2+2", '"plaintext": "4"'),
    ],
)
async def test_cassettes_replay_offline(kind: str, query: str, expected: str) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # replay never connects
    config = {"max_results": 2} if kind in ("brave", "tavily") else {}
    with recording("replay", CASSETTES / kind):
        content = await search(runtime(kind, nowhere, key="any-key", **config), query)
    assert expected in content


async def test_recording_keeps_keys_out_of_cassettes(
    tmp_path: Path, stub: StubSearchServer
) -> None:
    for kind in ("tavily", "wolfram"):
        with recording("record", tmp_path / kind):
            await search(runtime(kind, stub.base_url))
        (cassette,) = (tmp_path / kind).glob("*.json")
        assert KEY not in cassette.read_text()
        # Another key replays the same cassette: the key is not part of its name either.
        with recording("replay", tmp_path / kind):
            await search(runtime(kind, stub.base_url, key="another-key"))


async def test_searches_by_query_are_separate_cassettes(
    tmp_path: Path, stub: StubSearchServer
) -> None:
    with recording("record", tmp_path):
        for query in ("first", "second"):
            await search(runtime("brave", stub.base_url), query)
    assert len(list(tmp_path.glob("get_res_v1_web_search_*.json"))) == 2
    with recording("replay", tmp_path):
        assert "second" in await search(runtime("brave", stub.base_url), "second")


def test_provider_data_in_library_mode(tmp_path: Path, stub: StubSearchServer) -> None:
    from llama_workbench.core.provider_data import provider_data

    config = search_config(tmp_path, ("brave-search", "brave-search", None, stub.base_url))
    with Stack.from_config(config) as stack, provider_data({"brave_search_api_key": KEY}):
        result = stack.tool_runtime.invoke_tool("web_search", {"query": "llama"})
        assert "example.org" in (result.content or "")


@pytest.mark.parametrize(
    ("keys", "serving"),
    [({}, "brave-search"), ({"TAVILY_SEARCH_API_KEY": "tvly-x"}, "tavily-search")],
)
def test_llama_stack_starter_config_serves_websearch(
    tmp_path: Path, keys: dict[str, str], serving: str
) -> None:
    """0.7.3's starter lists brave-search then tavily-search, keys from the environment: the
    one with a key serves builtin::websearch, else the first (the group exists either way)."""
    from tests.unit.core.test_compat import offline_env, reference_config

    with Stack.from_config(reference_config(), env=offline_env(tmp_path, **keys)) as stack:
        groups = {g.identifier: g.provider_id for g in stack.tool_runtime.list_tool_groups()}
        assert groups["builtin::websearch"] == serving
        assert [t.name for t in stack.tool_runtime.list_tools("builtin::websearch")] == [
            "web_search"
        ]
