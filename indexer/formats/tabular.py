"""Canonical CSV and Parquet, and other tools' exports read through a column map.

A CSV file's header is line 1 (its rows from line 2); a Parquet row's line is its row
number. A column map (``--map``, ``--map-file``) names the column of each canonical
field; columns not mapped are read by their canonical names.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import msgspec
import polars as pl

from indexer.errors import InputError
from indexer.formats.base import (
    CANONICAL_FIELDS,
    REQUIRED,
    Head,
    InputFormat,
    RawBatch,
    ReadOptions,
)
from indexer.sources import plain_copy


class Parquet(InputFormat):
    """Canonical Parquet: recognised by its magic bytes, whatever its name."""

    def sniff(self, head: Head) -> bool:
        if head.data.startswith(b"PAR1"):
            return True
        if head.named == self.name:
            raise InputError(f"{head.path}: not a Parquet file (no PAR1 magic)")
        return False

    def read(self, path: Path, scratch: Path, options: ReadOptions) -> Iterator[RawBatch]:
        return _read_tabular(path, "parquet", scratch, options)


class Csv(InputFormat):
    """Canonical CSV: a file named so, or text (not JSON) whose first line has a comma or
    a tab."""

    def sniff(self, head: Head) -> bool:
        if head.binary or head.json:
            return False
        if head.named is not None:
            return head.named == self.name
        return not head.blank and (b"," in head.first_line or b"\t" in head.first_line)

    def read(self, path: Path, scratch: Path, options: ReadOptions) -> Iterator[RawBatch]:
        return _read_tabular(path, "csv", scratch, options)


CSV_DELIMITERS = (",", ";", "\t", "|")
"""The delimiters a CSV header is tried with, the default first."""


def csv_delimiter(header: str) -> str:
    """The delimiter of a CSV file whose first line is ``header``: of :data:`CSV_DELIMITERS`,
    the one that splits it into the most fields (a tie, and a header of one field, keep ",").
    Spreadsheets in many locales export ``;``-separated CSV; some tools export tabs."""
    counts = [header.count(d) for d in CSV_DELIMITERS]
    return CSV_DELIMITERS[counts.index(max(counts))]


def _csv_header(path: Path) -> str:
    """The first line of a CSV file (at most 64 KiB of it), without a byte order mark."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    line = head.split(b"\n", 1)[0].removeprefix(b"\xef\xbb\xbf").rstrip(b"\r")
    return line.decode("utf-8", "replace")


def _read_tabular(path: Path, fmt: str, scratch: Path, options: ReadOptions) -> Iterator[RawBatch]:
    local = plain_copy(path, scratch)
    try:
        if fmt == "csv" and _blank(local):
            return  # no header, no rows: a file of no posts, like an empty NDJSON file
        read_as = "its columns"
        if fmt == "csv":
            header = _csv_header(local)
            delimiter = options.csv_delimiter or csv_delimiter(header)
            lf = pl.scan_csv(local, infer_schema=False, encoding="utf8-lossy", separator=delimiter)
            first_line = 2
            read_as = f"its header, split at {delimiter!r} (--csv-delimiter)"
        else:
            lf = pl.scan_parquet(local)
            first_line = 1
        schema = lf.collect_schema()
        mapped = _mapping_mode(options)
        columns = _tabular_columns(path, schema.names(), options.column_map or {}, mapped, read_as)
        make_id = "id" not in columns
        offset = 0
        for frame in lf.select(columns.values()).collect_batches(chunk_size=batch_rows(options)):
            lines = pl.int_range(
                offset + first_line, offset + first_line + frame.height, eager=True
            )
            offset += frame.height
            frame = frame.with_columns(_line=lines.cast(pl.Int64()))
            if make_id:
                frame = frame.with_columns(id=_row_ids(frame))
            if mapped and "created_at" in frame.columns:
                frame = frame.with_columns(
                    created_at=_zoned_created_at(
                        frame.schema["created_at"], options.timezone, options.created_at_format
                    )
                )
            yield RawBatch(frame)
    except pl.exceptions.PolarsError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{path}: cannot read as {fmt}: {first}") from None
    finally:
        if local != path:
            local.unlink(missing_ok=True)


def _blank(path: Path) -> bool:
    """Whether a file holds nothing but white space (a byte order mark included)."""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            if chunk.replace(b"\xef\xbb\xbf", b"").strip():
                return False
    return True


def batch_rows(options: ReadOptions) -> int:
    return max(1, options.batch_rows)


# --- other tools' exports: column maps ----------------------------------------

MAP_SETTINGS = ("timezone", "created_at_format")
"""Keys of a mapping file that are settings, not canonical fields."""
ID_HASH_FIELDS = ("created_at", "author", "text")
"""What the id of a row of an export without an id column is a hash of (:func:`_row_ids`)."""
_NAIVE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
"""Zone-less ISO 8601 forms that a column map's ``timezone`` completes."""
_RFC3339_UTC = "%Y-%m-%dT%H:%M:%S%.6fZ"
_ZONE_DIRECTIVES = ("%z", "%:z", "%#z", "%Z")


def _mapping_mode(options: ReadOptions) -> bool:
    return (
        options.column_map is not None
        or options.timezone is not None
        or options.created_at_format is not None
    )


def parse_column_map(spec: str) -> dict[str, str]:
    """``created_at=Date,text=Message`` -> ``{"created_at": "Date", "text": "Message"}``."""
    out: dict[str, str] = {}
    for item in spec.split(","):
        if not item.strip():
            continue
        name, sep, column = item.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise InputError(f"--map: {item.strip()!r} is not FIELD=COLUMN")
        out[name.strip()] = column.strip()
    return out


def load_mapping_file(path: Path) -> tuple[dict[str, str], str | None, str | None]:
    """A mapping file: a JSON object of canonical field -> column name, plus optional
    ``timezone`` and ``created_at_format``. Returns (column map, timezone, format)."""
    try:
        value = msgspec.json.decode(path.read_bytes())
    except OSError as e:
        raise InputError(f"{path}: cannot read the mapping file: {e.strerror or e}") from None
    except msgspec.DecodeError as e:
        raise InputError(f"{path}: not a JSON mapping file: {e}") from None
    if not isinstance(value, dict):
        raise InputError(f"{path}: a mapping file is a JSON object of field -> column")
    bad = [k for k, v in value.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise InputError(f"{path}: the value of {bad[0]!r} is not a column name (a string)")
    settings = {k: value.pop(k) for k in MAP_SETTINGS if k in value}
    return value, settings.get("timezone"), settings.get("created_at_format")


def check_mapping(
    column_map: dict[str, str] | None, timezone: str | None, created_at_format: str | None
) -> None:
    """Raise :class:`InputError` (one line) for a mapping that cannot work on any file."""
    unknown = [f for f in column_map or {} if f not in CANONICAL_FIELDS]
    if unknown:
        raise InputError(
            f"column map: unknown field {unknown[0]!r} (fields: {', '.join(CANONICAL_FIELDS)})"
        )
    if timezone is not None:
        try:
            pl.Series([0], dtype=pl.Datetime("us")).dt.replace_time_zone(timezone)
            if timezone.upper() != "UTC" and not timezone.startswith(("+", "-")):
                zoneinfo.ZoneInfo(timezone)
        except (pl.exceptions.PolarsError, ValueError, zoneinfo.ZoneInfoNotFoundError):
            raise InputError(
                f"column map: unknown time zone {timezone!r} (an IANA name such as "
                "Europe/Berlin, UTC, or an offset such as +02:00)"
            ) from None
    if created_at_format is not None:
        if "%" not in created_at_format:
            raise InputError(
                f"column map: created_at format {created_at_format!r} has no % directive "
                "(e.g. '%m/%d/%Y %H:%M')"
            )
        if timezone is None and not _has_zone(created_at_format):
            raise InputError(
                f"column map: created_at format {created_at_format!r} has no zone (%z): "
                "say which zone its times are in (--map-tz, or 'timezone' in the mapping file)"
            )


def _has_zone(created_at_format: str) -> bool:
    return any(d in created_at_format for d in _ZONE_DIRECTIVES)


def _tabular_columns(
    path: Path,
    names: list[str],
    column_map: dict[str, str],
    mapped: bool,
    read_as: str = "its columns",
) -> dict[str, pl.Expr]:
    """Canonical field -> the expression that reads it: the mapped column, else a column of
    the field's own name. Errors name the file and the column, and show the columns read
    (``read_as`` says how: a CSV's header and the delimiter it was split at)."""
    shown = ", ".join(repr(n[:60]) for n in names[:12]) + (", ..." if len(names) > 12 else "")
    absent = [(f, c) for f, c in column_map.items() if c not in names]
    if absent:
        field_name, column = absent[0]
        raise InputError(
            f"{path}: no column {column!r} (mapped to {field_name}); {read_as}: {shown}"
        )
    columns = {
        f: pl.col(column_map[f]).alias(f) if f in column_map else pl.col(f)
        for f in CANONICAL_FIELDS
        if f in column_map or f in names
    }
    missing = [f for f in REQUIRED if f not in columns and not (mapped and f == "id")]
    if missing:
        hint = f" (map: --map {','.join(f + '=COLUMN' for f in missing)})" if mapped else ""
        raise InputError(
            f"{path}: no column {', '.join(map(repr, missing))}{hint}; {read_as}: {shown}"
        )
    return columns


def _row_ids(frame: pl.DataFrame) -> pl.Series:
    """Ids for an export without one: the first 16 hex digits of the BLAKE2b hash of the
    row's created_at, author and text as written, so the same row always gets the same id
    (and a row exported twice is a duplicate, not two posts)."""
    keys = frame.select(
        pl.concat_str(
            [pl.col(c).cast(pl.String()).fill_null("") for c in ID_HASH_FIELDS],
            separator="\x1f",
        )
    ).to_series()
    ids = [hashlib.blake2b(k.encode(), digest_size=8).hexdigest() for k in keys]
    return pl.Series("id", ids, dtype=pl.String())


def _zoned_created_at(
    dtype: pl.DataType, timezone: str | None, created_at_format: str | None
) -> pl.Expr:
    """``created_at`` as RFC 3339 UTC where the column map says how to read it: text in
    ``created_at_format``, and zone-less ISO 8601 times (``2026-10-14 08:29:38``) in
    ``timezone``. A value it cannot read is left as it is (validation then rejects it,
    or reads it if it is RFC 3339 with a zone or epoch seconds)."""
    col = pl.col("created_at")
    if isinstance(dtype, pl.Date):
        col, dtype = col.cast(pl.Datetime("us")), pl.Datetime("us")
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            if timezone is None:
                return col.cast(pl.String())
            col = col.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
        return col.dt.convert_time_zone("UTC").dt.strftime(_RFC3339_UTC)
    text = col.cast(pl.String()).str.strip_chars()
    naive = [text.str.to_datetime(f, strict=False, time_unit="us") for f in _NAIVE_FORMATS]
    if created_at_format is not None and _has_zone(created_at_format):
        parsed = text.str.to_datetime(created_at_format, strict=False, time_unit="us")
        parsed = parsed.dt.convert_time_zone("UTC")
        if timezone is not None:
            local = pl.coalesce(naive).dt.replace_time_zone(
                timezone, ambiguous="earliest", non_existent="null"
            )
            parsed = pl.coalesce(parsed, local.dt.convert_time_zone("UTC"))
    elif timezone is not None:
        if created_at_format is not None:
            naive.insert(0, text.str.to_datetime(created_at_format, strict=False, time_unit="us"))
        parsed = pl.coalesce(naive).dt.replace_time_zone(
            timezone, ambiguous="earliest", non_existent="null"
        )
    else:
        return text
    return parsed.dt.convert_time_zone("UTC").dt.strftime(_RFC3339_UTC).fill_null(text)
