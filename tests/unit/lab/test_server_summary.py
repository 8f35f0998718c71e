"""The panel's server line: how callers sign in and what limits apply, and no secret of it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.unit.lab.conftest import Fetch

ADMIN_TOKEN = "tok-admin-5ecret-0001"
CLIENT_SECRET = "client-5ecret-0002"
JWKS_TOKEN = "jwks-5ecret-0003"


def write(root: Path, server: dict[str, object]) -> None:
    config = {
        "version": 2,
        "apis": ["inference"],
        "providers": {
            "inference": [
                {
                    "provider_id": "vllm",
                    "provider_type": "remote::vllm",
                    "config": {"base_url": "http://127.0.0.1:9/v1"},
                }
            ]
        },
        "server": server,
    }
    (root / "run.yaml").write_text(yaml.safe_dump(config))


def test_the_panel_shows_the_auth_mode_and_limits_never_secrets(fetch: Fetch, root: Path) -> None:
    write(
        root,
        {
            "auth": {
                "tokens": [{"token": ADMIN_TOKEN, "principal": "admin", "roles": ["admin"]}],
                "provider_config": {
                    "type": "oauth2_token",
                    "issuer": "https://idp.example",
                    "jwks": {"uri": "https://idp.example/jwks", "token": JWKS_TOKEN},
                },
                "access_policy": [
                    {"permit": {"actions": ["read"]}, "when": "user in owners teams"},
                    {"permit": {"actions": ["create", "read"]}, "when": "user is owner"},
                ],
            },
            "quota": {
                "kvstore": {"backend": "kv_default", "namespace": "quota"},
                "authenticated_max_requests": 500,
                "period": "hour",
            },
            "cors": True,
        },
    )
    answer = fetch("config")
    state = answer.json()
    assert state["valid"], state["problems"]
    assert state["server"] == {
        "auth": "1 static token + OAuth2 tokens (JWKS)",
        "access": "2 rules",
        "routes": "every route",
        "quota": "500 requests a hour per user, 100 per anonymous address",
        "cors": True,
        "tls": False,
    }
    for secret in (ADMIN_TOKEN, JWKS_TOKEN):
        assert secret not in answer.text


@pytest.mark.parametrize(
    ("server", "auth"),
    [
        ({}, "off (anyone who reaches the port)"),
        (
            {
                "auth": {
                    "provider_config": {
                        "type": "oauth2_token",
                        "introspection": {
                            "url": "https://idp.example/introspect",
                            "client_id": "workbench",
                            "client_secret": CLIENT_SECRET,
                        },
                    }
                },
                "tls_certfile": "/etc/cert.pem",
                "tls_keyfile": "/etc/key.pem",
            },
            "OAuth2 tokens (introspection)",
        ),
        (
            {"auth": {"provider_config": {"type": "custom", "endpoint": "http://a/"}}},
            "custom endpoint",
        ),
    ],
)
def test_each_auth_mode_is_named(
    fetch: Fetch, root: Path, server: dict[str, object], auth: str
) -> None:
    write(root, server)
    answer = fetch("config")
    assert answer.json()["server"]["auth"] == auth
    assert answer.json()["server"]["tls"] is ("tls_certfile" in server)
    assert CLIENT_SECRET not in answer.text
