"""Which tag keys each post carries, for a batch of posts. Vectorised.

A row's own tag list (``hashtags``) wins; otherwise the tags are extracted
from the text. Each post counts once per tag key; the first spelling of a
key in the post is kept as its ``written`` form (for the display form).
"""

from __future__ import annotations

import polars as pl

from indexer.extract import extract_hashtags_batch, tag_keys

POSTING_TAG_SCHEMA: dict[str, pl.DataType] = {
    "_seq": pl.Int64(),
    "tag": pl.String(),
    "written": pl.String(),
}


def written_tags(posts: pl.DataFrame) -> pl.Series:
    """Per post, the tags as written: the row's own list, else those in its text."""
    own = posts["hashtags"]
    need = own.is_null()
    if not need.any():
        return own
    extracted = extract_hashtags_batch(posts.filter(need)["text"])
    out = own.to_frame("w").with_row_index("_i")
    fill = pl.DataFrame({"_i": out.filter(need)["_i"], "x": extracted})
    return (
        out.join(fill, on="_i", how="left", maintain_order="left")
        .select(pl.coalesce("w", "x").alias("hashtags"))
        .to_series()
    )


def post_tags(posts: pl.DataFrame) -> pl.DataFrame:
    """One row per (post, tag key): ``_seq, tag, written``, in order of appearance."""
    frame = (
        posts.select("_seq", written_tags(posts).alias("written"))
        .explode("written")
        .with_columns(pl.col("written").str.strip_chars().str.strip_chars_start("#＃"))
        .filter(pl.col("written").is_not_null() & (pl.col("written") != ""))
    )
    frame = frame.with_columns(tag_keys(frame["written"]).alias("tag")).filter(pl.col("tag") != "")
    return frame.unique(subset=["_seq", "tag"], keep="first", maintain_order=True).select(
        list(POSTING_TAG_SCHEMA)
    )
