"""Native social-media exports: the :class:`Mapper` interface, and the reader of its files.

A native format is a :class:`Mapper` (one module each: :mod:`indexer.formats.x_v1`,
:mod:`~indexer.formats.x_v2`, :mod:`~indexer.formats.mastodon`...): how to find its
records in a JSON value and map each one to a canonical row. :meth:`Mapper.read` reads
a file of them as :class:`~indexer.formats.base.RawBatch` frames (a :class:`NativeBatch`,
which also counts skipped records) with the canonical columns and ``_line``, and the
delete events read (``deletes``: ``(line, "platform:id")``, e.g. Bluesky post deletes).
"""

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
from indexer.formats.base import CANONICAL_FIELDS, RAW_SCHEMA, InputFormat, RawBatch, ReadOptions
from indexer.formats.common import (
    REPOST_POLICIES,
    Context,
    Delete,
    RecordError,
    Row,
    Skip,
    joined,
    repost_counted,
    repost_excluded,
    split_joined,
)
from indexer.formats.jsonscan import iter_stream
from indexer.sources import JSON_SPACE, iter_line_blocks, open_decompressed


class Mapper(InputFormat):
    """One native format: how to find its records in a JSON value, and map each one.

    :meth:`records` and :meth:`to_row` are the format; the rest are optional fast paths,
    each with a default that leaves the work to the generic way (see :meth:`Mapper.read`).
    """

    line_keys: Any = None
    """A TypedDict of the keys :meth:`to_row` reads of a line's object: a line is then
    decoded with just those (the rest skipped unread, see :func:`_keys_first`); None:
    decoded whole."""
    extra_columns: tuple[str, ...] = ()
    """Columns (not canonical) of this mapper's rows, for :meth:`finish_rows`."""
    partial_rows = False
    """Whether rows come from :meth:`partial_row` and are completed batch-wide by
    :meth:`finish_rows` (rather than from :meth:`to_row`)."""

    def records(self, value: Any) -> Iterator[tuple[Any, Context]]:
        """The records in one parsed JSON value (a record, an array or a response page)."""
        raise NotImplementedError

    def to_row(self, record: Any, ctx: Context) -> Row | Skip | Delete:
        """The canonical row of one record (or why it is skipped, or the post it deletes);
        raises :class:`RecordError` if it has none."""
        raise NotImplementedError

    def partial_row(self, record: Any, ctx: Context) -> Row | Skip | Delete:
        """With :attr:`partial_rows`: :meth:`to_row` less what :meth:`finish_rows` does."""
        return self.to_row(record, ctx)

    def finish_rows(self, cols: dict[str, Any]) -> None:
        """With :attr:`partial_rows`: complete a batch's columns of :meth:`partial_row`
        rows in place, before they are framed."""

    def fast_block(self, lines: list[bytes]) -> dict[str, list[Any]] | None:
        """The columns of a block of lines holding one record each, made this mapper's
        own (faster) way, or None (the default) for the generic way; see
        :data:`FastBlock`."""
        return None

    def read(self, path: Path, scratch: Path, options: ReadOptions) -> Iterator[RawBatch]:
        """Batches of at most ``options.batch_rows`` canonical rows (plus their rejects,
        skips and delete events) from a native export in this format.

        ``options.reposts`` is the repost policy (:data:`REPOST_POLICIES`): a retweet (X v1.1
        ``retweeted_status``, X v2 ``referenced_tweets`` of type ``retweeted``) or a
        Mastodon boost (``reblog``) is, under ``"count"``, a post of the reposter (its own
        id, author and time) with the original's tags, counted in ``notes`` as
        :func:`repost_counted` (the canonical columns have no repost flag); under
        ``"exclude"`` it is skipped, counted as :func:`repost_excluded`. Reposts without
        text (Bluesky ``app.bsky.feed.repost`` records, Mastodon outbox ``Announce``
        activities) are skipped under either policy. Anything else is an
        :class:`~indexer.errors.InputError`, raised before the file is read.
        """
        policy = _policy(path, options.reposts)
        return _read_native(path, self, options.batch_rows, policy)


@dataclass
class NativeBatch(RawBatch):
    """A :class:`RawBatch` of a native export (whose ``skipped`` and ``notes`` count).

    ``raw(line)`` is the record as read when the line (or array element) holds one
    record; None when several records share a line (a response page), so a later
    reject shows the row's canonical fields instead.
    """

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
"""A mapper's ``fast_block``: the columns (:data:`CANONICAL_FIELDS`, tag lists
:func:`joined`, ``_repost``, and the mapper's ``extra_columns``) of a block of lines
holding one record each, made its own (faster) way, or None for the block to be read
the generic way, a line at a time: it must give what that way gives, rows and rejects
(once ``finish_rows`` has run, with ``partial_rows``), or None."""


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
    :func:`indexer.formats.jsonscan.iter_stream`, in bounded memory). A file whose
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
    schema = {name: dtype for name, dtype in RAW_SCHEMA.items() if name != "hashtags"}
    frame = pl.DataFrame({name: cols[name] for name in schema}, schema=schema)
    tags = tags.cast(RAW_SCHEMA["hashtags"]).alias("hashtags")
    return frame.with_columns(tags).select(list(RAW_SCHEMA))


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


def _policy(path: Path, reposts: str) -> str:
    if reposts not in REPOST_POLICIES:
        choices = ", ".join(repr(p) for p in REPOST_POLICIES)
        raise InputError(f"{path}: unknown repost policy {reposts!r} (expected {choices})")
    return reposts


def _read_native(path: Path, mapper: Mapper, batch_rows: int, reposts: str) -> Iterator[RawBatch]:
    """The loop of :meth:`Mapper.read`: each unit of the file (:func:`iter_units`) into
    the :class:`_Batcher`, which hands over the batches it fills.

    Rows go straight into column lists (tags joined at once): rows kept as dicts until
    the batch is framed would be millions of live containers for the garbage collector
    to walk. A mapper may leave part of each row to a batch-wide step: with
    ``partial_rows``, rows come from its ``partial_row``, and ``finish_rows`` completes
    the batch's columns in place before they are framed; its rows may carry
    ``extra_columns`` (not canonical) for it. A mapper's ``fast_block`` (see
    :data:`FastBlock`) maps the blocks of lines it can without the generic decode.
    """
    into = _Batcher(mapper, max(1, batch_rows), reposts)
    done = into.done
    add_value = into.add_value
    for line, raw, value, error in iter_units(path, mapper.fast_block, mapper.line_keys):
        if error is not None:
            into.batch.rejects.append((line, error, raw.decode("utf-8", "replace")))
        elif type(value) is MappedBlock:
            into.add_block(line, value)
        else:
            add_value(line, raw, value)
        if done:
            yield from done
            done.clear()
    batch = into.batch
    if into.cols["_line"] or batch.rejects or batch.skipped or batch.deletes:
        yield into.flush()


class _Batcher:
    """The batch :func:`_read_native` is filling, as column lists; full batches are
    framed (:meth:`flush`) into :attr:`done`, for the loop to hand over."""

    def __init__(self, mapper: Mapper, batch_rows: int, reposts: str) -> None:
        self.mapper = mapper
        self.batch_rows = batch_rows
        self.reposts = reposts
        self.extras = mapper.extra_columns
        self.names = (*CANONICAL_FIELDS, *self.extras)
        self.to_row = mapper.partial_row if mapper.partial_rows else mapper.to_row
        self.without_records = f"{mapper.name} value without records"
        self.shared: set[int] = set()
        """Lines that hold more than one record (a response page): no raw line kept."""
        self.done: list[NativeBatch] = []
        self._start()

    def _start(self) -> None:
        self.cols: dict[str, Any] = {name: [] for name in (*RAW_SCHEMA, *self.extras)}
        self.appenders = _appenders(self.cols, self.names)
        self.batch = NativeBatch(pl.DataFrame(schema=RAW_SCHEMA), lines=None)

    def flush(self) -> NativeBatch:
        """The batch so far, framed; a new one is started."""
        done, cols, shared = self.batch, self.cols, self.shared
        if self.mapper.partial_rows and cols["_line"]:
            self.mapper.finish_rows(cols)
        done.rows = _frame(cols)
        for line in shared:
            done.raw_lines.pop(line, None)
        if len(shared) > 1:  # lines come in order: only the last can have records left
            last = max(shared)
            shared.clear()
            shared.add(last)
        self._start()
        return done

    def add_value(self, line: int, raw: bytes, value: Any) -> None:
        """Map the records of one JSON value (a line or an array element)."""
        batch = self.batch
        items = list(self.mapper.records(value))
        single = len(items) == 1
        if not single or line in batch.raw_lines:
            self.shared.add(line)
        elif line not in self.shared:
            batch.raw_lines[line] = raw
        if not items:
            batch.skipped[self.without_records] += 1
        to_row = self.to_row
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
            if self.take(line, mapped):
                self.done.append(self.flush())
                batch = self.batch

    def take(self, line: int, mapped: Row) -> bool:
        """Add a mapped row to the batch (or count it as skipped); True when it is full."""
        batch = self.batch
        repost = mapped.get("_repost")
        if repost:
            if self.reposts == "exclude":
                batch.skipped[repost_excluded(repost)] += 1
                return False
            batch.notes[repost_counted(repost)] += 1
        note = mapped.get("_note")
        if isinstance(note, str):
            batch.notes[note] += 1
        elif note:
            batch.notes.update(note)
        cols = self.cols
        column = cols["_line"]
        column.append(line)
        for name, append in self.appenders:
            append(mapped[name])
        tags = cols["hashtags"]
        if tags[-1] is not None:
            tags[-1] = joined(tags[-1])
        return len(column) >= self.batch_rows

    def add_block(self, line: int, value: MappedBlock) -> None:
        """Add the rows of a :class:`MappedBlock` (its first line is ``line``), a slice
        at a time: as many as fill the batch."""
        kinds = value.cols["_repost"]
        exclude = self.reposts == "exclude"
        keep = [i for i, k in enumerate(kinds) if not k] if exclude and any(kinds) else None
        rows: Sequence[int] = range(len(kinds)) if keep is None else keep
        at, counted = 0, 0
        while at < len(rows):
            end = min(len(rows), at + self.batch_rows - len(self.cols["_line"]))
            taken = rows[at:end]
            # Reposts up to this slice's last row count in this batch, as read one
            # by one: an excluded one after the row that fills it, in the next.
            _count_reposts(kinds[counted : taken[-1] + 1], exclude, self.batch)
            counted = taken[-1] + 1
            if keep is None:
                self._add_run(line, value, at, end)
            else:
                self._add_rows(line, value, taken)
            at = end
            if len(self.cols["_line"]) >= self.batch_rows:
                self.done.append(self.flush())
        _count_reposts(kinds[counted:], exclude, self.batch)

    def _add_run(self, line: int, value: MappedBlock, at: int, end: int) -> None:
        """Rows ``at:end`` of a block, a run of lines: a slice of each column."""
        cols, block = self.cols, value.cols
        cols["_line"] += range(line + at, line + end)
        for name in self.names:
            cols[name] += block[name][at:end]
        self.batch.raw_runs.append((line + at, value.lines[at:end]))

    def _add_rows(self, line: int, value: MappedBlock, taken: Sequence[int]) -> None:
        """Rows ``taken`` of a block (its excluded reposts left out)."""
        cols, block = self.cols, value.cols
        lines = [line + i for i in taken]
        cols["_line"] += lines
        for name in self.names:
            column = block[name]
            cols[name] += [column[i] for i in taken]
        raws = [value.lines[i] for i in taken]
        self.batch.raw_lines.update(zip(lines, raws, strict=True))
