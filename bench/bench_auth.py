"""Server mode with a team's auth: the p50 cost of checking an OAuth2 JWT (against a JWKS) and
evaluating an access policy, per request, beside the same server without auth.

Both servers serve a remote::vllm provider pointed at bench/fast_stub.py (a microsecond stub), so
what differs is the server's own work. Requests alternate between the two servers in rounds, so
load from elsewhere on the machine falls on both alike. Also timed in-process: one request's
authentication (a token seen before, and a first sight with its signature check) and policy
checks. Goal: the overhead < 5% of a chat call's p50 at the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import openai
from _common import HERE, fast_stub, free_port  # type: ignore[import-not-found]
from bench_server import MESSAGES, server  # type: ignore[import-not-found]
from cryptography.hazmat.primitives.asymmetric import rsa

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "20"))
PER_ROUND = int(os.environ.get("BENCH_PER_ROUND", "25"))
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWK = {**jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True), "kid": "k1"}
JWK |= {"alg": "RS256", "use": "sig"}
# A policy of the usual shape: owners, team mates read, admins, unowned resources read.
POLICY = [
    {"permit": {"actions": ["create", "read", "update", "delete"]}, "when": "user is owner"},
    {"permit": {"actions": ["read"]}, "when": "user in owners teams"},
    {
        "permit": {"actions": ["create", "read", "update", "delete"]},
        "when": "user with admin in roles",
    },
    {"permit": {"actions": ["read"]}, "when": "resource is unowned"},
]
CONFIG = """
version: 2
distro_name: bench-{name}
data_dir: {d}/{name}
apis: [inference]
providers:
  inference:
  - provider_id: vllm
    provider_type: remote::vllm
    config: {{base_url: "{base_url}"}}
{server}
"""


@contextlib.contextmanager
def jwks_server() -> Iterator[str]:
    """The identity provider's JWKS URL, served from a thread."""
    body = json.dumps({"keys": [JWK]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/jwks"
    finally:
        httpd.shutdown()


def token(sub: str, **claims: Any) -> str:
    body = {"sub": sub, "aud": "llama-stack", "iss": "bench-idp", "exp": int(time.time()) + 3600}
    return jwt.encode({**body, **claims}, KEY, algorithm="RS256", headers={"kid": "k1"})


def auth_section(jwks_url: str) -> str:
    auth = {
        "provider_config": {
            "type": "oauth2_token",
            "issuer": "bench-idp",
            "jwks": {"uri": jwks_url},
            "claims_mapping": {"groups": "teams", "roles": "roles"},
        },
        "access_policy": POLICY,
    }
    return "server:\n  auth: " + json.dumps(auth)


def rounds(clients: dict[str, openai.OpenAI]) -> dict[str, list[list[float]]]:
    """Sequential chat calls, PER_ROUND to each server in turn, ROUNDS times: times by round."""
    times: dict[str, list[list[float]]] = {name: [] for name in clients}
    for client in clients.values():
        for _ in range(30):
            client.chat.completions.create(model="stub-model", messages=MESSAGES)  # type: ignore[arg-type]
    for _ in range(ROUNDS):
        for name, client in clients.items():
            batch = []
            for _ in range(PER_ROUND):
                t0 = time.perf_counter()
                client.chat.completions.create(model="stub-model", messages=MESSAGES)  # type: ignore[arg-type]
                batch.append(time.perf_counter() - t0)
            times[name].append(batch)
    return times


def in_process(jwks_url: str) -> dict[str, float]:
    """Microseconds per request: authenticate (seen before / first sight) and the policy checks
    of a chat call (the models it can see: every model's read check)."""
    from llama_workbench.core.access import Principal
    from llama_workbench.core.policy import AccessPolicy, AccessRule
    from llama_workbench.core.server_config import AuthConfig
    from llama_workbench.server.auth import Authenticator

    config = AuthConfig.model_validate(json.loads(auth_section(jwks_url).split("auth: ", 1)[1]))
    authenticator = Authenticator(config)
    scope: dict[str, Any] = {"headers": [], "path": "/v1/chat/completions"}
    tokens = [token(f"user{i}", groups=["a"]).encode() for i in range(2000)]
    loop = asyncio.new_event_loop()

    def authenticate(raw: bytes) -> Principal:
        headers = {b"authorization": b"Bearer " + raw}
        return loop.run_until_complete(authenticator.authenticate(headers, scope))

    authenticate(tokens[0])  # the keys are fetched once
    t0 = time.perf_counter()
    for raw in tokens[1:]:
        authenticate(raw)
    first = (time.perf_counter() - t0) / (len(tokens) - 1)
    t0 = time.perf_counter()
    for raw in tokens[1:]:
        authenticate(raw)
    seen = (time.perf_counter() - t0) / (len(tokens) - 1)
    loop.close()
    owners = {"alice": Principal("alice", attributes={"teams": ("a",)})}
    policy = AccessPolicy(
        [AccessRule.model_validate(r) for r in POLICY], lambda n: owners.get(n, Principal(n))
    )
    user = Principal("bob", attributes={"teams": ("b",)})
    models = [("model", f"m{i}", "alice" if i % 2 else None) for i in range(4)]
    t0 = time.perf_counter()
    n = 20_000
    for _ in range(n):
        for kind, identifier, owner in models:
            policy.allows("read", kind, identifier, owner, user)
    policy_s = (time.perf_counter() - t0) / n
    return {"seen": seen * 1e6, "first": first * 1e6, "policy": policy_s * 1e6}


def main() -> None:
    print(
        f"server mode, JWT auth + access policy vs none; remote::vllm -> local stub; "
        f"{ROUNDS} rounds x {PER_ROUND} sequential chat calls per server (openai SDK)"
    )
    with fast_stub() as base_url, jwks_server() as jwks_url, tempfile.TemporaryDirectory() as tmp:
        clients: dict[str, openai.OpenAI] = {}
        with contextlib.ExitStack() as stack:
            for name, slug, section, api_key in (
                ("no auth", "plain", "", "none"),
                ("jwt + policy", "auth", auth_section(jwks_url), token("bob", groups=["b"])),
            ):
                path = Path(tmp) / f"{slug}.yaml"
                config = CONFIG.format(name=slug, d=tmp, base_url=base_url, server=section)
                path.write_text(config)
                port = free_port()
                cmd = [
                    sys.executable,
                    "-m",
                    "llama_workbench.cli",
                    "stack",
                    "run",
                    str(path),
                    "--port",
                    str(port),
                ]
                stack.enter_context(server(cmd, port))
                clients[name] = openai.OpenAI(
                    base_url=f"http://127.0.0.1:{port}/v1", api_key=api_key, max_retries=0
                )
            times = rounds(clients)
    plain, authed = times["no auth"], times["jwt + policy"]
    base = statistics.median(t for batch in plain for t in batch) * 1000
    with_auth = statistics.median(t for batch in authed for t in batch) * 1000
    # Per round (the two servers measured back to back), then the median: load that comes
    # and goes on a shared machine falls on both sides of each difference.
    per_round = [
        statistics.median(a) - statistics.median(p) for p, a in zip(plain, authed, strict=True)
    ]
    overhead = statistics.median(per_round) * 1000
    print(f"  {'':16}{'p50 ms':>9}")
    print(f"  {'no auth':16}{base:9.3f}")
    print(f"  {'jwt + policy':16}{with_auth:9.3f}")
    print(
        f"  overhead (median of {ROUNDS} rounds' p50 differences): {overhead * 1000:+.0f} us "
        f"per request, {overhead / base * 100:+.1f}% of the p50"
    )
    with jwks_server() as url:
        cost = in_process(url)
    share = (cost["seen"] + cost["policy"]) / (base * 1000) * 100
    print(
        f"  in-process per request: auth {cost['seen']:.1f} us (a token seen before), "
        f"{cost['first']:.0f} us (first sight: RS256 check); policy {cost['policy']:.1f} us "
        f"(4 models' read checks); {share:.1f}% of the no-auth p50"
    )
    print("  goal: overhead < 5% of a chat call's p50 at the server")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
