"""The Hashtag Index report as a file: CSV, XLSX or Parquet, the same rows and columns.

Each format is written from the report's typed frame (:func:`service.reports.report_frame`)
into a file object, so the HTTP download and ``hashtag-index report index --format`` give
the same bytes. Memory stays bounded: XLSX rows go through XlsxWriter's constant-memory
mode (one row in memory at a time) and both binary formats are spooled to a temporary file
(in memory up to :data:`SPOOL_BYTES`, on disk beyond) before they are streamed.

- **XLSX**: one sheet, ``index``; a bold, frozen header row; numbers as number cells,
  ``first_seen``/``last_seen`` as date cells shown ``yyyy-mm-ddThh:mm:ssZ`` (UTC); an empty
  ``change_pct`` is an empty cell. Text is always written as a string cell, never a
  formula, and keeps the CSV's leading ``'`` on text that starts with ``= + - @``, a tab
  or a carriage return (OWASP). A sheet holds at most :data:`XLSX_MAX_ROWS` tags: a longer
  report is refused (400 naming ``limit``), never cut.
- **Parquet**: the frame's own types (Int64, Float64, String, UTC timestamps), zstd.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Literal

import polars as pl
import xlsxwriter

from indexer.schema import EPOCH
from service.reports import COLUMNS, csv_chunks
from service.tables import Tables

Format = Literal["csv", "xlsx", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "parquet")
MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
XLSX_MAX_ROWS = 1_048_575
"""Excel's 1,048,576 rows, less the header."""
SPOOL_BYTES = 16 * 2**20
"""A binary report is kept in memory up to this size, then on disk."""
READ_BYTES = 256 * 2**10
"""Chunk size of a streamed binary report."""
SHEET = "index"
_NUMBER_FORMATS = {"share_pct": "0.0000", "change_pct": "0.00"}
_DATE_FORMAT = 'yyyy-mm-dd"T"hh:mm:ss"Z"'


class TooManyRows(ValueError):
    """The report has more rows than the format can hold."""


def created_time(tables: Tables) -> datetime:
    """The XLSX's creation date: the generation's newest post (the data's "as of"), or the
    Unix epoch for an empty one; fixed per generation, so the same report is the same bytes."""
    return tables.last_post or EPOCH


def check_fits(frame: pl.DataFrame, fmt: Format) -> None:
    """Raise :class:`TooManyRows` when ``fmt`` cannot hold every row of ``frame``."""
    if fmt == "xlsx" and frame.height > XLSX_MAX_ROWS:
        raise TooManyRows(
            f"an XLSX sheet holds at most {XLSX_MAX_ROWS:,} tags and this report has "
            f"{frame.height:,}; give a smaller limit, or download CSV or Parquet"
        )


def write_report(frame: pl.DataFrame, fmt: Format, out: IO[bytes], created: datetime) -> None:
    """Write the report in ``fmt`` to ``out``. ``created`` is the XLSX's creation date
    (pass something fixed, e.g. the newest post, so that equal reports are equal bytes)."""
    check_fits(frame, fmt)
    if fmt == "csv":
        for chunk in csv_chunks(frame):
            out.write(chunk)
    elif fmt == "xlsx":
        write_xlsx(frame, out, created)
    else:
        frame.write_parquet(out, compression="zstd", statistics=True)


def write_xlsx(frame: pl.DataFrame, out: IO[bytes], created: datetime) -> None:
    book = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "remove_timezone": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    book.set_properties(
        {"title": "Hashtag Index", "created": created.replace(tzinfo=None), "author": ""}
    )
    sheet = book.add_worksheet(SHEET)
    header = book.add_format({"bold": True})
    dates = book.add_format({"num_format": _DATE_FORMAT})
    formats = {name: book.add_format({"num_format": f}) for name, f in _NUMBER_FORMATS.items()}
    sheet.freeze_panes(1, 0)
    for col, name in enumerate(COLUMNS):
        sheet.write_string(0, col, name, header)
        sheet.set_column(col, col, 22 if name in ("first_seen", "last_seen") else 12)
    kinds = [frame.schema[name] for name in COLUMNS]
    for r, row in enumerate(frame.select(COLUMNS).iter_rows(), start=1):
        for col, (value, kind) in enumerate(zip(row, kinds, strict=True)):
            if value is None:
                continue
            if kind == pl.String():
                sheet.write_string(r, col, value)
            elif isinstance(kind, pl.Datetime):
                sheet.write_datetime(r, col, value, dates)
            else:
                sheet.write_number(r, col, value, formats.get(COLUMNS[col]))
    sheet.autofilter(0, 0, frame.height, len(COLUMNS) - 1)
    book.close()


def spooled(frame: pl.DataFrame, fmt: Format, created: datetime) -> Iterator[bytes]:
    """The report in ``fmt`` as chunks: written whole to a spooled temporary file first
    (so that a format error surfaces before the first byte is sent), then read back."""
    check_fits(frame, fmt)
    if fmt == "csv":
        return csv_chunks(frame)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed below)
    try:
        write_report(frame, fmt, spool, created)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return _read_and_close(spool)


def _read_and_close(spool: IO[bytes]) -> Iterator[bytes]:
    with spool:
        while chunk := spool.read(READ_BYTES):
            yield chunk
