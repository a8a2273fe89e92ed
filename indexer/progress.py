"""What the CLI shows while it works: a one-line progress display, drawn only on a
terminal, and warning lines that never garble it."""

from __future__ import annotations

import resource
import sys
import time
from typing import TextIO


class Progress:
    """``stage  [#####.....]  52%  1.2M posts  210k/s``, redrawn at most 10 times a second."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._stage = ""
        self._total = 0
        self._started = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False

    def stage(self, name: str, total: int = 0) -> None:
        self._end_line()
        self._stage, self._total, self._started = name, total, time.monotonic()
        self._last_draw = 0.0

    def update(self, done: int, items: int = 0, unit: str = "posts") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_draw < 0.1 and done < self._total:
            return
        self._last_draw = now
        rate = items / max(now - self._started, 1e-6)
        parts = [f"{self._stage:<10}"]
        if self._total:
            frac = min(done / self._total, 1.0)
            filled = int(frac * 24)
            parts.append(f"[{'#' * filled}{'.' * (24 - filled)}] {frac:4.0%}")
        if items:
            parts.append(f"{_human(items)} {unit}  {_human(int(rate))}/s")
        self.stream.write("\r" + "  ".join(parts) + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def message(self, line: str) -> None:
        """Write ``line`` (a warning) to the stream, enabled or not; a progress line
        being drawn is cleared first, and drawn again at the next update."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False
            self._last_draw = 0.0
        self.stream.write(line + "\n")
        self.stream.flush()

    def _end_line(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def close(self) -> None:
        self._end_line()
        self._stage = ""


def _human(n: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def plural(n: int, noun: str) -> str:
    """``1 post``, ``2 posts``, ``0 posts``: the noun (its last word) takes an s unless n is 1."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class StageClock:
    """Wall time (s) and the process's peak RSS (MiB) at the end of each stage, for the manifest."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_rss_mib: dict[str, int] = {}
        self._last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = round(now - self._last, 3)
        self.peak_rss_mib[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        self._last = now
