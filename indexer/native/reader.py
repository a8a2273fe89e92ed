"""Read a native export into :class:`~indexer.ingest.RawBatch` frames of canonical rows."""

from __future__ import annotations

import bisect
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
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
    Row,
    Skip,
    joined,
    repost_counted,
    repost_excluded,
    split_joined,
)
from indexer.native.jsonscan import iter_stream
from indexer.native.mastodon import Mastodon
from indexer.native.mastodon_outbox import MastodonOutbox
from indexer.native.reddit import Reddit
from indexer.native.x_v1 import XV1
from indexer.native.x_v2 import XV2
from indexer.sources import JSON_SPACE, iter_line_blocks, open_decompressed

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
    raw_runs: list[tuple[int, list[bytes]]] = field(default_factory=list)
    """Runs of consecutive lines that hold a record each: (first line, the lines), in
    line order (a mapped block's rows go in as one run, not a line at a time)."""

    def raw(self, line: int) -> str | None:
        found = self.raw_lines.get(line)
        if found is None and self.raw_runs:
            at = bisect.bisect_right(self.raw_runs, line, key=lambda run: run[0]) - 1
            if at >= 0:
                first, lines = self.raw_runs[at]
                if line - first < len(lines):
                    found = lines[line - first]
        return None if found is None else found.decode("utf-8", "replace")


_Unit = tuple[int, bytes, Any, "str | None"]
"""One JSON value of the file (a line, or an array element): (line, raw bytes, parsed
value, None) or (line, raw bytes, None, why it is no JSON). A plain tuple: millions
are made."""


@dataclass(slots=True)
class MappedBlock:
    """A unit's value when the mapper's ``fast_block`` mapped a block of lines (the
    unit's line is the first of them): the lines, and the columns of their rows."""

    lines: list[bytes]
    cols: dict[str, list[Any]]


FastBlock = Callable[[list[bytes]], "dict[str, list[Any]] | None"]
"""A mapper's ``fast_block``: the columns (:data:`CANONICAL_COLUMNS`, tag lists
:func:`joined`, ``_repost``, and the mapper's ``extra_columns``) of a block of lines
holding one record each, made its own (faster) way, or None for the block to be read
the generic way, a line at a time: it must give what that way gives, rows and rejects
(once ``finish_rows`` has run, if the mapper has it), or None."""


def _line_units(
    path: Path, fast: FastBlock | None = None, keys: type | None = None
) -> Iterator[_Unit]:
    decode: Callable[[bytes], Any] = msgspec.json.Decoder().decode
    if keys is not None:
        decode = _keys_first(msgspec.json.Decoder(keys).decode, decode)
    line_no = 0
    for block in iter_line_blocks(path):
        if fast is not None:
            cols = fast(block)
            if cols is not None:
                yield line_no + 1, b"", MappedBlock(block, cols), None
                line_no += len(block)
                continue
        for raw in block:
            line_no += 1
            try:
                yield line_no, raw, decode(raw), None
            except (msgspec.DecodeError, UnicodeDecodeError) as e:
                if raw.strip(JSON_SPACE):  # a line of JSON white space is no record
                    yield line_no, raw, None, _bad_json(e)


def _bad_json(error: Exception) -> str:
    """The reject reason of a line that does not decode."""
    if isinstance(error, UnicodeDecodeError):
        return "bad JSON: invalid UTF-8"
    return f"bad JSON: {error}"


def _keys_first(
    typed: Callable[[bytes], Any], generic: Callable[[bytes], Any]
) -> Callable[[bytes], Any]:
    """A decode of a line into a mapper's ``line_keys`` (a TypedDict of the keys it
    reads; the rest is skipped unread, so it is a dict the mapper reads as it reads
    the whole object), and of anything that is not an object the generic way.

    Skipped values are not checked: a number out of range or invalid UTF-8 in a field
    the mapper does not read does not make the line a reject. A mapper's
    ``fast_block`` skips the same fields (its structs mirror ``line_keys``), so a
    line reads the same whichever way its block goes."""

    def decode(raw: bytes) -> Any:
        try:
            return typed(raw)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return generic(raw)

    return decode


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
        if raw.strip(JSON_SPACE):
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


def iter_units(
    path: Path, fast: FastBlock | None = None, keys: type | None = None
) -> Iterator[_Unit]:
    """The file's JSON values: a line each (JSON lines), or the elements of a document
    (a pretty-printed or multi-line array or object, or one line too long to probe:
    :func:`indexer.native.jsonscan.iter_stream`, in bounded memory). A file whose
    first line is not JSON and is not a document either is read line by line.

    With ``fast`` (a mapper's ``fast_block``), a block of lines it maps is one
    :class:`MappedBlock` unit; elements of a document are always decoded. With
    ``keys`` (a mapper's ``line_keys``), a line is decoded with those keys only
    (:func:`_keys_first`)."""
    head = _probe(path)
    whole = len(head) < PROBE_BYTES
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if _is_json_lines(head, whole) or start not in (b"[", b"{"):
        yield from _line_units(path, fast, keys)
        return
    units = _stream_units(path)
    first = next(units, None)
    if first is not None and first[3] is not None and start == b"{":
        yield from _line_units(path, fast, keys)  # not a document: bad lines, each its own reject
        return
    if first is not None:
        yield first
    yield from units


def _frame(cols: dict[str, Any]) -> pl.DataFrame:
    """The batch frame; tag lists arrive joined (:func:`joined`) and are split by polars
    (:func:`split_joined`), unless a mapper's ``finish_rows`` made them a list series."""
    tags = cols["hashtags"]
    if not isinstance(tags, pl.Series):
        tags = split_joined(pl.Series(tags, dtype=pl.String))
    schema = {name: dtype for name, dtype in ROW_SCHEMA.items() if name != "hashtags"}
    frame = pl.DataFrame({name: cols[name] for name in schema}, schema=schema)
    tags = tags.cast(ROW_SCHEMA["hashtags"]).alias("hashtags")
    return frame.with_columns(tags).select(list(ROW_SCHEMA))


def _appenders(
    cols: dict[str, Any], names: Sequence[str]
) -> list[tuple[str, Callable[[Any], None]]]:
    """(column, its list's append) for each of ``names``, in order."""
    return [(name, cols[name].append) for name in names]


def _count_reposts(kinds: list[str | None], exclude: bool, batch: NativeBatch) -> None:
    """Count a run of a :class:`MappedBlock`'s rows' repost kinds (None: not a repost)
    in ``batch``: as skipped (``exclude``) or as notes (``count``)."""
    found = Counter(kind for kind in kinds if kind)
    for kind, n in found.items():
        if exclude:
            batch.skipped[repost_excluded(kind)] += n
        else:
            batch.notes[repost_counted(kind)] += n


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
    to walk. A mapper may leave part of each row to a batch-wide step: if it has
    ``finish_rows(cols)``, rows come from its ``to_row_html`` (:class:`Mastodon`'s
    name: the one mapper that does this), and ``finish_rows`` completes the batch's
    columns in place before they are framed; its rows may carry ``extra_columns`` (not
    canonical) for it. A mapper's ``fast_block`` (see :data:`FastBlock`) maps the blocks
    of lines it can without the generic decode.
    """
    batch_rows = max(1, batch_rows)
    extras: tuple[str, ...] = getattr(mapper, "extra_columns", ())
    names = (*CANONICAL_COLUMNS, *extras)
    cols: dict[str, Any] = {name: [] for name in (*ROW_SCHEMA, *extras)}
    appenders = _appenders(cols, names)
    batch = NativeBatch(pl.DataFrame(schema=ROW_SCHEMA), lines=None)
    shared: set[int] = set()
    records = mapper.records
    to_row = mapper.to_row
    finish: Callable[[dict[str, Any]], None] | None = getattr(mapper, "finish_rows", None)
    if finish is not None:
        to_row = mapper.to_row_html  # type: ignore[attr-defined]
    without_records = f"{fmt} value without records"
    fast: FastBlock | None = getattr(mapper, "fast_block", None)

    def flush() -> NativeBatch:
        nonlocal cols, appenders, batch
        done = batch
        if finish is not None and cols["_line"]:
            finish(cols)
        done.rows = _frame(cols)
        for line in shared:
            done.raw_lines.pop(line, None)
        if len(shared) > 1:  # lines come in order: only the last can have records left
            last = max(shared)
            shared.clear()
            shared.add(last)
        cols = {name: [] for name in (*ROW_SCHEMA, *extras)}
        appenders = _appenders(cols, names)
        batch = NativeBatch(pl.DataFrame(schema=ROW_SCHEMA), lines=None)
        return done

    def take(line: int, mapped: Row) -> bool:
        """Add a mapped row to the batch (or count it as skipped); True when it is full."""
        repost = mapped.get("_repost")
        if repost:
            if reposts == "exclude":
                batch.skipped[repost_excluded(repost)] += 1
                return False
            batch.notes[repost_counted(repost)] += 1
        note = mapped.get("_note")
        if isinstance(note, str):
            batch.notes[note] += 1
        elif note:
            batch.notes.update(note)
        column = cols["_line"]
        column.append(line)
        for name, append in appenders:
            append(mapped[name])
        tags = cols["hashtags"]
        if tags[-1] is not None:
            tags[-1] = joined(tags[-1])
        return len(column) >= batch_rows

    for line, raw, value, error in iter_units(path, fast, getattr(mapper, "line_keys", None)):
        if error is not None:
            batch.rejects.append((line, error, raw.decode("utf-8", "replace")))
            continue
        if type(value) is MappedBlock:
            block, kinds = value.cols, value.cols["_repost"]
            exclude = reposts == "exclude"
            keep = [i for i, k in enumerate(kinds) if not k] if exclude and any(kinds) else None
            rows: Sequence[int] = range(len(kinds)) if keep is None else keep
            at, counted = 0, 0
            while at < len(rows):
                end = min(len(rows), at + batch_rows - len(cols["_line"]))
                taken = rows[at:end]
                # Reposts up to this slice's last row count in this batch, as read one
                # by one: an excluded one after the row that fills it, in the next.
                _count_reposts(kinds[counted : taken[-1] + 1], exclude, batch)
                counted = taken[-1] + 1
                if keep is None:  # a run of lines: a slice of each column
                    cols["_line"] += range(line + at, line + end)
                    for name in names:
                        cols[name] += block[name][at:end]
                    batch.raw_runs.append((line + at, value.lines[at:end]))
                else:
                    lines = [line + i for i in taken]
                    cols["_line"] += lines
                    for name in names:
                        column = block[name]
                        cols[name] += [column[i] for i in taken]
                    batch.raw_lines.update(zip(lines, [value.lines[i] for i in taken], strict=True))
                at = end
                if len(cols["_line"]) >= batch_rows:
                    yield flush()
            _count_reposts(kinds[counted:], exclude, batch)
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
            if take(line, mapped):
                yield flush()
    if cols["_line"] or batch.rejects or batch.skipped or batch.deletes:
        yield flush()
