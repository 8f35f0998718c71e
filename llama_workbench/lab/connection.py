"""The panel's "test connection": ask an OpenAI-compatible server for its models."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, SecretStr

from llama_workbench.core.errors import BadRequestError

# A connection test answers quickly or not at all: never wait the provider's full timeout.
MAX_TIMEOUT_S = 15.0


async def list_remote_models(config: BaseModel) -> dict[str, Any]:
    """GET {base_url}/models with the provider's API key; the model ids or a readable error.

    The answer never contains the key: errors are described from the status and the server's
    own message.
    """
    base_url = getattr(config, "base_url", None)
    if not isinstance(base_url, str) or not base_url:
        raise BadRequestError("Test connection needs an OpenAI-compatible provider with a base_url")
    url = base_url.rstrip("/") + "/models"
    headers = dict(getattr(config, "extra_headers", None) or {})
    key = getattr(config, "api_key", None)
    secret = key.get_secret_value() if isinstance(key, SecretStr) else key
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    timeout = httpx.Timeout(
        min(float(getattr(config, "timeout_s", MAX_TIMEOUT_S)), MAX_TIMEOUT_S),
        connect=min(float(getattr(config, "connect_timeout_s", 5.0)), MAX_TIMEOUT_S),
    )
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            response = await client.get(url, headers=headers)
    except httpx.InvalidURL as exc:
        return _failed(url, f"'{base_url}' is not a valid URL ({exc})")
    except httpx.ConnectError:
        return _failed(url, f"Could not connect to {url} (is the server running?)")
    except httpx.TimeoutException:
        return _failed(url, f"{url} did not answer within {timeout.read:g} s")
    except httpx.HTTPError as exc:
        return _failed(url, f"Request to {url} failed: {type(exc).__name__}")
    if response.status_code >= 400:
        what = {401: "the API key was refused", 403: "access was denied", 404: "no /models here"}
        reason = what.get(response.status_code, response.reason_phrase)
        detail = _server_message(response, secret)
        return _failed(
            url,
            f"{url} answered {response.status_code} ({reason})" + (f": {detail}" if detail else ""),
        )
    try:
        payload = response.json()
    except ValueError:
        return _failed(url, f"{url} did not answer JSON (is the base URL right? it ends in /v1)")
    # OpenAI wraps the list in {"data": [...]}; some servers answer a bare list.
    items = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        return _failed(url, f"{url} answered JSON without a model list")
    models = [str(m.get("id")) for m in items if isinstance(m, dict) and m.get("id")]
    return {"ok": True, "url": url, "models": models, "message": f"{len(models)} model(s)"}


def _failed(url: str, message: str) -> dict[str, Any]:
    return {"ok": False, "url": url, "models": [], "message": message}


def _server_message(response: httpx.Response, secret: str | None) -> str:
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        text = error.get("message") if isinstance(error, dict) else (error or body.get("detail"))
        text = str(text or "")
    except (ValueError, AttributeError):
        text = response.text
    text = text.strip()[:300]
    # Some servers echo the key they refused; it must not reach the browser.
    return text.replace(secret, "********") if secret else text
