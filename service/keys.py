"""The key ``next_cursor`` tokens are signed with (service/search.py).

Every worker serving an index must sign alike, or a cursor from one worker
would be refused by the next. The key is ``HASHTAG_INDEX_CURSOR_SECRET`` when
set; else a random key kept in ``INDEX/cursor.key`` (mode 0600), made by the
first worker to start (written aside, then linked into place, so a worker
never reads half a key) and read by the others. If the index directory cannot
be written, each worker signs with its own random key (logged): cursors then
work only on the worker that made them.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import threading
from pathlib import Path

from service.settings import Settings

log = logging.getLogger("hashtag_index.service")

KEY_FILE = "cursor.key"


class CursorKey:
    """The cursor key, found or made on first use (when the index exists), then kept."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def get(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = cursor_key(self._settings)
            return self._key


def cursor_key(settings: Settings) -> bytes:
    """32 bytes: the configured secret's hash, or the index's key file (made if missing)."""
    if settings.cursor_secret:
        return hashlib.blake2b(settings.cursor_secret.encode(), digest_size=32).digest()
    path = settings.index_dir / KEY_FILE
    try:
        return _read_or_make(path)
    except OSError as e:
        log.warning("cannot keep a cursor key in %s (%s): cursors are per worker", path, e)
        return secrets.token_bytes(32)


def _read_or_make(path: Path) -> bytes:
    with contextlib.suppress(FileNotFoundError):
        return _valid(path.read_bytes(), path)
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
    try:
        os.link(tmp, path)  # fails if another worker's key is there: use that one
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return _valid(path.read_bytes(), path)


def _valid(key: bytes, path: Path) -> bytes:
    if len(key) != 32:
        raise OSError(f"{path} holds {len(key)} bytes, not a 32-byte key")
    return key
