"""The service's one error shape.

Every error response (400, 404, 429, 500, 503) has the body::

    {"error": {"status": 400, "code": "bad_parameter", "message": "...", "parameter": "limit"}}

``parameter`` is set when one request parameter is to blame, else null.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

_CODES = {
    400: "bad_parameter",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "too_many_requests",
    500: "internal_error",
    503: "not_ready",
}


class ErrorBody(msgspec.Struct):
    status: int
    code: str
    message: str
    parameter: str | None = None


class ErrorResponse(msgspec.Struct):
    error: ErrorBody


class ApiError(HTTPException):
    """An error meant for the client; ``parameter`` names the request parameter at fault."""

    def __init__(self, status_code: int, message: str, parameter: str | None = None) -> None:
        super().__init__(status_code=status_code, detail=message)
        self.parameter = parameter


def error_response(
    status: int, message: str, parameter: str | None = None
) -> Response[ErrorResponse]:
    body = ErrorResponse(ErrorBody(status, _CODES.get(status, "error"), message, parameter))
    return Response(body, status_code=status)


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorResponse]:
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.detail, exc.parameter)
    if isinstance(exc, ValidationException):
        parameter = None
        message = exc.detail
        extra = exc.extra if isinstance(exc.extra, list) else []
        if extra and isinstance(extra[0], dict):
            parameter = extra[0].get("key")
            message = f"{parameter}: {extra[0].get('message', exc.detail)}"
        return error_response(400, message, parameter)
    return error_response(exc.status_code, exc.detail)


def handle_internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[ErrorResponse]:
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, f"internal error: {type(exc).__name__}")
