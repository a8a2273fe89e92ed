"""The spool of a build: its accepted posts, by UTC day, until dedup has seen them all.

A build spools each batch of posts (no text) as Parquet, one file per batch and
day (:func:`write_batch`): ``<spool>/posts/<YYYY-MM-DD>/<batch>.parquet``, each
row keeping its ``_seq``. Dedup needs every input first: :func:`losers` finds the
copies a later copy replaces; then each day's posts, losers left out
(:func:`day_posts`), become that day's split (indexer/globals.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from indexer.globals import POST_COLUMNS

SPOOLS = ("posts",)


def write_batch(posts: pl.DataFrame, spool: Path, name: str, *, text: bool = False) -> None:
    """Spool one batch of posts (with ``tags``, ``written`` and ``_seq``; with ``text`` too
    for a build that indexes them later, on Ray), one file a day."""
    columns = [*POST_COLUMNS, "text", "_seq"] if text else [*POST_COLUMNS, "_seq"]
    frame = posts.select(columns).with_columns(_day=pl.col("created_at").dt.date())
    for (day,), part in frame.partition_by("_day", as_dict=True, include_key=False).items():
        directory = spool / "posts" / str(day)
        directory.mkdir(parents=True, exist_ok=True)
        part.write_parquet(directory / name, compression="lz4")


def spooled(spool: Path) -> pl.LazyFrame | None:
    """Every spooled post, or None if there is none."""
    if not any((spool / "posts").glob("*/*.parquet")):
        return None
    return pl.scan_parquet(spool / "posts" / "*" / "*.parquet")


def spooled_days(spool: Path) -> list[date]:
    return sorted(date.fromisoformat(p.name) for p in (spool / "posts").iterdir())


def day_posts(spool: Path, day: date, losers: pl.DataFrame) -> pl.DataFrame:
    """The spooled posts of one day (:data:`POST_COLUMNS`), ``losers`` (``_seq``) left out."""
    frame = pl.scan_parquet(spool / "posts" / str(day) / "*.parquet")
    if losers.height:
        frame = frame.join(losers.lazy(), on="_seq", how="anti")
    return frame.select(POST_COLUMNS).collect()


def losers(spool: Path) -> pl.DataFrame:
    """``_seq`` of every spooled post that a later copy of the same uid replaces."""
    everything = spooled(spool)
    if everything is None:
        return pl.DataFrame(schema={"_seq": pl.Int64()})
    return losers_among(everything.select("uid", "_seq"))


def losers_among(keys: pl.LazyFrame) -> pl.DataFrame:
    """``_seq`` of every copy among ``keys`` (``uid, _seq``) that a later copy replaces."""
    # Two steps keep memory at 16 bytes per post instead of a table of uid strings:
    # 64-bit hashes find the candidates (a collision only adds a candidate), then
    # the exact uids of the few candidates decide.
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


SPOOL_COLUMNS = (*POST_COLUMNS, "text", "_seq")
"""What the update spools per new post: the table columns, the text (for tantivy), ``_seq``."""


def spool_batch(posts: pl.DataFrame, directory: Path, name: str) -> None:
    """An update's spool: one Parquet file a batch of read posts, with their text
    (:data:`SPOOL_COLUMNS`: the update indexes those that survive its dedup). A build's
    spools by day (:func:`write_batch`)."""
    posts.select(SPOOL_COLUMNS).write_parquet(directory / name, compression="lz4")


SPOOL = "_spool"
"""The build's scratch directory of table rows by day, under the generation being built."""
