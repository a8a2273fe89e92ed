"""Which tag keys each post carries, for a batch of posts. Vectorised.

A row's own tag list (``hashtags``) wins; otherwise the tags are extracted
from the text. Each post counts once per tag key; the first spelling of a
key in the post is kept as its ``written`` form (for the display form).
"""

from __future__ import annotations

import polars as pl

from indexer.extract import extract_hashtags_batch, tag_key

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


def keys_of(written: pl.Series) -> pl.Series:
    """Tag keys (NFKC + casefold) of tags as written; Python runs once per distinct
    non-ASCII tag."""
    uniq = written.unique().drop_nulls()
    is_ascii = uniq.str.contains(r"^[\x00-\x7f]*$")
    non_ascii = uniq.filter(~is_ascii)
    if non_ascii.len() == 0:
        return written.str.to_lowercase()
    mapping = pl.DataFrame(
        {"w": non_ascii, "k": [tag_key(t) for t in non_ascii.to_list()]},
        schema={"w": pl.String(), "k": pl.String()},
    )
    frame = written.to_frame("w").join(mapping, on="w", how="left", maintain_order="left")
    return frame.select(pl.coalesce("k", pl.col("w").str.to_lowercase())).to_series()


def post_tags(posts: pl.DataFrame) -> pl.DataFrame:
    """One row per (post, tag key): ``_seq, tag, written``, in order of appearance."""
    frame = (
        posts.select("_seq", written_tags(posts).alias("written"))
        .explode("written")
        .with_columns(pl.col("written").str.strip_chars().str.strip_chars_start("#＃"))
        .filter(pl.col("written").is_not_null() & (pl.col("written") != ""))
    )
    frame = frame.with_columns(keys_of(frame["written"]).alias("tag")).filter(pl.col("tag") != "")
    return frame.unique(subset=["_seq", "tag"], keep="first", maintain_order=True).select(
        list(POSTING_TAG_SCHEMA)
    )
