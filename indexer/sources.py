"""Input files: expand what the user named into files, open them, hash them."""

from __future__ import annotations

import glob
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
CANONICAL_FORMATS = ("ndjson", "csv", "parquet")
_EXTENSION_FORMATS = {
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "ndjson",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_SKIP_NAMES = {"README", "LICENSE"}


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files named directly, found under directories (recursively) or by globs, in order.

    Within a directory or glob, files are sorted by path so that builds are
    repeatable and "the later copy wins" means the later path.
    """
    files: list[Path] = []
    for spec in inputs:
        path = Path(spec)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _is_data_file(p))
            if not found:
                raise InputError(f"{spec}: directory holds no input files")
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


def _is_data_file(path: Path) -> bool:
    if path.name.startswith(".") or path.stem.upper() in _SKIP_NAMES:
        return False
    return _format_from_name(path) is not None


def compression_of(path: Path) -> str | None:
    return COMPRESSIONS.get(path.suffix.lower())


def _format_from_name(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    return _EXTENSION_FORMATS.get(suffixes[-1]) if suffixes else None


def open_decompressed(path: Path) -> IO[bytes]:
    """Open a file for reading its content, transparently decompressing .gz and .zst."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - returned to the caller
    except OSError as e:
        raise InputError(f"{path}: cannot open: {e.strerror or e}") from None
    kind = compression_of(path)
    if kind == "gzip":
        raw.close()
        return typing.cast(IO[bytes], gzip.open(path, "rb"))
    if kind == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader, buffer_size=1 << 20)
    return raw


def detect_format(path: Path) -> str:
    """The format of a file, from its content (the name is only a tie-breaker): a native
    platform export (X v1.1/v2, Mastodon, Bluesky, Reddit; see indexer/native) or
    canonical NDJSON, CSV or Parquet."""
    from indexer.native import HEAD_BYTES, detect

    try:
        with open_decompressed(path) as f:
            head = f.read(HEAD_BYTES)
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
    if head.startswith(b"PAR1"):
        return "parquet"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"{", b"[")):
        return detect(head) or "ndjson"
    by_name = _format_from_name(path)
    if by_name == "parquet":
        raise InputError(f"{path}: not a Parquet file (no PAR1 magic)")
    if by_name is not None:
        return by_name
    first_line = stripped.split(b"\n", 1)[0]
    return "csv" if b"," in first_line or b"\t" in first_line else "ndjson"


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


def iter_line_blocks(path: Path, chunk_size: int = 4 << 20) -> Iterator[list[bytes]]:
    """The lines of a (possibly compressed) text file, a block at a time, without line ends.

    Line numbers are positional: the n-th line yielded overall is line n of the file.
    """
    try:
        with open_decompressed(path) as f:
            tail = b""
            while True:
                chunk = f.read(chunk_size)
                if not chunk:
                    break
                lines = (tail + chunk).split(b"\n")
                tail = lines.pop()
                yield [line[:-1] if line.endswith(b"\r") else line for line in lines]
            if tail:
                yield [tail[:-1] if tail.endswith(b"\r") else tail]
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
