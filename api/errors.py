"""One JSON error shape everywhere: {"error": {"code", "message", "field"?, ...}}."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from nexus_core.models import allowed_values

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 409: "conflict", 413: "body_too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "rate_limited", 500: "internal_error", 503: "unavailable",
}
_HEADER_NAMES = {"idempotency-key": "Idempotency-Key", "authorization": "Authorization"}


class ApiError(Exception):
    """Raised by routes and services; rendered as the error shape with its status and headers."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})
        self.extra = extra


def error_body(code: str, message: str, *, field: str | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    error.update(extra)
    return {"error": error}


def not_found(what: str = "video") -> ApiError:
    return ApiError(404, "not_found", f"no such {what}")


def _field_of(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where, parts = parts[0], parts[1:]
        if where == "header" and parts:
            parts[0] = _HEADER_NAMES.get(parts[0].lower(), parts[0])
    return ".".join(parts) or "body"


def _validation_details(exc: RequestValidationError) -> list[dict[str, str]]:
    details: list[dict[str, str]] = []
    for err in exc.errors():
        field = _field_of(err.get("loc", ()))
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        allowed = allowed_values(field)
        if allowed and not any(v in message for v in allowed):
            message = f"{message} (allowed: {', '.join(allowed)})"
        details.append({"field": field, "message": message})
    return details or [{"field": "body", "message": "invalid request"}]


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    body = error_body(exc.code, exc.message, field=exc.field, **exc.extra)
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    message = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    body = error_body("validation_error", message, field=details[0]["field"], details=details)
    return JSONResponse(body, status_code=422)


DATABASE_RETRY_AFTER_S = 5  # the pool reconnects on its own; a client tries again after this


def database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached (down, restarting, connection lost, pool exhausted), as opposed to
    a query it refused."""
    if isinstance(exc, OperationalError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if not database_unavailable(exc):
        return await _unexpected(request, exc)
    cause = getattr(exc, "orig", None) or exc
    log.warning("database unavailable on %s %s: %s: %s", request.method, request.url.path, type(cause).__name__,
                (str(cause).splitlines() or [""])[0])
    return JSONResponse(error_body("database_unavailable", "the database is unavailable; try again shortly",
                                   retry_after_s=DATABASE_RETRY_AFTER_S),
                        status_code=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body("internal_error", "something went wrong on our side"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeout, _database_error)
    app.add_exception_handler(Exception, _unexpected)
