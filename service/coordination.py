"""Coordination signals of trending tags: is a tag's rise a crowd, or a few accounts?

Computed exactly from the window's postings of the tags being ranked (never the
history); docs/trending.md has the definitions, the reasoning and the measured
false-positive rates. Per tag, over its window postings (the request's
``platform``/``lang`` filter applied):

- ``posts_per_author``: posts / distinct authors;
- ``top_author_share``: the share of posts made by the most active 10% of its authors
  (``ceil(authors / 10)`` of them; which of tied authors count does not change it);
- ``new_author_share``: the share of its authors with no tagged post, of any tag, on any
  language, in the baseline span (the question's own look-back);
- ``burstiness``: the largest share of its posts inside any 5 minutes ``(t - 5m, t]``.

They combine into one ``coordination`` score in [0, 1]::

    repeat        = (posts - top_posts - (authors - top_authors)) / posts
                    the share of posts that are 2nd, 3rd, ... posts of the *least* active
                    90% of authors: 0 when the crowd posts once each, whatever a few fans
                    do; near 1 when every account of a small group posts many times
    coordination  = repeat + (1 - repeat) * new_author_share * burstiness
                    accounts that are new *and* post in lockstep add the rest

A tag whose ``coordination`` is above ``flag_above`` is flagged, with the reasons
:func:`reasons` gives.
"""

from __future__ import annotations

import polars as pl

ROUND_DIGITS = 3

TOP_AUTHORS = 0.1
"""The most active share of a tag's authors whose posts ``top_author_share`` counts."""

BURST_MICROS = 300_000_000
"""The length of ``burstiness``'s busiest span: 5 minutes, in microseconds."""

SIGNAL_COLUMNS = (
    "posts_per_author",
    "top_author_share",
    "new_author_share",
    "burstiness",
    "coordination",
)

NOTABLE = {
    "posts_per_author": 2.0,
    "new_author_share": 0.5,
    "burstiness": 0.2,
}
"""The level from which a signal is named among a flagged tag's reasons."""


def signals(rows: pl.DataFrame, new_accounts: pl.DataFrame) -> pl.DataFrame:
    """tag and the :data:`SIGNAL_COLUMNS` of every tag in ``rows``.

    ``rows``: the window's postings of the tags to score (``tag``, ``account``,
    ``micros``), time-sorted, already narrowed by the request's filter.
    ``new_accounts``: ``account``, ``new`` (bool) for every account with a posting in
    the window (any tag, no filter): ``new`` if it has none in the baseline.
    """
    if rows.is_empty():
        return pl.DataFrame(
            schema={"tag": rows.schema["tag"], **dict.fromkeys(SIGNAL_COLUMNS, pl.Float64())}
        )
    top_authors = (pl.len().cast(pl.Float64()) * TOP_AUTHORS).ceil().cast(pl.UInt32())
    concentration = (
        rows.group_by("tag", "account")
        .agg(n=pl.len())
        .join(new_accounts, on="account", how="left")
        .group_by("tag")
        .agg(
            posts=pl.col("n").sum(),
            authors=pl.len(),
            top_posts=pl.col("n").top_k(top_authors).sum(),
            top_authors=top_authors,
            new_authors=pl.col("new").fill_null(True).sum(),
        )
    )
    bursts = (
        rows.select("tag", "micros", one=pl.lit(1, pl.UInt32()))
        .with_columns(
            in_span=pl.col("one")
            .rolling_sum_by("micros", window_size=f"{BURST_MICROS}i", closed="right")
            .over("tag")
        )
        .group_by("tag")
        .agg(busiest=pl.col("in_span").max())
    )
    posts = pl.col("posts").cast(pl.Float64())
    repeat = (posts - pl.col("top_posts") - (pl.col("authors") - pl.col("top_authors"))) / posts
    return (
        concentration.join(bursts, on="tag")
        .with_columns(
            posts_per_author=(posts / pl.col("authors")).round(ROUND_DIGITS),
            top_author_share=(pl.col("top_posts") / posts).round(ROUND_DIGITS),
            new_author_share=(pl.col("new_authors") / pl.col("authors")).round(ROUND_DIGITS),
            burstiness=(pl.col("busiest") / posts).round(ROUND_DIGITS),
            repeat=repeat,
        )
        .with_columns(
            coordination=(
                pl.col("repeat")
                + (1 - pl.col("repeat")) * pl.col("new_author_share") * pl.col("burstiness")
            ).round(ROUND_DIGITS)
        )
        .select("tag", *SIGNAL_COLUMNS)
    )


def reasons(item: dict[str, float]) -> list[str]:
    """Why a flagged tag looks coordinated, in words, strongest evidence first."""
    found = []
    ppa = item["posts_per_author"]
    if ppa >= NOTABLE["posts_per_author"]:
        found.append(
            f"posts_per_author {ppa:g}: its authors posted it {ppa:g} times each on average "
            f"(the most active 10% made {item['top_author_share']:.0%} of the posts)"
        )
    new = item["new_author_share"]
    if new >= NOTABLE["new_author_share"]:
        found.append(
            f"new_author_share {new:g}: {new:.0%} of its authors had no post in the baseline"
        )
    burst = item["burstiness"]
    if burst >= NOTABLE["burstiness"]:
        found.append(f"burstiness {burst:g}: {burst:.0%} of its posts came within 5 minutes")
    if not found:
        found.append(f"coordination {item['coordination']:g}")
    return found
