"""The Hashtag Index report: one CSV row per tag over a period, streamed.

Columns (the contract): rank, tag, display, posts, authors, engagement,
share_pct, prev_posts, change_pct, first_seen, last_seen.

- ``posts``, ``authors``, ``engagement`` are exact over ``[from, to)``;
- ``share_pct`` = posts with the tag / all posts in the period (same
  platform/lang filter) x 100, 4 decimals;
- ``prev_posts`` = the tag's posts in the same-length period just before;
  ``change_pct`` = (posts - prev_posts) / prev_posts x 100, 2 decimals,
  empty when prev_posts is 0 (a new tag has no finite change);
- ``first_seen``/``last_seen`` are within the period, UTC, RFC 3339;
- ranked by posts, then authors (desc), then tag key; without ``limit``,
  every tag of the period (a report never truncates silently).
Text cells (``tag``, ``display``) that start with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return get a leading single quote (OWASP's rule against CSV
injection), in every format, so a spreadsheet never runs a tag as a formula.
The file is UTF-8 with a byte-order mark, which Excel needs to read
non-Latin tags correctly (LibreOffice and pandas accept it), and CRLF-free
plain ``\\n`` line ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import polars as pl

from service.params import parse_filter, parse_range, saturating_add
from service.query_errors import InvalidParameter
from service.tables import Tables

COLUMNS = (
    "rank",
    "tag",
    "display",
    "posts",
    "authors",
    "engagement",
    "share_pct",
    "prev_posts",
    "change_pct",
    "first_seen",
    "last_seen",
)
BOM = "\ufeff".encode()
CHUNK_ROWS = 20_000
_TIME = "%Y-%m-%dT%H:%M:%SZ"


def default_period(tables: Tables) -> tuple[datetime, datetime]:
    """Whole UTC days covering the generation: midnight of the first post's day to the
    midnight after the last post."""
    if tables.first_post is None or tables.last_post is None:
        raise ValueError("empty generation")
    first = tables.first_post.replace(hour=0, minute=0, second=0, microsecond=0)
    last = tables.last_post.replace(hour=0, minute=0, second=0, microsecond=0)
    return first, saturating_add(last, timedelta(days=1))


def report_frame(
    tables: Tables,
    start: datetime,
    end: datetime,
    *,
    platform: str | None = None,
    lang: str | None = None,
    limit: int | None = None,
    prev: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The report's rows, typed, ranked. ``prev`` is :func:`previous_posts` of the same
    arguments when the caller has it already."""
    if prev is None:
        prev = previous_posts(tables, start, end, platform, lang)
    total = tables.posts_between(start, end, platform, lang)
    ranked = (
        _per_tag(tables, start, end, platform, lang)
        .join(prev, on="row", how="left")
        .with_columns(pl.col("prev_posts").fill_null(0))
        .sort(["posts", "authors", "tag"], descending=[True, True, False])
    )
    if limit is not None:
        ranked = ranked.head(limit)
    return escape_formulas(
        ranked.with_columns(
            rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64()),
            share_pct=(pl.col("posts") * 100 / max(total, 1)).round(4),
            change_pct=pl.when(pl.col("prev_posts") > 0)
            .then(((pl.col("posts") - pl.col("prev_posts")) * 100 / pl.col("prev_posts")).round(2))
            .otherwise(None),
        ).select(COLUMNS)
    )


def previous_posts(
    tables: Tables, start: datetime, end: datetime, platform: str | None, lang: str | None
) -> pl.DataFrame:
    """``row`` (tag id), ``prev_posts``: each tag's posts in the same-length period just
    before ``start``."""
    before = tables.narrow(tables.window(saturating_add(start, start - end), start), platform, lang)
    if before is None:
        return pl.DataFrame(schema={"row": pl.UInt32(), "prev_posts": pl.Int64()})
    return before.group_by(row="tag").agg(prev_posts=pl.len().cast(pl.Int64()))


FORMULA_START = "=+-@\t\r"
"""A text cell starting with one of these is a formula to a spreadsheet (OWASP)."""


def escape_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text cell that a spreadsheet would run as a formula, with a leading ``'``."""
    pattern = "^[" + re.escape(FORMULA_START) + "]"
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(pattern))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String()
    )


_PER_TAG = ["row", "tag", "display", "posts", "authors", "engagement", "first_seen", "last_seen"]


def _per_tag(
    tables: Tables, start: datetime, end: datetime, platform: str | None, lang: str | None
) -> pl.DataFrame:
    """row, tag, display, posts, authors, engagement, first_seen, last_seen over [start, end)."""
    first, last = tables.first_posting, tables.last_posting
    whole = first is None or last is None or (start <= first and end > last)
    if whole and platform is None and lang is None:
        # The period holds the whole generation: the build's exact totals are the answer.
        return tables.tags.with_row_index("row").filter(pl.col("posts") > 0).select(_PER_TAG)
    rows = tables.narrow(tables.window(start, end), platform, lang)
    if rows is None:
        return tables.tags.clear().with_row_index("row").select(_PER_TAG)
    per_tag = rows.group_by(row="tag").agg(
        posts=pl.len().cast(pl.Int64()),
        authors=pl.col("account").n_unique().cast(pl.Int64()),
        engagement=pl.col("engagement").sum(),
        first_seen=pl.col("created_at").min(),
        last_seen=pl.col("created_at").max(),
    )
    return per_tag.with_columns(
        tag=tables.tags["tag"].gather(per_tag["row"]),
        display=tables.tags["display"].gather(per_tag["row"]),
    ).select(_PER_TAG)


def csv_chunks(frame: pl.DataFrame, chunk_rows: int = CHUNK_ROWS) -> Iterator[bytes]:
    """The report as CSV bytes, a chunk at a time: BOM and header first."""
    yield BOM + (",".join(COLUMNS) + "\n").encode()
    for offset in range(0, frame.height, chunk_rows):
        chunk = frame.slice(offset, chunk_rows)
        yield chunk.write_csv(include_header=False, datetime_format=_TIME).encode()


def filename(start: datetime, end: datetime, ext: str = "csv") -> str:
    return f"hashtag-index_{_stamp(start)}_{_stamp(end)}.{ext}"


def _stamp(t: datetime) -> str:
    if (t.hour, t.minute, t.second, t.microsecond) == (0, 0, 0, 0):
        return t.strftime("%Y-%m-%d")
    return t.strftime("%Y-%m-%dT%H%M%SZ")


def resolve_period(
    tables: Tables, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    """The period asked for, open ends filled with :func:`default_period`."""
    if start is not None and end is not None:
        return start, end
    if tables.total_posts == 0:
        raise InvalidParameter("from: the index is empty; give from and to", "from")
    first, last = default_period(tables)
    start = start or first
    end = end or max(last, saturating_add(start, timedelta(days=1)))
    if start >= end:
        raise InvalidParameter("from: must be before to", "from")
    return start, end


def prepare(
    tables: Tables,
    *,
    from_: str | None,
    to: str | None,
    limit: int | None = None,
    platform: str | None = None,
    lang: str | None = None,
    ext: str = "csv",
) -> tuple[pl.DataFrame, str]:
    """The report's rows and file name for raw request parameters; a bad one is an
    :class:`InvalidParameter` whose message starts with its name (``from: must be before to``)."""
    start, end = resolve_period(tables, *parse_range(from_, to))
    frame = report_frame(
        tables, start, end, platform=parse_filter(platform), lang=parse_filter(lang), limit=limit
    )
    return frame, filename(start, end, ext)
