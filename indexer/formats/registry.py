"""The input formats: one entry each, in detection order.

An entry is a name (the value of ``--format``), a line of help, and where its reader is
(``"module:Class"``, a subclass of :class:`indexer.formats.base.InputFormat`, which also
says how the format is recognised). Readers are imported on first use, so that this
module (and ``hashtag-index --help``, which lists the formats) stays light.

Detection (:func:`indexer.formats.detect.detect`) asks the formats in this order: the
first that recognises a file reads it. A JSON record is tried against each format's
record shape in this order too, so a native format comes before canonical NDJSON (an
X v2 tweet with its ``author`` expanded has every canonical key).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indexer.formats.base import InputFormat


@dataclass(frozen=True)
class Format:
    name: str
    help: str
    reader_at: str
    """``"module:Class"``: the reader's class, imported on first use."""
    native: bool = True
    """A platform's own export (else canonical rows)."""
    suffixes: tuple[str, ...] = ()
    """File-name suffixes (before a ``.gz``/``.zst``) of files in this format: what a
    directory scan reads, and the tie-breaker of detection."""
    line_records: bool = False
    """One record a line, with no state across lines: a big uncompressed file can be read
    in byte ranges cut at line ends (a Ray task each, indexer/distributed/units.py)."""
    column_map: bool = False
    """Other tools' exports in this format are read with a column map (``--map``)."""

    def reader(self) -> InputFormat:
        """The format's reader (one instance, made on first use)."""
        found = _READERS.get(self.name)
        if found is None:
            module, _, name = self.reader_at.partition(":")
            found = _READERS[self.name] = getattr(importlib.import_module(module), name)(self.name)
        return found


_READERS: dict[str, InputFormat] = {}
"""The readers made so far, by format name."""


FORMATS = (
    Format(
        "parquet",
        "canonical rows",
        "indexer.formats.tabular:Parquet",
        native=False,
        suffixes=(".parquet", ".pq"),
        column_map=True,
    ),
    Format("x-v1", "X API v1.1", "indexer.formats.x_v1:XV1"),
    Format("x-v2", "X API v2", "indexer.formats.x_v2:XV2"),
    Format("mastodon", "Mastodon statuses", "indexer.formats.mastodon:Mastodon"),
    Format(
        "mastodon-outbox",
        "a Mastodon account archive's outbox.json",
        "indexer.formats.mastodon_outbox:MastodonOutbox",
    ),
    Format(
        "bluesky",
        "Jetstream/firehose events",
        "indexer.formats.bluesky:Bluesky",
        line_records=True,
    ),
    Format(
        "reddit",
        "Pushshift dumps, the Reddit API",
        "indexer.formats.reddit:Reddit",
        line_records=True,
    ),
    Format(
        "ndjson",
        "canonical rows",
        "indexer.formats.ndjson:Ndjson",
        native=False,
        suffixes=(".ndjson", ".jsonl", ".json"),
        line_records=True,
    ),
    Format(
        "csv",
        "canonical rows",
        "indexer.formats.tabular:Csv",
        native=False,
        suffixes=(".csv",),
        column_map=True,
    ),
)
"""Every input format, in detection order."""


def names() -> tuple[str, ...]:
    """The name of every format, in registry order (the values of ``--format``)."""
    return tuple(f.name for f in FORMATS)


def native_names() -> tuple[str, ...]:
    """The native platform exports' names, in registry order."""
    return tuple(f.name for f in FORMATS if f.native)


def get(name: str) -> Format | None:
    """The entry named ``name``, or None."""
    return next((f for f in FORMATS if f.name == name), None)


def format_help() -> str:
    """The ``--format`` help: every format with its line of help."""
    return ", ".join(f"{f.name} ({f.help})" for f in FORMATS)
