"""A one-line progress display for long CLI work, drawn only on a terminal."""

from __future__ import annotations

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

    def _end_line(self) -> None:
        if self.enabled and self._stage:
            self.stream.write("\n")
            self.stream.flush()

    def close(self) -> None:
        self._end_line()
        self._stage = ""


def _human(n: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)
