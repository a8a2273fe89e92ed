"""Read an input file as raw row batches, in any registered format: the public surface
of the input side (the formats themselves live in :mod:`indexer.formats`).

Each batch (:class:`RawBatch`) holds at most ``batch_rows`` rows with the canonical
columns as read plus ``_line`` (1-based line in the file; for CSV the header is line 1,
for Parquet the row number), and the rows that could not even be decoded, as rejects;
everything else is checked by :mod:`indexer.validate`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from indexer.errors import InputError
from indexer.formats import registry
from indexer.formats.base import DEFAULT_BATCH_ROWS, RawBatch, ReadOptions
from indexer.formats.tabular import check_mapping, load_mapping_file, parse_column_map

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "RawBatch",
    "ReadOptions",
    "check_mapping",
    "load_mapping_file",
    "parse_column_map",
    "read_batches",
]


def read_batches(
    path: Path, fmt: str, scratch: Path, options: ReadOptions | None = None
) -> Iterator[RawBatch]:
    """The batches of the file at ``path`` in format ``fmt`` (a name of
    :mod:`indexer.formats.registry`); ``scratch`` is a directory for temporary copies."""
    entry = registry.get(fmt)
    if entry is None:
        raise InputError(f"{path}: unknown format {fmt!r}")
    yield from entry.reader().read(path, scratch, options or ReadOptions())
