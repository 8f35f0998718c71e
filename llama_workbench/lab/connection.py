"""The panel's "test connection": the provider's own adapter asks its server for the models."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel

from llama_workbench.core.errors import (
    BadRequestError,
    LlamaWorkbenchError,
    ProviderUnavailableError,
)
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter, OpenAICompatConfig

# A connection test answers quickly or not at all: never wait the provider's full timeout.
MAX_TIMEOUT_S = 15.0
_PROVIDER_ID = "test-connection"


async def list_remote_models(config: BaseModel) -> dict[str, Any]:
    """GET {base_url}/models as the stack would (the same adapter, headers and key), once, with
    a short timeout: the model ids, or a readable error that never contains the key."""
    if not isinstance(config, OpenAICompatConfig):
        raise BadRequestError("Test connection needs an OpenAI-compatible provider with a base_url")
    url = config.base_url.rstrip("/") + "/models"
    quick = config.model_copy(
        update={
            "timeout_s": min(config.timeout_s, MAX_TIMEOUT_S),
            "connect_timeout_s": min(config.connect_timeout_s, MAX_TIMEOUT_S),
            "max_retries": 0,
            "discover_models": True,  # the point is to ask the server, whatever the config says
            "models": [],
        }
    )
    secret = config.api_key.get_secret_value() if config.api_key is not None else ""
    adapter = OpenAICompatAdapter(_PROVIDER_ID, quick)
    try:
        models = await adapter.list_provider_models()
    except ProviderUnavailableError as exc:
        return _failed(url, _unreachable(url, exc.__context__, quick.timeout_s), secret)
    except LlamaWorkbenchError as exc:
        text = exc.message.removeprefix(f"Provider '{_PROVIDER_ID}': ").replace(
            f"Provider '{_PROVIDER_ID}' said", "The server said"
        )
        return _failed(url, f"{url}: {text}", secret)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return _failed(url, f"Request to {url} failed: {type(exc).__name__}: {exc}", secret)
    finally:
        await adapter.shutdown()
    ids = [m.provider_model_id for m in models]
    return {"ok": True, "url": url, "models": ids, "message": f"{len(ids)} model(s)"}


def _unreachable(url: str, cause: BaseException | None, timeout_s: float) -> str:
    if isinstance(cause, httpx.TimeoutException) and not isinstance(cause, httpx.ConnectTimeout):
        return f"{url} did not answer within {timeout_s:g} s"
    return f"Could not connect to {url} (is the server running?)"


def _failed(url: str, message: str, secret: str) -> dict[str, Any]:
    # Some servers echo the key they refused; it must not reach the browser.
    shown = message.replace(secret, "********") if secret else message
    return {"ok": False, "url": url, "models": [], "message": shown}
