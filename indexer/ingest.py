"""Read canonical dumps (NDJSON, CSV, Parquet) into raw row batches.

Each reader yields frames of at most ``batch_rows`` rows with the canonical
columns as read plus ``_line`` (1-based line in the file; for CSV the header
is line 1, for Parquet the row number); NDJSON batches keep their lines. Rows that
cannot even be decoded (bad JSON, a field of the wrong JSON type) come out
as rejects at once; everything else is checked by :mod:`indexer.validate`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import polars as pl

from indexer.errors import InputError
from indexer.sources import iter_line_blocks, plain_copy
from indexer.validate import CANONICAL_FIELDS

DEFAULT_BATCH_ROWS = 100_000


class CanonicalRow(msgspec.Struct):
    """One NDJSON line, as msgspec checks it. Unknown keys are ignored."""

    id: str | int
    created_at: str | int | float
    author: str
    text: str
    platform: str | None = None
    lang: str | None = None
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    hashtags: list[str] | None = None


_ROW_FIELDS = CanonicalRow.__struct_fields__
RAW_SCHEMA: dict[str, pl.DataType] = {
    "_line": pl.Int64(),
    "id": pl.String(),
    "created_at": pl.String(),
    "author": pl.String(),
    "text": pl.String(),
    "platform": pl.String(),
    "lang": pl.String(),
    "likes": pl.Int64(),
    "reposts": pl.Int64(),
    "replies": pl.Int64(),
    "quotes": pl.Int64(),
    "hashtags": pl.List(pl.String()),
}
"""The columns every reader yields (canonical or native), before validation."""
_FRAME_SCHEMA = {k: v for k, v in RAW_SCHEMA.items() if k != "_line"}


@dataclass
class RawBatch:
    rows: pl.DataFrame
    """Canonical columns as read, plus ``_line``."""
    rejects: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, reason, raw) of rows that could not be decoded."""
    lines: list[bytes] | None = None
    """For line-based formats: the batch's physical lines, ``first_line`` first."""
    first_line: int = 1
    deletes: list[tuple[int, str]] = field(default_factory=list)
    """(line, uid) of delete events read in this batch (e.g. Bluesky ``delete`` commits):
    the post ``uid`` (``platform:id``) is removed if indexed before this point."""

    def raw(self, line: int) -> str | None:
        """The row at ``line`` as read, if this format keeps it."""
        if self.lines is None:
            return None
        return self.lines[line - self.first_line].decode("utf-8", "replace")


@dataclass(frozen=True)
class ReadOptions:
    """How to read one input file (set from the CLI, shared by build and update)."""

    batch_rows: int = DEFAULT_BATCH_ROWS
    column_map: dict[str, str] | None = None
    """Canonical field -> the input's column name, for other tools' CSV/Parquet exports."""
    reposts: str = "count"
    """How native reposts/retweets/boosts count: "count" (as the reposter's use of the
    tags) or "exclude" (skipped and counted as skipped)."""


def read_batches(
    path: Path, fmt: str, scratch: Path, options: ReadOptions | None = None
) -> Iterator[RawBatch]:
    options = options or ReadOptions()
    batch_rows = options.batch_rows
    if fmt == "ndjson":
        yield from _read_ndjson(path, batch_rows)
    elif fmt == "csv":
        yield from _read_tabular(path, "csv", scratch, batch_rows)
    elif fmt == "parquet":
        yield from _read_tabular(path, "parquet", scratch, batch_rows)
    else:
        from indexer.native import NATIVE_FORMATS, read_native

        if fmt not in NATIVE_FORMATS:
            raise InputError(f"{path}: unknown format {fmt!r}")
        yield from read_native(path, fmt, batch_rows, reposts=options.reposts)


def _decode_error_reason(e: Exception) -> str:
    msg = str(e)
    if isinstance(e, msgspec.ValidationError):
        return msg.replace("`", "'")
    return f"bad JSON: {msg}"


_check_one = msgspec.json.Decoder(CanonicalRow).decode
_check_many = msgspec.json.Decoder(list[CanonicalRow]).decode


def _read_ndjson(path: Path, batch_rows: int) -> Iterator[RawBatch]:
    """msgspec checks each line (a whole block at once when it is clean); polars builds frames."""
    line_no = 0
    lines: list[bytes] = []
    first_line = 1
    good: list[bytes] = []
    good_numbers: list[int] = []
    rejects: list[tuple[int, str, str]] = []

    def flush() -> RawBatch:
        nonlocal lines, first_line, good, good_numbers, rejects
        batch = RawBatch(_ndjson_frame(good, good_numbers), rejects, lines, first_line)
        first_line += len(lines)
        lines, good, good_numbers, rejects = [], [], [], []
        return batch

    for block in iter_line_blocks(path):
        start = line_no + 1
        line_no += len(block)
        lines.extend(block)
        numbered = [(start + i, b) for i, b in enumerate(block) if b.strip()]
        try:  # fast path: the whole block checks at once
            _check_many(b"[" + b",".join(b for _, b in numbered) + b"]")
            good.extend(b for _, b in numbered)
            good_numbers.extend(n for n, _ in numbered)
        except (msgspec.DecodeError, msgspec.ValidationError):
            for n, b in numbered:
                try:
                    _check_one(b)
                except (msgspec.DecodeError, msgspec.ValidationError) as e:
                    rejects.append((n, _decode_error_reason(e), b.decode("utf-8", "replace")))
                    continue
                good.append(b)
                good_numbers.append(n)
        if len(good) >= batch_rows:
            yield flush()
    if good or rejects or lines:
        yield flush()


def _ndjson_frame(good: list[bytes], numbers: list[int]) -> pl.DataFrame:
    """A frame of lines msgspec accepted; polars parses them (Python only if polars balks)."""
    line_col = pl.Series("_line", numbers, dtype=pl.Int64())
    if not good:
        return pl.DataFrame(schema=RAW_SCHEMA)
    try:
        frame = pl.read_ndjson(io.BytesIO(b"\n".join(good)), schema=_FRAME_SCHEMA)
    except pl.exceptions.PolarsError:
        frame = _python_frame(good)
    return frame.with_columns(line_col).select(list(RAW_SCHEMA))


def _python_frame(good: list[bytes]) -> pl.DataFrame:
    cols: dict[str, list[object]] = {name: [] for name in _ROW_FIELDS}
    for row in (_check_one(b) for b in good):
        for name in _ROW_FIELDS:
            cols[name].append(getattr(row, name))
    cols["id"] = [v if isinstance(v, str) else str(v) for v in cols["id"]]
    cols["created_at"] = [v if isinstance(v, str) else repr(v) for v in cols["created_at"]]
    return pl.DataFrame(cols, schema=_FRAME_SCHEMA)


def _read_tabular(path: Path, fmt: str, scratch: Path, batch_rows: int) -> Iterator[RawBatch]:
    local = plain_copy(path, scratch)
    try:
        if fmt == "csv":
            lf = pl.scan_csv(local, infer_schema=False, encoding="utf8-lossy")
            first_line = 2
        else:
            lf = pl.scan_parquet(local)
            first_line = 1
        names = lf.collect_schema().names()
        wanted = [c for c in names if c in CANONICAL_FIELDS]
        missing = [c for c in ("id", "created_at", "author", "text") if c not in names]
        if missing:
            raise InputError(f"{path}: no column {', '.join(map(repr, missing))}")
        offset = 0
        for frame in lf.select(wanted).collect_batches(chunk_size=batch_rows):
            lines = pl.int_range(
                offset + first_line, offset + first_line + frame.height, eager=True
            )
            offset += frame.height
            yield RawBatch(frame.with_columns(_line=lines.cast(pl.Int64())))
    except pl.exceptions.PolarsError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{path}: cannot read as {fmt}: {first}") from None
    finally:
        if local != path:
            local.unlink(missing_ok=True)
