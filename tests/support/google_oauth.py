"""Google's OAuth 2.0 token endpoint for service accounts, as documented ("Using OAuth 2.0 for
Server to Server Applications": POST grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer
with a JWT assertion signed RS256 by the account's key -> {access_token, expires_in,
token_type}; a bad assertion -> 400 {"error": "invalid_grant", ...}), on a HostedStub.
The stand-in checks the JWT's signature with the account's public key."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.support.hosted_stub import HostedStub

EMAIL = "workbench-test@test-project.iam.gserviceaccount.com"
TOKEN = "ya29.c.test-access-token"
# The `aud` of the assertion, as documented (whatever token_uri the key file names).
AUDIENCE = "https://oauth2.googleapis.com/token"


class ServiceAccount:
    """A service account key (RSA, made here) and the token endpoint that trusts it."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.tokens_issued = 0

    def write_key_file(self, folder: Path, token_uri: str) -> Path:
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        info = {
            "type": "service_account",
            "project_id": "test-project",
            "private_key_id": "0123456789abcdef",
            "private_key": pem,
            "client_email": EMAIL,
            "client_id": "1234567890",
            "token_uri": token_uri,
        }
        path = folder / "service-account.json"
        path.write_text(json.dumps(info), encoding="utf-8")
        return path

    def check(self, assertion: str, audience: str) -> str | None:
        """None when the JWT is signed by this account's key for `audience`; else why not."""
        try:
            head, payload, signature = assertion.split(".")
            self.key.public_key().verify(
                _unb64(signature),
                f"{head}.{payload}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            claims: dict[str, Any] = json.loads(_unb64(payload))
        except Exception as exc:
            return f"Invalid JWT: {type(exc).__name__}"
        if claims.get("iss") != EMAIL or claims.get("aud") != audience:
            return f"Invalid JWT claims: iss={claims.get('iss')}, aud={claims.get('aud')}"
        if "cloud-platform" not in str(claims.get("scope", "")):
            return "Invalid JWT: no scope"
        return None

    def routes(self, stub: HostedStub, app: FastAPI) -> None:
        @app.post("/token")
        async def token(request: Request) -> Response:
            await stub.record(request)
            form = await request.form()
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            why = self.check(str(form.get("assertion", "")), AUDIENCE)
            if why is not None:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": why}, status_code=400
                )
            self.tokens_issued += 1
            return JSONResponse({"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"})


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
