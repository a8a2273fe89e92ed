"""Exact aggregates of a generation, computed by polars from per-batch spools.

Per batch (:func:`write_batch`) the indexer spools the posts (no text), the
postings (one row per post and tag key) and co-occurring pairs; at the end
(:func:`write_all`) they become the generation's tables:

- ``posts.parquet``: identity, time, author, platform, lang, counts, tag keys;
- ``postings.parquet``: tag, written, created_at, author, platform, lang,
  engagement; in input order (readers sort what they need);
- ``tags.parquet``: per tag key: display, posts, authors, engagement,
  first_seen, last_seen, platforms and langs (lists of {name, posts});
- ``cooc.parquet``: tag, other, co_posts for every pair seen together
  (both directions, so one tag's partners are one slice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from indexer.schema import COOC_FILE, COOC_MAX_TAGS, POSTINGS_FILE, POSTS_FILE, TAGS_FILE

POST_COLUMNS = (
    "uid",
    "id",
    "platform",
    "created_at",
    "author",
    "lang",
    "likes",
    "reposts",
    "replies",
    "quotes",
    "engagement",
    "tags",
)
POSTING_COLUMNS = ("tag", "written", "created_at", "author", "platform", "lang", "engagement")


@dataclass
class Stats:
    posts: int
    tags: int
    first: datetime | None
    last: datetime | None


SPOOLS = ("posts", "postings", "cooc")


def write_batch(posts: pl.DataFrame, tags: pl.DataFrame, spool: Path, name: str) -> None:
    """Spool one batch of posts (with ``tags`` keys and ``_seq``) and their post_tags rows.

    Rows keep ``_seq`` so that copies replaced by a later one can be left out
    at the end (:func:`losers`)."""
    posts.select(*POST_COLUMNS, "_seq").write_parquet(spool / "posts" / name, compression="lz4")
    postings = tags.join(
        posts.select("_seq", *POSTING_COLUMNS[2:]), on="_seq", how="inner", maintain_order="left"
    ).select(*POSTING_COLUMNS, "_seq")
    postings.write_parquet(spool / "postings" / name, compression="lz4")
    ranked = tags.with_columns(_r=pl.int_range(pl.len()).over("_seq")).filter(
        pl.col("_r") < COOC_MAX_TAGS
    )
    pairs = (
        ranked.select("_seq", "tag")
        .join(ranked.select("_seq", other="tag"), on="_seq")
        .filter(pl.col("tag") != pl.col("other"))
    )
    pairs.write_parquet(spool / "cooc" / name, compression="lz4")


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

    posts = scan("posts")
    posts.sink_parquet(out / POSTS_FILE, compression="zstd")
    span = pl.scan_parquet(out / POSTS_FILE).select(
        n=pl.len(), first=pl.col("created_at").min(), last=pl.col("created_at").max()
    )
    n, first, last = span.collect().row(0)

    # Not sorted here: a global sort would hold every posting in memory; the
    # service orders them as it loads them.
    scan("postings").sink_parquet(out / POSTINGS_FILE, compression="zstd")
    tags = _tag_table(pl.scan_parquet(out / POSTINGS_FILE))
    tags.sink_parquet(out / TAGS_FILE, compression="zstd")

    cooc = scan("cooc").group_by("tag", "other").agg(co_posts=pl.len().cast(pl.Int64()))
    cooc.sort("tag", "co_posts", "other", descending=[False, True, False]).sink_parquet(
        out / COOC_FILE, compression="zstd"
    )
    n_tags = pl.scan_parquet(out / TAGS_FILE).select(pl.len()).collect().item()
    return Stats(posts=n, tags=n_tags, first=first, last=last)


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
        authors=pl.struct("platform", "author").n_unique().cast(pl.Int64()),
        engagement=pl.col("engagement").sum(),
        first_seen=pl.col("created_at").min(),
        last_seen=pl.col("created_at").max(),
    )
    display = (
        postings.group_by("tag", "written")
        .agg(n=pl.len())
        .sort("tag", "n", "written", descending=[False, True, False])
        .group_by("tag", maintain_order=True)
        .agg(display=pl.col("written").first())
    )
    return (
        totals.join(display, on="tag")
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
    from indexer.validate import POST_SCHEMA

    post_schema = {c: POST_SCHEMA[c] for c in POST_COLUMNS if c in POST_SCHEMA}
    post_schema["tags"] = pl.List(pl.String())
    pl.DataFrame(schema=post_schema).select(POST_COLUMNS).write_parquet(out / POSTS_FILE)
    pl.DataFrame(
        schema={
            "tag": pl.String(),
            "written": pl.String(),
            **{c: POST_SCHEMA[c] for c in POSTING_COLUMNS[2:]},
        }
    ).write_parquet(out / POSTINGS_FILE)
    counts = pl.List(pl.Struct({"name": pl.String(), "posts": pl.Int64()}))
    pl.DataFrame(
        schema={
            "tag": pl.String(),
            "display": pl.String(),
            "posts": pl.Int64(),
            "authors": pl.Int64(),
            "engagement": pl.Int64(),
            "first_seen": POST_SCHEMA["created_at"],
            "last_seen": POST_SCHEMA["created_at"],
            "platforms": counts,
            "langs": counts,
        }
    ).write_parquet(out / TAGS_FILE)
    pl.DataFrame(
        schema={"tag": pl.String(), "other": pl.String(), "co_posts": pl.Int64()}
    ).write_parquet(out / COOC_FILE)
