"""Exact aggregates of a generation, computed by polars.

A build spools, per batch (:func:`write_batch`), the posts (no text) and
their co-occurring tag pairs; at the end (:func:`write_all`) they become the
generation's tables. An update (:func:`write_update`) makes the same tables
from its parent's tables and its new posts. Both end in :func:`_derive`:

- ``posts.parquet``: identity, time, author, platform, lang, community (as written,
  null when none), counts, tag keys
  (``tags``, in order of appearance) and their spellings (``written``, aligned
  with ``tags``): every other table follows from it;
- the postings (``posts.parquet`` exploded by tag: tag, written, created_at,
  author, platform, lang, engagement), a scratch file while the others are made;
- ``tags.parquet``: per tag key: display, posts, authors, engagement,
  first_seen, last_seen, platforms and langs (lists of {name, posts});
- ``cooc.parquet``: tag, other, co_posts for every pair seen together
  (both directions, so one tag's partners are one slice). Counts are sums,
  so an update adjusts its parent's (+1 per new post's pair, -1 per replaced
  post's pair) instead of pairing every post again;
- ``serve/*.arrow``: the service's sorted, coded tables (indexer/serving.py).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from indexer import serving
from indexer.schema import (
    COOC_FILE,
    COOC_MAX_TAGS,
    COOC_RECORD,
    POSTS_FILE,
    POSTS_RECORD,
    TAGS_FILE,
    TAGS_RECORD,
)

POSTINGS_SCRATCH = "_postings.parquet"
"""The postings (posts exploded by tag), while the tables are derived from them."""

POST_COLUMNS = tuple(POSTS_RECORD.columns)
POSTING_COLUMNS = ("tag", "written", "created_at", "author", "platform", "lang", "engagement")


@dataclass
class Stats:
    posts: int
    tags: int
    first: datetime | None
    last: datetime | None


SPOOLS = ("posts", "cooc")


def write_batch(posts: pl.DataFrame, spool: Path, name: str) -> None:
    """Spool one batch of posts (with ``tags``, ``written`` and ``_seq``) and their tag pairs.

    Rows keep ``_seq`` so that copies replaced by a later one can be left out
    at the end (:func:`losers`)."""
    posts.select(*POST_COLUMNS, "_seq").write_parquet(spool / "posts" / name, compression="lz4")
    pairs = cooc_pairs(posts.lazy(), "_seq").collect()
    pairs.write_parquet(spool / "cooc" / name, compression="lz4")


def cooc_pairs(posts: pl.LazyFrame, key: str) -> pl.LazyFrame:
    """``key, tag, other`` for each ordered pair of distinct tag keys of a post, among
    its first :data:`COOC_MAX_TAGS` (``tags`` is in order of appearance, keys unique)."""
    ranked = (
        posts.select(key, pl.col("tags").list.head(COOC_MAX_TAGS).alias("tag"))
        .explode("tag", empty_as_null=False)
        .drop_nulls("tag")
    )
    return ranked.join(ranked.rename({"tag": "other"}), on=key).filter(
        pl.col("tag") != pl.col("other")
    )


def losers(spool: Path) -> pl.DataFrame:
    """``_seq`` of every spooled post that a later copy of the same uid replaces."""
    if not any((spool / "posts").iterdir()):
        return pl.DataFrame(schema={"_seq": pl.Int64()})
    # Two steps keep memory at 16 bytes per post instead of a table of uid strings:
    # 64-bit hashes find the candidates (a collision only adds a candidate), then
    # the exact uids of the few candidates decide.
    keys = pl.scan_parquet(spool / "posts" / "*.parquet").select("uid", "_seq")
    hashed = keys.select(pl.col("uid").hash(seed=7).alias("_h"))
    repeated = (
        hashed.group_by("_h").agg(pl.len().alias("_n")).filter(pl.col("_n") > 1).select("_h")
    ).collect(engine="streaming")
    if repeated.height == 0:
        return pl.DataFrame(schema={"_seq": pl.Int64()})
    candidates = (
        keys.with_columns(pl.col("uid").hash(seed=7).alias("_h"))
        .join(repeated.lazy(), on="_h", how="semi")
        .select("uid", "_seq")
        .collect(engine="streaming")
    )
    return (
        candidates.filter(pl.col("_seq") != pl.col("_seq").max().over("uid"))
        .select("_seq")
        .sort("_seq")
    )


def write_all(spool: Path, out: Path, losers: pl.DataFrame) -> Stats:
    """Turn the spools, minus the losers, into the generation's tables."""
    if not any((spool / "posts").iterdir()):
        _empty_tables(out)
        return Stats(posts=0, tags=0, first=None, last=None)

    def scan(name: str) -> pl.LazyFrame:
        frame = pl.scan_parquet(spool / name / "*.parquet")
        if losers.height:
            frame = frame.join(losers.lazy(), on="_seq", how="anti")
        return frame.drop("_seq")

    scan("posts").sink_parquet(out / POSTS_FILE, compression="zstd")
    pairs = scan("cooc").select("tag", "other", co_posts=pl.lit(1, dtype=pl.Int64()))
    return _derive(out, pairs)


def write_update(parent: Path, new_posts: pl.LazyFrame, replaced: pl.DataFrame, out: Path) -> Stats:
    """The tables of ``parent`` with the posts whose ``uid`` is in ``replaced`` taken
    out and ``new_posts`` (deduplicated, :data:`POST_COLUMNS`) put in."""
    old = pl.scan_parquet(parent / POSTS_FILE)
    gone = replaced.select("uid").lazy()
    kept = old.join(gone, on="uid", how="anti")
    pl.concat([kept, new_posts.select(POST_COLUMNS)]).sink_parquet(
        out / POSTS_FILE, compression="zstd"
    )
    removed = old.select("uid", "tags").join(gone, on="uid", how="semi")
    counts = pl.concat(
        [
            pl.scan_parquet(parent / COOC_FILE),
            cooc_pairs(new_posts, "uid").select(
                "tag", "other", co_posts=pl.lit(1, dtype=pl.Int64())
            ),
            cooc_pairs(removed, "uid").select(
                "tag", "other", co_posts=pl.lit(-1, dtype=pl.Int64())
            ),
        ]
    )
    return _derive(out, counts)


def _derive(out: Path, cooc_counts: pl.LazyFrame) -> Stats:
    """Write postings, tags and cooc next to ``out``'s posts.parquet.

    ``cooc_counts``: ``tag, other, co_posts`` rows to sum per pair (pairs
    summing to 0 are left out)."""
    span = pl.scan_parquet(out / POSTS_FILE).select(
        n=pl.len(), first=pl.col("created_at").min(), last=pl.col("created_at").max()
    )
    n, first, last = span.collect().row(0)
    if n == 0:
        _empty_tables(out)
        return Stats(posts=0, tags=0, first=None, last=None)

    scratch = out / POSTINGS_SCRATCH
    _postings(pl.scan_parquet(out / POSTS_FILE)).sink_parquet(scratch, compression="lz4")
    _write_tag_table(scratch, out / TAGS_FILE)
    _write_cooc(cooc_counts, out / COOC_FILE)
    serving.write_serving(out, pl.scan_parquet(out / POSTS_FILE), pl.scan_parquet(scratch))
    scratch.unlink()
    n_tags = pl.scan_parquet(out / TAGS_FILE).select(pl.len()).collect().item()
    return Stats(posts=n, tags=n_tags, first=first, last=last)


TAG_PARTITION_ROWS = 1_500_000
"""Postings per partition of the tag table's computation: its distinct-author
sets are the build's largest structure, so tags are split by a hash of the key
into partitions of about this many postings, computed one after the other."""


def _write_tag_table(postings_path: Path, out: Path) -> None:
    postings = pl.scan_parquet(postings_path)
    rows = postings.select(pl.len()).collect().item()
    parts = max(1, -(-rows // TAG_PARTITION_ROWS))
    if parts == 1:
        table = _tag_table(postings).collect(engine="streaming")
    else:
        bucket = pl.col("tag").hash(seed=11) % parts
        table = pl.concat(
            [
                _tag_table(postings.filter(bucket == k)).collect(engine="streaming")
                for k in range(parts)
            ]
        )
    table.sort("posts", "tag", descending=[True, False]).write_parquet(out, compression="zstd")


COOC_PARTITION_ROWS = 2_000_000
"""Pair rows per partition of the co-occurrence sums (see :func:`_write_cooc`)."""


def _write_cooc(counts: pl.LazyFrame, path: Path) -> None:
    """Sum ``co_posts`` per (tag, other); keep pairs above 0; sorted by tag, co_posts desc.

    The group-by's hash table and the sort are the large part, so above
    :data:`COOC_PARTITION_ROWS` input rows the tags are cut into ranges (in tag
    order, about that many rows each); each range is summed and sorted alone
    and written as a part, and the parts, already in order, are streamed into
    one file. Memory is bounded by a part, not by the number of pairs."""
    rows = counts.select(pl.len()).collect().item()
    if rows <= COOC_PARTITION_ROWS:
        _sorted_pairs(_sum_pairs(counts).collect(engine="streaming")).write_parquet(
            path, compression="zstd"
        )
        return
    per_tag = counts.group_by("tag").agg(n=pl.len()).sort("tag").collect(engine="streaming")
    part = (per_tag["n"].cum_sum() - per_tag["n"]) // COOC_PARTITION_ROWS
    ranges = per_tag.select("tag", part=part)
    parts = path.parent / (path.name + ".parts")
    parts.mkdir()
    try:
        files = []
        for k in ranges["part"].unique().sort():
            tags = ranges.filter(pl.col("part") == k).select("tag")
            summed = _sum_pairs(counts.join(tags.lazy(), on="tag", how="semi"))
            files.append(parts / f"{k:06d}.parquet")
            _sorted_pairs(summed.collect(engine="streaming")).write_parquet(files[-1])
        pl.concat([pl.scan_parquet(f) for f in files]).sink_parquet(path, compression="zstd")
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def _sorted_pairs(pairs: pl.DataFrame) -> pl.DataFrame:
    return pairs.sort("tag", "co_posts", "other", descending=[False, True, False])


def _sum_pairs(counts: pl.LazyFrame) -> pl.LazyFrame:
    return (
        counts.group_by("tag", "other").agg(pl.col("co_posts").sum()).filter(pl.col("co_posts") > 0)
    )


def _postings(posts: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (post, tag key): the posts exploded by their aligned tags/written lists."""
    return (
        posts.select(pl.col("tags").alias("tag"), "written", *POSTING_COLUMNS[2:])
        .explode("tag", "written", empty_as_null=False)
        .drop_nulls("tag")
    )


def _counts_by(postings: pl.LazyFrame, column: str) -> pl.LazyFrame:
    """Per tag, ``[{name, posts}]`` by posts descending, then name; a missing value is "und"."""
    return (
        postings.group_by("tag", name=pl.col(column).fill_null("und"))
        .agg(posts=pl.len().cast(pl.Int64()))
        .sort("tag", "posts", "name", descending=[False, True, False])
        .group_by("tag", maintain_order=True)
        .agg(pl.struct("name", "posts").alias(column + "s"))
    )


def _tag_table(postings: pl.LazyFrame) -> pl.LazyFrame:
    """Per tag key, exact totals. Display = most frequent spelling (ties: smallest string).
    An author is a (platform, author) pair: the same handle on two platforms is two people."""
    totals = postings.group_by("tag").agg(
        posts=pl.len().cast(pl.Int64()),
        engagement=pl.col("engagement").sum(),
        first_seen=pl.col("created_at").min(),
        last_seen=pl.col("created_at").max(),
    )
    # Exact distinct (platform, author) pairs per tag; ~2x faster than n_unique of a struct.
    authors = (
        postings.select("tag", "platform", "author")
        .unique()
        .group_by("tag")
        .agg(authors=pl.len().cast(pl.Int64()))
    )
    display = (
        postings.group_by("tag", "written")
        .agg(n=pl.len())
        .sort("tag", "n", "written", descending=[False, True, False])
        .group_by("tag", maintain_order=True)
        .agg(display=pl.col("written").first())
    )
    return (
        totals.join(authors, on="tag")
        .join(display, on="tag")
        .join(_counts_by(postings, "platform"), on="tag")
        .join(_counts_by(postings, "lang"), on="tag")
        .select(
            "tag",
            "display",
            "posts",
            "authors",
            "engagement",
            "first_seen",
            "last_seen",
            "platforms",
            "langs",
        )
        .sort("posts", "tag", descending=[True, False])
    )


def _empty_tables(out: Path) -> None:
    for spec in (POSTS_RECORD, TAGS_RECORD, COOC_RECORD):
        spec.frame().write_parquet(out / spec.file)
    empty = POSTS_RECORD.frame().lazy()
    serving.write_serving(out, empty, _postings(empty))
