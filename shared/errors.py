"""The one error type and the envelope every service answers with.

`{"error": {"code": "...", "message": "...", ...extra}}` with the right status.
Expected failures raise `ServiceError` subclasses; nothing expected is a 500.
"""

from __future__ import annotations

from concurrent.futures.process import BrokenProcessPool
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger("errors")


class ServiceError(Exception):
    status_code = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.headers = headers
        self.extra = extra
        super().__init__(self.message)


class BadRequest(ServiceError):
    pass


class Unauthorized(ServiceError):
    status_code = 401
    code = "unauthorized"
    message = "Authentication is required."


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"
    message = "You are not allowed to do this."


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"
    message = "The request conflicts with existing data."


class Unprocessable(ServiceError):
    status_code = 422
    code = "validation_error"
    message = "The request is not valid."


class PayloadTooLarge(ServiceError):
    status_code = 413
    code = "payload_too_large"
    message = "The request is too large."


class ServiceUnavailable(ServiceError):
    status_code = 503
    code = "unavailable"
    message = "A dependency is unavailable; try again shortly."


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorEnvelope(BaseModel):
    """The shape of every error response."""

    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the error statuses an endpoint can return."""
    return {status: {"model": ErrorEnvelope} for status in statuses}


def envelope(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(
            envelope(exc.code, exc.message, **exc.extra),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": _field_path(tuple(err.get("loc", ()))), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        first = fields[0] if fields else {"field": "", "message": "invalid"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return JSONResponse(envelope("validation_error", message, fields=fields), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's own 400 is a body it could not decode (bad UTF-8, broken form data);
            # answer it like a body that is not valid JSON: the declared 422.
            message = "body: the request body could not be parsed"
            fields = [{"field": "body", "message": "could not be parsed"}]
            return JSONResponse(envelope("validation_error", message, fields=fields), 422)
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        code = codes.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        return JSONResponse(
            envelope(code, message), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(BrokenProcessPool)  # password hashing processes die as they start
    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def _dependency_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("dependency_unavailable", path=request.url.path, error=type(exc).__name__)
        err = ServiceUnavailable()
        return JSONResponse(
            envelope(err.code, err.message), status_code=503, headers={"Retry-After": "2"}
        )

    @app.exception_handler(DBAPIError)
    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path, error=type(exc).__name__)
        return JSONResponse(
            envelope("internal_error", "An unexpected error occurred."), status_code=500
        )
