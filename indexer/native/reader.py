"""Read a native export into :class:`~indexer.ingest.RawBatch` frames of canonical rows."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import polars as pl
import zstandard

from indexer.errors import InputError
from indexer.ingest import RAW_SCHEMA, RawBatch
from indexer.native.bluesky import Bluesky
from indexer.native.common import (
    CANONICAL_COLUMNS,
    REPOST_POLICIES,
    Delete,
    Mapper,
    RecordError,
    Skip,
    repost_counted,
    repost_excluded,
)
from indexer.native.jsonscan import iter_stream
from indexer.native.mastodon import Mastodon
from indexer.native.mastodon_outbox import MastodonOutbox
from indexer.native.reddit import Reddit
from indexer.native.x_v1 import XV1
from indexer.native.x_v2 import XV2
from indexer.sources import iter_line_blocks, open_decompressed

MAPPERS: dict[str, Mapper] = {
    "x-v1": XV1(),
    "x-v2": XV2(),
    "mastodon": Mastodon(),
    "mastodon-outbox": MastodonOutbox(),
    "bluesky": Bluesky(),
    "reddit": Reddit(),
}
ROW_SCHEMA = RAW_SCHEMA
"""The columns of a native batch: the canonical readers' (indexer.ingest.RAW_SCHEMA)."""
_SEP = "\x1f"
"""Separates tags while a batch's tag lists travel as one string each (fast to build)."""


@dataclass
class NativeBatch(RawBatch):
    """A :class:`RawBatch` that also counts what was skipped or adjusted.

    ``raw(line)`` is the record as read when the line (or array element) holds one
    record; None when several records share a line (a response page), so a later
    reject shows the row's canonical fields instead.
    """

    skipped: Counter[str] = field(default_factory=Counter)
    """Records that are not posts (stream notices, likes, excluded reposts...), by kind.
    A post's delete event is not skipped: it is in :attr:`RawBatch.deletes`."""
    notes: Counter[str] = field(default_factory=Counter)
    """Records read with an adjustment (e.g. a negative Reddit score as 0 likes)."""
    raw_lines: dict[int, bytes] = field(default_factory=dict)

    def raw(self, line: int) -> str | None:
        found = self.raw_lines.get(line)
        return None if found is None else found.decode("utf-8", "replace")


_Unit = tuple[int, bytes, Any, "str | None"]
"""One JSON value of the file (a line, or an array element): (line, raw bytes, parsed
value, None) or (line, raw bytes, None, why it is no JSON). A plain tuple: millions
are made."""


def _line_units(path: Path) -> Iterator[_Unit]:
    decode = msgspec.json.Decoder().decode
    line_no = 0
    for block in iter_line_blocks(path):
        for raw in block:
            line_no += 1
            try:
                yield line_no, raw, decode(raw), None
            except msgspec.DecodeError as e:
                if raw.strip():
                    yield line_no, raw, None, f"bad JSON: {e}"


PROBE_BYTES = 1 << 20
"""How much of a file :func:`iter_units` looks at to choose lines or a document."""


def _probe(path: Path) -> bytes:
    try:
        with open_decompressed(path) as f:
            return f.read(PROBE_BYTES)
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None


def _is_json_lines(head: bytes, whole: bool) -> bool:
    """Whether the first non-blank line of ``head`` is complete and JSON by itself."""
    for raw in head.split(b"\n")[: -1 if not whole else None]:
        if raw.strip():
            try:
                msgspec.json.decode(raw)
            except msgspec.DecodeError:
                return False
            return True
    return False


def _stream_units(path: Path) -> Iterator[_Unit]:
    try:
        with open_decompressed(path) as f:
            for piece in iter_stream(f.read):
                yield piece.line, piece.raw.encode(), piece.value, piece.error
    except (OSError, EOFError, zlib.error, zstandard.ZstdError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None


def iter_units(path: Path) -> Iterator[_Unit]:
    """The file's JSON values: a line each (JSON lines), or the elements of a document
    (a pretty-printed or multi-line array or object, or one line too long to probe:
    :func:`indexer.native.jsonscan.iter_stream`, in bounded memory). A file whose
    first line is not JSON and is not a document either is read line by line."""
    head = _probe(path)
    whole = len(head) < PROBE_BYTES
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if _is_json_lines(head, whole) or start not in (b"[", b"{"):
        yield from _line_units(path)
        return
    units = _stream_units(path)
    first = next(units, None)
    if first is not None and first[3] is not None and start == b"{":
        yield from _line_units(path)  # not a document: bad lines, each its own reject
        return
    if first is not None:
        yield first
    yield from units


def _joined(tags: list[str]) -> str:
    """A tag list as one string, each tag after a separator (a separator in a tag dropped)."""
    if not tags:
        return ""
    joined = _SEP.join(tags)
    if joined.count(_SEP) == len(tags) - 1:
        return _SEP + joined
    return "".join(_SEP + t.replace(_SEP, "") for t in tags)


def _frame(cols: dict[str, list[Any]]) -> pl.DataFrame:
    """The batch frame; tag lists arrive joined (:func:`_joined`) and are split by polars,
    which is much faster than building a list column from Python lists."""
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
    """Batches of at most ``batch_rows`` canonical rows (plus their rejects, skips and
    delete events) from a native export in format ``fmt`` (one of
    :data:`indexer.native.NATIVE_FORMATS`).

    ``reposts`` is the repost policy (:data:`REPOST_POLICIES`): a retweet (X v1.1
    ``retweeted_status``, X v2 ``referenced_tweets`` of type ``retweeted``) or a
    Mastodon boost (``reblog``) is, under ``"count"``, a post of the reposter (its own
    id, author and time) with the original's tags, counted in ``notes`` as
    :func:`repost_counted` (the canonical columns have no repost flag); under
    ``"exclude"`` it is skipped, counted as :func:`repost_excluded`. Reposts without
    text (Bluesky ``app.bsky.feed.repost`` records, Mastodon outbox ``Announce``
    activities) are skipped under either policy. Anything else is an
    :class:`~indexer.errors.InputError`, raised before the file is read.
    """
    mapper = MAPPERS.get(fmt)
    if mapper is None:
        raise InputError(f"{path}: unknown native format {fmt!r}")
    return _read_native(path, fmt, mapper, batch_rows, _policy(path, reposts))


def _policy(path: Path, reposts: str) -> str:
    if reposts not in REPOST_POLICIES:
        choices = ", ".join(repr(p) for p in REPOST_POLICIES)
        raise InputError(f"{path}: unknown repost policy {reposts!r} (expected {choices})")
    return reposts


def _read_native(
    path: Path, fmt: str, mapper: Mapper, batch_rows: int, reposts: str
) -> Iterator[RawBatch]:
    """The loop of :func:`read_native`.

    Rows go straight into column lists (tags joined at once): rows kept as dicts until
    the batch is framed would be millions of live containers for the garbage collector
    to walk. A mapper may leave part of a row to a batch-wide step: if it has
    ``finish_rows(cols, pending)``, rows come from its ``to_row_pending``, and those
    marked ``_pending`` keep their tag list (for it to replace) until the batch is framed.
    """
    batch_rows = max(1, batch_rows)
    cols: dict[str, list[Any]] = {name: [] for name in ROW_SCHEMA}
    pending: list[int] = []
    batch = NativeBatch(pl.DataFrame(schema=ROW_SCHEMA), lines=None)
    shared: set[int] = set()
    records = mapper.records
    to_row = mapper.to_row
    finish: Callable[[dict[str, list[Any]], list[int]], None] | None = getattr(
        mapper, "finish_rows", None
    )
    if finish is not None:
        to_row = mapper.to_row_pending  # type: ignore[attr-defined]
    without_records = f"{fmt} value without records"

    def flush() -> NativeBatch:
        nonlocal cols, pending, batch
        done = batch
        if finish is not None and pending:
            finish(cols, pending)
            tags = cols["hashtags"]
            for i in pending:
                tags[i] = _joined(tags[i])
        done.rows = _frame(cols)
        for line in shared & done.raw_lines.keys():
            del done.raw_lines[line]
        cols = {name: [] for name in ROW_SCHEMA}
        pending = []
        batch = NativeBatch(pl.DataFrame(schema=ROW_SCHEMA), lines=None)
        return done

    for line, raw, value, error in iter_units(path):
        if error is not None:
            batch.rejects.append((line, error, raw.decode("utf-8", "replace")))
            continue
        items = list(records(value))
        single = len(items) == 1
        if not single or line in batch.raw_lines:
            shared.add(line)
        elif line not in shared:
            batch.raw_lines[line] = raw
        if not items:
            batch.skipped[without_records] += 1
        for record, ctx in items:
            try:
                mapped = to_row(record, ctx)
            except (RecordError, TypeError, ValueError, AttributeError, KeyError) as e:
                bad = raw if single else msgspec.json.encode(record)
                batch.rejects.append((line, _map_error(e), bad.decode("utf-8", "replace")))
                continue
            if not isinstance(mapped, dict):
                if isinstance(mapped, Skip):
                    batch.skipped[mapped.reason] += 1
                    continue
                if isinstance(mapped, Delete):
                    batch.deletes.append((line, mapped.uid))
                    continue
            repost = mapped.get("_repost")
            if repost:
                if reposts == "exclude":
                    batch.skipped[repost_excluded(repost)] += 1
                    continue
                batch.notes[repost_counted(repost)] += 1
            note = mapped.get("_note")
            if isinstance(note, str):
                batch.notes[note] += 1
            elif note:
                batch.notes.update(note)
            column = cols["_line"]
            if "_pending" in mapped:
                pending.append(len(column))
            column.append(line)
            for name in CANONICAL_COLUMNS:
                cols[name].append(mapped[name])
            tags = cols["hashtags"]
            if tags[-1] is not None and "_pending" not in mapped:
                tags[-1] = _joined(tags[-1])
            if len(column) >= batch_rows:
                yield flush()
    if cols["_line"] or batch.rejects or batch.skipped or batch.deletes:
        yield flush()
