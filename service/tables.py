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

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from indexer.schema import COOC_FILE, POSTINGS_FILE, POSTS_FILE, TAGS_FILE


@dataclass(frozen=True)
class Tables:
    tags: pl.DataFrame
    tags_by_key: pl.DataFrame
    postings: pl.DataFrame
    timeline: pl.DataFrame
    cooc: pl.DataFrame
    posts: pl.DataFrame
    """created_at, platform, lang of every post (tagged or not), sorted by time."""

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
        keys = self.tags_by_key["tag"]
        i = keys.search_sorted(tag, side="left")
        if i >= keys.len() or keys[i] != tag:
            return None
        return self.tags_by_key.row(i, named=True)

    def tag_postings(self, tag: str) -> pl.DataFrame:
        """The postings of one tag key, sorted by time (empty if unknown)."""
        return _sorted_slice(self.postings, "tag", tag)

    def tag_cooc(self, tag: str) -> pl.DataFrame:
        """Tags seen with ``tag``: other, co_posts (desc)."""
        return _sorted_slice(self.cooc, "tag", tag)

    def window(self, start: datetime | None, end: datetime | None) -> pl.DataFrame:
        """Postings with ``start <= created_at < end`` (open ends allowed), sorted by time."""
        times = self.timeline["created_at"]
        lo = 0 if start is None else int(times.search_sorted(start, side="left"))
        hi = times.len() if end is None else int(times.search_sorted(end, side="left"))
        return self.timeline.slice(lo, max(0, hi - lo))

    def prefix(self, prefix: str) -> pl.DataFrame:
        """Tags-table rows whose key starts with ``prefix`` (any order)."""
        keys = self.tags_by_key["tag"]
        lo = int(keys.search_sorted(prefix, side="left"))
        hi = int(keys.search_sorted(prefix + "\U0010ffff", side="left"))
        return self.tags_by_key.slice(lo, max(0, hi - lo))


def _sorted_slice(frame: pl.DataFrame, column: str, value: str) -> pl.DataFrame:
    keys = frame[column]
    lo = int(keys.search_sorted(value, side="left"))
    hi = int(keys.search_sorted(value, side="right"))
    return frame.slice(lo, hi - lo)


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
    return Tables(
        tags=tags.sort(["posts", "tag"], descending=[True, False]).rechunk(),
        tags_by_key=tags.sort("tag").rechunk(),
        postings=postings,
        timeline=timeline,
        cooc=cooc,
        posts=posts.sort("created_at").rechunk(),
    )
