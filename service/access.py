"""What happens to every request before any route sees it and after it is answered: its
request id, its metrics and its access log line.

A ``HEAD`` request is answered as the ``GET`` of the same URL without the body, so
HEAD works wherever GET does.

The id is the client's ``X-Request-ID`` when that is a short token (letters,
digits, ``-``, ``_``, ``.``, ``:``; at most 64), else a new random one. It is kept in
``scope["state"]["request_id"]``, returned as ``X-Request-ID`` on every response
(unknown paths included) and written into every error body and log line about
the request, so a client's report can be matched with the server's logs.

Each answered request is counted (service.metrics) and, unless turned off,
logged as one JSON line on the ``hashtag_index.access`` logger (stderr)::

    {"ts": "2026-12-04T21:00:00.123456Z", "request_id": "5f1c0a9e2b7d4c3a",
     "method": "GET", "path": "/v1/trending", "query": "window=1h",
     "route": "/v1/trending", "status": 200, "duration_ms": 1.234, "bytes": 812,
     "generation": "20261101T120000Z-0001", "client": "10.0.0.7"}
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

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


access_log = logging.getLogger("hashtag_index.access")

Observe = Callable[[str, str, int, float], None]
"""Records one answered request: route, method, status, seconds."""


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def enable_access_log() -> None:
    """Access lines go to stderr as bare JSON, not through the root logger's format."""
    if not any(isinstance(h, _Stderr) for h in access_log.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


class RequestScope:
    """The outermost ASGI layer (around Litestar's router, so unknown paths and 405s
    are seen too): gives each HTTP request its id and stamps it on the response, answers
    HEAD as GET without the body, then counts the request and logs it."""

    def __init__(self, app: ASGIApp, observe: Observe | None = None, log: bool = False) -> None:
        self.app = app
        self.observe = observe
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope).encode()
        method = scope["method"]
        head = method == "HEAD"
        if head:  # answered as GET, without the body (headers, Content-Length included)
            scope["method"] = "GET"
            scope["state"]["head"] = True
        status = 500
        sent = 0
        generation = b""

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent, generation
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != REQUEST_ID_HEADER]
                message["headers"] = [*headers, (REQUEST_ID_HEADER, rid)]
                generation = next((v for k, v in headers if k == b"x-index-generation"), b"")
            elif message["type"] == "http.response.body":
                if head:
                    message["body"] = b""
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route(scope.get("path_template"))
            if self.observe is not None:
                self.observe(route, method, status, seconds)
            if self.log:
                client = scope.get("client")
                line = {
                    "ts": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                    "request_id": rid.decode(),
                    "method": method,
                    "path": scope["path"],
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "bytes": sent,
                    "generation": generation.decode("latin-1") or None,
                    "client": client[0] if client else None,
                }
                access_log.info(json.dumps(line, ensure_ascii=False))


_TYPED_PARAM = re.compile(r"\{(\w+):\w+\}")


def _route(path_template: str | None) -> str:
    """``/v1/hashtags/{tag:str}`` -> ``/v1/hashtags/{tag}``; no route -> ``unmatched``."""
    return "unmatched" if path_template is None else _TYPED_PARAM.sub(r"{\1}", path_template)
