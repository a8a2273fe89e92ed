"""Read a native export into :class:`~indexer.ingest.RawBatch` frames of canonical rows."""

from __future__ import annotations

import bisect
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import polars as pl
import zstandard

from indexer.errors import InputError
from indexer.ingest import RAW_SCHEMA, RawBatch
from indexer.native.bluesky import Bluesky
from indexer.native.common import CANONICAL_COLUMNS, Mapper, RecordError, Skip
from indexer.native.jsonscan import DocumentError, iter_elements
from indexer.native.mastodon import Mastodon
from indexer.native.reddit import Reddit
from indexer.native.x_v1 import XV1
from indexer.native.x_v2 import XV2
from indexer.sources import iter_line_blocks, open_decompressed

MAPPERS: dict[str, Mapper] = {
    "x-v1": XV1(),
    "x-v2": XV2(),
    "mastodon": Mastodon(),
    "bluesky": Bluesky(),
    "reddit": Reddit(),
}
ROW_SCHEMA = RAW_SCHEMA
"""The columns of a native batch: the canonical readers' (indexer.ingest.RAW_SCHEMA)."""
_SEP = "\x1f"
"""Separates tags while a batch's tag lists travel as one string each (fast to build)."""
MAX_RAW = 1 << 16
"""Longest raw text kept for a reject that spans a whole document."""


@dataclass
class NativeBatch(RawBatch):
    """A :class:`RawBatch` that also counts what was skipped or adjusted.

    ``raw(line)`` is the record as read when the line (or array element) holds one
    record; None when several records share a line (a response page), so a later
    reject shows the row's canonical fields instead.
    """

    skipped: Counter[str] = field(default_factory=Counter)
    """Records that are not posts (delete events, stream notices...), by kind."""
    notes: Counter[str] = field(default_factory=Counter)
    """Records read with an adjustment (e.g. a negative Reddit score as 0 likes)."""
    raw_lines: dict[int, bytes] = field(default_factory=dict)

    def raw(self, line: int) -> str | None:
        found = self.raw_lines.get(line)
        return None if found is None else found.decode("utf-8", "replace")


@dataclass
class _Unit:
    """One parsed JSON value of the file (a line, or an array element) or why not."""

    line: int
    raw: bytes
    value: Any = None
    error: str | None = None


def _line_units(path: Path) -> Iterator[_Unit]:
    line_no = 0
    for block in iter_line_blocks(path):
        for raw in block:
            line_no += 1
            if not raw.strip():
                continue
            try:
                yield _Unit(line_no, raw, msgspec.json.decode(raw))
            except msgspec.DecodeError as e:
                yield _Unit(line_no, raw, error=f"bad JSON: {e}")


def _read_text(path: Path) -> str:
    try:
        with open_decompressed(path) as f:
            return f.read().decode("utf-8", "replace")
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None


def _document_units(text: str) -> Iterator[_Unit]:
    """The elements of a JSON document (array or multi-line object), each at its line."""
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:
        return bisect.bisect_left(newlines, pos) + 1

    try:
        for start, end, value in iter_elements(text):
            yield _Unit(line_of(start), text[start:end].encode(), value)
    except DocumentError as e:
        rest = text[e.pos :][:MAX_RAW]
        yield _Unit(line_of(e.pos), rest.encode(), error=f"{e} (rest of the document)")


def _first_line(path: Path) -> bytes | None:
    for block in iter_line_blocks(path):
        for raw in block:
            if raw.strip():
                return raw.strip()
    return None


def iter_units(path: Path) -> Iterator[_Unit]:
    """The file's JSON values: a line each, or (a pretty-printed or multi-line array or
    object) the document's elements. A first line that is not JSON by itself makes
    the file a document; if it is not one either, it is read line by line."""
    first = _first_line(path)
    if first is None:
        return
    try:
        msgspec.json.decode(first)
    except msgspec.DecodeError:
        if first.startswith((b"[", b"{")):
            text = _read_text(path)
            units = _document_units(text)
            head = next(units, None)
            if head is not None and (head.error is None or text.lstrip().startswith("[")):
                yield head
                yield from units
                return
    yield from _line_units(path)


def _frame(cols: dict[str, list[Any]]) -> pl.DataFrame:
    """The batch frame; tag lists arrive joined (each tag after a separator) and are split
    by polars, which is much faster than building a list column from Python lists."""
    schema = {**ROW_SCHEMA, "hashtags": pl.String()}
    frame = pl.DataFrame(cols, schema=schema)
    return frame.with_columns(pl.col("hashtags").str.split(_SEP).list.slice(1))


def _map_error(e: Exception) -> str:
    if isinstance(e, RecordError):
        return str(e)
    return f"cannot map record: {type(e).__name__}: {e}"


def read_native(
    path: Path, fmt: str, batch_rows: int, *, reposts: str = "count"
) -> Iterator[RawBatch]:
    """Batches of at most ``batch_rows`` canonical rows (plus their rejects) from a
    native export in format ``fmt`` (one of :data:`indexer.native.NATIVE_FORMATS`)."""
    mapper = MAPPERS.get(fmt)
    if mapper is None:
        raise InputError(f"{path}: unknown native format {fmt!r}")
    batch_rows = max(1, batch_rows)
    cols: dict[str, list[Any]] = {name: [] for name in ROW_SCHEMA}
    batch = NativeBatch(pl.DataFrame(schema=ROW_SCHEMA), lines=None)
    shared: set[int] = set()

    def flush() -> NativeBatch:
        nonlocal cols, batch
        done = batch
        done.rows = _frame(cols)
        for line in shared & done.raw_lines.keys():
            del done.raw_lines[line]
        cols = {name: [] for name in ROW_SCHEMA}
        batch = NativeBatch(pl.DataFrame(schema=ROW_SCHEMA), lines=None)
        return done

    for unit in iter_units(path):
        if unit.error is not None:
            batch.rejects.append((unit.line, unit.error, unit.raw.decode("utf-8", "replace")))
            continue
        items = list(mapper.records(unit.value))
        single = len(items) == 1
        if not single or unit.line in batch.raw_lines:
            shared.add(unit.line)
        elif unit.line not in shared:
            batch.raw_lines[unit.line] = unit.raw
        if not items:
            batch.skipped[f"{fmt} value without records"] += 1
        for record, ctx in items:
            try:
                mapped = mapper.to_row(record, ctx)
            except (RecordError, TypeError, ValueError, AttributeError, KeyError) as e:
                raw = unit.raw if single else msgspec.json.encode(record)
                batch.rejects.append((unit.line, _map_error(e), raw.decode("utf-8", "replace")))
                continue
            if isinstance(mapped, Skip):
                batch.skipped[mapped.reason] += 1
                continue
            note = mapped.get("_note")
            if note:
                batch.notes[note] += 1
            cols["_line"].append(unit.line)
            for name in CANONICAL_COLUMNS:
                cols[name].append(mapped[name])
            tags = cols["hashtags"][-1]
            if tags is not None:
                cols["hashtags"][-1] = "".join(_SEP + t.replace(_SEP, "") for t in tags)
            if len(cols["_line"]) >= batch_rows:
                yield flush()
    if cols["_line"] or batch.rejects or batch.skipped:
        yield flush()
