"""The service's one error shape.

Every error response (400, 404, 429, 500, 503) has the body::

    {"error": {"status": 400, "code": "bad_parameter", "message": "...", "parameter": "limit",
               "request_id": "5f1c0a9e2b7d4c3a"}}

``parameter`` is set when one request parameter is to blame, else null;
``request_id`` is the request's id (also in the ``X-Request-ID`` header and the
logs). Domain code raises :class:`~service.query_errors.InvalidParameter` (a
``ValueError``), answered as a 400 with this body. An unexpected exception is
logged with its traceback and that id; its body names only the id, never the
exception.
"""

from __future__ import annotations

import logging
from typing import Any, get_args

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, MethodNotAllowedException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from service.access import request_id
from service.query_errors import InvalidParameter

log = logging.getLogger("hashtag_index.service")

_CODES = {
    400: "bad_parameter",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "too_many_requests",
    500: "internal_error",
    503: "not_ready",
}


class ErrorBody(msgspec.Struct):
    status: int
    code: str
    message: str
    parameter: str | None = None
    request_id: str | None = None


class ErrorResponse(msgspec.Struct):
    error: ErrorBody


class ApiError(HTTPException):
    """An error meant for the client; ``parameter`` names the request parameter at fault."""

    def __init__(
        self,
        status_code: int,
        message: str,
        parameter: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.parameter = parameter


def error_response(
    status: int,
    message: str,
    parameter: str | None = None,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ErrorResponse]:
    code = _CODES.get(status, "error")
    body = ErrorResponse(ErrorBody(status, code, message, parameter, request_id))
    return Response(body, status_code=status, headers=headers)


def handle_invalid_parameter(
    request: Request[Any, Any, Any], exc: InvalidParameter
) -> Response[ErrorResponse]:
    """The domain's bad parameter as a 400, the same body as ``ApiError(400, ...)``."""
    return error_response(400, str(exc), exc.parameter, request_id(request.scope))


def handle_http_exception(
    request: Request[Any, Any, Any], exc: HTTPException
) -> Response[ErrorResponse]:
    rid = request_id(request.scope)
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.detail, exc.parameter, rid, exc.headers)
    if isinstance(exc, ValidationException):
        parameter = None
        message = exc.detail
        extra = exc.extra if isinstance(exc.extra, list) else []
        if extra and isinstance(extra[0], dict):
            parameter = extra[0].get("key")
            message = f"{parameter}: {extra[0].get('message', exc.detail)}"
            if message.startswith(f"{parameter}: Invalid enum value"):
                message += f"; valid values: {', '.join(_enum_values(request, parameter))}"
        return error_response(400, message, parameter, rid)
    if isinstance(exc, MethodNotAllowedException):
        allowed = [m.strip() for m in (exc.headers or {}).get("allow", "").split(",") if m]
        if "GET" in allowed and "HEAD" not in allowed:
            allowed.append("HEAD")  # answered as GET, without the body (service.access)
        allowed.sort()
        method = "HEAD" if request.scope.get("state", {}).get("head") else request.method
        message = f"{method} is not allowed here; allowed: {', '.join(allowed)}"
        return error_response(405, message, None, rid, {"Allow": ", ".join(allowed)})
    return error_response(exc.status_code, exc.detail, None, rid, exc.headers)


def _enum_values(request: Request[Any, Any, Any], name: str | None) -> list[str]:
    """The values a Literal-typed query parameter of the request's handler accepts."""
    for key, field in request.route_handler.parsed_fn_signature.parameters.items():
        alias = getattr(field.kwarg_definition, "name", None) or key
        if alias == name:
            return [str(v) for v in get_args(field.annotation)]
    return []


def handle_internal_error(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[ErrorResponse]:
    rid = request_id(request.scope)
    log.error(
        "unexpected error in %s %s (request_id=%s)",
        request.method,
        request.url.path,
        rid,
        exc_info=exc,
    )
    return error_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        f"internal error; quote request id {rid} when reporting it",
        None,
        rid,
    )
