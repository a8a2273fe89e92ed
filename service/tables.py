"""The columnar side of a generation, held in memory by the service.

Loaded once per generation (in a worker thread, before the swap) from the
Parquet tables the indexer wrote (see indexer/schema.py), plus derived
orderings so that every read is a slice, never a scan:

- ``tags``: one row per tag key, ranked by posts (desc) then key;
- ``tags_by_key``: the same rows sorted by key, for prefix search and lookups;
- ``postings``: one row per (post, tag key), sorted by tag then time, so one
  tag's rows are ``postings.slice(*tag_range(tag))``;
- ``timeline``: the same rows sorted by time, so a time window is one slice;
  both carry ``account``, a dense integer per (platform, author): an author is
  that pair (the same handle on two platforms is two people), and counting
  distinct integers is the fastest exact count;
- ``cooc``: tag, other, co_posts sorted by tag then co_posts (desc).
All times are ``Datetime("us", "UTC")``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from indexer.schema import COOC_FILE, POSTINGS_FILE, POSTS_FILE, TAGS_FILE

DAILY_COLUMNS = ("day", "posts", "authors", "engagement")


@dataclass(frozen=True)
class Tables:
    tags: pl.DataFrame
    tags_by_key: pl.DataFrame
    postings: pl.DataFrame
    timeline: pl.DataFrame
    cooc: pl.DataFrame
    posts: pl.DataFrame
    """created_at, platform, lang of every post (tagged or not), sorted by time."""
    keys: list[str] = field(default_factory=list)
    """Every tag key, sorted (``tags_by_key`` order): looked up with :mod:`bisect`,
    ~0.3 us, where a polars ``search_sorted`` of one string costs ~70 us."""
    posting_starts: list[int] = field(default_factory=list)
    """``postings`` rows of ``keys[i]`` are ``posting_starts[i] : posting_starts[i + 1]``."""
    key_summaries: list[tuple[str, str, int, int]] = field(default_factory=list)
    """``(tag, display, posts, authors)`` of ``keys[i]`` (autocomplete answers from these)."""
    cooc_ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    """``cooc`` rows of a tag: (offset, length)."""
    daily: pl.DataFrame | None = None
    """Per tag and UTC day (days since the epoch): posts, distinct authors, engagement,
    sorted by tag then day: the daily timeseries is a slice of it."""
    daily_ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    """``daily`` rows of a tag: (offset, length)."""

    def key_index(self, tag: str) -> int | None:
        """Position of a tag key in ``keys`` / ``tags_by_key``, or None."""
        i = bisect.bisect_left(self.keys, tag)
        return i if i < len(self.keys) and self.keys[i] == tag else None

    @property
    def total_posts(self) -> int:
        return self.posts.height

    def posts_between(
        self,
        start: datetime | None,
        end: datetime | None,
        platform: str | None = None,
        lang: str | None = None,
    ) -> int:
        """Posts with ``start <= created_at < end``, narrowed by platform and lang."""
        times = self.posts["created_at"]
        lo = 0 if start is None else int(times.search_sorted(start, side="left"))
        hi = times.len() if end is None else int(times.search_sorted(end, side="left"))
        rows = self.posts.slice(lo, max(0, hi - lo))
        if platform is not None:
            rows = rows.filter(pl.col("platform") == platform)
        if lang is not None:
            rows = rows.filter(pl.col("lang") == lang)
        return rows.height

    def tag_row(self, tag: str) -> dict[str, Any] | None:
        """The tags-table row of a tag key, or None."""
        i = self.key_index(tag)
        return None if i is None else self.tags_by_key.row(i, named=True)

    def tag_postings(self, tag: str) -> pl.DataFrame:
        """The postings of one tag key, sorted by time (empty if unknown)."""
        i = self.key_index(tag)
        if i is None:
            return self.postings.clear()
        lo, hi = self.posting_starts[i], self.posting_starts[i + 1]
        return self.postings.slice(lo, hi - lo)

    def tag_cooc(self, tag: str) -> pl.DataFrame:
        """Tags seen with ``tag``: other, co_posts (desc)."""
        lo, n = self.cooc_ranges.get(tag, (0, 0))
        return self.cooc.slice(lo, n)

    def window(self, start: datetime | None, end: datetime | None) -> pl.DataFrame:
        """Postings with ``start <= created_at < end`` (open ends allowed), sorted by time."""
        times = self.timeline["created_at"]
        lo = 0 if start is None else int(times.search_sorted(start, side="left"))
        hi = times.len() if end is None else int(times.search_sorted(end, side="left"))
        return self.timeline.slice(lo, max(0, hi - lo))

    def tag_days(self, tag: str) -> list[tuple[int, int, int, int]]:
        """``(day, posts, authors, engagement)`` of each UTC day a tag was used, in order."""
        if self.daily is None:
            return []
        lo, n = self.daily_ranges.get(tag, (0, 0))
        return [r[1:] for r in self.daily.slice(lo, n).iter_rows()]  # (tag, *DAILY_COLUMNS)

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """``keys[lo:hi]`` (and ``tags_by_key`` rows lo..hi) start with ``prefix``."""
        lo = bisect.bisect_left(self.keys, prefix)
        return lo, bisect.bisect_left(self.keys, prefix + "\U0010ffff", lo)

    def prefix(self, prefix: str) -> pl.DataFrame:
        """Tags-table rows whose key starts with ``prefix`` (any order)."""
        lo, hi = self.prefix_range(prefix)
        return self.tags_by_key.slice(lo, max(0, hi - lo))


def load_tables(generation_dir: Path) -> Tables:
    tags = pl.read_parquet(generation_dir / TAGS_FILE)
    postings = pl.read_parquet(generation_dir / POSTINGS_FILE).sort("tag", "created_at")
    accounts = postings.select("platform", "author").unique().with_row_index("account")
    postings = postings.join(
        accounts, on=["platform", "author"], how="left", maintain_order="left"
    ).rechunk()
    timeline = postings.drop("written").sort("created_at", maintain_order=True).rechunk()
    cooc = pl.read_parquet(generation_dir / COOC_FILE).rechunk()
    posts = pl.read_parquet(generation_dir / POSTS_FILE, columns=["created_at", "platform", "lang"])
    tags_by_key = tags.sort("tag").rechunk()
    daily = (
        postings.group_by("tag", day=pl.col("created_at").dt.epoch("d"))
        .agg(
            posts=pl.len(),
            authors=pl.col("account").n_unique(),
            engagement=pl.col("engagement").sum(),
        )
        .sort("tag", "day")
        .select("tag", *DAILY_COLUMNS)
        .rechunk()
    )
    keys = tags_by_key["tag"].to_list()
    return Tables(
        tags=tags.sort(["posts", "tag"], descending=[True, False]).rechunk(),
        tags_by_key=tags_by_key,
        postings=postings,
        timeline=timeline,
        cooc=cooc,
        posts=posts.sort("created_at").rechunk(),
        keys=keys,
        key_summaries=list(tags_by_key.select("tag", "display", "posts", "authors").iter_rows()),
        posting_starts=_starts(postings["tag"], keys),
        cooc_ranges=_ranges(cooc["tag"]),
        daily=daily,
        daily_ranges=_ranges(daily["tag"]),
    )


def _runs(sorted_keys: pl.Series) -> pl.DataFrame:
    """``key, offset, n`` of each run of equal values of a sorted column."""
    runs = sorted_keys.rle()
    lengths = runs.struct.field("len")
    return pl.DataFrame(
        {
            "key": runs.struct.field("value"),
            "offset": lengths.cum_sum() - lengths,
            "n": lengths,
        }
    )


def _starts(posting_tags: pl.Series, keys: list[str]) -> list[int]:
    """Row offsets of each key's postings (``len(keys) + 1`` of them; a key with no
    postings has an empty range)."""
    runs = _runs(posting_tags)
    ends = (
        pl.DataFrame({"key": keys}, schema={"key": pl.String()})
        .join(runs, on="key", how="left", maintain_order="left")
        .select(end=(pl.col("offset") + pl.col("n")))["end"]
    )
    # a key without postings ends where the previous one did
    filled = ends.fill_null(strategy="forward").fill_null(0)
    return [0, *filled.cast(pl.Int64()).to_list()]


def _ranges(sorted_tags: pl.Series) -> dict[str, tuple[int, int]]:
    runs = _runs(sorted_tags)
    return {k: (int(o), int(n)) for k, o, n in runs.iter_rows()}
