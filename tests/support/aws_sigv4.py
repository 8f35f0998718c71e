"""Checks an AWS Signature Version 4 the way AWS documents it ("Create a signed AWS API
request": canonical request, string to sign, derived signing key), written here from the
documentation, independently of botocore, so a test can tell a right signature from a wrong one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any
from urllib.parse import quote

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "session-token-example"

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+), "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})"
)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def check(sent: dict[str, Any], region: str, service: str) -> str | None:
    """None when `sent` (a HostedStub request) carries a valid signature; else why not."""
    headers = sent["headers"]
    match = _AUTH.fullmatch(headers.get("authorization", ""))
    if match is None:
        return f"no SigV4 Authorization header: {headers.get('authorization', '')[:60]!r}"
    amz_date = headers.get("x-amz-date", "")
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    if match["key"] != ACCESS_KEY or match["scope"] != scope:
        return f"credential scope {match['key']}/{match['scope']} is not {ACCESS_KEY}/{scope}"
    signed = match["signed"].split(";")
    if not {"host", "x-amz-date"} <= set(signed) or signed != sorted(signed):
        return f"signed headers {signed}"
    query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(sent["query"].items())
    )
    canonical = "\n".join(
        [
            sent["method"],
            quote(sent["path"], safe="/-_.~"),
            query,
            "".join(f"{h}:{' '.join(headers[h].split())}\n" for h in signed),
            match["signed"],
            hashlib.sha256(sent["raw"]).hexdigest(),
        ]
    )
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{SECRET_KEY}".encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["signature"]):
        return "The request signature we calculated does not match the signature you provided."
    return None
