"""Webhook delivery: one deliverer per index directory, its state in the index.

Every server worker (of every replica sharing the index directory) runs a
:class:`Deliverer` thread, but only the one holding ``INDEX/webhooks/deliver.lock``
(``fcntl.flock``, not blocking) sends; the others retry the lock every few seconds
and take over when its holder exits or dies. So each change is POSTed once, however
many workers serve, and delivery needs no process of its own.

When the deliverer's worker serves a generation its subscribers have not seen, it
computes each subscriber's :func:`service.changes.changes` between the instant it
last saw (just after that generation's newest post) and the new one, and queues a
delivery if the list changed. Queued deliveries and what each subscriber has seen
live in ``INDEX/webhooks/state.json`` (rewritten atomically after every change), so
a restart resends what was not acknowledged, with the same delivery id. A failed
POST (no 2xx within the timeout) is retried after ``retry_seconds``, doubling each
time up to :data:`MAX_BACKOFF`, :data:`MAX_ATTEMPTS` times in all; then it is kept in
``failed`` (the newest :data:`FAILED_KEPT`). POSTs run in a small thread pool, one
at a time per subscriber (in order), never on a request's path: a slow or dead
subscriber delays only its own deliveries.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from service import changes
from service.generation import Generation, GenerationStore
from service.webhooks import (
    DELIVERY_HEADER,
    EVENT,
    SIGNATURE_HEADER,
    Payload,
    Subscription,
    signature,
)

log = logging.getLogger("hashtag_index.webhooks")

STATE_DIR = "webhooks"
MAX_ATTEMPTS = 12
"""POSTs of one delivery before it is given up (kept in ``failed``)."""
MAX_BACKOFF = 3600.0
"""The longest wait between two attempts, seconds."""
FAILED_KEPT = 100
SENDERS = 8
"""POSTs in flight at once (each to another subscriber)."""
_MICRO = timedelta(microseconds=1)


class Pending(msgspec.Struct):
    delivery: str
    subscriber: str
    body: str
    """The JSON payload, as sent (the same bytes on every attempt)."""
    attempts: int = 0
    next_at: float = 0.0
    """Unix time of the next attempt."""
    last_error: str | None = None


class Seen(msgspec.Struct):
    generation: str
    as_of: datetime
    """Just after that generation's newest post: the next change's old_as_of."""


class State(msgspec.Struct):
    subscribers: dict[str, Seen] = msgspec.field(default_factory=dict)
    pending: list[Pending] = msgspec.field(default_factory=list)
    failed: list[Pending] = msgspec.field(default_factory=list)
    delivered: int = 0


def state_path(index_dir: Path) -> Path:
    return index_dir / STATE_DIR / "state.json"


def read_state(index_dir: Path) -> State:
    path = state_path(index_dir)
    try:
        return msgspec.json.decode(path.read_bytes(), type=State)
    except FileNotFoundError:
        return State()
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as e:
        log.error("webhook state %s unreadable (%s): starting afresh", path, e)
        return State()


def backoff(retry_seconds: float, attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed POST."""
    return float(min(MAX_BACKOFF, retry_seconds * 2 ** min(attempts - 1, 30)))


class Deliverer:
    def __init__(
        self,
        index_dir: Path,
        store: GenerationStore,
        subscriptions: list[Subscription],
        *,
        retry_seconds: float,
        timeout: float,
        tick: float = 1.0,
    ) -> None:
        self.index_dir = index_dir
        self.store = store
        self.subscriptions = {s.subscriber.id: s for s in subscriptions}
        self.retry_seconds = retry_seconds
        self.timeout = timeout
        self.tick = tick
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._lock_fd: int | None = None
        self._state = State()
        self._senders = ThreadPoolExecutor(SENDERS, thread_name_prefix="webhook")
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    # ------------------------------------------------------------------ life

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        # POSTs in flight are not waited for: their outcome is not recorded, so they stay
        # queued in the state file and are sent again (same delivery id) by the next holder
        self._senders.shutdown(wait=False, cancel_futures=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock: another worker takes over
            self._lock_fd = None

    @property
    def holds_lock(self) -> bool:
        return self._lock_fd is not None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._lock_fd is None and self._acquire():
                    with self._lock:
                        self._state = read_state(self.index_dir)
                        self._forget_unknown()
                if self._lock_fd is not None:
                    self.step(time.time())
            except Exception:
                log.exception("webhook delivery step failed")
            self._stop.wait(self.tick)

    def _acquire(self) -> bool:
        directory = self.index_dir / STATE_DIR
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / "deliver.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        log.info("delivering webhooks for %s (pid %d)", self.index_dir, os.getpid())
        return True

    def _forget_unknown(self) -> None:
        """Drop the state of subscribers no longer configured."""
        known = self.subscriptions
        self._state.pending = [p for p in self._state.pending if p.subscriber in known]
        self._state.subscribers = {k: v for k, v in self._state.subscribers.items() if k in known}

    # ------------------------------------------------------------------ work

    def step(self, now: float) -> None:
        """Queue the changes of a newly served generation, then send what is due."""
        gen = self.store.current
        with self._lock:
            if gen is not None and gen.manifest.to is not None:
                self._queue(gen, now)
            due = self._due(now)
        for pending in due:
            self._senders.submit(self._send, pending)

    def _queue(self, gen: Generation, now: float) -> None:
        assert gen.manifest.to is not None
        as_of = gen.manifest.to + _MICRO
        dirty = False
        for sub_id, sub in self.subscriptions.items():
            seen = self._state.subscribers.get(sub_id)
            if seen is not None and seen.generation == gen.id:
                continue
            dirty = True
            self._state.subscribers[sub_id] = Seen(gen.id, as_of)
            if seen is None:  # a new subscriber starts from what is served now
                continue
            try:
                found = _changes(gen, sub, seen.as_of, as_of)
            except ValueError as e:
                log.error("webhook %s: no changes for %s: %s", sub_id, gen.id, e)
                continue
            if not found.changed:
                continue
            delivery = f"{gen.id}.{sub_id}"
            payload = Payload(
                event=EVENT,
                delivery=delivery,
                subscriber=sub_id,
                generation=gen.id,
                previous_generation=seen.generation,
                limit=sub.subscriber.limit,
                platform=sub.platform,
                lang=sub.lang,
                include_flagged=sub.subscriber.include_flagged,
                changes=found,
            )
            body = msgspec.json.encode(payload).decode()
            self._state.pending.append(Pending(delivery, sub_id, body, next_at=now))
        if dirty:
            self._save()

    def _due(self, now: float) -> list[Pending]:
        """The oldest pending delivery of each subscriber not being sent, if it is due
        (a subscriber's deliveries go one at a time, in order)."""
        found: list[Pending] = []
        considered = set(self._in_flight)
        for pending in self._state.pending:
            if pending.subscriber in considered:
                continue
            considered.add(pending.subscriber)
            if pending.next_at <= now:
                found.append(pending)
        self._in_flight |= {p.subscriber for p in found}
        return found

    def _send(self, pending: Pending) -> None:
        sub = self.subscriptions.get(pending.subscriber)
        error: str | None = "subscriber no longer configured"
        if sub is not None:
            body = pending.body.encode()
            request = urllib.request.Request(
                sub.subscriber.url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": "hashtag-index-webhooks/1",
                    DELIVERY_HEADER: pending.delivery,
                    SIGNATURE_HEADER: signature(sub.subscriber.secret, int(time.time()), body),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read(65536)
                    error = None
            except urllib.error.HTTPError as e:
                error = f"HTTP {e.code}"
            except (OSError, ValueError) as e:
                error = f"{type(e).__name__}: {e}"
        with self._lock:
            self._in_flight.discard(pending.subscriber)
            if self._stop.is_set() or not any(p is pending for p in self._state.pending):
                return  # stopped: the lock may be another process's now
            pending.attempts += 1
            if error is None:
                self._state.pending.remove(pending)
                self._state.delivered += 1
                log.info("webhook %s delivered (%d attempts)", pending.delivery, pending.attempts)
            else:
                pending.last_error = error
                log.warning("webhook %s attempt %d: %s", pending.delivery, pending.attempts, error)
                if pending.attempts >= MAX_ATTEMPTS or sub is None:
                    self._state.pending.remove(pending)
                    self._state.failed = [*self._state.failed, pending][-FAILED_KEPT:]
                else:
                    wait = backoff(self.retry_seconds, pending.attempts)
                    pending.next_at = time.time() + wait
            self._save()

    def _save(self) -> None:
        path = state_path(self.index_dir)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(msgspec.json.format(msgspec.json.encode(self._state), indent=1))
        os.replace(tmp, path)


def _changes(gen: Generation, sub: Subscription, old: datetime, new: datetime) -> changes.Changes:
    return changes.changes(
        gen.tables,
        old_as_of=old,
        as_of=new,
        window=sub.window,
        baseline=sub.baseline,
        limit=sub.subscriber.limit,
        window_text=sub.subscriber.window.strip(),
        baseline_text=sub.subscriber.baseline.strip(),
        platform=sub.platform,
        lang=sub.lang,
        params=sub.params,
        include_flagged=sub.subscriber.include_flagged,
    )
