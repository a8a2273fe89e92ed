"""The columnar side of a generation, memory-mapped by the service.

The indexer writes the service's tables sorted and coded (indexer/serving.py,
declared in indexer/schema.py's ``SERVE_TABLES``) as uncompressed Arrow IPC;
here pyarrow memory-maps each file and polars reads it without a copy. So a
worker's heap holds none of the history: pages come from the page cache,
shared by every worker, and loading a generation costs milliseconds whatever
its size. Every read is a slice, never a scan:

- ``tags``: one row per tag key, sorted by key (a tag's **row**), with exact
  totals and the offsets of its postings, pairs and days;
- ``postings``: one row per (post, tag key), sorted by tag row then time, so
  one tag's rows are ``postings.slice(start, posts)``;
- ``timeline``: the same rows sorted by time, so a time window is one slice,
  with the trend columns (service/trends.py);
- ``daily``: per tag and UTC day (days since the epoch): posts, distinct authors,
  engagement; ``cooc``: the tags seen with each tag, by co_posts;
- ``posts``: created_at, platform, lang of every post (tagged or not), by time.
Platforms and languages are codes (``platforms[code]``, ``langs[code]``); an
author is an ``account``: one number per (platform, author), so the same handle
on two platforms is two people. All times are ``Datetime("us", "UTC")``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, overload

import polars as pl
import pyarrow as pa
import pyarrow.ipc

from indexer.schema import (
    SERVE_CODES,
    SERVE_COOC,
    SERVE_DAILY,
    SERVE_POSTINGS,
    SERVE_POSTS,
    SERVE_RANKED,
    SERVE_TAGS,
    SERVE_TIMELINE,
    TableSpec,
)

DAILY_COLUMNS = ("day", "posts", "authors", "engagement")


class _Keys(Sequence[str]):
    """The tag keys of the memory-mapped tags table as a sequence for :mod:`bisect`:
    a lookup reads ~20 keys (about 20 us), not the table."""

    def __init__(self, keys: pa.Array) -> None:
        self._keys = keys

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return self._keys[i].to_pylist()  # type: ignore[no-any-return]
        return self._keys[i].as_py()  # type: ignore[no-any-return]


def map_table(generation_dir: Path, spec: TableSpec) -> tuple[pl.DataFrame, pa.Table]:
    """The table ``spec`` of a generation, memory-mapped: as polars and as pyarrow."""
    source = pa.memory_map(str(generation_dir / spec.file))
    table = pyarrow.ipc.open_file(source).read_all()
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    if frame.schema != pl.Schema(spec.columns):
        raise ValueError(f"{spec.file}: columns {frame.schema} are not {spec.columns}")
    return frame, table


@dataclass(frozen=True)
class Tables:
    tags: pl.DataFrame
    ranked: pl.Series
    """``tags`` rows by posts (desc), then key."""
    postings: pl.DataFrame
    timeline: pl.DataFrame
    daily: pl.DataFrame
    cooc: pl.DataFrame
    posts: pl.DataFrame
    platforms: list[str]
    """Platform names by code."""
    langs: list[str]
    """Language names by code."""
    keys: Sequence[str]
    """Every tag key, sorted (``tags`` order), for :mod:`bisect`."""

    def key_index(self, tag: str) -> int | None:
        """The row of a tag key in ``tags``, or None."""
        i = bisect.bisect_left(self.keys, tag)
        return i if i < len(self.keys) and self.keys[i] == tag else None

    @property
    def total_posts(self) -> int:
        return self.posts.height

    def platform_code(self, name: str) -> int | None:
        return _code(self.platforms, name)

    def lang_code(self, name: str) -> int | None:
        return _code(self.langs, name)

    def posts_between(
        self,
        start: datetime | None,
        end: datetime | None,
        platform: str | None = None,
        lang: str | None = None,
    ) -> int:
        """Posts with ``start <= created_at < end``, narrowed by platform and lang."""
        rows = _between(self.posts, start, end)
        filtered = self.narrow(rows, platform, lang)
        return 0 if filtered is None else filtered.height

    def narrow(
        self, rows: pl.DataFrame, platform: str | None, lang: str | None
    ) -> pl.DataFrame | None:
        """Rows of that platform and lang (codes); None when either is a name never seen."""
        conditions = []
        for name, codes, column in (
            (platform, self.platforms, "platform"),
            (lang, self.langs, "lang"),
        ):
            if name is None:
                continue
            code = _code(codes, name)
            if code is None:
                return None
            conditions.append(pl.col(column) == code)
        return rows.filter(conditions) if conditions else rows

    def tag_row(self, tag: str) -> dict[str, Any] | None:
        """The tags-table row of a tag key, or None."""
        i = self.key_index(tag)
        return None if i is None else self.tags.row(i, named=True)

    def tag_postings(self, tag: str) -> pl.DataFrame:
        """The postings of one tag key, sorted by time (empty if unknown)."""
        i = self.key_index(tag)
        if i is None:
            return self.postings.clear()
        return self.postings.slice(self._at("postings_start", i), self._at("posts", i))

    def _at(self, column: str, i: int) -> int:
        return int(self.tags.get_column(column)[i])

    def tag_cooc(self, tag: str) -> pl.DataFrame:
        """Tags seen with ``tag``: other (row), co_posts (desc)."""
        i = self.key_index(tag)
        if i is None:
            return self.cooc.clear()
        return self.cooc.slice(self._at("cooc_start", i), self._at("cooc_len", i))

    def window(self, start: datetime | None, end: datetime | None) -> pl.DataFrame:
        """Timeline rows with ``start <= created_at < end`` (open ends allowed), by time."""
        return _between(self.timeline, start, end)

    def tag_days(self, tag: str) -> list[tuple[int, int, int, int]]:
        """``(day, posts, authors, engagement)`` of each UTC day a tag was used, in order."""
        i = self.key_index(tag)
        if i is None:
            return []
        days = self.daily.slice(self._at("daily_start", i), self._at("daily_len", i))
        return list(days.iter_rows())

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """``keys[lo:hi]`` (and ``tags`` rows lo..hi) start with ``prefix``."""
        lo = bisect.bisect_left(self.keys, prefix)
        return lo, bisect.bisect_left(self.keys, prefix + "\U0010ffff", lo)

    def prefix(self, prefix: str) -> pl.DataFrame:
        """Tags-table rows whose key starts with ``prefix`` (key order)."""
        lo, hi = self.prefix_range(prefix)
        return self.tags.slice(lo, max(0, hi - lo))


def _code(names: list[str], name: str) -> int | None:
    i = bisect.bisect_left(names, name)
    return i if i < len(names) and names[i] == name else None


def _between(rows: pl.DataFrame, start: datetime | None, end: datetime | None) -> pl.DataFrame:
    """Rows of a time-sorted frame with ``start <= created_at < end``."""
    times = rows["created_at"]
    lo = 0 if start is None else int(times.search_sorted(start, side="left"))
    hi = rows.height if end is None else int(times.search_sorted(end, side="left"))
    return rows.slice(lo, max(0, hi - lo))


def load_tables(generation_dir: Path) -> Tables:
    """Map a generation's serve tables (milliseconds; nothing is copied into the heap)."""
    tags, tags_arrow = map_table(generation_dir, SERVE_TAGS)
    codes, _ = map_table(generation_dir, SERVE_CODES)
    return Tables(
        tags=tags,
        ranked=map_table(generation_dir, SERVE_RANKED)[0]["row"],
        postings=map_table(generation_dir, SERVE_POSTINGS)[0],
        timeline=map_table(generation_dir, SERVE_TIMELINE)[0],
        daily=map_table(generation_dir, SERVE_DAILY)[0],
        cooc=map_table(generation_dir, SERVE_COOC)[0],
        posts=map_table(generation_dir, SERVE_POSTS)[0],
        platforms=codes.filter(pl.col("kind") == "platform")["name"].to_list(),
        langs=codes.filter(pl.col("kind") == "lang")["name"].to_list(),
        keys=_Keys(tags_arrow.column("tag").combine_chunks()),
    )
