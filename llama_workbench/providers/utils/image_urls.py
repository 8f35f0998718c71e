"""Image URLs of chat messages fetched here and sent inline (data URLs), for services that do
not fetch images themselves (SambaNova, as Llama Stack 0.7.3's download_images)."""

from __future__ import annotations

import asyncio
import base64
import copy
from typing import Any

import httpx

from llama_workbench.core.errors import BadRequestError

MAX_IMAGE_BYTES = 20 * 1024 * 1024


async def inline_image_urls(body: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """`body` with every http(s) `image_url` of its messages replaced by a data URL."""
    urls = list(dict.fromkeys(part["image_url"]["url"] for part in _image_parts(body)))
    if not urls:
        return body
    from llama_workbench.providers.utils.recording import transport_for

    async with httpx.AsyncClient(
        transport=transport_for(), timeout=timeout_s, follow_redirects=True
    ) as client:
        fetched = await asyncio.gather(*(_data_url(client, url) for url in urls))
    inline = dict(zip(urls, fetched, strict=True))
    body = copy.deepcopy(body)  # the caller's request (and its stored copy) keeps its URLs
    for part in _image_parts(body):
        part["image_url"]["url"] = inline[part["image_url"]["url"]]
    return body


def _image_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        part
        for message in body.get("messages", [])
        if isinstance(message, dict) and isinstance(message.get("content"), list)
        for part in message["content"]
        if isinstance(part, dict)
        and part.get("type") == "image_url"
        and str(part.get("image_url", {}).get("url", "")).startswith(("http://", "https://"))
    ]


async def _data_url(client: httpx.AsyncClient, url: str) -> str:
    try:
        async with client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise BadRequestError(f"Could not fetch image {url}: HTTP {response.status_code}")
            kind = response.headers.get("content-type", "").split(";")[0].strip()
            if not kind.startswith("image/"):
                raise BadRequestError(f"{url} is not an image (content-type {kind or 'none'})")
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > MAX_IMAGE_BYTES:
                    raise BadRequestError(
                        f"Image {url} is over {MAX_IMAGE_BYTES // (1024 * 1024)} MiB"
                    )
    except httpx.HTTPError as exc:
        raise BadRequestError(f"Could not fetch image {url}: {type(exc).__name__}") from None
    return f"data:{kind};base64,{base64.b64encode(bytes(data)).decode('ascii')}"
