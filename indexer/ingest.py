"""Read canonical dumps (NDJSON, CSV, Parquet) into raw row batches.

Each reader yields frames of at most ``batch_rows`` rows with the canonical
columns as read plus ``_line`` (1-based line in the file; for CSV the header
is line 1, for Parquet the row number) and, for NDJSON, ``_raw``. Rows that
cannot even be decoded (bad JSON, a field of the wrong JSON type) come out
as rejects at once; everything else is checked by :mod:`indexer.validate`.
"""

from __future__ import annotations

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
_RAW_SCHEMA: dict[str, pl.DataType] = {
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
    "_raw": pl.String(),
}


@dataclass
class RawBatch:
    rows: pl.DataFrame
    """Canonical columns as read, plus ``_line`` (and ``_raw``)."""
    rejects: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, reason, raw) of rows that could not be decoded."""
    bytes_read: int = 0


def read_batches(path: Path, fmt: str, scratch: Path, batch_rows: int) -> Iterator[RawBatch]:
    if fmt == "ndjson":
        yield from _read_ndjson(path, batch_rows)
    elif fmt == "csv":
        yield from _read_tabular(path, "csv", scratch, batch_rows)
    elif fmt == "parquet":
        yield from _read_tabular(path, "parquet", scratch, batch_rows)
    else:
        raise InputError(f"{path}: unknown format {fmt!r}")


def _decode_error_reason(e: Exception) -> str:
    msg = str(e)
    if isinstance(e, msgspec.ValidationError):
        return msg.replace("`", "'")
    return f"bad JSON: {msg}"


_decode_one = msgspec.json.Decoder(CanonicalRow).decode
_decode_many = msgspec.json.Decoder(list[CanonicalRow]).decode


def _read_ndjson(path: Path, batch_rows: int) -> Iterator[RawBatch]:
    line_no = 0
    pending_lines: list[int] = []
    pending_rows: list[CanonicalRow] = []
    pending_raw: list[bytes] = []
    rejects: list[tuple[int, str, str]] = []
    nbytes = 0

    def flush() -> RawBatch:
        nonlocal pending_lines, pending_rows, pending_raw, rejects, nbytes
        cols: dict[str, list[object]] = {name: [] for name in _ROW_FIELDS}
        for row in pending_rows:
            for name in _ROW_FIELDS:
                cols[name].append(getattr(row, name))
        cols["id"] = [v if isinstance(v, str) else str(v) for v in cols["id"]]
        cols["created_at"] = [v if isinstance(v, str) else repr(v) for v in cols["created_at"]]
        frame = pl.DataFrame(
            {
                "_line": pending_lines,
                **cols,
                "_raw": [r.decode("utf-8", "replace") for r in pending_raw],
            },
            schema=_RAW_SCHEMA,
        )
        batch = RawBatch(frame, rejects, nbytes)
        pending_lines, pending_rows, pending_raw, rejects, nbytes = [], [], [], [], 0
        return batch

    for block in iter_line_blocks(path):
        start = line_no + 1
        line_no += len(block)
        nbytes += sum(len(b) + 1 for b in block)
        numbered = [(start + i, b) for i, b in enumerate(block) if b.strip()]
        if not numbered:
            continue
        try:  # fast path: the whole block decodes at once
            rows = _decode_many(b"[" + b",".join(b for _, b in numbered) + b"]")
            pending_lines.extend(n for n, _ in numbered)
            pending_rows.extend(rows)
            pending_raw.extend(b for _, b in numbered)
        except (msgspec.DecodeError, msgspec.ValidationError):
            for n, b in numbered:
                try:
                    row = _decode_one(b)
                except (msgspec.DecodeError, msgspec.ValidationError) as e:
                    rejects.append((n, _decode_error_reason(e), b.decode("utf-8", "replace")))
                    continue
                pending_lines.append(n)
                pending_rows.append(row)
                pending_raw.append(b)
        if len(pending_rows) >= batch_rows:
            yield flush()
    if pending_rows or rejects or nbytes:
        yield flush()


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
