"""A shared server's other modes on 127.0.0.1: token introspection, a custom auth endpoint,
quotas (exhausted, reset, kept across a restart), HTTPS with the openai SDK trusting a test CA,
and per-request provider keys that reach the provider for that request only."""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.identity_provider import CLIENT_ID, CLIENT_SECRET, IdentityProvider
from tests.support.stub_server import (
    STORAGE_WITH_COMPLETIONS,
    StubOpenAIServer,
    free_port,
    stub_stack_config,
)
from tests.support.tls import make_certificates

MESSAGES: Any = [{"role": "user", "content": "hi"}]
PROVIDER_DATA = "X-LlamaStack-Provider-Data"


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    with IdentityProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def stub() -> Iterator[StubOpenAIServer]:
    with StubOpenAIServer(models=["m"]) as server:
        yield server


def serve(config: dict[str, Any]) -> Any:
    """Build the stack and serve it; a context manager yielding the BackgroundServer."""
    import contextlib

    @contextlib.contextmanager
    def running() -> Iterator[BackgroundServer]:
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as s:
            yield s

    return running()


def get(server: BackgroundServer, token: str | None, path: str = "/v1/models") -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{server.url}{path}", headers=headers)


def test_introspection(idp: IdentityProvider, stub: StubOpenAIServer, tmp_path: Path) -> None:
    provider = {
        "type": "oauth2_token",
        "introspection": {"url": idp.introspection_url, "client_id": CLIENT_ID},
        "claims_mapping": {"groups": "teams"},
    }
    provider["introspection"]["client_secret"] = CLIENT_SECRET  # type: ignore[index]
    config = stub_stack_config(
        stub.base_url, tmp_path, server={"auth": {"provider_config": provider}}
    )
    with serve(config) as server:
        alice = idp.opaque("alice", groups=["a"])
        body = {"model_id": "mine", "provider_id": "s", "provider_model_id": "m"}
        created = httpx.post(
            f"{server.url}/v1/models", json=body, headers={"Authorization": f"Bearer {alice}"}
        )
        assert created.status_code == 200 and created.json()["owner"] == "alice"
        bob = idp.opaque("bob")
        assert "mine" not in [m["id"] for m in get(server, bob).json()["data"]]
        inactive = get(server, idp.opaque("carol", active=False))
        assert inactive.status_code == 401 and "not active" in inactive.text
        unknown = get(server, "never-issued")
        assert unknown.status_code == 401 and idp.issuer not in unknown.text
        expired = get(server, idp.opaque("dave", exp=int(time.time()) - 600))
        assert expired.status_code == 401 and "expired" in expired.text


def align_to_second() -> None:
    """Wait for the start of a second, so a burst of requests falls in one quota window."""
    time.sleep(1.02 - time.time() % 1)


def test_custom_endpoint_and_per_principal_quota(
    idp: IdentityProvider, stub: StubOpenAIServer, tmp_path: Path
) -> None:
    quota = {
        "kvstore": {"backend": "kv_default", "namespace": "quota"},
        "authenticated_max_requests": 3,
        "anonymous_max_requests": 1,
        "period": "second",
    }
    server_config = {"auth": {"provider_config": {"type": "custom", "endpoint": idp.custom_url}}}
    server_config["quota"] = quota
    with serve(stub_stack_config(stub.base_url, tmp_path, server=server_config)) as server:
        secret = json.dumps({"openai_api_key": "sk-never-forwarded"})
        answer = httpx.get(
            f"{server.url}/v1/models?limit=5",
            headers={"Authorization": "Bearer key-alice", PROVIDER_DATA: secret},
        )
        assert answer.status_code == 200
        seen = idp.custom_seen[-1]
        assert seen["api_key"] == "key-alice" and seen["request"]["path"] == "/v1/models"
        assert seen["request"]["params"] == {"limit": ["5"]}
        assert "authorization" not in seen["request"]["headers"]
        assert "sk-never-forwarded" not in json.dumps(seen)
        refused = get(server, "key-mallory")
        assert refused.status_code == 401 and "Invalid bearer token" in refused.text

        align_to_second()
        answers = [get(server, "key-alice").status_code for _ in range(4)]
        over = get(server, "key-alice")
        assert answers == [200, 200, 200, 429] and over.status_code == 429
        assert over.headers["retry-after"] == "1" and "Quota exceeded" in over.text
        assert get(server, "key-bob").status_code == 200  # a quota per principal
        time.sleep(1.02 - time.time() % 1)  # the next window: the quota is back
        assert get(server, "key-alice").status_code == 200
        assert get(server, None, "/v1/health").status_code == 200  # probes are not counted


def test_quota_survives_a_restart(stub: StubOpenAIServer, tmp_path: Path) -> None:
    quota = {"kvstore": {"backend": "kv_default", "namespace": "quota"}}
    quota["anonymous_max_requests"] = 2  # type: ignore[assignment]
    config = stub_stack_config(stub.base_url, tmp_path, server={"quota": quota})
    with serve(config) as server:
        assert [get(server, None).status_code for _ in range(3)] == [200, 200, 429]
    with serve(config) as server:  # the same kv store: the day's count is kept
        again = get(server, None)
        assert again.status_code == 429
        assert 0 < int(again.headers["retry-after"]) <= 86_400


def test_https_and_per_request_provider_keys(
    stub: StubOpenAIServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    certs = make_certificates(tmp_path)
    data_dir = tmp_path / "data"
    config = stub_stack_config(
        stub.base_url,
        data_dir,
        provider_type="remote::openai",
        provider_config={"api_key": "sk-server-key", "max_retries": 0},
        storage=STORAGE_WITH_COMPLETIONS,
        telemetry={"enabled": True, "sinks": ["sqlite"], "capture_content": True},
        server={"tls_certfile": str(certs.cert), "tls_keyfile": str(certs.key)},
    )
    user_key = "sk-user-own-key-7f3a"
    caplog.set_level(logging.DEBUG)
    trust = ssl.create_default_context(cafile=str(certs.ca))
    with serve(config) as server, httpx.Client(verify=trust) as trusted:
        assert server.url.startswith("https://127.0.0.1:")
        client = openai.OpenAI(
            base_url=f"{server.url}/v1", api_key="none", http_client=trusted, max_retries=0
        )
        with pytest.raises(openai.APIConnectionError):  # the system's CAs do not know ours
            openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0).models.list()
        mine = {PROVIDER_DATA: json.dumps({"openai_api_key": user_key})}
        reply = client.chat.completions.create(model="m", messages=MESSAGES, extra_headers=mine)
        assert reply.choices[0].message.content == "echo: hi"
        assert stub.requests[-1]["headers"]["authorization"] == f"Bearer {user_key}"
        client.chat.completions.create(model="m", messages=MESSAGES)
        assert stub.requests[-1]["headers"]["authorization"] == "Bearer sk-server-key"
        bad = {PROVIDER_DATA: json.dumps({"openai_api_key": 12345})}
        with pytest.raises(openai.BadRequestError, match="'openai_api_key' must be a string"):
            client.chat.completions.create(model="m", messages=MESSAGES, extra_headers=bad)
        assert client.chat.completions.list().data  # stored completions were written
    # Never stored, logged or traced: no file of the stack's data and no log line holds it.
    assert user_key not in caplog.text
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "trace_store.db" for p in files)
    for path in files:
        assert user_key.encode() not in path.read_bytes(), path


def test_mutual_tls_wants_a_client_certificate_from_the_ca(
    stub: StubOpenAIServer, tmp_path: Path
) -> None:
    certs = make_certificates(tmp_path)
    tls = {"tls_certfile": str(certs.cert), "tls_keyfile": str(certs.key)}
    tls["tls_cafile"] = str(certs.ca)
    with serve(stub_stack_config(stub.base_url, tmp_path / "data", server=tls)) as server:
        trust = ssl.create_default_context(cafile=str(certs.ca))
        with httpx.Client(verify=trust) as anonymous, pytest.raises(httpx.HTTPError):
            anonymous.get(f"{server.url}/v1/models")
        trust.load_cert_chain(str(certs.client_cert), str(certs.client_key))
        with httpx.Client(verify=trust) as known:
            assert known.get(f"{server.url}/v1/models").status_code == 200
