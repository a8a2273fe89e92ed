"""Per-client rate limits.

- ``HASHTAG_INDEX_RATE_LIMIT`` (off by default): Litestar's rate-limit middleware on
  every route but ``/healthz``, ``/readyz`` and ``/metrics``; answers carry
  ``RateLimit-Policy``, ``RateLimit-Limit``, ``RateLimit-Remaining`` and
  ``RateLimit-Reset``, and a client over its limit gets a 429 in the one error shape.
- Failed admin key attempts are always limited: after :data:`ADMIN_FAILURES` missing or
  wrong ``X-API-Key`` headers from one client within :data:`ADMIN_WINDOW` seconds, its
  admin requests are 429s (with ``Retry-After``) until the window has passed, whatever
  key they carry, so a key cannot be guessed at speed.

A client is its address as the server sees it. Counts are kept per worker process.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque

from litestar.middleware.rate_limit import DurationUnit, RateLimitConfig

from service.errors import ApiError

ADMIN_FAILURES = 10
"""Failed admin key attempts one client may make within :data:`ADMIN_WINDOW`."""
ADMIN_WINDOW = 60.0
"""Seconds."""
UNLIMITED = ["/healthz", "/readyz", "/metrics"]
"""Paths the optional rate limit never applies to (probes and scrapes)."""
_UNITS: dict[str, DurationUnit] = {
    "second": "second",
    "minute": "minute",
    "hour": "hour",
    "day": "day",
}
_RATE = re.compile(r"^\s*(\d{1,9})\s*/\s*(second|minute|hour|day)\s*$")


def rate_limit_config(value: str | None) -> RateLimitConfig | None:
    """The middleware config of a ``N/unit`` setting; None when unset. ValueError if bad."""
    if value is None or not value.strip():
        return None
    m = _RATE.match(value)
    if not m or int(m.group(1)) == 0:
        raise ValueError(
            f"HASHTAG_INDEX_RATE_LIMIT: expected N/second, N/minute, N/hour or N/day, got {value!r}"
        )
    return RateLimitConfig(rate_limit=(_UNITS[m.group(2)], int(m.group(1))), exclude=UNLIMITED)


class FailedAttempts:
    """Failed admin key attempts per client, in a sliding window."""

    def __init__(self, limit: int = ADMIN_FAILURES, window: float = ADMIN_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._seen.setdefault(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def check(self, client: str) -> None:
        """A 429 if the client has used up its failures."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(client, now)
            if len(times) >= self.limit:
                wait = max(1, int(times[0] + self.window - now + 1))
                raise ApiError(
                    429,
                    f"too many failed admin key attempts from this client; retry in {wait} s",
                    "X-API-Key",
                    headers={"Retry-After": str(wait)},
                )

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._seen) > 10_000:  # forget clients whose window has passed
                for key in [
                    k for k, v in self._seen.items() if not v or v[-1] <= now - self.window
                ]:
                    del self._seen[key]
