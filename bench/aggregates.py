"""Where should aggregates come from: tantivy aggregations or polars rollups?

    uv run python bench/aggregates.py bench/out/index-1000000

Times, on a built generation, the same questions answered both ways, and
checks whether the answers agree (tantivy's cardinality is a HyperLogLog
estimate; the rollups are exact). Prints median milliseconds over repeats.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import tantivy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.globals import read_posts, read_tags  # noqa: E402
from indexer.schema import (  # noqa: E402
    F_AUTHOR,
    F_CREATED_AT,
    F_TAGS,
    open_posts_index,
)


def timed(fn: Callable[[], Any], repeat: int = 7) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), result


def main() -> None:
    gen = (Path(sys.argv[1]) / "current").resolve()
    index = open_posts_index(gen)
    searcher = index.searcher()
    everything = tantivy.Query.all_query()
    tags = read_tags(gen)
    postings = (
        read_posts(gen)
        .select(pl.col("tags").alias("tag"), "created_at", "author", "platform", "engagement")
        .explode("tag")
        .drop_nulls("tag")
        .sort("tag", "created_at")
    )
    top_tag = tags["tag"][0]
    rows = []

    ms, t_top = timed(
        lambda: searcher.aggregate(everything, {"t": {"terms": {"field": F_TAGS, "size": 50}}})
    )
    rows.append(("top 50 tags by posts, all time", "tantivy terms", ms))
    ms, p_top = timed(lambda: tags.head(50).select("tag", "posts"))
    rows.append(("top 50 tags by posts, all time", "polars tags table", ms))
    t_pairs = [(b["key"], b["doc_count"]) for b in t_top["t"]["buckets"]]
    same_top = t_pairs == list(p_top.iter_rows())

    agg = {
        "t": {
            "terms": {"field": F_TAGS, "size": 50},
            "aggs": {"a": {"cardinality": {"field": F_AUTHOR}}},
        }
    }
    ms, t_auth = timed(lambda: searcher.aggregate(everything, agg), repeat=3)
    rows.append(("top 50 tags with distinct authors", "tantivy terms+cardinality", ms))
    ms, _ = timed(lambda: tags.head(50).select("tag", "posts", "authors"))
    rows.append(("top 50 tags with distinct authors", "polars tags table", ms))
    exact = dict(tags.select("tag", "authors").iter_rows())
    errors = [
        abs(b["a"]["value"] - exact[b["key"]]) / exact[b["key"]] for b in t_auth["t"]["buckets"]
    ]

    q = tantivy.Query.term_query(index.schema, F_TAGS, top_tag)
    hist = {"h": {"date_histogram": {"field": F_CREATED_AT, "fixed_interval": "1d"}}}
    ms, _ = timed(lambda: searcher.aggregate(q, hist))
    rows.append((f"daily posts of #{top_tag}", "tantivy date_histogram", ms))

    def polars_series() -> pl.DataFrame:
        one = postings.filter(pl.col("tag") == top_tag)
        return one.group_by(pl.col("created_at").dt.truncate("1d")).agg(
            posts=pl.len(),
            authors=pl.col("author").n_unique(),
            engagement=pl.col("engagement").sum(),
        )

    ms, _ = timed(polars_series)
    rows.append((f"daily posts+authors+engagement of #{top_tag}", "polars postings (scan)", ms))
    starts = postings["tag"].search_sorted(top_tag, side="left")
    ends = postings["tag"].search_sorted(top_tag, side="right")

    def polars_slice() -> pl.DataFrame:
        one = postings.slice(starts, ends - starts)
        return one.group_by(pl.col("created_at").dt.truncate("1d")).agg(
            posts=pl.len(),
            authors=pl.col("author").n_unique(),
            engagement=pl.col("engagement").sum(),
        )

    ms, _ = timed(polars_slice)
    rows.append(
        (f"daily posts+authors+engagement of #{top_tag}", "polars postings (sorted slice)", ms)
    )

    last_day = postings["created_at"].max()
    print(
        f"generation {gen.name}: {searcher.num_docs:,} posts, {tags.height:,} tags, "
        f"{postings.height:,} postings (newest {last_day})"
    )
    print("| question | engine | median ms |\n|---|---|---:|")
    for question, engine, ms in rows:
        print(f"| {question} | {engine} | {ms:.2f} |")
    print(f"\ntantivy top-50 equals the polars table: {same_top}")
    print(
        f"tantivy cardinality vs exact distinct authors: max relative error {max(errors):.2%}, "
        f"mean {statistics.mean(errors):.2%}"
    )


if __name__ == "__main__":
    main()
