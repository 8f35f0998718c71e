"""A shared server on 127.0.0.1: OAuth2 JWTs checked against a JWKS the test serves (alice and
carol of team a, bob of team b, an admin, an auditor), Llama Stack's access and route policies,
key rotation, bad tokens, CORS preflight."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import openai
import pytest
from cryptography.hazmat.primitives import serialization

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.full_stack import full_stack_config
from tests.support.identity_provider import IdentityProvider, ec_key, rsa_key
from tests.support.stub_server import StubOpenAIServer, free_port

ALL = ["create", "read", "update", "delete"]
POLICY: list[dict[str, Any]] = [
    {
        "forbid": {"actions": ["delete"]},
        "when": "user is not owner",
        "description": "owners delete",
    },
    {"forbid": {"actions": ["create"], "resource": "regex:model::forbidden-.*"}},
    {"forbid": {"principal": "bob", "actions": ["read"], "resource": "tool_group::*"}},
    {"permit": {"actions": ALL}, "when": "user with admin in roles"},
    {"permit": {"actions": ALL}, "when": "user is owner"},
    {"permit": {"actions": ["read"]}, "when": "user in owners teams"},
    {"permit": {"principal": "auditor", "actions": ["read"], "resource": "model::*"}},
    {"permit": {"actions": ["read"]}, "when": "resource is unowned"},
]
ROUTES: list[dict[str, Any]] = [
    {
        "forbid": {"paths": ["/v1/providers*", "/v1/inspect/*"]},
        "unless": "user with admin in roles",
    },
    {"permit": {"paths": "*"}},
]
ORIGIN = "https://app.example"
MESSAGES: Any = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    with IdentityProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def server(
    idp: IdentityProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackgroundServer]:
    with StubOpenAIServer(models=["m", "e"]) as stub:
        config = full_stack_config(stub.base_url, tmp_path_factory.mktemp("team"))
        provider = {
            "type": "oauth2_token",
            "issuer": idp.issuer,
            "jwks": {"uri": idp.jwks_url},
            "claims_mapping": {"groups": "teams", "roles": "roles"},
        }
        config["server"] = {
            "auth": {"provider_config": provider, "access_policy": POLICY, "route_policy": ROUTES},
            "cors": {
                "allow_origins": [ORIGIN],
                "allow_methods": ["GET", "POST", "DELETE"],
                "allow_headers": ["Authorization", "Content-Type"],
                "allow_credentials": True,
            },
        }
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
            yield running


@pytest.fixture(scope="module")
def tokens(idp: IdentityProvider) -> dict[str, str]:
    return {
        "alice": idp.token("alice", groups=["a"]),
        "carol": idp.token("carol", groups=["a"]),
        "bob": idp.token("bob", groups=["b"]),
        "root": idp.token("root", roles=["admin"]),
        "auditor": idp.token("auditor"),
    }


def sdk(server: BackgroundServer, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=token, max_retries=0)


def call(server: BackgroundServer, token: str, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
    return httpx.request(method, f"{server.url}{path}", headers=headers, timeout=30, **kw)


def test_team_members_read_what_their_team_owns(
    server: BackgroundServer, tokens: dict[str, str]
) -> None:
    body = {"model_id": "alice-model", "provider_id": "s", "provider_model_id": "m"}
    created = call(server, tokens["alice"], "POST", "/v1/models", json=body)
    assert created.status_code == 200 and created.json()["owner"] == "alice"
    carol, bob = sdk(server, tokens["carol"]), sdk(server, tokens["bob"])
    assert "alice-model" in [m.id for m in carol.models.list()]
    reply = carol.chat.completions.create(model="alice-model", messages=MESSAGES)
    assert reply.choices[0].message.content == "echo: hi"  # reading a model is using it
    assert "alice-model" not in [m.id for m in bob.models.list()]
    for attempt in (
        lambda: bob.models.retrieve("alice-model"),
        lambda: bob.chat.completions.create(model="alice-model", messages=MESSAGES),
    ):
        with pytest.raises(openai.NotFoundError) as info:
            attempt()
        assert "owner" not in str(info.value.body)
        assert info.value.body["details"]["available"] == ["s/e", "s/m"]  # type: ignore[index]
    assert "alice-model" in [m.id for m in sdk(server, tokens["root"]).models.list()]
    auditor = sdk(server, tokens["auditor"])
    assert auditor.models.retrieve("alice-model").id == "alice-model"  # principal + resource rule
    store = sdk(server, tokens["alice"]).vector_stores.create(name="alice-store")
    with pytest.raises(openai.BadRequestError, match="not found"):  # 0.7.3 answers 400 there
        auditor.vector_stores.retrieve(store.id)


def test_denied_reads_are_404_and_denied_writes_403(
    server: BackgroundServer, tokens: dict[str, str]
) -> None:
    store = sdk(server, tokens["alice"]).vector_stores.create(name="team-a")
    with pytest.raises(openai.PermissionDeniedError, match="Not allowed to update"):
        sdk(server, tokens["carol"]).vector_stores.update(store.id, name="renamed")
    # bob may not read it: the same answer as for a store that does not exist
    seen = call(server, tokens["bob"], "POST", f"/v1/vector_stores/{store.id}", json={"name": "x"})
    absent = call(server, tokens["bob"], "POST", "/v1/vector_stores/vs_0", json={"name": "x"})
    assert seen.status_code == absent.status_code == 400
    assert seen.text.replace(store.id, "vs_0") == absent.text
    body = {"model_id": "shared-model", "provider_id": "s", "provider_model_id": "m"}
    assert call(server, tokens["alice"], "POST", "/v1/models", json=body).status_code == 200
    for who, status in (("carol", 403), ("root", 403), ("bob", 404), ("alice", 200)):
        answer = call(server, tokens[who], "DELETE", "/v1/models/shared-model")
        assert answer.status_code == status, (who, answer.text)


def test_forbidden_creation_is_403(server: BackgroundServer, tokens: dict[str, str]) -> None:
    body = {"model_id": "forbidden-1", "provider_id": "s", "provider_model_id": "m"}
    for who in ("alice", "root"):
        answer = call(server, tokens[who], "POST", "/v1/models", json=body)
        assert answer.status_code == 403 and "forbidden-1" in answer.json()["error"]["message"]
    assert "forbidden-1" not in [m.id for m in sdk(server, tokens["root"]).models.list()]


def test_unowned_tool_groups_follow_the_rules(
    server: BackgroundServer, tokens: dict[str, str]
) -> None:
    listed = call(server, tokens["carol"], "GET", "/v1/toolgroups").json()["data"]
    assert "builtin::rag" in [g["identifier"] for g in listed]
    assert call(server, tokens["bob"], "GET", "/v1/toolgroups").json()["data"] == []
    assert call(server, tokens["bob"], "GET", "/v1/toolgroups/builtin::rag").status_code == 404
    assert call(server, tokens["bob"], "GET", "/v1/tools").json()["data"] == []


def test_route_policy(server: BackgroundServer, tokens: dict[str, str]) -> None:
    for path in ("/v1/providers", "/v1/inspect/routes", "/v1/providers/"):
        denied = call(server, tokens["bob"], "GET", path)
        assert denied.status_code == 403 and "insufficient permissions" in denied.text
    assert call(server, tokens["root"], "GET", "/v1/providers").status_code == 200
    assert httpx.get(f"{server.url}/v1/health").status_code == 200  # probes need no token


def test_bad_tokens_are_401_and_say_nothing_of_the_server(
    server: BackgroundServer, idp: IdentityProvider
) -> None:
    forged = rsa_key("k1")  # the known key id, another key
    public_pem = (
        idp.keys[0]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    confused = hs256(  # keyed with the public key: must not pass as RS256
        {"sub": "bob", "iss": idp.issuer, "aud": "llama-stack", "exp": 2**31}, public_pem
    )
    bad = {
        "expired": idp.token("bob", lifetime_s=-120),
        "foreign issuer": idp.token("bob", issuer="https://elsewhere.example"),
        "other audience": idp.token("bob", audience="another-service"),
        "bad signature": idp.token("bob", key=forged),
        "not a jwt": "abc.def",
        "hs256 confusion": confused,
        "no subject": jwt.encode(
            {"iss": idp.issuer, "aud": "llama-stack", "exp": 2**31},
            idp.keys[0].private,
            algorithm="RS256",
            headers={"kid": "k1"},
        ),
    }
    messages = set()
    for reason, token in bad.items():
        answer = call(server, token, "GET", "/v1/models")
        assert answer.status_code == 401, reason
        assert answer.headers["www-authenticate"] == "Bearer"
        message = answer.json()["error"]["message"]
        assert message.startswith("Invalid token"), (reason, message)
        for secret in (idp.issuer, "127.0.0.1", "k1", "llama-stack", "another"):
            assert secret not in answer.text, (reason, secret)
        messages.add(message)
    assert len(messages) >= 5  # a reason each, about the token
    missing = httpx.get(f"{server.url}/v1/models")
    assert missing.status_code == 401 and "Missing bearer token" in missing.text


def hs256(claims: dict[str, Any], secret: bytes) -> str:
    """A JWT signed by hand (pyjwt refuses to key HMAC with a public key, as it should)."""

    def part(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    header = part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    body = header + b"." + part(json.dumps(claims).encode())
    return (body + b"." + part(hmac.new(secret, body, hashlib.sha256).digest())).decode()


def test_clock_skew(server: BackgroundServer, idp: IdentityProvider) -> None:
    assert call(server, idp.token("bob", lifetime_s=-10), "GET", "/v1/models").status_code == 200
    assert call(server, idp.token("bob", lifetime_s=-45), "GET", "/v1/models").status_code == 401


def test_cors_preflight(server: BackgroundServer, tokens: dict[str, str]) -> None:
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    answer = httpx.options(f"{server.url}/v1/models", headers=preflight)  # no token needed
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert answer.headers["access-control-allow-credentials"] == "true"
    evil = httpx.options(
        f"{server.url}/v1/models", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert evil.status_code == 400 and "access-control-allow-origin" not in evil.headers
    listed = call(server, tokens["bob"], "GET", "/v1/models", headers={"Origin": ORIGIN})
    assert listed.status_code == 200 and listed.headers["access-control-allow-origin"] == ORIGIN
    refused = httpx.get(f"{server.url}/v1/models", headers={"Origin": ORIGIN})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ORIGIN


def test_key_rotation(server: BackgroundServer, idp: IdentityProvider) -> None:
    """Last in the module: the identity provider's keys change for good. (No test before it
    presents an unknown key id: those refetch the keys at most once a second.)"""
    old = idp.token("bob")
    assert call(server, old, "GET", "/v1/models").status_code == 200
    fetches = idp.jwks_fetches
    idp.keys = [ec_key("k2")]  # rotated: a new key, another algorithm, the old one withdrawn
    fresh = idp.token("bob")
    assert call(server, fresh, "GET", "/v1/models").status_code == 200  # unknown kid: refetched
    assert idp.jwks_fetches == fetches + 1
    assert call(server, fresh, "GET", "/v1/models").status_code == 200
    assert idp.jwks_fetches == fetches + 1  # cached again
    # The withdrawn key's tokens stop working, even one verified before the rotation.
    answer = call(server, old, "GET", "/v1/models")
    assert answer.status_code == 401 and "does not know" in answer.text
    unknown = call(server, idp.token("bob", key=rsa_key("k-unknown")), "GET", "/v1/models")
    assert unknown.status_code == 401 and "k-unknown" not in unknown.text
