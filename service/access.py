"""What happens to every request before any route sees it: its request id.

A ``HEAD`` request is answered as the ``GET`` of the same URL without the body, so
HEAD works wherever GET does.

The id is the client's ``X-Request-ID`` when that is a short token (letters,
digits, ``-``, ``_``, ``.``, ``:``; at most 64), else a new random one. It is kept in
``scope["state"]["request_id"]``, returned as ``X-Request-ID`` on every response
(unknown paths included) and written into every error body and log line about
the request, so a client's report can be matched with the server's logs.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-request-id"
_CLIENT_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


def request_id(scope: Any) -> str:
    """The request's id (made on first use, so every request has exactly one)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    found = state.get("request_id")
    if found is None:
        found = state["request_id"] = _incoming(scope) or secrets.token_hex(8)
    return str(found)


def _incoming(scope: Any) -> str | None:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER and _CLIENT_ID.match(value):
            return str(value.decode("ascii"))
    return None


class RequestScope:
    """The outermost ASGI layer (around Litestar's router, so unknown paths and 405s
    are seen too): gives each HTTP request its id and stamps it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        rid = request_id(scope).encode()
        head = scope["method"] == "HEAD"
        if head:  # answered as GET, without the body (headers, Content-Length included)
            scope["method"] = "GET"
            scope["state"]["head"] = True

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != REQUEST_ID_HEADER]
                message["headers"] = [*headers, (REQUEST_ID_HEADER, rid)]
            elif head and message["type"] == "http.response.body":
                message["body"] = b""
            await send(message)

        await self.app(scope, receive, send_with_id)
