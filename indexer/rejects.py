"""The rejects file of a generation: one NDJSON line per row that was not indexed."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import IO

import msgspec


class Reject(msgspec.Struct):
    source: str
    line: int
    reason: str
    raw: str


class RejectsWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._encode = msgspec.json.Encoder().encode

    def write(self, source: str, rows: list[tuple[int, str, str]]) -> None:
        for line, reason, raw in rows:
            self._file.write(self._encode(Reject(source, line, reason, raw)) + b"\n")
        self.count += len(rows)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
