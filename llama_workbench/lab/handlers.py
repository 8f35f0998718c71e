"""jupyter_server handlers under /llama-workbench/: the run config, providers, connection tests."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from llama_workbench.core.errors import BadRequestError, LlamaWorkbenchError
from llama_workbench.lab import service
from llama_workbench.lab.connection import list_remote_models
from llama_workbench.lab.kernels import SETTING, share_with_kernels
from llama_workbench.lab.overview import (
    as_model,
    catalogue,
    check_config,
    check_provider_config,
    provider_spec,
)
from llama_workbench.lab.store import ConfigFile, read_raw, resolve_config_path, unmask

# One writer at a time: edits are read-modify-write of the whole file.
_write_lock = asyncio.Lock()


def _answer_errors(
    method: Callable[..., Awaitable[None]],
) -> Callable[..., Awaitable[None]]:
    """Our errors become JSON {message, type, problems} with their status (no traceback logged)."""

    @functools.wraps(method)
    async def wrapper(self: _Handler, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except LlamaWorkbenchError as exc:
            self.set_status(exc.status_code)
            body: dict[str, Any] = {"message": exc.message, "type": exc.error_type}
            if "problems" in exc.details:
                body["problems"] = exc.details["problems"]
            self.finish(body)

    return wrapper


class _Handler(APIHandler):
    """Shared parts: the server's root dir, JSON bodies, the config file a request names."""

    @property
    def root_dir(self) -> Path:
        return Path(self.settings.get("server_root_dir") or ".").expanduser()

    def body(self) -> dict[str, Any]:
        try:
            data = self.get_json_body()
        except tornado.web.HTTPError:
            raise BadRequestError("The request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequestError("The request body must be a JSON object")
        return data

    def config_file(self, path: Any) -> ConfigFile:
        if path is not None and not isinstance(path, str):
            raise BadRequestError("'path' must be a string")
        return resolve_config_path(path, self.root_dir)

    def written(self, file: ConfigFile, state: dict[str, Any]) -> dict[str, Any]:
        """After a save: kernels started from now on use this file (unless the user chose one)."""
        share_with_kernels(file.path, bool(self.settings.get(SETTING, True)))
        return state

    @staticmethod
    def revision(body: dict[str, Any]) -> str | None:
        value = body.get("revision")
        if value is not None and not isinstance(value, str):
            raise BadRequestError("'revision' must be the string the panel got with the config")
        return value


class ConfigHandler(_Handler):
    """GET: the config's state (APIs, providers, resources, problems); PUT: save a whole config."""

    @tornado.web.authenticated
    @_answer_errors
    async def get(self) -> None:
        file = self.config_file(self.get_query_argument("path", None))
        self.finish(service.config_state(file))

    @tornado.web.authenticated
    @_answer_errors
    async def put(self) -> None:
        body = self.body()
        file = self.config_file(body.get("path"))
        async with _write_lock:
            state = service.save_config(file, body.get("config"), self.revision(body))
        self.finish(self.written(file, state))


class ValidateHandler(_Handler):
    """POST {path?, config}: problems by loc, without saving."""

    @tornado.web.authenticated
    @_answer_errors
    async def post(self) -> None:
        body = self.body()
        config = body.get("config")
        if not isinstance(config, dict):
            raise BadRequestError("'config' must be a mapping (apis, providers, ...)")
        raw, _ = read_raw(self.config_file(body.get("path")))
        checked = check_config(service.unmask_config(config, raw or {}))
        self.finish(
            {
                "valid": checked.valid,
                "problems": [p.as_json() for p in checked.problems],
                "warnings": checked.warnings,
            }
        )


class DistributionHandler(_Handler):
    """POST {path, distribution}: start the config file from a bundled distribution."""

    @tornado.web.authenticated
    @_answer_errors
    async def post(self) -> None:
        body = self.body()
        file = self.config_file(body.get("path"))
        async with _write_lock:
            state = service.from_distribution(file, body.get("distribution"), self.revision(body))
        self.finish(self.written(file, state))


class ConfigProvidersHandler(_Handler):
    """POST: add a provider; PUT: edit one; DELETE: remove one. Each saves the file."""

    @tornado.web.authenticated
    @_answer_errors
    async def post(self, api: str, provider_id: str | None = None) -> None:
        if provider_id:
            raise BadRequestError("POST adds a provider: send it to /config/providers/<api>")
        body = self.body()
        file = self.config_file(body.get("path"))
        async with _write_lock:
            state = service.add_provider(file, api, body, self.revision(body))
        self.set_status(201)
        self.finish(self.written(file, state))

    @tornado.web.authenticated
    @_answer_errors
    async def put(self, api: str, provider_id: str | None = None) -> None:
        if not provider_id:
            raise BadRequestError("PUT edits a provider: /config/providers/<api>/<provider_id>")
        body = self.body()
        file = self.config_file(body.get("path"))
        async with _write_lock:
            state = service.edit_provider(file, api, provider_id, body, self.revision(body))
        self.finish(self.written(file, state))

    @tornado.web.authenticated
    @_answer_errors
    async def delete(self, api: str, provider_id: str | None = None) -> None:
        if not provider_id:
            raise BadRequestError("DELETE removes a provider: /config/providers/<api>/<id>")
        file = self.config_file(self.get_query_argument("path", None))
        revision = self.get_query_argument("revision", None)
        async with _write_lock:
            state = service.remove_provider(file, api, provider_id, revision)
        self.finish(self.written(file, state))


class CatalogueHandler(_Handler):
    """GET [?api=]: every provider type with its description and config JSON schema."""

    @tornado.web.authenticated
    @_answer_errors
    async def get(self) -> None:
        api = self.get_query_argument("api", None) or None
        try:
            entries = catalogue(api)
        except ValueError:
            raise BadRequestError(f"Unknown API '{api}'") from None
        self.finish({"providers": entries})


class ProviderCheckHandler(_Handler):
    """POST validate|test {api, provider_type, config, path?, provider_id?}."""

    @tornado.web.authenticated
    @_answer_errors
    async def post(self, action: str) -> None:
        body = self.body()
        api = body.get("api")
        if not isinstance(api, str):
            raise BadRequestError("'api' is required, e.g. 'inference'")
        _, provider_type, config = service.provider_body({"provider_id": "-", **body})
        spec = provider_spec(api, provider_type)
        stored = service.stored_provider_config(
            self.config_file(body.get("path")), api, body.get("provider_id")
        )
        config = unmask(config, stored, ("config",))
        if action == "validate":
            checked = check_provider_config(spec, config)
            self.finish(
                {
                    "valid": checked.valid,
                    "problems": [p.as_json() for p in checked.problems],
                    "warnings": checked.warnings,
                }
            )
            return
        self.finish(await list_remote_models(as_model(spec, config)))


def setup_handlers(web_app: Any) -> None:
    """Register the handlers under the server's base URL."""
    base = url_path_join(web_app.settings["base_url"], "llama-workbench")
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "config"), ConfigHandler),
            (url_path_join(base, "config", "validate"), ValidateHandler),
            (url_path_join(base, "config", "distribution"), DistributionHandler),
            (
                url_path_join(base, "config", "providers", r"([\w-]+)/?([^/]*)"),
                ConfigProvidersHandler,
            ),
            (url_path_join(base, "providers"), CatalogueHandler),
            (url_path_join(base, "providers", "(validate|test)"), ProviderCheckHandler),
        ],
    )
