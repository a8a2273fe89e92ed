"""Input files: expand what the user named into files, open them, hash them."""

from __future__ import annotations

import contextlib
import contextvars
import glob
import gzip
import hashlib
import io
import os
import re
import shutil
import typing
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import zstandard

from indexer.errors import InputError
from indexer.formats import registry
from indexer.formats.detect import HEAD_BYTES, detect

COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}
_EXTENSION_FORMATS = {s: f.name for f in registry.FORMATS for s in f.suffixes}
"""File-name suffix -> the format whose files are named so."""
_DOC_NAMES = frozenset({"README", "LICENSE", "LICENCE", "COPYING"})
"""Names (before the first dot, any case) of files a directory scan passes over quietly."""
_DOC_SUFFIXES = frozenset({".md", ".markdown", ".rst"})
"""Documentation files, which a directory scan also passes over quietly."""
_EXTENSION = re.compile(r"\.[a-z][a-z0-9]{0,5}")
"""What counts as a file-name extension (``.txt``, ``.tar``, ``.bz2``; not ``.2015-01``)."""
PASSED_OVER_SHOWN = 3
"""How many of the files a directory scan leaves out its notice names."""

JSON_SPACE = b" \t\r\n"
"""JSON's white space: a line of nothing else is blank (not a row). Other bytes that
``bytes.strip()`` takes (form feed, vertical tab...) make a line that is bad JSON, a reject."""

Warn = Callable[[str], None]
"""Receives a warning: one line for the user (stderr), not an error."""


def expand_inputs(
    inputs: list[str], warn: Warn | None = None, *, follow_symlinks: bool = False
) -> list[Path]:
    """Files named directly, found under directories (recursively) or by globs, in order.

    Within a directory or glob, files are sorted by path so that builds are
    repeatable and "the later copy wins" means the later path. A file named
    directly or matched by a glob is always read. In a directory (see
    :func:`directory_entry`), dot files and dot directories, and documentation
    (README, LICENSE, LICENCE, COPYING, ``*.md``, ``*.rst``) are passed over quietly;
    any other file not read is named to ``warn``, one line per directory: nothing
    is left out silently. A symbolic link in a directory that leads out of it (to a
    file or a directory elsewhere) is passed over, and named to ``warn``, unless
    ``follow_symlinks``: a directory scan reads what is in the directory.
    """
    files: list[Path] = []
    for spec in inputs:
        path = Path(spec)
        if path.is_dir():
            found: list[Path] = []
            passed: list[Path] = []
            scanned, outside = scan_directory(path, follow_symlinks)
            for p in scanned:
                kind = directory_entry(p.relative_to(path))
                if kind == "data":
                    found.append(p)
                elif kind == "other":
                    passed.append(p.relative_to(path))
            left = [_passed_over(passed)] if passed else []
            if outside:
                left.append(_links_out(path, outside))
            if not found:
                more = f" ({'; '.join(left)})" if left else ""
                raise InputError(f"{spec}: directory holds no input files{more}")
            if passed and warn is not None:
                warn(f"{spec}: {_passed_over(passed)}; name a file to read it")
            if outside and warn is not None:
                warn(f"{spec}: {_links_out(path, outside)}; pass --follow-symlinks to read them")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif glob.has_magic(spec):
            matched = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
            if not matched:
                raise InputError(f"{spec}: no file matches this pattern")
            files.extend(matched)
        else:
            raise InputError(f"{spec}: no such file or directory")
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def scan_directory(root: Path, follow_symlinks: bool = False) -> tuple[list[Path], list[Path]]:
    """(the files under ``root``, sorted by path; the symbolic links passed over).

    Without ``follow_symlinks``, a link (to a file or a directory) is followed only when it
    leads to a place inside ``root``; one that leads out of it is passed over (a link to a
    directory inside is passed over quietly: what it holds is found in its place). With
    ``follow_symlinks`` every link is followed, each directory visited once (no cycles).
    Dangling links are no files."""
    inside = root.resolve()
    files: list[Path] = []
    outside: list[Path] = []
    visited = {inside}
    for top, dirs, names in os.walk(root, followlinks=follow_symlinks):
        here = Path(top)
        kept = []
        for name in dirs:
            sub = here / name
            real = sub.resolve()
            if not follow_symlinks and sub.is_symlink():
                if not real.is_relative_to(inside):
                    outside.append(sub)
                continue
            if real not in visited:
                visited.add(real)
                kept.append(name)
        dirs[:] = kept
        for name in names:
            p = here / name
            if not p.is_file():
                continue  # a dangling link, a socket, a fifo
            if p.is_symlink() and not follow_symlinks and not p.resolve().is_relative_to(inside):
                outside.append(p)
                continue
            files.append(p)
    return sorted(files), sorted(outside)


def _links_out(root: Path, links: list[Path]) -> str:
    shown = ", ".join(
        f"{p.relative_to(root).as_posix()} -> {os.readlink(p)}" for p in links[:PASSED_OVER_SHOWN]
    )
    more = ", ..." if len(links) > PASSED_OVER_SHOWN else ""
    what = "symbolic link" if len(links) == 1 else "symbolic links"
    return f"passed over {len(links)} {what} leading out of the directory ({shown}{more})"


def _passed_over(passed: list[Path]) -> str:
    shown = ", ".join(p.as_posix() for p in passed[:PASSED_OVER_SHOWN])
    more = ", ..." if len(passed) > PASSED_OVER_SHOWN else ""
    files = "file" if len(passed) == 1 else "files"
    return f"passed over {len(passed)} {files} not named like data ({shown}{more})"


def directory_entry(relative: Path) -> str:
    """What a directory scan does with a file (its path below the directory):

    - ``"data"``: read it. Its name ends in a data suffix (``.ndjson``, ``.jsonl``,
      ``.json``, ``.csv``, ``.parquet``, ``.pq``), optionally followed by ``.gz`` or
      ``.zst``; or it is ``.gz``/``.zst`` and the name inside has no extension
      (Pushshift's ``RC_2015-01.zst``): its format is detected from its content;
    - ``"ignored"``: pass over quietly: dot files, anything under a dot directory,
      documentation: README, LICENSE, LICENCE and COPYING files (any extension, any
      case), ``.md``, ``.markdown`` and ``.rst`` files;
    - ``"other"``: pass over, and say so.
    """
    if any(part.startswith(".") for part in relative.parts):
        return "ignored"
    if _format_from_name(relative) is not None:
        return "data"
    if (
        relative.name.split(".", 1)[0].upper() in _DOC_NAMES
        or relative.suffix.lower() in _DOC_SUFFIXES
    ):
        return "ignored"
    if compression_of(relative) is not None:
        inner = relative.with_suffix("").suffix.lower()
        if not _EXTENSION.fullmatch(inner):
            return "data"
    return "other"


def compression_of(path: Path) -> str | None:
    return COMPRESSIONS.get(path.suffix.lower())


def _format_from_name(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    return _EXTENSION_FORMATS.get(suffixes[-1]) if suffixes else None


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


def detect_format(path: Path) -> str:
    """The format of a file, from its content (the name is only a tie-breaker): the first
    format of :mod:`indexer.formats.registry` that recognises it (a native platform
    export, or canonical NDJSON, CSV or Parquet). A file that is none of them (binary
    content, JSON records of no known shape, text that is neither CSV nor JSON) is an
    :class:`InputError` naming the file and the formats tried."""
    try:
        with open_decompressed(path) as f:
            head = f.read(HEAD_BYTES)
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
    return detect(path, head, _format_from_name(path))


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
