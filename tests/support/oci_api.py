"""OCI Generative AI as documented, on a HostedStub at 127.0.0.1: the OpenAI-compatible
inference API under /20231130/actions/v1 and the management API's ListModels (GET
/20231130/models?compartmentId=...&lifecycleState=ACTIVE -> {"items": [ModelSummary]}, pages
by the opc-next-page header), every request checked for a valid OCI request signature.

The signature is checked as OCI's "Request Signatures" page documents it (written here from
the documentation, independently of the oci package): Authorization: Signature version="1",
keyId="<tenancy>/<user>/<fingerprint>", algorithm="rsa-sha256", headers="date
(request-target) host[ content-length content-type x-content-sha256]", signature=base64 of an
RSA-SHA256 signature over "name: value" lines; x-content-sha256 is base64(sha256(body)).
Errors are OCI's {"code": ..., "message": ...}.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.support.hosted_stub import HostedStub
from tests.support.openai_like_api import openai_routes

TENANCY = "ocid1.tenancy.oc1..aaaaaaaatesttenancy"
USER = "ocid1.user.oc1..aaaaaaaatestuser"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaatestcompartment"
FINGERPRINT = "20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34"
CHAT = "meta.llama-3.3-70b-instruct"
EMBED = "cohere.embed-english-v3.0"
_SIGNATURE = re.compile(r'(\w+)="([^"]*)"')
MODELS = [
    {"displayName": CHAT, "capabilities": ["CHAT"], "lifecycleState": "ACTIVE"},
    {"displayName": "cohere.command-r-08-2024", "capabilities": ["CHAT", "FINE_TUNE"]},
    {"displayName": "meta.llama-3.1-405b-instruct", "capabilities": ["CHAT"],
     "timeDeprecated": "2025-01-01T00:00:00Z"},
    {"displayName": EMBED, "capabilities": ["TEXT_EMBEDDINGS"]},
]  # fmt: skip


def oci_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


class OciUser:
    """A user's API signing key (RSA, made here), its config file, and the signature check."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def write_config(self, folder: Path, region: str = "us-chicago-1") -> Path:
        key_file = folder / "oci_api_key.pem"
        key_file.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        config = folder / "config"
        config.write_text(
            f"[DEFAULT]\nuser={USER}\nfingerprint={FINGERPRINT}\ntenancy={TENANCY}\n"
            f"region={region}\nkey_file={key_file}\n",
            encoding="utf-8",
        )
        return config

    def check(self, sent: dict[str, Any]) -> str | None:
        """None when `sent` carries a valid signature of this user; else why not."""
        headers = sent["headers"]
        fields = dict(_SIGNATURE.findall(headers.get("authorization", "")))
        if fields.get("keyId") != f"{TENANCY}/{USER}/{FINGERPRINT}":
            return f"unknown keyId {fields.get('keyId')!r}"
        if fields.get("algorithm") != "rsa-sha256" or fields.get("version") != "1":
            return "not a version 1 rsa-sha256 signature"
        names = fields.get("headers", "").split()
        required = {"date", "(request-target)", "host"}
        if sent["method"] in ("POST", "PUT"):
            required |= {"content-length", "content-type", "x-content-sha256"}
            digest = base64.b64encode(hashlib.sha256(sent["raw"]).digest()).decode()
            if headers.get("x-content-sha256") != digest:
                return "x-content-sha256 is not the body's"
        if not required <= set(names):
            return f"signed headers {names} lack {sorted(required - set(names))}"
        target = sent["path"] + (f"?{sent['query_string']}" if sent.get("query_string") else "")
        lines = [
            f"(request-target): {sent['method'].lower()} {target}"
            if name == "(request-target)"
            else f"{name}: {headers.get(name, '')}"
            for name in names
        ]
        try:
            self.key.public_key().verify(
                base64.b64decode(fields.get("signature", "")),
                "\n".join(lines).encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception:  # any defect of the signature is a refusal
            return "The required information to complete authentication was not provided or was incorrect."
        return None

    def authorize(self, sent: dict[str, Any]) -> Response | None:
        why = self.check(sent)
        if why is not None:
            return oci_error(401, "NotAuthenticated", why)
        if sent["headers"].get("compartmentid") != COMPARTMENT:
            why = "Authorization failed or requested resource not found."
            return oci_error(404, "NotAuthorizedOrNotFound", why)
        return None

    def routes(self, stub: HostedStub, app: FastAPI) -> None:
        openai_routes("/20231130/actions/v1", self.authorize, [CHAT], (EMBED,))(stub, app)

        @app.get("/20231130/models")
        async def list_models(request: Request) -> Response:
            sent = await stub.record(request)
            why = self.check(sent)
            if why is not None:
                return oci_error(401, "NotAuthenticated", why)
            if sent["query"].get("compartmentId") != COMPARTMENT:
                return oci_error(404, "NotAuthorizedOrNotFound", "compartment not found")
            page = int(sent["query"].get("page", 0))
            headers = {"opc-next-page": str(page + 2)} if page + 2 < len(MODELS) else {}
            return JSONResponse({"items": MODELS[page : page + 2]}, headers=headers)
