"""Canonical NDJSON: one post a line, a JSON object of the canonical fields.

Rows that cannot even be decoded (bad JSON, a field of the wrong JSON type) come out as
rejects at once; everything else is checked by :mod:`indexer.validate`. Batches keep
their lines, for rejects to show them as read.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from types import GenericAlias
from typing import Annotated, Any

import msgspec
import polars as pl

from indexer.formats.base import (
    CANONICAL_FIELDS,
    RAW_SCHEMA,
    REQUIRED,
    Head,
    InputFormat,
    RawBatch,
    ReadOptions,
)
from indexer.schema import COUNT_FIELDS
from indexer.sources import JSON_SPACE, iter_line_blocks


class Ndjson(InputFormat):
    """Canonical NDJSON (also: JSON that is none of the native formats, read line by line
    and rejected where it is no canonical row)."""

    def sniff(self, head: Head) -> bool:
        if head.json:
            # Records of no known format are not read as NDJSON (every line a reject).
            return not (head.keys and not any(_looks_canonical(r) for r in head.records))
        if head.binary:
            return False
        return head.named == self.name or (head.named is None and head.blank)

    def sniff_record(self, record: dict[Any, Any]) -> bool:
        """A canonical row: every required field (a native record tried before)."""
        return all(k in record for k in REQUIRED)

    def read(self, path: Path, scratch: Path, options: ReadOptions) -> Iterator[RawBatch]:
        return _read_ndjson(path, options.batch_rows)


def _looks_canonical(record: dict[Any, Any]) -> bool:
    """A canonical row, even a bad one: an object with two or more of the required keys."""
    return sum(k in record for k in REQUIRED) >= 2


_Int64 = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
"""A count as the index stores it: a larger JSON integer is the line's reject, not a failed
build."""


def _json_type(name: str) -> Any:
    if name in REQUIRED:
        return {"id": str | int, "created_at": str | int | float}.get(name, str)
    if name in COUNT_FIELDS:
        return _Int64 | None
    return list[str] | None if name == "hashtags" else str | None


CanonicalRow = msgspec.defstruct(
    "CanonicalRow",
    [(n, _json_type(n)) if n in REQUIRED else (n, _json_type(n), None) for n in CANONICAL_FIELDS],
    module=__name__,
)
"""One NDJSON line, as msgspec checks it. Unknown keys are ignored."""
_ROW_FIELDS = CanonicalRow.__struct_fields__
_FRAME_SCHEMA = {k: v for k, v in RAW_SCHEMA.items() if k != "_line"}


def _decode_error_reason(e: Exception) -> str:
    msg = str(e)
    if isinstance(e, msgspec.ValidationError):
        return msg.replace("`", "'")
    if isinstance(e, UnicodeDecodeError):
        return "bad JSON: invalid UTF-8"
    return f"bad JSON: {msg}"


_check_one = msgspec.json.Decoder(CanonicalRow).decode
_check_many = msgspec.json.Decoder(GenericAlias(list, (CanonicalRow,))).decode


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
        numbered = [(start + i, b) for i, b in enumerate(block) if b.strip(JSON_SPACE)]
        try:  # fast path: the whole block checks at once
            _check_many(b"[" + b",".join(b for _, b in numbered) + b"]")
            good.extend(b for _, b in numbered)
            good_numbers.extend(n for n, _ in numbered)
        except (msgspec.DecodeError, UnicodeDecodeError):
            for n, b in numbered:
                try:
                    _check_one(b)
                except (msgspec.DecodeError, UnicodeDecodeError) as e:
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
