"""Input files as bytes: open them (decompressing gzip and zstd), follow how far they
are read, cut them into line blocks or byte ranges, hash them (:mod:`indexer.inputs`
says which files are the inputs)."""

from __future__ import annotations

import contextlib
import contextvars
import gzip
import hashlib
import io
import os
import shutil
import typing
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import zstandard

from indexer.errors import InputError

COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}
"""File-name suffix -> the format whose files are named so."""

JSON_SPACE = b" \t\r\n"
"""JSON's white space: a line of nothing else is blank (not a row). Other bytes that
``bytes.strip()`` takes (form feed, vertical tab...) make a line that is bad JSON, a reject."""


def compression_of(path: Path) -> str | None:
    return COMPRESSIONS.get(path.suffix.lower())


class ReadPosition:
    """How far into a file (in bytes of the file as stored, compressed or not) the
    reading has got: for the progress display of a big ``.zst``/``.gz`` input.

    While :func:`track_reads` is active for a path, every :func:`open_decompressed`
    of that path reports the file object it reads the stored bytes from; ``bytes``
    is the furthest position any of them reached (never decreasing, at most ``size``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        self._files: list[IO[bytes]] = []
        self._furthest = 0

    def watch(self, raw: IO[bytes]) -> None:
        self._files = [f for f in self._files if not f.closed]
        self._files.append(raw)

    def saw(self, offset: int) -> None:
        self._furthest = max(self._furthest, offset)

    @property
    def bytes(self) -> int:
        for f in self._files:
            if not f.closed:
                with contextlib.suppress(OSError, ValueError):
                    self.saw(f.tell())
        return min(self._furthest, self.size)


class _WatchedFile(io.BufferedReader):
    """A file whose position a :class:`ReadPosition` follows, up to its closing."""

    def __init__(self, path: Path, position: ReadPosition) -> None:
        super().__init__(io.FileIO(path, "rb"))
        self._position = position
        position.watch(self)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(OSError, ValueError):
                self._position.saw(self.tell())
        super().close()


_TRACKED: contextvars.ContextVar[ReadPosition | None] = contextvars.ContextVar(
    "tracked_read", default=None
)


@contextlib.contextmanager
def track_reads(path: Path) -> Iterator[ReadPosition]:
    """Track how far the reading of ``path`` has got (see :class:`ReadPosition`)."""
    position = ReadPosition(path)
    token = _TRACKED.set(position)
    try:
        yield position
    finally:
        _TRACKED.reset(token)


_RANGE: contextvars.ContextVar[tuple[Path, int, int] | None] = contextvars.ContextVar(
    "read_range", default=None
)


@contextlib.contextmanager
def reading_range(path: Path, start: int, end: int) -> Iterator[None]:
    """While active, :func:`open_decompressed` of ``path`` (uncompressed) reads only its
    bytes ``[start, end)``, as if they were the whole file: one part of a big JSON-lines
    file, cut at line ends (indexer/distributed.py), read by the usual readers. Line
    numbers are then counted from the range's first line."""
    token = _RANGE.set((path, start, end))
    try:
        yield
    finally:
        _RANGE.reset(token)


class _RangeFile(io.RawIOBase):
    """Bytes ``[start, end)`` of a file, read as a file of their own."""

    def __init__(self, path: Path, start: int, end: int) -> None:
        self._file = io.FileIO(path, "rb")
        self._file.seek(start)
        self._left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: typing.Any) -> int:
        view = memoryview(buffer)[: self._left]
        n = self._file.readinto(view) or 0
        self._left -= n
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def open_decompressed(path: Path) -> IO[bytes]:
    """Open a file for reading its content, transparently decompressing .gz and .zst."""
    tracked = _TRACKED.get()
    part = _RANGE.get()
    try:
        if part is not None and part[0] == path:
            raw: IO[bytes] = io.BufferedReader(_RangeFile(*part), buffer_size=1 << 20)
        elif tracked is not None and tracked.path == path:
            raw = _WatchedFile(path, tracked)
        else:
            raw = open(path, "rb")  # noqa: SIM115 - returned to the caller
    except OSError as e:
        raise InputError(f"{path}: cannot open: {e.strerror or e}") from None
    kind = compression_of(path)
    if kind == "gzip":
        return typing.cast(IO[bytes], _GzipFile(raw))
    if kind == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader, buffer_size=1 << 20)
    return raw


class _GzipFile(gzip.GzipFile):
    """A gzip reader over an open file that it closes with itself."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


def sha256_of(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None


def plain_copy(path: Path, scratch: Path) -> Path:
    """A path polars can read directly: the file itself, or a decompressed copy in scratch."""
    if compression_of(path) is None:
        return path
    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / (f"{os.getpid()}-{abs(hash(str(path)))}-" + path.stem)
    try:
        with open_decompressed(path) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as e:
        raise InputError(f"{path}: cannot decompress: {e}") from None
    return out


READ_BLOCK_BYTES = 4 << 20
"""Decompressed bytes :func:`iter_line_blocks` reads at a time."""


def iter_line_blocks(path: Path, chunk_size: int | None = None) -> Iterator[list[bytes]]:
    """The lines of a (possibly compressed) text file, a block at a time, without line ends.

    Line numbers are positional: the n-th line yielded overall is line n of the file.
    Blocks are about ``chunk_size`` (default :data:`READ_BLOCK_BYTES`) decompressed bytes.
    """
    chunk_size = chunk_size or READ_BLOCK_BYTES
    try:
        with open_decompressed(path) as f:
            tail = b""
            while True:
                chunk = f.read(chunk_size)
                if not chunk:
                    break
                # The chunk is split as it is (not copied onto the tail first: Mastodon
                # dumps are GBs), and CRs looked for only when it has one.
                lines = chunk.split(b"\n")
                crlf = b"\r" in chunk or tail.endswith(b"\r")
                if tail:
                    lines[0] = tail + lines[0]
                tail = lines.pop()
                if crlf:
                    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
                yield lines
            if tail:
                yield [tail[:-1] if tail.endswith(b"\r") else tail]
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
