"""The FastAPI app: every enabled API's routes.py mounted over a Stack, one error translator."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from llama_workbench.core.errors import LlamaWorkbenchError, NotFoundError, to_http
from llama_workbench.core.stack import Stack
from llama_workbench.server.middleware import GuardMiddleware, TraceContextMiddleware
from llama_workbench.version import __version__

logger = logging.getLogger(__name__)


def create_app(stack: Stack, *, authenticate: bool = True) -> FastAPI:
    """An app serving `stack`; routes call its async face, so it may live on any event loop.

    `authenticate=False` leaves authentication, route policies and quotas out (the in-process
    clients: calls run as library mode's local principal); body-size and concurrency limits
    still apply.
    """
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
            app.include_router(
                module.create_router(getattr(stack.aio, api.value)), responses=ERROR_RESPONSES
            )
    # Our errors are answers, handled inside the app; anything else is a bug: a 500 without
    # internals in the body, logged with its traceback on the server.
    app.add_exception_handler(LlamaWorkbenchError, _error)
    app.add_exception_handler(Exception, _error)
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    if stack.config.telemetry.enabled:
        app.add_middleware(TraceContextMiddleware)
    server = stack.config.server
    if not authenticate:
        server = server.model_copy(update={"auth": None, "quota": None})
    app.add_middleware(GuardMiddleware, config=server)
    cors = stack.config.server.cors_config()
    if cors is not None:  # outermost: preflights need no token, and errors get the headers too
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, **cors.model_dump())
    return app


class ErrorBody(BaseModel):
    message: str
    type: str
    code: int
    param: str | None = None
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    """Every error: OpenAI's `error` object, plus `detail` as Llama Stack's clients read it."""

    error: ErrorBody
    detail: Any = None


_ERRORS = {
    400: "Invalid request (bad or missing parameters, malformed ids).",
    401: "Missing or invalid bearer token.",
    403: "Forbidden.",
    404: "Unknown model or resource.",
    409: "Conflict.",
    413: "Request body too large.",
    429: "Too many requests.",
    500: "Server bug.",
    502: "The provider answered with an error.",
    503: "The provider is unreachable.",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text} for status, text in _ERRORS.items()
}


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
    if isinstance(exc, NotFoundError) and request.url.path.startswith("/v1/vector_stores"):
        # Llama Stack 0.7.3 answers every not-found under /v1/vector_stores with a 400 (its
        # OpenAI-compatible vector store routes do), and its clients expect BadRequestError.
        status = body["error"]["code"] = 400
    return JSONResponse(body, status_code=status)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    # Routing-level answers (no such path, wrong method) in the same error shape as the rest.
    body = {
        "error": {"message": str(exc.detail), "type": "http_error", "code": exc.status_code},
        "detail": exc.detail,
    }
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A 400, as Llama Stack 0.7.3 and OpenAI answer it: `error.message` names each field,
    `error.param` the first one, `detail.errors` lists them as 0.7.3's translator does."""
    errors = [
        {
            "loc": list(e.get("loc", ())),
            "msg": e.get("msg", "Validation error"),
            "type": e.get("type", "unknown"),
        }
        for e in exc.errors()
    ]
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors]
    first = errors[0]["loc"] if errors else []
    field = first[1:] if first and first[0] in ("body", "query", "path", "header") else first
    error = {
        "message": "Invalid request: " + "; ".join(problems),
        "type": "invalid_request_error",
        "code": 400,
        "param": ".".join(str(p) for p in field) or None,
    }
    return JSONResponse(_jsonable({"error": error, "detail": {"errors": errors}}), status_code=400)


def _jsonable(value: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value)


__all__ = ["create_app"]
