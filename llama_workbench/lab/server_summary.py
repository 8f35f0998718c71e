"""What the panel shows of a run config's `server:` section: how callers sign in and what limits
apply, in kinds and counts only (never a token, key, client secret or URL)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_PROVIDER_KINDS = {
    "custom": "custom endpoint",
    "github_token": "GitHub tokens (not served)",
    "kubernetes": "Kubernetes tokens (not served)",
}


def server_summary(raw: Mapping[str, Any]) -> dict[str, Any]:
    """{auth, access, routes, quota, cors, tls} as words, from the config with ${env.X}
    expanded in the Jupyter server's environment."""
    from llama_workbench.lab.overview import Checked, expand

    section = raw.get("server")
    expanded = expand(dict(section), Checked()) if isinstance(section, Mapping) else None
    server: Mapping[str, Any] = expanded if isinstance(expanded, Mapping) else {}
    found = server.get("auth")
    auth: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    return {
        "auth": _auth_mode(auth),
        "access": _rules(auth.get("access_policy"), "default (owners and admins)"),
        "routes": _rules(auth.get("route_policy"), "every route"),
        "quota": _quota(server.get("quota")),
        "cors": bool(server.get("cors")),
        "tls": bool(server.get("tls_certfile")),
    }


def _auth_mode(auth: Mapping[str, Any]) -> str:
    modes = []
    tokens = auth.get("tokens")
    if isinstance(tokens, list) and tokens:
        modes.append(f"{len(tokens)} static token{'s' if len(tokens) != 1 else ''}")
    provider = auth.get("provider_config")
    kind = provider.get("type") if isinstance(provider, Mapping) else None
    if kind == "oauth2_token":
        how = "introspection" if provider.get("introspection") else "JWKS"  # type: ignore[union-attr]
        modes.append(f"OAuth2 tokens ({how})")
    elif isinstance(kind, str):
        modes.append(_PROVIDER_KINDS.get(kind, "an unknown provider"))
    return " + ".join(modes) or "off (anyone who reaches the port)"


def _rules(rules: Any, default: str) -> str:
    if isinstance(rules, list) and rules:
        return f"{len(rules)} rule{'s' if len(rules) != 1 else ''}"
    return default


def _quota(quota: Any) -> str:
    if not isinstance(quota, Mapping):
        return "none"
    period = quota.get("period") or "day"
    signed_in = quota.get("authenticated_max_requests", 1000)
    anonymous = quota.get("anonymous_max_requests", 100)
    return f"{signed_in} requests a {period} per user, {anonymous} per anonymous address"
