"""The admin routes (/v1alpha/admin/...): what operators see, admin-only when auth is on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.stub_server import StubOpenAIServer, free_port, stub_stack_config

ADMIN_GETS = [
    "/v1alpha/admin/providers",
    "/v1alpha/admin/providers/s",
    "/v1alpha/admin/inspect/routes",
    "/v1alpha/admin/health",
    "/v1alpha/admin/version",
]
TOKENS = [
    {"token": "tok-alice", "principal": "alice"},
    {"token": "tok-root", "principal": "root", "roles": ["admin"]},
]


@pytest.fixture(scope="module")
def stub() -> Iterator[StubOpenAIServer]:
    with StubOpenAIServer(models=["m"]) as server:
        yield server


def _serve(stub: StubOpenAIServer, data_dir: Path, auth: bool) -> Iterator[BackgroundServer]:
    top: dict[str, Any] = {"server": {"auth": {"tokens": TOKENS}}} if auth else {}
    config = stub_stack_config(
        stub.base_url, data_dir, provider_config={"api_key": "sk-upstream-secret"}, **top
    )
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
        yield running


@pytest.fixture(scope="module")
def open_server(
    stub: StubOpenAIServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackgroundServer]:
    yield from _serve(stub, tmp_path_factory.mktemp("admin-open"), auth=False)


@pytest.fixture(scope="module")
def auth_server(
    stub: StubOpenAIServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackgroundServer]:
    yield from _serve(stub, tmp_path_factory.mktemp("admin-auth"), auth=True)


def test_admin_routes_without_auth(open_server: BackgroundServer) -> None:
    url = open_server.url
    providers = httpx.get(f"{url}/v1alpha/admin/providers").json()["data"]
    assert [(p["api"], p["provider_id"], p["provider_type"]) for p in providers] == [
        ("inference", "s", "remote::vllm")
    ]
    assert "sk-upstream-secret" not in str(providers) and providers[0]["health"]["status"]
    one = httpx.get(f"{url}/v1alpha/admin/providers/s").json()
    assert one == providers[0]
    missing = httpx.get(f"{url}/v1alpha/admin/providers/nope")
    assert missing.status_code == 404 and "Available: s" in missing.json()["error"]["message"]
    assert httpx.get(f"{url}/v1alpha/admin/health").json() == {"status": "OK"}
    assert httpx.get(f"{url}/v1alpha/admin/version").json() == httpx.get(f"{url}/v1/version").json()
    routes = httpx.get(f"{url}/v1alpha/admin/inspect/routes").json()["data"]
    assert routes == httpx.get(f"{url}/v1/inspect/routes").json()["data"]
    alpha = httpx.get(f"{url}/v1alpha/admin/inspect/routes", params={"api_filter": "v1alpha"})
    assert {r["route"] for r in alpha.json()["data"]} >= {"/v1alpha/admin/health"}


@pytest.mark.parametrize("path", ADMIN_GETS)
def test_admin_routes_are_admin_only_with_auth(auth_server: BackgroundServer, path: str) -> None:
    url = f"{auth_server.url}{path}"
    assert httpx.get(url).status_code == 401
    denied = httpx.get(url, headers={"Authorization": "Bearer tok-alice"})
    assert denied.status_code == 403 and "admin" in denied.json()["error"]["message"]
    allowed = httpx.get(url, headers={"Authorization": "Bearer tok-root"})
    assert allowed.status_code == 200, allowed.text
