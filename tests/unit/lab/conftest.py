"""A real jupyter_server with the extension loaded (pytest-jupyter's fixtures), called synchronously.

pytest-jupyter's own plugin also takes over every `async def` test, which would fight with
pytest-asyncio across the suite; so only its fixtures are brought in here, and the tests
drive `jp_fetch` on the server's loop through `fetch`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter import jupyter_core, jupyter_server, pytest_tornasync
from tornado.httpclient import HTTPClientError, HTTPResponse

for _module in (jupyter_core, pytest_tornasync, jupyter_server):
    for _name, _value in vars(_module).items():
        if _name.startswith(("jp_", "http_server", "io_loop", "echo_kernel")) and callable(_value):
            globals()[_name] = _value


@pytest.fixture
def jp_server_config() -> dict[str, Any]:  # replaces pytest-jupyter's default
    return {
        "ServerApp": {"jpserver_extensions": {"llama_workbench.lab": True}},
        # The server runs inside pytest: its environment is the suite's (test_kernel_config.py
        # turns this on, with the environment restored).
        "LlamaWorkbenchLab": {"share_config_with_kernels": False},
    }


class Answer:
    """Status and JSON body of a handler's answer (errors included, not raised)."""

    def __init__(self, code: int, text: str) -> None:
        self.code, self.text = code, text

    def json(self) -> Any:
        return json.loads(self.text)


Fetch = Callable[..., Answer]


@pytest.fixture
def fetch(jp_fetch: Any, jp_asyncio_loop: Any) -> Fetch:
    """fetch("config", method="PUT", body={...}, params={...}) -> Answer, for any status."""

    def call(*parts: str, body: Any = None, **kwargs: Any) -> Answer:
        if body is not None:
            kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
        kwargs.setdefault("allow_nonstandard_methods", kwargs.get("method") == "DELETE")
        try:
            response: HTTPResponse = jp_asyncio_loop.run_until_complete(
                jp_fetch("llama-workbench", *parts, **kwargs)
            )
        except HTTPClientError as exc:
            assert exc.response is not None, exc
            response = exc.response
        return Answer(response.code, response.body.decode("utf-8") if response.body else "")

    return call


@pytest.fixture
def root(jp_root_dir: Path) -> Path:
    """The server's root dir, where `run.yaml` (the default config) lives."""
    return Path(jp_root_dir)
