"""ASGI middleware of the server: bearer-token auth, request body limit, concurrency limit, trace context."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from llama_workbench.core.access import Principal, current_principal
from llama_workbench.core.config import ServerConfig
from llama_workbench.core.errors import (
    AuthenticationError,
    LlamaWorkbenchError,
    RateLimitError,
    to_http,
)
from llama_workbench.core.provider_data import HEADER as PROVIDER_DATA_HEADER
from llama_workbench.core.provider_data import parse_header, provider_data

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Reachable without a token: liveness probes must not need credentials.
PUBLIC_PATHS = frozenset({"/v1/health"})


class PayloadTooLargeError(LlamaWorkbenchError):
    status_code = 413
    error_type = "payload_too_large"


class GuardMiddleware:
    """Authenticates, bounds body size and concurrency; errors in the SDKs' JSON shape."""

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config
        self.tokens = [
            (t.token.get_secret_value().encode(), Principal(t.principal, frozenset(t.roles)))
            for t in (config.auth.tokens if config.auth else [])
        ]
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            principal = self._authenticate(scope)
            self._check_length(scope)
            data = _provider_data(scope)
        except LlamaWorkbenchError as exc:
            await _reply(send, exc)
            return
        if self.active >= self.config.max_concurrent_requests:
            await _reply(
                send, RateLimitError("Too many concurrent requests; retry shortly.", retry_after=1)
            )
            return
        self.active += 1
        token = current_principal.set(principal)
        try:
            with provider_data(data):
                await self.app(scope, self._limited(receive, send), send)
        except PayloadTooLargeError as exc:
            await _reply(send, exc)
        finally:
            current_principal.reset(token)
            self.active -= 1

    def _authenticate(self, scope: Scope) -> Principal | None:
        if not self.tokens or scope["path"] in PUBLIC_PATHS:
            return None
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, presented = header.partition(b" ")
        if scheme.lower() != b"bearer" or not presented:
            raise AuthenticationError("Missing bearer token: send 'Authorization: Bearer <token>'.")
        found = None
        for secret, principal in self.tokens:
            # Compare against every token in constant time: timing reveals nothing.
            if hmac.compare_digest(secret, presented.strip()):
                found = principal
        if found is None:
            raise AuthenticationError("Invalid bearer token.")
        return found

    def _check_length(self, scope: Scope) -> None:
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.config.max_request_bytes:
            raise PayloadTooLargeError(f"Request body over {self.config.max_request_bytes} bytes.")

    def _limited(self, receive: Receive, send: Send) -> Receive:
        # Bodies without a content-length (chunked) are counted as they arrive.
        seen = 0
        limit = self.config.max_request_bytes

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLargeError(f"Request body over {limit} bytes.")
            return message

        return counted


_PROVIDER_DATA = PROVIDER_DATA_HEADER.lower().encode()


def _provider_data(scope: Scope) -> dict[str, Any] | None:
    """The request's provider data (keys for this request only), when it sends the header."""
    raw = dict(scope["headers"]).get(_PROVIDER_DATA)
    return parse_header(raw) if raw else None


async def _reply(send: Send, exc: LlamaWorkbenchError) -> None:
    status, body = to_http(exc)
    headers = [(b"content-type", b"application/json")]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    retry_after = exc.details.get("retry_after")
    if retry_after:
        headers.append((b"retry-after", str(int(retry_after)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


class TraceContextMiddleware:
    """Continues a caller's trace (telemetry on): its `traceparent` parents the request's spans."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from llama_workbench.tracking.propagation import context_from_headers

        context = None
        if scope["type"] == "http":
            wanted = (b"traceparent", b"tracestate")
            headers = {
                k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in wanted
            }
            context = context_from_headers(headers)
        if context is None:
            await self.app(scope, receive, send)
            return
        from opentelemetry import context as otel_context

        token = otel_context.attach(context)
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)
