"""Who is calling: static bearer tokens, OAuth2 tokens (JWTs checked against the identity
provider's JWKS, or opaque tokens checked by RFC 7662 introspection) and custom endpoints.

Every failure is a 401 whose reason is about the caller's own token and names nothing of the
server's configuration (no issuer, audience, key id or upstream answer).
"""

from __future__ import annotations

import asyncio
import hmac
import importlib.util
import logging
import ssl
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from llama_workbench.core.access import Principal
from llama_workbench.core.errors import AuthenticationError, MissingDependencyError
from llama_workbench.core.policy import attributes_from_claims
from llama_workbench.core.provider_data import HEADER as PROVIDER_DATA_HEADER

if TYPE_CHECKING:
    import httpx

    from llama_workbench.core.server_config import (
        AuthConfig,
        CustomAuthConfig,
        OAuth2TokenAuthConfig,
    )

logger = logging.getLogger(__name__)

MISSING = "Missing bearer token: send 'Authorization: Bearer <token>'."
INVALID = "Invalid bearer token."
UNAVAILABLE = "Authentication service unavailable; try again later."
# Never forwarded to a custom auth endpoint: credentials of the caller or for providers.
_PRIVATE_HEADERS = {"authorization", "cookie", "proxy-authorization", PROVIDER_DATA_HEADER.lower()}
# Asymmetric algorithms by key type: a JWKS holds public keys, never HMAC secrets.
_ALGORITHMS = {
    "RSA": {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"},
    "EC": {"ES256", "ES384", "ES512", "ES256K"},
    "OKP": {"EdDSA"},
}
_CACHED_TOKENS = 4096
_UNKNOWN_KID_REFETCH_S = 1.0


class Authenticator:
    """The server's authentication: static tokens first, then the configured provider."""

    def __init__(self, config: AuthConfig) -> None:
        self._tokens = [
            (
                t.token.get_secret_value().encode(),
                Principal(t.principal, frozenset(t.roles), _tuples(t.attributes)),
            )
            for t in config.tokens
        ]
        provider = config.provider_config
        self.provider: OAuth2Provider | CustomProvider | None = None
        if provider is not None and provider.type == "oauth2_token":
            self.provider = OAuth2Provider(provider)
        elif provider is not None:
            self.provider = CustomProvider(provider)

    @property
    def enabled(self) -> bool:
        return bool(self._tokens) or self.provider is not None

    @property
    def mode(self) -> str:
        """What the Lab panel and `/v1/health` callers may know: the kind, never a secret."""
        kinds = (["static tokens"] if self._tokens else []) + (
            [self.provider.mode] if self.provider is not None else []
        )
        return " + ".join(kinds) or "off"

    async def authenticate(
        self, headers: Mapping[bytes, bytes], scope: Mapping[str, Any]
    ) -> Principal:
        header = headers.get(b"authorization", b"")
        scheme, _, presented = header.partition(b" ")
        presented = presented.strip()
        if scheme.lower() != b"bearer" or not presented:
            raise AuthenticationError(MISSING)
        found = None
        for secret, principal in self._tokens:
            # Compare against every token in constant time: timing reveals nothing.
            if hmac.compare_digest(secret, presented):
                found = principal
        if found is not None:
            return found
        if self.provider is None:
            raise AuthenticationError(INVALID)
        try:
            token = presented.decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationError(INVALID) from None
        return await self.provider.authenticate(token, scope)


def _tuples(attributes: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in attributes.items()}


def _verify(verify_tls: bool, cafile: str | None) -> bool | ssl.SSLContext:
    if not verify_tls:
        return False
    return ssl.create_default_context(cafile=cafile) if cafile else True


def _client(verify: bool | ssl.SSLContext) -> httpx.AsyncClient:
    import httpx

    return httpx.AsyncClient(verify=verify, timeout=httpx.Timeout(10.0, connect=5.0))


class OAuth2Provider:
    """`oauth2_token`: JWTs verified with the JWKS (signature, iss, aud, exp/nbf with the clock
    skew), or opaque tokens asked of the introspection endpoint."""

    def __init__(self, config: OAuth2TokenAuthConfig) -> None:
        if config.jwks is not None and importlib.util.find_spec("jwt") is None:
            raise MissingDependencyError("pyjwt", "server", needed_by="server.auth (jwks)")
        self.config = config
        self.mode = "oauth2_token (jwks)" if config.jwks else "oauth2_token (introspection)"
        self._http: httpx.AsyncClient | None = None
        self._keys: dict[str | None, Any] = {}
        self._fetched_at = -1e18
        self._missed_at = -1e18
        self._lock = asyncio.Lock()
        # Tokens already verified -> (principal, good until): a request with a known token
        # costs a dict lookup, not a signature check. Cleared whenever the key set changes.
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = _client(_verify(self.config.verify_tls, self.config.tls_cafile))
        return self._http

    async def authenticate(self, token: str, scope: Mapping[str, Any]) -> Principal:
        if self.config.introspection is not None:
            return await self._introspect(token)
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None:
            principal, until = cached
            if now <= until:
                return principal
            del self._verified[token]
        principal, expires = await self._verify_jwt(token)
        assert self.config.jwks is not None
        until = min(
            expires + self.config.clock_skew_seconds, now + self.config.jwks.key_recheck_period
        )
        self._verified[token] = (principal, until)
        if len(self._verified) > _CACHED_TOKENS:
            self._verified.popitem(last=False)
        return principal

    async def _verify_jwt(self, token: str) -> tuple[Principal, float]:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationError("Invalid token: not a well-formed JWT.") from None
        key = await self._key(header.get("kid"))
        alg = header.get("alg")
        allowed = {key.algorithm_name} if key.algorithm_name else set()
        if alg not in _ALGORITHMS.get(key.key_type, set()) or (allowed and alg not in allowed):
            raise AuthenticationError("Invalid token: its signing algorithm is not accepted.")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.clock_skew_seconds,
                options={"require": ["exp", "sub"], "verify_iss": self.config.issuer is not None},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("Invalid token: it has expired.") from None
        except jwt.ImmatureSignatureError:
            raise AuthenticationError("Invalid token: it is not valid yet.") from None
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
            raise AuthenticationError("Invalid token: it was not issued for this server.") from None
        except jwt.InvalidSignatureError:
            raise AuthenticationError("Invalid token: its signature does not verify.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthenticationError(f"Invalid token: it has no '{exc.claim}' claim.") from None
        except jwt.PyJWTError:
            raise AuthenticationError("Invalid token: it could not be verified.") from None
        return self._principal(claims), float(claims["exp"])

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        name = claims.get("sub") or claims.get("username")
        if not isinstance(name, str) or not name:
            raise AuthenticationError("Invalid token: it names no subject.")
        attributes = attributes_from_claims(claims, self.config.claims_mapping)
        return Principal(name, attributes=_tuples(attributes))

    async def _key(self, kid: str | None) -> Any:
        """The signing key `kid` names: from the cached set while it is fresh; a stale set is
        refetched, and so is an unknown key id (the provider rotated keys), at most once a
        second so unknown ids can't make the server hammer the JWKS URL."""
        assert self.config.jwks is not None
        now = time.monotonic()
        if now - self._fetched_at > self.config.jwks.key_recheck_period:
            await self._refresh(stale_before=now)
        elif kid not in self._keys and now - self._missed_at > _UNKNOWN_KID_REFETCH_S:
            self._missed_at = now
            await self._refresh(stale_before=now)
        key = self._keys.get(kid)
        if key is None and kid is None and len(self._keys) == 1:
            key = next(iter(self._keys.values()))  # a token without kid, a set of one key
        if key is None:
            raise AuthenticationError("Invalid token: signed with a key this server does not know.")
        return key

    async def _refresh(self, stale_before: float) -> None:
        import jwt

        assert self.config.jwks is not None
        async with self._lock:
            if self._fetched_at >= stale_before:
                return  # another request refreshed the set while this one waited
            headers = {}
            if self.config.jwks.token is not None:
                headers["Authorization"] = f"Bearer {self.config.jwks.token.get_secret_value()}"
            try:
                response = await self.http.get(self.config.jwks.uri, headers=headers)
                response.raise_for_status()
                keys = jwt.PyJWKSet.from_dict(response.json()).keys
            except Exception as exc:
                logger.warning("JWKS fetch failed: %s", type(exc).__name__)
                if not self._keys:
                    raise AuthenticationError(UNAVAILABLE) from None
                # Keep the keys we have; try the URL again in 30 s, not on every request.
                period = self.config.jwks.key_recheck_period
                self._fetched_at = time.monotonic() - period + min(30.0, period)
                return
            fresh = {k.key_id: k for k in keys if k.public_key_use in (None, "sig")}
            if fresh.keys() != self._keys.keys():
                self._verified.clear()
            self._keys, self._fetched_at = fresh, time.monotonic()

    async def _introspect(self, token: str) -> Principal:
        config = self.config.introspection
        assert config is not None
        form = {"token": token}
        auth = None
        secret = config.client_secret.get_secret_value()
        if config.send_secret_in_body:
            form.update(client_id=config.client_id, client_secret=secret)
        else:
            auth = (config.client_id, secret)
        try:
            response = await self.http.post(config.url, data=form, auth=auth)  # type: ignore[arg-type]
            fields = response.json() if response.status_code == 200 else None
        except Exception as exc:
            logger.warning("token introspection failed: %s", type(exc).__name__)
            raise AuthenticationError(UNAVAILABLE) from None
        if not isinstance(fields, dict):
            logger.warning("token introspection answered HTTP %s", response.status_code)
            raise AuthenticationError(UNAVAILABLE)
        if fields.get("active") is not True:
            raise AuthenticationError("Invalid token: it is not active.")
        exp = fields.get("exp")
        if isinstance(exp, int | float) and exp + self.config.clock_skew_seconds < time.time():
            raise AuthenticationError("Invalid token: it has expired.")
        return self._principal(fields)


class CustomProvider:
    """`custom`: the token and the request's path, headers and query go to your endpoint, which
    answers 200 with {principal, attributes} or anything else to refuse."""

    mode = "custom"

    def __init__(self, config: CustomAuthConfig) -> None:
        self.config = config
        self._http: httpx.AsyncClient | None = None

    async def authenticate(self, token: str, scope: Mapping[str, Any]) -> Principal:
        from pydantic import BaseModel, ValidationError

        class Answer(BaseModel):
            principal: str
            attributes: dict[str, list[str]] | None = None
            message: str | None = None

        if self._http is None:
            self._http = _client(True)
        headers = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope["headers"]
            if k.decode("latin-1") not in _PRIVATE_HEADERS
        }
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        body = {
            "api_key": token,
            "request": {"path": scope["path"], "headers": headers, "params": query},
        }
        try:
            response = await self._http.post(self.config.endpoint, json=body)
        except Exception as exc:
            logger.warning("custom authentication failed: %s", type(exc).__name__)
            raise AuthenticationError(UNAVAILABLE) from None
        if response.status_code != 200:
            raise AuthenticationError(INVALID)
        try:
            answer = Answer.model_validate(response.json())
        except (ValueError, ValidationError):
            logger.warning("custom authentication answered an unreadable principal")
            raise AuthenticationError(UNAVAILABLE) from None
        if not answer.principal:
            raise AuthenticationError(INVALID)
        return Principal(answer.principal, attributes=_tuples(answer.attributes or {}))
