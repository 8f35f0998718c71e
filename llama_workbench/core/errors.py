"""The one error tree of llama_workbench, with an HTTP status per class and one translator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar


class LlamaWorkbenchError(Exception):
    """Base of every error the package raises on purpose; `status_code` maps it to HTTP."""

    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return self.message


class ConfigError(LlamaWorkbenchError):
    """A run config (or a value in it) is invalid; raised at load, never at first use."""

    status_code = 400
    error_type = "config_error"


class BadRequestError(LlamaWorkbenchError):
    """The request is malformed or asks for something impossible."""

    status_code = 400
    error_type = "invalid_request_error"


class AuthenticationError(LlamaWorkbenchError):
    """Missing or wrong credentials."""

    status_code = 401
    error_type = "authentication_error"


class PermissionDeniedError(LlamaWorkbenchError):
    """Authenticated, but not allowed to do this."""

    status_code = 403
    error_type = "permission_denied"


class NotFoundError(LlamaWorkbenchError):
    """A resource (model, shield, vector store, ...) does not exist; the message lists what does.

    Worded as Llama Stack words it (`Model 'x' not found.`, `... not found in <parent>.`, `Use
    'client.files.list()' to list available Files.`), plus the ids that do exist when known.
    """

    status_code = 404
    error_type = "not_found"

    def __init__(
        self,
        kind: str,
        identifier: str,
        available: Iterable[str] | None = None,
        *,
        hint: str = "",
        parent: str = "",
        list_command: str = "",
        plural: str = "",
    ) -> None:
        names = sorted(available) if available is not None else []
        shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
        where = f" in {parent}" if parent else ""
        message = f"{kind} '{identifier}' not found{where}."
        if available is not None:
            message += f" Available: {shown}." if names else f" No {kind}s are registered."
        if list_command:
            message += f" Use 'client.{list_command}' to list available {plural or kind + 's'}."
        if hint:
            message += f" {hint}"
        super().__init__(message, details={"kind": kind, "id": identifier, "available": names})
        self.kind = kind
        self.identifier = identifier
        self.available = names


class ConflictError(LlamaWorkbenchError):
    """The resource already exists or is in a state that forbids the change."""

    status_code = 409
    error_type = "conflict"


class PayloadTooLargeError(LlamaWorkbenchError):
    """An upload or request body is over the configured limit."""

    status_code = 413
    error_type = "payload_too_large"


class UnprocessableError(LlamaWorkbenchError):
    """The request is well-formed but fails validation (or asks what the model can't give).

    A 400, as Llama Stack and OpenAI answer every invalid request; never a 422.
    """

    status_code = 400
    error_type = "invalid_request_error"


class RateLimitError(LlamaWorkbenchError):
    """Too many requests, here or at the provider."""

    status_code = 429
    error_type = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, details={"retry_after": retry_after} if retry_after else None)
        self.retry_after = retry_after


class ProviderError(LlamaWorkbenchError):
    """A provider answered with an error; the provider's own message is kept."""

    status_code = 502
    error_type = "provider_error"

    def __init__(
        self, provider_id: str, message: str, *, upstream_status: int | None = None
    ) -> None:
        super().__init__(
            f"Provider '{provider_id}': {message}",
            details={"provider_id": provider_id, "upstream_status": upstream_status},
        )
        self.provider_id = provider_id
        self.upstream_status = upstream_status


class ProviderUnavailableError(ProviderError):
    """A provider could not be reached (connection refused, timeout, DNS)."""

    status_code = 503
    error_type = "provider_unavailable"


class EngineUnavailableError(LlamaWorkbenchError):
    """The execution engine (a Ray cluster) could not be reached; the message says what was tried."""

    status_code = 503
    error_type = "engine_unavailable"

    def __init__(self, message: str, *, address: str | None = None) -> None:
        super().__init__(message, details={"address": address})
        self.address = address


class MissingDependencyError(LlamaWorkbenchError):
    """An optional package a provider needs is not installed; the message has the pip command."""

    status_code = 500
    error_type = "missing_dependency"

    def __init__(self, package: str, extra: str | None = None, *, needed_by: str = "") -> None:
        target = f"llama-workbench[{extra}]" if extra else package
        who = f" (needed by {needed_by})" if needed_by else ""
        super().__init__(
            f"The package '{package}' is not installed{who}. Install it with: pip install '{target}'",
            details={"package": package, "extra": extra},
        )
        self.package = package
        self.extra = extra


class ResolverError(ConfigError):
    """The providers of a config can't be assembled (cycle, missing API, protocol mismatch)."""

    error_type = "resolver_error"


class StorageError(LlamaWorkbenchError):
    """A storage backend failed; the message names the backend, never its credentials."""

    status_code = 500
    error_type = "storage_error"


class MissingRecordingError(LlamaWorkbenchError):
    """Replay mode met a request that was never recorded; the message names the request."""

    status_code = 500
    error_type = "missing_recording"


class CancelledError(LlamaWorkbenchError):
    """The work was cancelled by the caller."""

    status_code = 499
    error_type = "cancelled"


def to_http(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """Translate any exception into (status, JSON body) in the shape the OpenAI SDKs parse.

    Unknown exceptions become a 500 with a generic message: their text may hold internals.
    """
    if isinstance(exc, LlamaWorkbenchError):
        body = {"message": exc.message, "type": exc.error_type, "code": exc.status_code}
        if exc.details:
            body["details"] = _jsonable(exc.details)
        return exc.status_code, {"error": body, "detail": exc.message}
    message = "Internal server error: the failure was logged on the server."
    return 500, {
        "error": {"message": message, "type": "internal_error", "code": 500},
        "detail": message,
    }


def error_line(exc: BaseException) -> str:
    """One readable line for a notebook or a CLI: the class name and the message."""
    text = exc.message if isinstance(exc, LlamaWorkbenchError) else str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
