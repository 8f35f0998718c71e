"""The wire under remote providers' httpx clients: aiohttp, through httpx-aiohttp's transport.

httpx stays the client (auth flows, request signing, cassettes, SSE parsing, error mapping are
all written against it); only the connection layer changes. Measured against the bench's local
stub on 2 cores: a POST with a JSON reply costs ~0.9 ms through httpx's own pool and ~0.5 ms
through aiohttp's, and a remote chat call through the server pays it once per request.

A plain JSON request (not streamed, key auth, no cassette, no proxy) skips httpx's client layer
too (`DirectSender`): request building, auth flow, redirects and cookies cost ~0.2 ms of CPU a
request here (a chat call to the bench's stub through the adapter: 0.42-0.45 against 0.25 ms).

httpx-aiohttp reports every aiohttp connection error as `httpx.ConnectTimeout`; this transport
gives the exception httpx itself would raise (a refused connection is a ConnectError, a server
that hangs up mid-reply a RemoteProtocolError), so errors and retries read as before.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable
from typing import Any

import httpx


def fast_transport(
    *, verify: bool | ssl.SSLContext = True, limits: httpx.Limits | None = None
) -> httpx.AsyncBaseTransport:
    """An aiohttp-backed httpx transport (TLS per `verify`, pool sizes per `limits`)."""
    from httpx_aiohttp import AiohttpTransport

    class _Transport(AiohttpTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.userinfo:
                # httpx never sends a URL's user:password on the wire (its auth step turns them
                # into a header); aiohttp would, and refuses them beside an Authorization header.
                request.url = request.url.copy_with(userinfo=b"")
            try:
                return await super().handle_async_request(request)
            except httpx.TransportError as exc:
                raise _precise(exc, request) from exc.__cause__ or exc

        def session(self) -> Any:
            """The aiohttp session under this transport (opened on first use)."""
            from aiohttp import ClientSession

            if not isinstance(self.client, ClientSession):
                self.client = self.get_client()
            return self.client

    return _Transport(verify=verify, limits=limits or httpx.Limits(max_connections=64))


class DirectSender:
    """Sends plain JSON requests of an httpx client straight on its aiohttp session: the same
    URL, headers (the client's, the key's, the call's), timeouts, connection pool and errors
    (httpx's exceptions, as the transport raises them), with httpx's client layer left out.

    `for_client` gives None where httpx must send: an auth flow other than the key's (request
    signing, token exchange), another transport (a cassette), a proxy from the environment
    (httpx routes those through its own transports), or a user:password URL.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        transport: httpx.AsyncBaseTransport,
        credentials: Callable[[], dict[str, str]],
    ) -> None:
        import aiohttp
        from multidict import CIMultiDict

        self._base = str(client.base_url).rstrip("/")
        self._headers = CIMultiDict(client.headers.items())
        self._transport = transport
        self._credentials = credentials
        t = client.timeout  # mapped as httpx-aiohttp maps a request's timeout extension
        self._timeout = aiohttp.ClientTimeout(
            sock_connect=t.connect, sock_read=t.read, connect=t.pool
        )

    @classmethod
    def for_client(
        cls, client: httpx.AsyncClient, transport: httpx.AsyncBaseTransport, auth: httpx.Auth | None
    ) -> DirectSender | None:
        """The direct path of `client`, built on `transport` (the one the client was given),
        whose requests authenticate with `auth`."""
        import urllib.request

        from llama_workbench.providers.utils.request_keys import KeyAuth

        if not hasattr(transport, "session") or urllib.request.getproxies():  # fast_transport's
            return None
        if client.base_url.userinfo:  # httpx's auth step turns user:password into a header
            return None
        if auth is None:
            return cls(client, transport, dict)
        if type(auth) is KeyAuth:  # a signing or token flow stays on httpx
            return cls(client, transport, auth.headers)
        return None

    async def send(
        self,
        method: str,
        url: str,
        params: dict[str, str] | None,
        body: dict[str, Any] | None,
        headers: dict[str, str] | None,
    ) -> httpx.Response:
        """The response, read to its end; httpx's exception for a transport failure."""
        from httpx_aiohttp.transport import map_aiohttp_exceptions

        target = url if "://" in url else f"{self._base}/{url.lstrip('/')}"
        sent = self._headers.copy()
        sent.update(self._credentials())
        sent.update(headers or {})
        data = None
        if body is not None:  # encoded as httpx encodes `json=`
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            data = text.encode("utf-8")
            sent["Content-Type"] = "application/json"
        try:
            with map_aiohttp_exceptions():
                async with self._transport.session().request(  # type: ignore[attr-defined]
                    method,
                    target,
                    params=params or None,
                    data=data,
                    headers=sent,
                    allow_redirects=False,  # as httpx: redirects are not followed
                    auto_decompress=False,  # httpx decodes the body, as it does on its own path
                    compress=False,
                    timeout=self._timeout,
                ) as reply:
                    status, raw_headers = reply.status, reply.raw_headers
                    content = await reply.read()
        except httpx.TransportError as exc:
            request = httpx.Request(method, target, params=params)
            raise _precise(exc, request) from exc.__cause__ or exc
        response = httpx.Response(status, headers=raw_headers, content=content)
        if status >= 400:  # what an error report names (building one costs ~30 us: errors only)
            response.request = httpx.Request(method, target, params=params)
        return response


def _precise(exc: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    import aiohttp

    cause = exc.__cause__
    message = str(cause or exc)
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(cause, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(cause, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        kind = httpx.ConnectTimeout if "connect" in message.lower() else httpx.ReadTimeout
        return kind(message or "timed out", request=request)
    return exc
