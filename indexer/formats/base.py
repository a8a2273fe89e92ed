"""What every input format shares: the canonical fields, the raw batch, the reader interface.

- :data:`CANONICAL_FIELDS`: every canonical input field, in frame order (the one list;
  :data:`REQUIRED` are the fields a row must have);
- :data:`RAW_SCHEMA` and :class:`RawBatch`: what every reader yields, before validation;
- :class:`ReadOptions`: how to read one input file;
- :class:`InputFormat`: the interface of a format's reader: how it is detected (its
  ``sniff*`` hooks, each with a default) and how it reads a file (:meth:`InputFormat.read`);
- :class:`Head`: a file's first bytes, what the ``sniff*`` hooks look at.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from indexer.formats.jsonscan import parse_prefix
from indexer.schema import COUNT_FIELDS

REQUIRED = ("id", "created_at", "author", "text")
"""The fields a canonical row must have."""
OPTIONAL_TEXT = ("platform", "lang")
CANONICAL_FIELDS = (*REQUIRED, *OPTIONAL_TEXT, *COUNT_FIELDS, "hashtags", "community")
"""Every canonical input field, in frame order (also what a column map may name).
``community`` is where the post was made (Reddit's subreddit), None where the platform
has no such thing."""

DEFAULT_BATCH_ROWS = 50_000


def _raw_dtype(name: str) -> pl.DataType:
    if name in COUNT_FIELDS:
        return pl.Int64()
    if name == "hashtags":
        return pl.List(pl.String())
    return pl.String()


RAW_SCHEMA: dict[str, pl.DataType] = {
    "_line": pl.Int64(),
    **{name: _raw_dtype(name) for name in CANONICAL_FIELDS},
}
"""The columns every reader yields (canonical or native), before validation."""


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
    skipped: Counter[str] = field(default_factory=Counter)
    """Records that are not posts (stream notices, likes, excluded reposts...), by kind
    (native exports only). A post's delete event is not skipped: it is in ``deletes``."""
    notes: Counter[str] = field(default_factory=Counter)
    """Records read with an adjustment (e.g. a negative Reddit score as 0 likes)."""

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
    """Canonical field -> the input's column name, for other tools' CSV/Parquet exports
    (applied to CSV and Parquet inputs only)."""
    reposts: str = "count"
    """How native reposts/retweets/boosts count: "count" (as the reposter's use of the
    tags) or "exclude" (skipped and counted as skipped)."""
    timezone: str | None = None
    """With a column map: the zone of ``created_at`` values that have none."""
    created_at_format: str | None = None
    """With a column map: the strftime format of ``created_at`` (else RFC 3339 / epoch)."""
    csv_delimiter: str | None = None
    """The CSV field delimiter; None: detected per file from its header (see
    :func:`indexer.formats.tabular.csv_delimiter`)."""


SAMPLE_VALUES = 20
"""How many JSON values of a file's head (lines, or an array's items) detection looks at."""


class Head:
    """The first bytes of a file (decompressed), as format detection sees them.

    ``named`` is the format its name suggests (by extension), or None; ``classify``
    finds the reader whose records the JSON values at the start are (see
    :func:`indexer.formats.detect.detect`), for :attr:`record_reader`.
    """

    def __init__(
        self,
        path: Path,
        data: bytes,
        named: str | None,
        classify: Callable[[Head], InputFormat | None],
    ) -> None:
        self.path = path
        self.data = data
        self.named = named
        self._classify = classify

    @cached_property
    def stripped(self) -> bytes:
        """The head without a byte order mark and leading white space."""
        return self.data.lstrip(b"\xef\xbb\xbf \t\r\n")

    @cached_property
    def binary(self) -> bool:
        return b"\x00" in self.data

    @cached_property
    def json(self) -> bool:
        """Whether the content starts like JSON (an object or an array) and is text."""
        return not self.binary and self.stripped.startswith((b"{", b"["))

    @cached_property
    def blank(self) -> bool:
        return not self.stripped.strip()

    @cached_property
    def first_line(self) -> bytes:
        return self.stripped.split(b"\n", 1)[0]

    @cached_property
    def record_reader(self) -> InputFormat | None:
        """The reader whose records (or response pages) the JSON content starts with;
        None when it is no JSON or none of them tells."""
        return self._classify(self) if self.json else None

    @cached_property
    def values(self) -> list[object]:
        """The JSON values of the first complete lines (up to 20), else of the parseable
        prefix (a multi-line document). Lines that are not JSON are passed over."""
        lines = self.stripped.split(b"\n")
        values: list[object] = []
        for line in lines[:-1] if len(lines) > 1 else lines:
            if not line.strip():
                continue
            try:
                values.append(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if len(values) >= SAMPLE_VALUES:
                break
        if not values:
            partial = parse_prefix(self.stripped.decode("utf-8", "replace"))
            if partial is not None:
                values.append(partial)
        return values

    @cached_property
    def records(self) -> list[dict[Any, Any]]:
        """The JSON objects of :attr:`values` (the items of an array, up to 20)."""
        out: list[dict[Any, Any]] = []
        for value in self.values:
            items = value[:SAMPLE_VALUES] if isinstance(value, list) else [value]
            out += [r for r in items if isinstance(r, dict)]
        return out

    @cached_property
    def keys(self) -> list[str]:
        """The keys of :attr:`records`, sorted."""
        return sorted({str(k) for r in self.records for k in r})


class InputFormat:
    """The reader of one input format, and how to recognise it (one registry entry of
    :mod:`indexer.formats.registry` names it).

    Detection (:func:`indexer.formats.detect.detect`) asks each registered format in
    registry order whether a file is in it (:meth:`sniff`), with the file's :class:`Head`.
    A format of JSON records (the natives and canonical NDJSON) is recognised by its
    records: :meth:`sniff_record` on each sampled record, :meth:`sniff_page` on each
    response page, :meth:`unwrap_record` on a wrapped record; the defaults say no.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        """The format's name (its registry entry's), for messages."""

    def sniff(self, head: Head) -> bool:
        """Whether the file whose first bytes are ``head`` is in this format. Default: when
        its first JSON record that any format recognises is this format's."""
        return head.record_reader is self

    def sniff_record(self, record: dict[Any, Any]) -> bool:
        """Whether one JSON object is a record of this format."""
        return False

    def sniff_page(self, value: dict[Any, Any]) -> bool:
        """Whether a JSON object that holds records is a response page of this format
        (e.g. an X v1.1 search response), when its records do not tell."""
        return False

    def unwrap_record(self, record: dict[Any, Any]) -> Any:
        """The record inside a wrapper object of this format (e.g. Reddit's ``{"kind":
        "t1", "data": {...}}``), to be recognised in its place; None if it is none."""
        return None

    def read(self, path: Path, scratch: Path, options: ReadOptions) -> Iterator[RawBatch]:
        """The batches of rows (and rejects) of the file at ``path``; ``scratch`` is a
        directory for temporary copies (e.g. a decompressed Parquet file)."""
        raise NotImplementedError
