"""The Litestar application: ``create_app(settings)``."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from service.access import RequestScope, enable_access_log
from service.admin import Jobs
from service.delivery import Deliverer
from service.errors import handle_http_exception, handle_internal_error, handle_invalid_parameter
from service.generation import GenerationStore
from service.keys import CursorKey
from service.limits import FailedAttempts, rate_limit_config
from service.metrics import Metrics
from service.pages import pages_router, static_router, template_config
from service.params import reject_unknown_parameters
from service.query_errors import InvalidParameter
from service.routes import ROUTES
from service.settings import Settings
from service.webhooks import load_subscriptions

GENERATION_HEADER = b"x-index-generation"
REDOC_JS = "/static/vendor/redoc/redoc.standalone.js"
"""The API docs' viewer (Redoc, MIT; see service/static/LICENSES.txt), served by this app:
/schema works offline."""


def etag_for(generation: str, path: str, query: bytes) -> str:
    """Responses depend only on the generation and the request: hash them."""
    digest = hashlib.blake2b(path.encode() + b"?" + query, digest_size=10).hexdigest()
    return f'"{generation}-{digest}"'


class GenerationMiddleware(ASGIMiddleware):
    """Pins one generation per request (``scope["state"]["generation"]``), stamps the
    response with it (``X-Index-Generation``) and, for GET ``/v1`` requests, an ``ETag``;
    a matching ``If-None-Match`` is answered 304 without running the handler. Admin
    responses change without a new generation: they get no ETag."""

    def __init__(self, store: GenerationStore) -> None:
        self.store = store

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        gen = self.store.current
        scope.setdefault("state", {})["generation"] = gen
        if gen is None:
            await next_app(scope, receive, send)
            return
        extra = [(GENERATION_HEADER, gen.id.encode())]
        path = scope["path"]
        if (
            scope.get("method") == "GET"
            and path.startswith("/v1/")
            and not path.startswith("/v1/admin/")
        ):
            etag = etag_for(gen.id, scope["path"], scope.get("query_string", b""))
            extra.append((b"etag", etag.encode()))
            for name, value in scope["headers"]:
                if name == b"if-none-match" and etag in value.decode("latin-1"):
                    start: HTTPResponseStartEvent = {
                        "type": "http.response.start",
                        "status": 304,
                        "headers": extra,
                    }
                    await send(start)
                    body: HTTPResponseBodyEvent = {
                        "type": "http.response.body",
                        "body": b"",
                        "more_body": False,
                    }
                    await send(body)
                    return

        async def send_stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != GENERATION_HEADER]
                headers += extra if status < 300 else extra[:1]
                message["headers"] = headers
            await send(message)

        await next_app(scope, receive, send_stamped)


def create_app(settings: Settings) -> Litestar:
    store = GenerationStore(settings.index_dir)
    store.refresh()
    jobs = Jobs(settings.index_dir, settings.inbox_dir, settings.reindex_timeout)
    metrics = Metrics(store, jobs)
    if settings.access_log:
        enable_access_log()
    limit = rate_limit_config(settings.rate_limit)
    deliverer = _deliverer(settings, store)
    app = Litestar(
        route_handlers=[
            Router("/", route_handlers=ROUTES, before_request=reject_unknown_parameters),
            pages_router(),
            static_router(),
        ],
        template_config=template_config(),
        state=State(
            {
                "store": store,
                "settings": settings,
                "jobs": jobs,
                "metrics": metrics,
                "admin_failures": FailedAttempts(),
                "cursor_key": CursorKey(settings),
                "deliverer": deliverer,
            }
        ),
        lifespan=[_background(settings, store, deliverer)],
        middleware=[GenerationMiddleware(store)] + ([limit.middleware] if limit else []),
        before_send=[_stamp_unrouted(store)],
        exception_handlers={
            HTTPException: handle_http_exception,
            InvalidParameter: handle_invalid_parameter,
            Exception: handle_internal_error,
        },
        openapi_config=_openapi_config(),
    )
    # outermost, around the router: unknown paths and 405s get a request id too
    app.asgi_handler = RequestScope(app.asgi_handler, metrics.observe, settings.access_log)
    return app


def _deliverer(settings: Settings, store: GenerationStore) -> Deliverer | None:
    """The webhooks' deliverer, if subscribers are configured."""
    if settings.webhooks is None:
        return None
    return Deliverer(
        settings.index_dir,
        store,
        load_subscriptions(settings.webhooks),
        retry_seconds=settings.webhook_retry_seconds,
        timeout=settings.webhook_timeout,
        tick=min(1.0, settings.reload_seconds),
    )


def _background(
    settings: Settings, store: GenerationStore, deliverer: Deliverer | None
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """The app's lifespan: look for new generations every ``reload_seconds`` and run the
    deliverer, while the app runs."""

    @contextlib.asynccontextmanager
    async def watch_generations(_: Litestar) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(settings.reload_seconds)
                await asyncio.to_thread(store.refresh)

        task = asyncio.create_task(loop())
        if deliverer is not None:
            deliverer.start()
        try:
            yield
        finally:
            if deliverer is not None:
                await asyncio.to_thread(deliverer.stop)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return watch_generations


def _stamp_unrouted(store: GenerationStore) -> Callable[[Message, Scope], Awaitable[None]]:
    async def stamp_unrouted(message: Message, scope: Scope) -> None:
        """Responses the middleware never sees (unknown paths) still name the generation."""
        if message["type"] == "http.response.start" and store.current is not None:
            headers = list(message.get("headers", []))
            if not any(h[0] == GENERATION_HEADER for h in headers):
                headers.append((GENERATION_HEADER, store.current.id.encode()))
                message["headers"] = headers

    return stamp_unrouted


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Hashtag Index API",
        version="1",
        description="Hashtag trends, tag statistics, post search and reports over the "
        "published index generation. Counts are exact; times are UTC.",
        render_plugins=[
            RedocRenderPlugin(
                js_url=REDOC_JS,
                google_fonts=False,
                favicon="<link rel='icon' href='data:,'>",
                path=["/", "/redoc"],
            )
        ],
    )


def app_from_env() -> Litestar:
    """Factory for ASGI servers: settings come from the environment (see Settings)."""
    return create_app(Settings.from_env())
