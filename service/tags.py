"""Tag endpoints' logic: autocomplete, detail, time series, related tags.

Pure functions of the in-memory tables (service/tables.py) and their
arguments; exact counts throughout.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
import polars as pl
import tantivy

from indexer.schema import EPOCH, F_TAGS
from service.edits import osa_distance
from service.params import saturating_add
from service.tables import Tables

INTERVAL_STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
MAX_POINTS = 20_000


class TagSummary(msgspec.Struct):
    tag: str
    display: str
    posts: int
    authors: int


class TagList(msgspec.Struct):
    items: list[TagSummary]


class TagDetail(msgspec.Struct):
    tag: str
    display: str
    posts: int
    authors: int
    engagement: int
    first_seen: datetime | None
    last_seen: datetime | None
    platforms: dict[str, int]
    langs: dict[str, int]


class Point(msgspec.Struct):
    t: datetime
    posts: int
    authors: int
    engagement: int


class TimeSeries(msgspec.Struct):
    tag: str
    interval: str
    points: list[Point]


class Related(msgspec.Struct):
    tag: str
    display: str
    co_posts: int
    score: float
    """Normalised PMI of the pair, in [-1, 1]: 1 = always together."""


class RelatedList(msgspec.Struct):
    tag: str
    items: list[Related]


def _summaries(rows: pl.DataFrame) -> list[TagSummary]:
    return [TagSummary(*r) for r in rows.select("tag", "display", "posts", "authors").iter_rows()]


def _summary(tables: Tables, row: int) -> TagSummary:
    tags = tables.tags
    return TagSummary(
        tags["tag"][row], tags["display"][row], tags["posts"][row], tags["authors"][row]
    )


SMALL = 4096
"""Up to this many matching tags, autocomplete ranks them in Python (a polars query's
fixed cost is ~1 ms here), not polars."""


def autocomplete_is_cheap(tables: Tables, prefix: str) -> bool:
    """Whether :func:`autocomplete` answers in microseconds (no polars query)."""
    lo, hi = tables.prefix_range(prefix)
    return hi - lo == len(tables.keys) or hi - lo <= SMALL


def autocomplete(tables: Tables, prefix: str, limit: int) -> list[TagSummary]:
    """Tags whose key starts with ``prefix``, most posts first (then key)."""
    lo, hi = tables.prefix_range(prefix)
    if hi - lo == len(tables.keys):  # every tag: the ranking is precomputed
        return [_summary(tables, int(r)) for r in tables.ranked.head(limit)]
    if hi - lo > SMALL:
        rows = tables.prefix(prefix)
        return _summaries(rows.sort(["posts", "tag"], descending=[True, False]).head(limit))
    ids = tables.key_ids.slice(lo, hi - lo)
    posts = tables.tags["posts"].gather(ids).to_list()
    # keys lo..hi are in key order, so the index breaks ties by key
    best = heapq.nsmallest(limit, range(hi - lo), key=lambda i: (-posts[i], i))
    return [_summary(tables, int(ids[i])) for i in best if posts[i] > 0]


def near_misses(
    tables: Tables, index: tantivy.Index, searcher: tantivy.Searcher, q: str, limit: int
) -> list[TagSummary]:
    """Tags within one edit (two for 6+ characters) of ``q``, closest then most posts first.

    tantivy's fuzzy term automaton finds posts carrying such tags; a terms
    aggregation over those posts names the tags, which are then checked with
    an exact Damerau-Levenshtein distance (co-occurring tags are dropped).
    """
    distance = 2 if len(q) >= 6 else 1
    query = tantivy.Query.fuzzy_term_query(
        index.schema, F_TAGS, q, distance=distance, transposition_cost_one=True, prefix=True
    )
    agg = searcher.aggregate(query, {"t": {"terms": {"field": F_TAGS, "size": 500}}})
    found: list[tuple[int, int, str, int]] = []
    for bucket in agg["t"]["buckets"]:
        key = str(bucket["key"])
        d = osa_distance(q, key[: len(q) + distance], distance)
        row = tables.key_index(key) if d <= distance else None
        if row is not None:
            found.append((d, -int(tables.tags["posts"][row]), key, row))
    return [_summary(tables, row) for *_, row in sorted(found)[:limit]]


def _counts(frame: pl.DataFrame, column: str, names: list[str]) -> dict[str, int]:
    """Rows per value of a coded column, most first (then name)."""
    rows = (
        frame.group_by(column)
        .len()
        .with_columns(
            pl.col(column).replace_strict(range(len(names)), names, return_dtype=pl.String())
        )
    )
    ordered = rows.sort(["len", column], descending=[True, False])
    return {str(k): int(v) for k, v in ordered.iter_rows()}


def postings(
    tables: Tables,
    tag: str,
    start: datetime | None = None,
    end: datetime | None = None,
    platform: str | None = None,
    lang: str | None = None,
) -> pl.DataFrame:
    """The tag's postings in ``[start, end)`` of that platform and language, by time."""
    rows = tables.tag_postings(tag, start, end)
    narrowed = tables.narrow(rows, platform, lang)
    return rows.clear() if narrowed is None else narrowed


def detail(
    tables: Tables,
    tag: str,
    start: datetime | None,
    end: datetime | None,
    platform: str | None = None,
    lang: str | None = None,
) -> TagDetail | None:
    """Exact totals of one tag, over the whole generation or ``[start, end)``, of all posts
    or those of one platform and/or language (None if the tag is unknown)."""
    row = tables.tag_row(tag)
    if row is None:
        return None
    if start is None and end is None and platform is None and lang is None:
        return TagDetail(
            tag=tag,
            display=str(row["display"]),
            posts=int(row["posts"]),
            authors=int(row["authors"]),
            engagement=int(row["engagement"]),
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
            platforms={d["name"]: d["posts"] for d in row["platforms"]},
            langs={d["name"]: d["posts"] for d in row["langs"]},
        )
    rows = postings(tables, tag, start, end, platform, lang)
    times = rows["created_at"]
    return TagDetail(
        tag=tag,
        display=str(row["display"]),
        posts=rows.height,
        authors=rows["account"].n_unique() if rows.height else 0,
        engagement=int(rows["engagement"].sum()),
        first_seen=times[0] if rows.height else None,
        last_seen=times[-1] if rows.height else None,
        platforms=_counts(rows, "platform", tables.platforms),
        langs=_counts(rows, "lang", tables.langs),
    )


def truncate(t: datetime, interval: str) -> datetime:
    """The start of the UTC bucket holding ``t`` (weeks start on Monday)."""
    day = t.replace(minute=0, second=0, microsecond=0)
    if interval == "hour":
        return day
    day = day.replace(hour=0)
    if interval == "day":
        return day
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class SeriesRange:
    start: datetime
    end: datetime


def series_range(
    tables: Tables, tag: str, interval: str, start: datetime | None, end: datetime | None
) -> SeriesRange | None:
    """Bucket-aligned ``[start, end)``: the given bounds, else the tag's first and last post.
    A last bucket that would end after 9999-12-31 ends there (it is still one bucket)."""
    row = tables.tag_row(tag)
    if row is None:
        return None
    first: datetime = start or row["first_seen"]
    last: datetime = end or saturating_add(row["last_seen"], timedelta(microseconds=1))
    lo = truncate(first, interval)
    hi = saturating_add(
        truncate(last - timedelta(microseconds=1), interval), INTERVAL_STEP[interval]
    )
    return SeriesRange(lo, hi)


def bucket_count(span: SeriesRange, interval: str) -> int:
    """Buckets in ``span``, the last one counted even when it is cut at the calendar's end."""
    return -(-(span.end - span.start) // INTERVAL_STEP[interval])


def timeseries(
    tables: Tables,
    tag: str,
    interval: str,
    span: SeriesRange,
    platform: str | None = None,
    lang: str | None = None,
) -> list[Point]:
    """Exact posts, distinct authors and engagement per UTC bucket, empty buckets as zeros;
    of all posts or those of one platform and/or language."""
    step = INTERVAL_STEP[interval]
    n = bucket_count(span, interval)
    points = [Point(span.start + i * step, 0, 0, 0) for i in range(n)]
    if interval == "day" and platform is None and lang is None:  # precomputed per tag and day
        first = (span.start - EPOCH).days
        for day, posts, authors, engagement in tables.tag_days(tag):
            if 0 <= day - first < n:
                points[day - first] = Point(points[day - first].t, posts, authors, engagement)
        return points
    rows = postings(tables, tag, span.start, span.end, platform, lang)
    step_us = step // timedelta(microseconds=1)
    start_us = (span.start - EPOCH) // timedelta(microseconds=1)
    per = rows.group_by(b=(pl.col("created_at").dt.epoch("us") - start_us) // step_us).agg(
        posts=pl.len(),
        authors=pl.col("account").n_unique(),
        engagement=pl.col("engagement").sum(),
    )
    for b, posts, authors, engagement in per.iter_rows():
        p = points[b]
        p.posts, p.authors, p.engagement = posts, authors, engagement
    return points


def related(
    tables: Tables,
    tag: str,
    limit: int,
    min_support: int,
    platform: str | None = None,
    lang: str | None = None,
) -> list[Related]:
    """Tags used with ``tag``, by normalised PMI over posts, with at least ``min_support`` posts
    together; raw co-counts would put giant generic tags on top of every list. Tags seen
    together no more often than chance (NPMI <= 0) are not related and are left out.
    With ``platform`` and/or ``lang``, every figure (the posts of either tag, of both, and
    of all) counts only the posts of that platform and language."""
    row = tables.tag_row(tag)
    if row is None:
        return []
    if platform is None and lang is None:
        n = tables.total_posts
        posts_a = int(row["posts"])
        pairs = tables.tag_cooc(tag).filter(pl.col("co_posts") >= min_support)
        posts_b = tables.tags["posts"].gather(pairs["other"])
    else:
        n = tables.posts_between(None, None, platform, lang)
        mine, pairs = _co_postings(tables, tag, platform, lang)
        posts_a = mine
        pairs = pairs.filter(pl.col("co_posts") >= min_support)
        posts_b = _posts_of(tables, pairs["other"], platform, lang)
    if pairs.height == 0 or n == 0:
        return []
    at = pairs["other"]
    tags = tables.tags
    others = pairs.with_columns(
        other=tags["tag"].gather(at),
        display=tags["display"].gather(at),
        posts_b=posts_b,
    )
    p_ab = pl.col("co_posts") / n
    pmi = (p_ab / ((posts_a / n) * (pl.col("posts_b") / n))).log()
    npmi = pl.when(p_ab >= 1).then(1.0).otherwise(pmi / -(p_ab.log()))
    scored = (
        others.with_columns(score=npmi.round(4))
        .filter(pl.col("score") > 0)
        .sort(["score", "co_posts", "other"], descending=[True, True, False])
    )
    return [
        Related(tag=o, display=d, co_posts=int(c), score=float(s))
        for o, d, c, s in scored.head(limit)
        .select("other", "display", "co_posts", "score")
        .iter_rows()
        if not math.isnan(s)
    ]


def _co_postings(
    tables: Tables, tag: str, platform: str | None, lang: str | None
) -> tuple[int, pl.DataFrame]:
    """The tag's posts of that platform and language, and ``other`` (id), ``co_posts``: the
    other tags on those posts. Each day's other postings are found by time (the timeline is
    sorted by it; a post's postings share its time), never by scanning the day."""
    tag_id = tables.key_index(tag)
    parts = [pl.DataFrame(schema={"tag": pl.UInt32(), "post": pl.UInt32()})]
    posts = 0
    for split in tables.splits:
        if tag_id is None:
            break
        if split.summary_row(tag_id) is None:
            continue
        mine = tables.narrow(split.tag_postings(tag_id), platform, lang)
        if mine is None or mine.height == 0:
            continue
        posts += mine.height
        times = split.timeline["created_at"]
        lo = times.search_sorted(mine["created_at"], side="left")
        hi = times.search_sorted(mine["created_at"], side="right")
        at = pl.int_ranges(lo, hi, eager=True).explode().unique().sort()
        near = split.live(split.timeline[at])
        parts.append(
            near.filter(
                pl.col("post").is_in(mine["post"].implode()), pl.col("tag") != tag_id
            ).select(pl.col("tag").cast(pl.UInt32()), pl.col("post").cast(pl.UInt32()))
        )
    co = pl.concat(parts).group_by("tag").agg(co_posts=pl.len().cast(pl.Int64()))
    return posts, co.select(other="tag", co_posts="co_posts").sort("other")


def _posts_of(tables: Tables, ids: pl.Series, platform: str | None, lang: str | None) -> pl.Series:
    """Posts of each tag id of ``ids`` (in that order) of that platform and language."""
    rows = tables.narrow(tables.window(None, None), platform, lang)
    if rows is None or ids.len() == 0:
        return pl.Series("posts_b", [0] * ids.len(), pl.Int64())
    counts = (
        rows.filter(pl.col("tag").is_in(ids.implode()))
        .group_by("tag")
        .agg(posts_b=pl.len().cast(pl.Int64()))
    )
    found = pl.DataFrame({"tag": ids}).join(
        counts.with_columns(pl.col("tag").cast(ids.dtype)),
        on="tag",
        how="left",
        maintain_order="left",
    )
    return found["posts_b"].fill_null(0)
