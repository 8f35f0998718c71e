"""ASGI middleware of the server: authentication, route policy, quotas, request body and
concurrency limits, trace context."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from llama_workbench.core.access import Principal, current_policy, current_principal
from llama_workbench.core.errors import (
    LlamaWorkbenchError,
    PermissionDeniedError,
    RateLimitError,
    to_http,
)
from llama_workbench.core.policy import AccessPolicy, RoutePolicy
from llama_workbench.core.provider_data import HEADER as PROVIDER_DATA_HEADER
from llama_workbench.core.provider_data import parse_header, provider_data
from llama_workbench.core.server_config import ServerConfig
from llama_workbench.server.auth import Authenticator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Reachable without a token, outside route policies and quotas: probes need no credentials.
PUBLIC_PATHS = frozenset({"/v1/health", "/v1/version"})


class PayloadTooLargeError(LlamaWorkbenchError):
    status_code = 413
    error_type = "payload_too_large"


class GuardMiddleware:
    """Authenticates, applies the route policy and quotas, bounds body size and concurrency,
    and sets the request's principal and access policy; errors in the SDKs' JSON shape."""

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config
        auth = config.auth
        self.authenticator = Authenticator(auth) if auth is not None else None
        self.route_policy = RoutePolicy(auth.route_policy if auth is not None else [])
        self.policy: AccessPolicy | None = None
        self.quota: Any = None
        self._started = False
        self._start_lock = asyncio.Lock()
        self.owners: Any = None
        self.active = 0

    async def _start(self, scope: Scope) -> None:
        """Open what needs the stack's storage (owners' attributes, quota counts), once."""
        async with self._start_lock:
            if self._started:
                return
            stack = scope["app"].state.stack
            auth_on = self.authenticator is not None and self.authenticator.enabled
            if auth_on:
                from llama_workbench.server.owners import OwnerDirectory

                self.owners = OwnerDirectory(await stack.storage.kv("metadata"))
                await self.owners.load()
                rules = self.config.auth.access_policy if self.config.auth else []
                if rules:
                    self.policy = AccessPolicy(rules, self.owners.lookup)
            if self.config.quota is not None:
                from llama_workbench.server.quota import Quota

                kv = await stack.storage.kv(self.config.quota.kvstore)
                self.quota = Quota(self.config.quota, kv, auth_enabled=auth_on)
            self._started = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            if not self._started:
                await self._start(scope)
            headers = dict(scope["headers"])
            principal = await self._admit(scope, headers)
            self._check_length(headers)
            data = _provider_data(headers)
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
        policy_token = current_policy.set(self.policy)
        try:
            with provider_data(data):
                await self.app(scope, self._limited(receive, send), send)
        except PayloadTooLargeError as exc:
            await _reply(send, exc)
        finally:
            current_policy.reset(policy_token)
            current_principal.reset(token)
            self.active -= 1

    async def _admit(self, scope: Scope, headers: dict[bytes, bytes]) -> Principal | None:
        """The caller (None: auth off or a public path), once the route policy and the quota
        let the request through."""
        path = scope["path"]
        if path in PUBLIC_PATHS:
            return None
        principal = None
        if self.authenticator is not None and self.authenticator.enabled:
            principal = await self.authenticator.authenticate(headers, scope)
            await self.owners.remember(principal)
        if self.route_policy and not self.route_policy.allows(path, principal):
            raise PermissionDeniedError(
                f"Access denied: insufficient permissions for route {path.rstrip('/') or '/'}"
            )
        if self.quota is not None:
            client = scope.get("client")
            await self.quota.take(
                principal.name if principal is not None else None, client[0] if client else None
            )
        return principal

    def _check_length(self, headers: dict[bytes, bytes]) -> None:
        length = headers.get(b"content-length")
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


def _provider_data(headers: dict[bytes, bytes]) -> dict[str, Any] | None:
    """The request's provider data (keys for this request only), when it sends the header."""
    raw = headers.get(_PROVIDER_DATA)
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
