"""The Litestar application: ``create_app(settings)``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import Message, Scope

from indexer.schema import Manifest
from service.errors import ApiError, ErrorResponse, handle_http_exception, handle_internal_error
from service.generation import Generation, GenerationStore
from service.settings import Settings

GENERATION_HEADER = "X-Index-Generation"


class Health(msgspec.Struct, omit_defaults=True):
    status: str
    generation: str | None = None


def current(state: State) -> Generation:
    store: GenerationStore = state.store
    gen = store.current
    if gen is None:
        raise ApiError(503, store.last_error or "no index generation is loaded yet")
    return gen


@get("/healthz", summary="Liveness: the process answers", sync_to_thread=False)
def healthz() -> Health:
    return Health(status="ok")


@get(
    "/readyz",
    summary="Readiness: an index generation is loaded (503 until then)",
    sync_to_thread=False,
    responses={503: ResponseSpec(ErrorResponse, description="no generation loaded yet")},
)
def readyz(state: State) -> Health:
    return Health(status="ready", generation=current(state).id)


@get("/v1/index", summary="The served generation's manifest", sync_to_thread=False)
def index_manifest(state: State) -> Manifest:
    return current(state).manifest


def generation_header(store: GenerationStore) -> Callable[[Message, Scope], Awaitable[None]]:
    """A before_send hook stamping every response, errors included, with its generation."""

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            gen = store.current
            if gen is not None:
                headers = list(message.get("headers", []))
                headers.append((b"x-index-generation", gen.id.encode()))
                message["headers"] = headers

    return before_send


def create_app(settings: Settings) -> Litestar:
    store = GenerationStore(settings.index_dir)
    store.refresh()

    @contextlib.asynccontextmanager
    async def watch_generations(_: Litestar) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(settings.reload_seconds)
                await asyncio.to_thread(store.refresh)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    state = State({"store": store, "settings": settings})
    return Litestar(
        route_handlers=[healthz, readyz, index_manifest],
        state=state,
        lifespan=[watch_generations],
        before_send=[generation_header(store)],
        exception_handlers={HTTPException: handle_http_exception, Exception: handle_internal_error},
        openapi_config=OpenAPIConfig(title="Hashtag Index API", version="1"),
    )


def app_from_env() -> Litestar:
    """Factory for ASGI servers: settings come from the environment (see Settings)."""
    return create_app(Settings.from_env())
