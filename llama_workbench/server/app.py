"""The FastAPI app: every enabled API's routes.py mounted over a Stack, one error translator."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from llama_workbench.core.errors import LlamaWorkbenchError, to_http
from llama_workbench.core.stack import Stack
from llama_workbench.server.middleware import GuardMiddleware
from llama_workbench.version import __version__

logger = logging.getLogger(__name__)


def create_app(stack: Stack) -> FastAPI:
    """An app serving `stack`; routes call its async face, so it may live on any event loop."""
    app = FastAPI(
        title="llama_workbench",
        version=__version__,
        description="Llama Stack-compatible REST API served by llama_workbench.",
    )
    app.state.stack = stack
    app.state.provider_types = stack.provider_types
    for api in stack.apis:
        module = _routes_module(api.value)
        if module is not None:
            app.include_router(module.create_router(getattr(stack.aio, api.value)))
    # Our errors are answers, handled inside the app; anything else is a bug: a 500 without
    # internals in the body, logged with its traceback on the server.
    app.add_exception_handler(LlamaWorkbenchError, _error)
    app.add_exception_handler(Exception, _error)
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_middleware(GuardMiddleware, config=stack.config.server)
    return app


def _routes_module(api: str) -> Any:
    try:
        return importlib.import_module(f"llama_workbench.apis.{api}.routes")
    except ModuleNotFoundError as exc:
        if (
            exc.name == f"llama_workbench.apis.{api}.routes"
            or exc.name == f"llama_workbench.apis.{api}"
        ):
            return None
        raise


async def _error(request: Request, exc: Exception) -> JSONResponse:
    status, body = to_http(exc)
    if status >= 500:
        logger.exception("%s %s failed", request.method, request.url.path)
    return JSONResponse(body, status_code=status)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    message = "Invalid request: " + "; ".join(problems)
    body = {
        "error": {"message": message, "type": "invalid_request_error", "code": 422},
        "detail": exc.errors(),
    }
    return JSONResponse(_jsonable(body), status_code=422)


def _jsonable(value: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value)


__all__ = ["create_app"]
