"""API keys of remote providers per request: the caller's own (X-LlamaStack-Provider-Data, as
Llama Stack 0.7.3 names them) or the config's, set on each request and never kept on a client."""

from __future__ import annotations

from collections.abc import Callable, Generator

import httpx

from llama_workbench.core.errors import AuthenticationError


class KeyAuth(httpx.Auth):
    """Sets the headers `credentials()` gives when each request is sent (in the caller's
    context, so provider data of one request never reaches another)."""

    def __init__(self, credentials: Callable[[], dict[str, str]]) -> None:
        self._credentials = credentials

    def headers(self) -> dict[str, str]:
        """The headers of the request being sent now."""
        return self._credentials()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self.headers())
        yield request


def caller_key(field: str | None) -> str | None:
    """The current request's own key under `field` of its provider data, if it gave one."""
    if field is None:
        return None
    from llama_workbench.core.provider_data import provider_value

    return provider_value(field)


def missing_key_error(provider_id: str, field: str | None) -> AuthenticationError:
    from llama_workbench.core.provider_data import HEADER

    per_request = f', or pass one per request in the {HEADER} header as {{"{field}": ...}}'
    return AuthenticationError(
        f"Provider '{provider_id}' has no API key: set api_key in its config"
        + (per_request if field else "")
        + "."
    )


def caller_key_rejected(
    provider_id: str, field: str | None, status: int, message: str
) -> AuthenticationError:
    """A 401/403 for a key the caller gave is the caller's to fix (not a provider fault)."""
    return AuthenticationError(
        f"Provider '{provider_id}' rejected the {field} given in the request's provider data "
        f"({status}): {message}"
    )
