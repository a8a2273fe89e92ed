"""Run the service under granian (measured fastest here: see docs/architecture.md)."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

from granian import Granian
from granian.constants import Interfaces

from service.webhooks import WebhookConfigError, load_subscriptions


class AddressInUseError(Exception):
    """Another process listens on the address; str() is one line for the user."""


def ensure_address_free(host: str, port: int) -> None:
    """Fail with :class:`AddressInUseError` if a server already listens on ``host:port``.

    granian binds with ``SO_REUSEPORT`` and has no option to turn it off, so a second server
    on a busy port would start and silently take a share of the connections. A socket bound
    without ``SO_REUSEPORT`` cannot share the port with a listening one: binding it (then
    closing it) tells whether the port is free. ``SO_REUSEADDR`` keeps connections of a
    stopped server (TIME_WAIT) from counting as a server.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise AddressInUseError(f"{host}:{port}: cannot listen there: {e.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise AddressInUseError(
                    f"{host}:{port}: cannot listen there: {e.strerror}"
                ) from None
            raise AddressInUseError(
                f"{host}:{port}: address already in use (another server listens there); pick "
                "another --port, or pass --reuse-port to share the port with it"
            ) from None


def serve(index_dir: Path, host: str, port: int, workers: int, *, reuse_port: bool = False) -> None:
    """Serve ``index_dir`` on ``host:port``; a port in use is an :class:`AddressInUseError`
    unless ``reuse_port`` (then the servers on the port share its connections)."""
    if not reuse_port:
        ensure_address_free(host, port)
    hooks = os.environ.get("HASHTAG_INDEX_WEBHOOKS")
    if hooks:  # checked here too: one line and exit status 1, not a worker's traceback
        try:
            load_subscriptions(Path(hooks))
        except WebhookConfigError as e:
            raise SystemExit(f"hashtag-index: HASHTAG_INDEX_WEBHOOKS: {e}") from None
    os.environ["HASHTAG_INDEX_DIR"] = str(index_dir)
    Granian(
        "service.app:app_from_env",
        factory=True,
        interface=Interfaces.ASGI,
        address=host,
        port=port,
        workers=workers,
    ).serve()
