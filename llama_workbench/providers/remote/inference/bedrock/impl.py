"""remote::bedrock: the OpenAI-compatible adapter with Bedrock's two ways to authenticate."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from llama_workbench.core.errors import AuthenticationError, MissingDependencyError
from llama_workbench.providers.remote.inference.bedrock.config import BedrockConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter

# Headers signed besides the x-amz-* ones botocore adds: what no transport rewrites.
_SIGNED = ("host", "content-type")


class _AwsCredentials:
    """The AWS credential chain, resolved once (off the event loop: it may ask the instance
    metadata service), then refreshed by botocore itself when the credentials expire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._resolved = False
        self._credentials: Any = None

    def frozen(self) -> Any:
        """Current (access key, secret, token), or None when the chain has none."""
        with self._lock:
            if not self._resolved:
                try:
                    import botocore.session
                except ModuleNotFoundError:
                    raise MissingDependencyError(
                        "botocore", "bedrock", needed_by="remote::bedrock (SigV4 signing)"
                    ) from None
                self._credentials = botocore.session.get_session().get_credentials()
                self._resolved = True
        return None if self._credentials is None else self._credentials.get_frozen_credentials()


class _BedrockAuth(httpx.Auth):
    """A Bedrock API key as a bearer token when there is one (the request's, else api_key);
    otherwise a SigV4 signature of the request with the AWS credential chain."""

    requires_request_body = True

    def __init__(self, adapter: BedrockAdapter) -> None:
        self._adapter = adapter

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        key, _ = self._adapter._api_key()
        if key is not None:
            request.headers["Authorization"] = f"Bearer {key}"
        else:
            credentials = await asyncio.to_thread(self._adapter.aws.frozen)
            if credentials is None:
                raise AuthenticationError(
                    f"Provider '{self._adapter.provider_id}' has no credentials: set api_key to "
                    "a Bedrock API key (the starter config reads AWS_BEARER_TOKEN_BEDROCK), pass "
                    'one per request in X-LlamaStack-Provider-Data as {"aws_bearer_token_bedrock":'
                    " ...}, or give AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                    "~/.aws, an instance role) to sign requests with SigV4."
                )
            sign(request, credentials, self._adapter.config)
        yield request


def sign(request: httpx.Request, credentials: Any, config: BedrockConfig) -> None:
    """Add SigV4's Authorization, X-Amz-Date (and X-Amz-Security-Token) to `request`."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    headers = {name: request.headers[name] for name in _SIGNED if name in request.headers}
    aws = AWSRequest(method=request.method, url=str(request.url), data=request.content)
    for name, value in headers.items():
        aws.headers[name] = value
    SigV4Auth(credentials, config.signing_service, config.region_name).add_auth(aws)
    for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
        if name in aws.headers:
            request.headers[name] = aws.headers[name]


class BedrockAdapter(OpenAICompatAdapter):
    """Chat completions (plain, streamed, tool calls) and model listing on Bedrock's
    OpenAI-compatible endpoint; text completions and embeddings are refused, as 0.7.3 does."""

    config: BedrockConfig

    def __init__(self, provider_id: str, config: BedrockConfig) -> None:
        super().__init__(provider_id, config)
        self.aws = _AwsCredentials()

    def _auth(self) -> httpx.Auth:
        return _BedrockAuth(self)
