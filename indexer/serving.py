"""The service's tables: sorted, coded, as Arrow IPC files it memory-maps.

The service answers every question with slices of these tables, never a
scan of the history, and it loads nothing into a worker's heap: the files
are uncompressed Arrow IPC in polars' newest layout (strings as views), which
pyarrow memory-maps and polars reads without a copy. Every worker shares
the page cache; a swap to a new generation maps new files beside the old.

What the service used to compute in every worker at load (about 1 s per
million postings, and all of it in the heap: 840 MiB at 1M posts) is done
here, once, by the indexer (:func:`write_serving`):

- tags get a **row**: their rank by key; postings, pairs and days refer to tags
  by row, platforms and languages by **code** (their rank by name), authors by
  **account**: the rank of ``(platform, author)``, so an author is that pair;
- ``postings`` sorted by (tag, time): one tag's history is one slice;
- ``timeline``, the same rows sorted by time: a window is one slice; it carries
  the trend columns ``prev`` / ``prev_lang`` (see service/trends.py);
- ``daily``: per tag and UTC day, exact posts, distinct authors, engagement;
- ``cooc``: the co-occurrence pairs by tag row.
Ties are broken by every column, so the same posts always give the same bytes
(``update`` equals ``build`` file for file).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from indexer.schema import (
    COOC_FILE,
    SERVE_CODES,
    SERVE_COOC,
    SERVE_DAILY,
    SERVE_DIR,
    SERVE_POSTINGS,
    SERVE_POSTS,
    SERVE_RANKED,
    SERVE_TAGS,
    SERVE_TIMELINE,
    TAGS_FILE,
    TableSpec,
)

UNKNOWN_PLATFORM = "unknown"
UNKNOWN_LANG = "und"
"""What a missing platform or language counts as (the validator's defaults)."""


def write_table(frame: pl.DataFrame, spec: TableSpec, generation_dir: Path) -> None:
    """Write ``frame`` as ``spec`` declares it: its columns, in order, of its dtypes."""
    frame = frame.select([pl.col(c).cast(t) for c, t in spec.columns.items()])
    frame.rechunk().write_ipc(
        generation_dir / spec.file,
        compression="uncompressed",
        compat_level=pl.CompatLevel.newest(),
        record_batch_size=max(1, frame.height),  # one chunk: slices and searches stay fast
    )


def write_serving(generation_dir: Path, posts: pl.LazyFrame, postings: pl.LazyFrame) -> None:
    """Write the :data:`~indexer.schema.SERVE_TABLES` of a generation.

    ``posts``: every post's ``created_at, platform, lang``; ``postings``: one row
    per (post, tag key) with ``tag, created_at, author, platform, lang, engagement``;
    the generation's ``tags.parquet`` and ``cooc.parquet`` are already written.
    """
    out = generation_dir
    (out / SERVE_DIR).mkdir(exist_ok=True)
    posts_frame = posts.select(
        "created_at",
        platform=pl.col("platform").fill_null(UNKNOWN_PLATFORM),
        lang=pl.col("lang").fill_null(UNKNOWN_LANG),
    ).collect()
    platforms = _names(posts_frame["platform"])
    langs = _names(posts_frame["lang"])
    write_table(
        pl.concat(
            [
                pl.DataFrame({"kind": "platform", "name": platforms}),
                pl.DataFrame({"kind": "lang", "name": langs}),
            ]
        ),
        SERVE_CODES,
        out,
    )
    write_table(
        posts_frame.select(
            "created_at",
            platform=_code(pl.col("platform"), platforms),
            lang=_code(pl.col("lang"), langs),
        ).sort("created_at", "platform", "lang"),
        SERVE_POSTS,
        out,
    )
    del posts_frame

    tags = pl.read_parquet(out / TAGS_FILE).sort("tag").with_row_index("row")
    rows = tags.select("tag", "row")
    coded = (
        postings.select(
            "tag",
            "created_at",
            "engagement",
            platform=pl.col("platform").fill_null(UNKNOWN_PLATFORM),
            author=pl.col("author"),
            lang=pl.col("lang").fill_null(UNKNOWN_LANG),
        )
        .join(rows.lazy(), on="tag")
        .collect()
    )
    accounts = (
        coded.select("platform", "author")
        .unique()
        .sort("platform", "author")
        .with_row_index("account")
    )
    coded = coded.join(accounts, on=["platform", "author"]).select(
        tag=pl.col("row"),
        created_at="created_at",
        account="account",
        engagement="engagement",
        platform=_code(pl.col("platform"), platforms),
        lang=_code(pl.col("lang"), langs),
    )
    del accounts
    by_tag = coded.sort("tag", "created_at", "account", "engagement", "platform", "lang")
    del coded
    write_table(by_tag, SERVE_POSTINGS, out)
    daily = (
        by_tag.group_by("tag", day=pl.col("created_at").dt.epoch("d").cast(pl.Int32()))
        .agg(
            posts=pl.len(),
            authors=pl.col("account").n_unique(),
            engagement=pl.col("engagement").sum(),
        )
        .sort("tag", "day")
    )
    write_table(daily, SERVE_DAILY, out)
    timeline = by_tag.sort("created_at", "tag", "account", "engagement", "platform", "lang")
    del by_tag
    timeline = timeline.with_columns(
        prev=_previous(timeline, ["tag", "account"]),
        prev_lang=_previous(timeline, ["tag", "account", "lang"]),
    )
    write_table(timeline, SERVE_TIMELINE, out)
    del timeline

    cooc = (
        pl.scan_parquet(out / COOC_FILE)
        .join(rows.lazy(), on="tag")
        .join(rows.lazy().rename({"tag": "other", "row": "other_row"}), on="other")
        .select("row", "other", other_row="other_row", co_posts="co_posts")
        .sort(["row", "co_posts", "other"], descending=[False, True, False])
        .collect()
    )
    write_table(cooc.select("co_posts", other="other_row"), SERVE_COOC, out)

    starts = tags.select(
        "row",
        postings_start=pl.col("posts").cum_sum() - pl.col("posts"),
    )
    tags = (
        tags.join(starts, on="row")
        .join(_offsets(cooc["row"], "cooc"), on="row", how="left")
        .join(_offsets(daily["tag"], "daily"), on="row", how="left")
        .with_columns(pl.col("cooc_start", "cooc_len", "daily_start", "daily_len").fill_null(0))
        .sort("row")
    )
    write_table(tags, SERVE_TAGS, out)
    ranked = tags.sort(["posts", "tag"], descending=[True, False]).select("row")
    write_table(ranked, SERVE_RANKED, out)


def _names(values: pl.Series) -> list[str]:
    """The distinct values, sorted: a value's code is its position."""
    return values.unique().sort().to_list()


def _code(column: pl.Expr, names: list[str]) -> pl.Expr:
    return column.replace_strict(names, list(range(len(names))), return_dtype=pl.UInt32())


def _offsets(sorted_rows: pl.Series, name: str) -> pl.DataFrame:
    """``row, <name>_start, <name>_len`` of each run of equal tag rows."""
    runs = sorted_rows.rle()
    lengths = runs.struct.field("len").cast(pl.Int64())
    return pl.DataFrame(
        {
            "row": runs.struct.field("value").cast(pl.UInt32()),
            f"{name}_start": lengths.cum_sum() - lengths,
            f"{name}_len": lengths,
        }
    )


def _previous(frame: pl.DataFrame, key: list[str]) -> pl.Series:
    """Per row, the position of the previous row with the same ``key`` (-1 if none)."""
    ordered = frame.select(*key).with_row_index("pos").sort([*key, "pos"])
    same = pl.all_horizontal([pl.col(k) == pl.col(k).shift(1) for k in key])
    prev = pl.when(same).then(pl.col("pos").shift(1).cast(pl.Int64())).otherwise(-1)
    return ordered.select("pos", prev=prev).sort("pos")["prev"]
