"""The direct JSON path under remote providers' httpx clients, against real servers on 127.0.0.1:
what reaches the wire and what comes back is what httpx's own path sends and returns."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from llama_workbench.providers.remote.inference.vllm.config import VLLMConfig
from llama_workbench.providers.utils.http_transport import DirectSender, fast_transport
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter
from llama_workbench.providers.utils.request_keys import KeyAuth
from tests.support.stub_server import free_port


class Recorder:
    """A real aiohttp server that records each request and answers per its path."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": body,
            }
        )
        if request.path.endswith("/gzip"):
            packed = gzip.compress(json.dumps({"packed": "ünïcode"}).encode())
            return web.Response(body=packed, headers={"Content-Encoding": "gzip"})
        if request.path.endswith("/missing"):
            return web.json_response({"error": {"message": "no such thing"}}, status=404)
        if request.path.endswith("/slow"):
            await asyncio.sleep(2)
        return web.json_response({"ok": True, "echo": json.loads(body or b"null")})


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    rec = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", rec.port).start()
    yield rec
    await runner.cleanup()


TRANSPORTS: dict[int, httpx.AsyncBaseTransport] = {}  # each test client's transport


def client_for(base: str, **kw: Any) -> httpx.AsyncClient:
    transport = fast_transport()
    client = httpx.AsyncClient(
        base_url=f"{base}/v1",
        transport=transport,
        headers={"Accept": "application/json", "X-Extra": "from-config"},
        timeout=httpx.Timeout(5.0, connect=1.0),
        **kw,
    )
    TRANSPORTS[id(client)] = transport
    return client


def direct_path(client: httpx.AsyncClient, auth: httpx.Auth | None = None) -> DirectSender | None:
    return DirectSender.for_client(client, TRANSPORTS[id(client)], auth)


KEY = KeyAuth(lambda: {"Authorization": "Bearer sk-per-request"})


BODY = {"model": "m", "messages": [{"role": "user", "content": "héllo \u2603"}], "n": 1}


async def test_the_wire_is_the_same_as_httpx_sends(recorder: Recorder) -> None:
    async with client_for(recorder.url) as client:
        direct = direct_path(client, KEY)
        assert direct is not None
        trace = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
        got = await direct.send("POST", "/chat/completions", {"api-version": "1"}, BODY, trace)
        request = client.build_request(
            "POST", "/chat/completions", params={"api-version": "1"}, json=BODY, headers=trace
        )
        request.headers.update(KEY.headers())
        reference = await client.send(request)
    assert got.status_code == reference.status_code == 200
    assert got.json() == reference.json() == {"ok": True, "echo": BODY}
    ours, theirs = recorder.seen
    assert ours["body"] == theirs["body"]  # byte for byte: httpx's JSON encoding
    assert (ours["method"], ours["path"], ours["query"]) == (
        theirs["method"],
        theirs["path"],
        theirs["query"],
    )
    assert ours["headers"] == theirs["headers"]
    assert ours["headers"]["authorization"] == "Bearer sk-per-request"
    assert ours["headers"]["x-extra"] == "from-config"
    assert ours["headers"]["traceparent"] == trace["traceparent"]


async def test_an_absolute_url_and_a_get_without_a_body(recorder: Recorder) -> None:
    async with client_for("http://127.0.0.1:9") as client:  # base_url unused: the URL is absolute
        direct = direct_path(client)
        assert direct is not None
        got = await direct.send("GET", f"{recorder.url}/v1/models", None, None, None)
    assert got.json() == {"ok": True, "echo": None}
    (seen,) = recorder.seen
    assert (seen["method"], seen["path"], seen["body"]) == ("GET", "/v1/models", b"")
    assert "content-type" not in seen["headers"]


async def test_a_compressed_reply_is_decoded_once(recorder: Recorder) -> None:
    async with client_for(recorder.url) as client:
        direct = direct_path(client)
        assert direct is not None
        got = await direct.send("GET", "/gzip", None, None, None)
        reference = await client.get("/gzip")
    assert got.json() == reference.json() == {"packed": "ünïcode"}


async def test_an_error_reply_names_its_request(recorder: Recorder) -> None:
    async with client_for(recorder.url) as client:
        direct = direct_path(client)
        assert direct is not None
        got = await direct.send("GET", "/missing", None, None, None)
    assert got.status_code == 404
    assert got.request.url.path == "/v1/missing"
    assert got.json()["error"]["message"] == "no such thing"


async def test_transport_failures_are_httpx_exceptions(recorder: Recorder) -> None:
    async with client_for(f"http://127.0.0.1:{free_port()}") as client:
        direct = direct_path(client)
        assert direct is not None
        with pytest.raises(httpx.ConnectError) as refused:
            await direct.send("POST", "/chat/completions", None, BODY, None)
        assert refused.value.request.url.path == "/v1/chat/completions"

    async with client_for(recorder.url, follow_redirects=False) as client:
        client.timeout = httpx.Timeout(0.2, connect=1.0)
        direct = direct_path(client)
        assert direct is not None
        with pytest.raises(httpx.ReadTimeout):
            await direct.send("GET", "/slow", None, None, None)

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, client_for(f"http://127.0.0.1:{port}") as client:
        direct = direct_path(client)
        assert direct is not None
        with pytest.raises(httpx.RemoteProtocolError):
            await direct.send("GET", "/anything", None, None, None)


async def test_httpx_sends_where_the_direct_path_would_differ(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = httpx.AsyncClient(base_url="http://127.0.0.1:9/v1")  # httpx's own transport
    assert DirectSender.for_client(plain, httpx.AsyncHTTPTransport(), None) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    proxied = client_for("http://127.0.0.1:9")
    assert direct_path(proxied) is None  # httpx routes proxies itself
    monkeypatch.delenv("HTTPS_PROXY")
    with_user = client_for("http://user:secret@127.0.0.1:9")
    assert direct_path(with_user) is None  # httpx makes it a Basic header
    assert direct_path(client_for("http://127.0.0.1:9")) is not None
    for client in (plain, proxied, with_user):
        await client.aclose()


class _Signed(OpenAICompatAdapter):
    def _auth(self) -> httpx.Auth:
        return httpx.BasicAuth("user", "secret")  # stands in for a signing flow


async def test_the_adapter_goes_direct_only_with_key_auth(recorder: Recorder) -> None:
    config = VLLMConfig(base_url=f"{recorder.url}/v1", api_key="sk-config")
    keyed, signed = OpenAICompatAdapter("k", config), _Signed("s", config)
    assert keyed.client is not None and signed.client is not None
    assert keyed._direct is not None and signed._direct is None
    await keyed._json("POST", "/chat/completions", BODY)
    await signed._json("POST", "/chat/completions", BODY)
    await keyed.shutdown()
    await signed.shutdown()
    direct_seen, signed_seen = recorder.seen
    assert direct_seen["headers"]["authorization"] == "Bearer sk-config"
    assert signed_seen["headers"]["authorization"].startswith("Basic ")
