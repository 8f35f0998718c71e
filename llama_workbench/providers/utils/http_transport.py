"""The wire under remote providers' httpx clients: aiohttp, through httpx-aiohttp's transport.

httpx stays the client (auth flows, request signing, cassettes, SSE parsing, error mapping are
all written against it); only the connection layer changes. Measured against the bench's local
stub on 2 cores: a POST with a JSON reply costs ~0.9 ms through httpx's own pool and ~0.5 ms
through aiohttp's, and a remote chat call through the server pays it once per request.

httpx-aiohttp reports every aiohttp connection error as `httpx.ConnectTimeout`; this transport
gives the exception httpx itself would raise (a refused connection is a ConnectError, a server
that hangs up mid-reply a RemoteProtocolError), so errors and retries read as before.
"""

from __future__ import annotations

import asyncio
import ssl

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

    return _Transport(verify=verify, limits=limits or httpx.Limits(max_connections=64))


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
