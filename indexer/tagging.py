"""Which tag keys each post carries, for a batch of posts. Vectorised.

A row's own tag list (``hashtags``) wins; otherwise the tags are extracted
from the text. A tag of an own list must be a hashtag by the same twitter-text
rules as extraction (``#`` + tag is exactly one hashtag): ``=HYPERLINK(...)``,
``-2+3`` or ``self-care`` are dropped, and the rows that lost one are counted
as adjusted (:data:`INVALID_TAG_NOTE`). Each post counts once per tag key; the
first spelling of a key in the post is kept as its ``written`` form (for the
display form).
"""

from __future__ import annotations

from collections import Counter

import polars as pl

from indexer.extract import extract_hashtags_batch, tag_keys

INVALID_TAG_NOTE = "own tag list: tags that are not hashtags dropped"

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


def post_tags(posts: pl.DataFrame, notes: Counter[str] | None = None) -> pl.DataFrame:
    """One row per (post, tag key): ``_seq, tag, written``, in order of appearance.

    Tags of a row's own list that are not hashtags are dropped; the rows that lost
    one are counted in ``notes`` under :data:`INVALID_TAG_NOTE`."""
    frame = (
        posts.select(
            "_seq", written_tags(posts).alias("written"), own=posts["hashtags"].is_not_null()
        )
        .explode("written")
        .with_columns(pl.col("written").str.strip_chars().str.strip_chars_start("#＃"))
        .filter(pl.col("written").is_not_null() & (pl.col("written") != ""))
    )
    if frame["own"].any():
        own = frame.filter("own")["written"].unique()
        valid = own.filter(_are_hashtags(own))
        bad = frame["own"] & ~frame["written"].is_in(valid.implode())
        if bad.any():
            if notes is not None:
                notes[INVALID_TAG_NOTE] += frame.filter(bad)["_seq"].n_unique()
            frame = frame.filter(~bad)
    frame = frame.with_columns(tag_keys(frame["written"]).alias("tag")).filter(pl.col("tag") != "")
    return frame.unique(subset=["_seq", "tag"], keep="first", maintain_order=True).select(
        list(POSTING_TAG_SCHEMA)
    )


def _are_hashtags(tags: pl.Series) -> pl.Series:
    """Whether each tag (no sign) is one hashtag by twitter-text's rules, as extraction finds
    them: ``extract_hashtags("#" + tag) == [tag]`` (``is_valid_hashtag``), vectorised."""
    found = extract_hashtags_batch("#" + tags)
    return ((found.list.len() == 1) & (found.list.first() == tags)).fill_null(False)
