"""A real identity provider on 127.0.0.1 for tests: a JWKS endpoint (keys made with cryptography,
rotatable), RFC 7662 token introspection, and a custom auth endpoint; tokens minted with pyjwt."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support.stub_server import free_port, serve_in_thread, stop_serving

AUDIENCE = "llama-stack"
CLIENT_ID, CLIENT_SECRET = "workbench", "s3cret-" + secrets.token_hex(4)


@dataclass
class SigningKey:
    kid: str
    private: Any
    algorithm: str

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        data = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**data, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


def rsa_key(kid: str) -> SigningKey:
    return SigningKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")


def ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, ec.generate_private_key(ec.SECP256R1()), "ES256")


@dataclass
class IdentityProvider:
    """`with IdentityProvider() as idp:` serves idp.jwks_url, idp.introspection_url and
    idp.custom_url until the block ends; `idp.keys` is the published set (replace to rotate)."""

    keys: list[SigningKey] = field(default_factory=lambda: [rsa_key("k1")])
    issuer: str = ""
    jwks_fetches: int = 0
    active: dict[str, dict[str, Any]] = field(default_factory=dict)  # opaque token -> claims
    custom_seen: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def introspection_url(self) -> str:
        return f"{self.issuer}/introspect"

    @property
    def custom_url(self) -> str:
        return f"{self.issuer}/custom"

    def token(
        self,
        sub: str,
        *,
        key: SigningKey | None = None,
        lifetime_s: float = 600,
        issuer: str | None = None,
        audience: str = AUDIENCE,
        **claims: Any,
    ) -> str:
        """A JWT for `sub`, signed with `key` (default: the first published key)."""
        key = key or self.keys[0]
        now = time.time()
        body = {"sub": sub, "iss": issuer or self.issuer, "aud": audience}
        body |= {"iat": int(now), "exp": int(now + lifetime_s), **claims}
        return jwt.encode(body, key.private, algorithm=key.algorithm, headers={"kid": key.kid})

    def opaque(self, sub: str, active: bool = True, **claims: Any) -> str:
        """An opaque token that introspection answers for."""
        token = secrets.token_urlsafe(24)
        self.active[token] = {"active": active, "sub": sub, **claims}
        return token

    def __enter__(self) -> IdentityProvider:
        self._server, self._thread = serve_in_thread(self._app(), self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        stop_serving(self._server, self._thread)

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            self.jwks_fetches += 1
            return {"keys": [k.jwk() for k in self.keys]}

        @app.post("/introspect")
        async def introspect(request: Request) -> JSONResponse:
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {expected}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            form = await request.form()
            return JSONResponse(self.active.get(str(form.get("token")), {"active": False}))

        @app.post("/custom")
        async def custom(request: Request) -> JSONResponse:
            body = await request.json()
            self.custom_seen.append(body)
            users = {"key-alice": ("alice", ["a"]), "key-bob": ("bob", ["b"])}
            if body.get("api_key") not in users:
                return JSONResponse({"message": "unknown key"}, status_code=401)
            name, teams = users[body["api_key"]]
            return JSONResponse({"principal": name, "attributes": {"teams": teams}})

        return app
