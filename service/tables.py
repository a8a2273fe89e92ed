"""The columnar side of a generation, memory-mapped by the service.

The indexer writes a generation as time splits (one per UTC day) plus tables
over the whole vocabulary (indexer/schema.py declares them all) as
uncompressed Arrow IPC; here pyarrow memory-maps each file and polars reads it
without a copy. A worker's heap holds none of the history: pages come from
the page cache, shared by every worker and by the generation before a swap,
and loading a generation costs milliseconds whatever its size.

Generation-wide, by tag **id** (ids only grow, so splits of older generations
keep them):

- ``tags``: row ``i`` is tag ``i``: key, display and exact all-time totals (a tag
  whose posts all went stays, with ``posts`` 0, and is treated as unknown);
- ``keys``: every key, sorted, with its id (:meth:`Tables.key_index`, prefixes);
- ``ranked``: the ids of tags with posts by posts (desc), then key;
- ``cooc``: co_posts per pair key ``tag << 32 | other``, one slice per tag.

Per split (a day), so a question reads only the days its range covers:

- ``postings`` by tag then time and ``summary`` per tag (exact posts, distinct
  authors, engagement and where its postings start): one tag's day is a slice;
- ``timeline``: the postings by time: a window is a slice;
- ``posts``: created_at, platform, lang of every post (tagged or not).

Platforms and languages are codes (``platforms[code]``, ``langs[code]``); an
author is an ``account``: one number per (platform, author), so the same handle
on two platforms is two people. All times are ``Datetime("us", "UTC")``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, overload

import polars as pl
import pyarrow as pa

from indexer.schema import (
    CODES_TABLE,
    COOC_DELTA_TABLE,
    COOC_TABLE,
    EPOCH,
    KEYS_TABLE,
    RANKED_TABLE,
    SPLIT_POSTINGS,
    SPLIT_POSTS,
    SPLIT_REMOVED,
    SPLIT_SUMMARY,
    SPLIT_TIMELINE,
    TAGS_TABLE,
    Manifest,
    TableSpec,
    map_ipc,
    read_manifest,
)


class _Column(Sequence[Any]):
    """One column of a memory-mapped table as a sequence for :mod:`bisect`: a lookup
    reads ~20 values (about 5 us), not the column."""

    def __init__(self, values: pa.Array) -> None:
        self._values = values

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Any]: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return self._values[i].to_pylist()
        return self._values[i].as_py()


def mapped(directory: Path, spec: TableSpec) -> pl.DataFrame:
    """A table of the generation, memory-mapped, checked against its declaration."""
    frame = map_ipc(directory / spec.file)
    if frame.schema != pl.Schema(spec.columns):
        raise ValueError(f"{directory / spec.file}: columns {frame.schema} are not {spec.columns}")
    return frame


def _arrow(series: pl.Series) -> pa.Array:
    """The series (one chunk, as the indexer writes them) as pyarrow: no copy."""
    return series.to_arrow(compat_level=pl.CompatLevel.newest())


@dataclass(frozen=True)
class Split:
    """One day of the generation, memory-mapped."""

    day: date
    postings: pl.DataFrame
    summary: pl.DataFrame
    timeline: pl.DataFrame
    posts: pl.DataFrame
    tag_ids: Sequence[int]
    """``summary``'s tag column, for :mod:`bisect`."""
    removed: pl.Series | None = None
    """Posts (rows of the day's record) gone since the day was written: their rows of
    postings, timeline and posts are left out (SPLIT_REMOVED); None: none."""

    def live(self, rows: pl.DataFrame) -> pl.DataFrame:
        """``rows`` of this split without the removed posts' rows."""
        if self.removed is None:
            return rows
        return rows.filter(~pl.col("post").is_in(self.removed.implode()))

    @property
    def start(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC)

    def mix(self, start: datetime | None, end: datetime | None) -> pl.DataFrame:
        """platform, lang, len: the live posts in ``[start, end)`` per (platform, lang)."""
        rows = self.live(between(self.posts, start, end))
        return rows.group_by("platform", "lang").len().with_columns(pl.col("len").cast(pl.Int64()))

    @cached_property
    def day_mix(self) -> pl.DataFrame:
        """:meth:`mix` of the whole day, kept (a split never changes): a long period's
        platform and language shares cost a sum of these."""
        return self.mix(None, None)

    def summary_row(self, tag_id: int) -> int | None:
        i = bisect.bisect_left(self.tag_ids, tag_id)
        return i if i < len(self.tag_ids) and self.tag_ids[i] == tag_id else None

    def tag_postings(self, tag_id: int) -> pl.DataFrame:
        i = self.summary_row(tag_id)
        if i is None:
            return self.postings.clear()
        start = int(self.summary["postings_start"][i])
        return self.live(self.postings.slice(start, int(self.summary["postings_len"][i])))


def load_split(directory: Path, day: date) -> Split:
    summary = mapped(directory, SPLIT_SUMMARY)
    removed = directory / SPLIT_REMOVED.file
    return Split(
        day=day,
        postings=mapped(directory, SPLIT_POSTINGS),
        summary=summary,
        timeline=mapped(directory, SPLIT_TIMELINE),
        posts=mapped(directory, SPLIT_POSTS),
        tag_ids=_Column(_arrow(summary["tag"])),
        removed=mapped(directory, SPLIT_REMOVED)["post"] if removed.exists() else None,
    )


@dataclass(frozen=True)
class Tables:
    tags: pl.DataFrame
    """By id: key, display, exact totals, cooc offsets."""
    keys: Sequence[str]
    """Every tag key, sorted, for :mod:`bisect`."""
    key_ids: pl.Series
    """The id of ``keys[i]``."""
    ranked: pl.Series
    """Ids of the tags with posts, by posts (desc), then key."""
    cooc: pl.DataFrame
    """key (tag << 32 | other), co_posts: the pairs as cooc.arrow was written."""
    cooc_delta: pl.DataFrame
    """key, co_posts: the changes since (added to ``cooc``'s; possibly negative)."""
    platforms: list[str]
    """Platform names by code."""
    langs: list[str]
    """Language names by code."""
    splits: list[Split]
    """By day."""
    total_posts: int
    first_post: datetime | None
    last_post: datetime | None

    @cached_property
    def first_posting(self) -> datetime | None:
        """The time of the generation's first tagged post (a live one)."""
        for split in self.splits:
            times = split.live(split.timeline)["created_at"]
            if times.len():
                return times[0]  # type: ignore[no-any-return]
        return None

    @cached_property
    def last_posting(self) -> datetime | None:
        """The time of the generation's last tagged post (a live one)."""
        for split in reversed(self.splits):
            times = split.live(split.timeline)["created_at"]
            if times.len():
                return times[-1]  # type: ignore[no-any-return]
        return None

    def key_index(self, tag: str) -> int | None:
        """The id of a tag key with posts, or None."""
        i = bisect.bisect_left(self.keys, tag)
        if i >= len(self.keys) or self.keys[i] != tag:
            return None
        tag_id = int(self.key_ids[i])
        return tag_id if self.tags["posts"][tag_id] > 0 else None

    def platform_code(self, name: str) -> int | None:
        return _code(self.platforms, name)

    def lang_code(self, name: str) -> int | None:
        return _code(self.langs, name)

    def covering(self, start: datetime | None, end: datetime | None) -> list[Split]:
        """The splits holding posts with ``start <= created_at < end``."""
        lo = 0 if start is None else bisect.bisect_left(self._days, start.astimezone(UTC).date())
        hi = (
            len(self.splits)
            if end is None
            else bisect.bisect_right(
                self._days, (end.astimezone(UTC) - timedelta(microseconds=1)).date()
            )
        )
        return self.splits[lo:hi]

    @cached_property
    def _days(self) -> list[date]:
        return [s.day for s in self.splits]

    def posts_between(
        self,
        start: datetime | None,
        end: datetime | None,
        platform: str | None = None,
        lang: str | None = None,
    ) -> int:
        """Posts with ``start <= created_at < end``, narrowed by platform and lang."""
        total = 0
        for split in self.covering(start, end):
            rows = self.narrow(split.live(between(split.posts, start, end)), platform, lang)
            total += 0 if rows is None else rows.height
        return total

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

    def tag_postings(
        self, tag: str, start: datetime | None = None, end: datetime | None = None
    ) -> pl.DataFrame:
        """The postings of one tag key in ``[start, end)``, by time (empty if unknown)."""
        i = self.key_index(tag)
        if i is None or not self.splits:
            return SPLIT_POSTINGS.frame()
        parts = [between(s.tag_postings(i), start, end) for s in self.covering(start, end)]
        return pl.concat([SPLIT_POSTINGS.frame(), *parts], rechunk=False)

    def tag_cooc(self, tag: str) -> pl.DataFrame:
        """Tags seen with ``tag``: other (id), co_posts, in id order."""
        i = self.key_index(tag)
        start, n = (
            (0, 0)
            if i is None
            else (int(self.tags["cooc_start"][i]), int(self.tags["cooc_len"][i]))
        )
        pairs = self.cooc.slice(start, n)
        if i is not None and self.cooc_delta.height:
            keys = self.cooc_delta["key"]
            lo, hi = (int(keys.search_sorted(t << 32, side="left")) for t in (i, i + 1))
            if hi > lo:
                pairs = (
                    pl.concat([pairs, self.cooc_delta.slice(lo, hi - lo)])
                    .group_by("key")
                    .agg(pl.col("co_posts").sum())
                    .filter(pl.col("co_posts") > 0)
                    .sort("key")
                )
        return pairs.select(
            other=(pl.col("key") % (1 << 32)).cast(pl.UInt32()), co_posts="co_posts"
        )

    def window(self, start: datetime | None, end: datetime | None) -> pl.DataFrame:
        """Timeline rows with ``start <= created_at < end`` (open ends allowed), by time."""
        parts = [s.live(between(s.timeline, start, end)) for s in self.covering(start, end)]
        return pl.concat([SPLIT_TIMELINE.frame(), *parts], rechunk=False)

    def tag_days(self, tag: str) -> list[tuple[int, int, int, int]]:
        """``(day, posts, authors, engagement)`` of each UTC day a tag was used, in order
        (``day``: days since 1970-01-01): each split's summary row of the tag."""
        i = self.key_index(tag)
        if i is None:
            return []
        days = []
        for split in self.splits:
            row = split.summary_row(i)
            if row is not None:
                posts, authors, engagement = split.summary.row(row)[1:4]
                days.append(((split.start - EPOCH).days, posts, authors, engagement))
        return days

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """``keys[lo:hi]`` start with ``prefix``."""
        lo = bisect.bisect_left(self.keys, prefix)
        return lo, bisect.bisect_left(self.keys, prefix + "\U0010ffff", lo)

    def prefix(self, prefix: str) -> pl.DataFrame:
        """Tags-table rows (with posts) whose key starts with ``prefix``, key order."""
        lo, hi = self.prefix_range(prefix)
        rows = self.tags.select("tag", "display", "posts", "authors").gather(
            self.key_ids.slice(lo, max(0, hi - lo))
        )
        return rows.filter(pl.col("posts") > 0)


def _code(names: list[str], name: str) -> int | None:
    try:
        return names.index(name)
    except ValueError:
        return None


def between(rows: pl.DataFrame, start: datetime | None, end: datetime | None) -> pl.DataFrame:
    """Rows of a time-sorted frame with ``start <= created_at < end``."""
    if start is None and end is None:
        return rows
    times = rows["created_at"]
    lo = 0 if start is None else int(times.search_sorted(start, side="left"))
    hi = rows.height if end is None else int(times.search_sorted(end, side="left"))
    return rows.slice(lo, max(0, hi - lo))


def load_tables(generation_dir: Path, manifest: Manifest | None = None) -> Tables:
    """Map a generation's tables (milliseconds; nothing is copied into the heap)."""
    manifest = manifest or read_manifest(generation_dir)
    keys = mapped(generation_dir, KEYS_TABLE)
    codes = mapped(generation_dir, CODES_TABLE)
    return Tables(
        tags=mapped(generation_dir, TAGS_TABLE),
        keys=_Column(_arrow(keys["tag"])),
        key_ids=keys["id"],
        ranked=mapped(generation_dir, RANKED_TABLE)["id"],
        cooc=mapped(generation_dir, COOC_TABLE),
        cooc_delta=(
            mapped(generation_dir, COOC_DELTA_TABLE)
            if (generation_dir / COOC_DELTA_TABLE.file).exists()
            else COOC_DELTA_TABLE.frame()  # a generation written before it existed
        ),
        platforms=codes.filter(pl.col("kind") == "platform").sort("code")["name"].to_list(),
        langs=codes.filter(pl.col("kind") == "lang").sort("code")["name"].to_list(),
        splits=[load_split(generation_dir / s.path, s.day) for s in manifest.splits],
        total_posts=manifest.posts,
        first_post=manifest.from_,
        last_post=manifest.to,
    )
