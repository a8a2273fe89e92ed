"""Time splits: the posts of one UTC day and every table the service reads of them.

A generation's posts are cut by UTC day of ``created_at``; each day is one
**split**, a directory ``splits/<YYYY-MM-DD>/`` that is written once, in full,
from that day's posts (:func:`write_split`) and never changed. An ``update``
rewrites only the days its new, replaced and deleted posts fall on and hard-links
every other split's files into the new generation (:func:`link_split`), so its
cost follows the new data and the size of a day, never the history.

A split refers to tags, authors, platforms and languages by the generation's
global ids (indexer/globals.py), which only ever grow: a split written by an
older generation stays valid in every later one. Its files
(:data:`~indexer.schema.SPLIT_TABLES`):

- ``posts.parquet``: the day's posts (the record an update rewrites the day from);
- ``uids.arrow``: the posts' uids, sorted (an update finds replaced and deleted
  posts with a binary search per split);
- ``postings.arrow``: one row per (post, tag) by tag then time, and ``summary.arrow``,
  per tag: exact posts, distinct authors, engagement, first/last seen and where its
  postings start: one tag's day is one slice;
- ``timeline.arrow``: the postings by time: a window is one slice;
- ``posts.arrow``: every post's time, platform and language (tagged or not);
- ``pairs.arrow``: per (tag, account), the day's postings, keyed
  ``tag << 32 | account``: an update counts all-time distinct authors from these.
Ties are broken by every column, so the same posts give the same bytes.
"""

from __future__ import annotations

import bisect
import itertools
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.parquet

from indexer.schema import (
    SPLIT_PAIRS,
    SPLIT_POSTINGS,
    SPLIT_POSTS,
    SPLIT_POSTS_RECORD,
    SPLIT_REMOVED,
    SPLIT_SUMMARY,
    SPLIT_TIMELINE,
    SPLIT_UIDS,
    SPLITS_DIR,
    UNKNOWN_LANG,
    UNKNOWN_PLATFORM,
    TableSpec,
    map_ipc,
)


def split_name(day: date) -> str:
    return day.isoformat()


def split_path(day: date) -> str:
    """A split's directory, relative to its generation's."""
    return f"{SPLITS_DIR}/{split_name(day)}"


def write_table(frame: pl.DataFrame, spec: TableSpec, directory: Path) -> None:
    """Write ``frame`` as ``spec`` declares it: its columns, in order, of its dtypes, as
    uncompressed Arrow IPC in one record batch (Parquet for ``.parquet`` files)."""
    frame = frame.select([pl.col(c).cast(t) for c, t in spec.columns.items()]).rechunk()
    path = directory / spec.file
    if path.suffix == ".parquet":
        # Small row groups: a record is sorted by uid, so reading a few posts by uid
        # (a patch) decodes only their groups (statistics), not the day.
        frame.write_parquet(path, compression="zstd", row_group_size=RECORD_GROUP_ROWS)
        return
    frame.write_ipc(
        path,
        compression="uncompressed",
        compat_level=pl.CompatLevel.newest(),
        record_batch_size=max(1, frame.height),  # one chunk: slices and searches stay fast
    )


RECORD_GROUP_ROWS = 2048
"""Rows per Parquet row group of a split's record."""


def postings_of(posts: pl.DataFrame, *extra: str) -> pl.DataFrame:
    """One row per (post, tag key): tag, written, created_at, author, platform, lang,
    engagement (missing platform and language named as the validator names them)."""
    return (
        posts.select(
            pl.col("tags").alias("tag"),
            "written",
            "created_at",
            "author",
            pl.col("platform").fill_null(UNKNOWN_PLATFORM),
            pl.col("lang").fill_null(UNKNOWN_LANG),
            "engagement",
            *extra,
        )
        .explode("tag", "written", empty_as_null=False)
        .drop_nulls("tag")
    )


def write_split(
    directory: Path,
    posts: pl.DataFrame,
    tag_ids: pl.DataFrame,
    accounts: pl.DataFrame,
    platforms: pl.DataFrame,
    langs: pl.DataFrame,
) -> None:
    """Write one day's split from its posts (:data:`SPLIT_POSTS_RECORD` columns).

    ``tag_ids``: ``tag, id``; ``accounts``: ``platform, author, account``;
    ``platforms`` / ``langs``: ``name, code``; each covers every value of ``posts``.
    """
    directory.mkdir(parents=True)
    posts = posts.sort("uid").with_row_index("post")
    write_table(posts, SPLIT_POSTS_RECORD, directory)
    write_table(posts.select("uid"), SPLIT_UIDS, directory)
    write_table(
        posts.select(
            "created_at",
            platform=_code(pl.col("platform").fill_null(UNKNOWN_PLATFORM), platforms),
            lang=_code(pl.col("lang").fill_null(UNKNOWN_LANG), langs),
            post="post",
        ).sort(pl.all()),
        SPLIT_POSTS,
        directory,
    )
    raw = postings_of(posts, "post")
    coded = (
        raw.join(tag_ids.rename({"id": "tag_id"}), on="tag")
        .join(accounts, on=["platform", "author"])
        .select(
            tag=pl.col("tag_id"),
            created_at="created_at",
            account="account",
            engagement="engagement",
            platform=_code(pl.col("platform"), platforms),
            lang=_code(pl.col("lang"), langs),
            post="post",
        )
    )
    by_tag = coded.sort(POSTINGS_ORDER)
    write_table(by_tag, SPLIT_POSTINGS, directory)
    write_table(by_tag.sort(TIMELINE_ORDER), SPLIT_TIMELINE, directory)
    write_derived(directory, by_tag, None)


POSTINGS_ORDER = ["tag", "created_at", "account", "engagement", "platform", "lang", "post"]
TIMELINE_ORDER = ["created_at", "tag", "account", "engagement", "platform", "lang", "post"]


def write_derived(directory: Path, by_tag: pl.DataFrame, removed: pl.Series | None) -> None:
    """``summary.arrow`` and ``pairs.arrow`` of a split's postings (by tag, time): slices
    over every row of the file, counts over the live ones (not in ``removed``)."""
    rows = by_tag.with_row_index("start")
    slices = rows.group_by("tag", maintain_order=True).agg(
        postings_start=pl.col("start").first(), postings_len=pl.len()
    )
    live = rows if removed is None else rows.filter(~pl.col("post").is_in(removed.implode()))
    counts = live.group_by("tag", maintain_order=True).agg(
        posts=pl.len(),
        authors=pl.col("account").n_unique(),
        engagement=pl.col("engagement").sum(),
        first_seen=pl.col("created_at").min(),
        last_seen=pl.col("created_at").max(),
    )
    write_table(counts.join(slices, on="tag", maintain_order="left"), SPLIT_SUMMARY, directory)
    pairs = (
        live.group_by("tag", "account")
        .agg(posts=pl.len())
        .select(key=pair_key(pl.col("tag"), pl.col("account")), posts="posts")
        .sort("key")
    )
    write_table(pairs, SPLIT_PAIRS, directory)


def found_in(sorted_column: pl.Series, wanted: pl.Series) -> pl.Series:
    """Per value of ``wanted``, its row in ``sorted_column`` (null if absent): a binary
    search, so only the pages it reads of a memory-mapped column are read."""
    n = sorted_column.len()
    if n == 0 or wanted.len() == 0:
        return pl.Series(values=[None] * wanted.len(), dtype=pl.Int64())
    at = sorted_column.search_sorted(wanted, side="left").cast(pl.Int64())
    safe = at.clip(0, n - 1)
    hit = (at < n) & (sorted_column.gather(safe) == wanted)
    return pl.select(pl.when(hit).then(safe).otherwise(None)).to_series()


def removed_posts(directory: Path) -> pl.Series | None:
    """The split's removed post rows (:data:`SPLIT_REMOVED`), or None if it has none."""
    path = directory / SPLIT_REMOVED.file
    return pl.read_ipc(path)["post"] if path.exists() else None


def read_record(directory: Path) -> pl.DataFrame:
    """A split's live posts (its record without the removed ones)."""
    record = pl.read_parquet(directory / SPLIT_POSTS_RECORD.file)
    removed = removed_posts(directory)
    if removed is None:
        return record
    keep = ~pl.int_range(record.height, dtype=pl.UInt32()).is_in(removed.implode())
    return record.filter(keep)


PATCH_MAX_REMOVED = 0.1
"""A day that loses posts and gains none is patched (removed.arrow, new summary and
pairs; every other file hard-linked) while at most this share of its posts is removed;
beyond, it is rewritten."""


@dataclass
class Patch:
    """What patching a split took away."""

    posts: pl.DataFrame
    """The removed posts (record rows)."""
    pairs: pl.DataFrame
    """key, posts: their postings per (tag, account) pair key."""


def patch_split(source: Path, target: Path, gone: pl.Series) -> Patch | None:
    """Make ``target`` the split ``source`` without the posts whose uid is in ``gone``,
    by listing them in removed.arrow: the postings, timeline and records are hard-linked.
    Returns the posts removed (record rows), or None when the day should be rewritten
    instead (too large a share removed)."""
    uids = map_ipc(source / SPLIT_UIDS.file)["uid"]
    hits = found_in(uids, gone.unique().sort()).drop_nulls().cast(pl.UInt32())
    before = removed_posts(source)
    removed = pl.concat([hits, *([] if before is None else [before])])
    removed = removed.unique().sort().rename("post")
    if removed.len() > PATCH_MAX_REMOVED * uids.len() or removed.len() == uids.len():
        return None  # rewritten instead (a day without posts is no split)
    target.mkdir(parents=True)
    for name in (SPLIT_POSTS_RECORD, SPLIT_UIDS, SPLIT_POSTS, SPLIT_POSTINGS, SPLIT_TIMELINE):
        link_file(source / name.file, target / name.file)
    write_table(removed.to_frame(), SPLIT_REMOVED, target)
    posts = _record_rows(source / SPLIT_POSTS_RECORD.file, hits)
    postings = _postings_of_posts(source, hits, posts["created_at"])
    lost = _patch_derived(source, target, postings, removed)
    return Patch(posts=posts, pairs=lost.rename({"lost": "posts"}))


def _record_rows(path: Path, rows: pl.Series) -> pl.DataFrame:
    """Rows ``rows`` of a split's record, reading only the row groups that hold them."""
    record = pyarrow.parquet.ParquetFile(path)
    meta = record.metadata
    starts = list(
        itertools.accumulate(meta.row_group(g).num_rows for g in range(meta.num_row_groups))
    )
    starts = [0, *starts]
    wanted = sorted(int(r) for r in rows)
    groups = sorted({bisect.bisect_right(starts, r) - 1 for r in wanted})
    if not groups:
        return SPLIT_POSTS_RECORD.frame()
    table = pl.from_arrow(record.read_row_groups(groups))
    assert isinstance(table, pl.DataFrame)
    offset, base = {}, 0
    for g in groups:
        offset[g] = base - starts[g]
        base += starts[g + 1] - starts[g]
    at = [r + offset[bisect.bisect_right(starts, r) - 1] for r in wanted]
    columns = SPLIT_POSTS_RECORD.columns
    return table[at].select([pl.col(c).cast(t) for c, t in columns.items()])


def _postings_of_posts(source: Path, posts: pl.Series, times: pl.Series) -> pl.DataFrame:
    """The split's postings of ``posts`` (rows of its record) created at ``times``: slices
    of the time-sorted timeline, so the cost is theirs, not the day's."""
    timeline = map_ipc(source / SPLIT_TIMELINE.file)
    times = times.unique().sort()
    starts = timeline["created_at"].search_sorted(times, side="left")
    ends = timeline["created_at"].search_sorted(times, side="right")
    parts = [timeline.slice(lo, hi - lo) for lo, hi in zip(starts, ends, strict=True)]
    wanted = posts.cast(pl.UInt32()).implode()
    return pl.concat([SPLIT_TIMELINE.frame(), *parts]).filter(pl.col("post").is_in(wanted))


def _patch_derived(
    source: Path, target: Path, gone: pl.DataFrame, removed: pl.Series
) -> pl.DataFrame:
    """summary.arrow and pairs.arrow of ``source`` without the postings ``gone`` (their
    rows ``removed`` included): the counts of their tags and pairs move by what they
    take, found by binary search; a tag's first or last time is read again from its
    postings only when a removed posting held it. Returns ``key, lost``: the postings
    taken from each (tag, account) pair."""
    lost = _lost(gone)
    ended = _patch_pairs(source, target, lost)
    _patch_summary(source, target, gone, removed, ended)
    return lost


def _patch_pairs(source: Path, target: Path, lost: pl.DataFrame) -> pl.Series:
    """pairs.arrow less the ``lost`` postings; the keys of the (tag, account) pairs left
    with none (their tag lost an author that day)."""
    pairs = map_ipc(source / SPLIT_PAIRS.file)
    at = found_in(pairs["key"], lost["key"])
    if at.null_count():
        raise ValueError(f"{source}: a removed posting has no pair in the split")
    # scattered into a new column: the file's (mapped read-only) is never written
    minus = pl.zeros(pairs.height, pl.Int64(), eager=True).scatter(at, lost["lost"])
    pairs = pairs.with_columns(posts=pl.col("posts") - minus)
    ended = pairs["key"].gather(at).filter(pairs["posts"].gather(at) == 0)
    write_table(pairs.filter(pl.col("posts") > 0), SPLIT_PAIRS, target)
    return ended


def _patch_summary(
    source: Path, target: Path, gone: pl.DataFrame, removed: pl.Series, ended: pl.Series
) -> None:
    """summary.arrow less the ``gone`` postings and the authors of the ``ended`` pairs."""
    summary = map_ipc(source / SPLIT_SUMMARY.file)
    taken = (
        gone.group_by("tag")
        .agg(
            minus_posts=pl.len().cast(pl.Int64()),
            minus_engagement=pl.col("engagement").sum().cast(pl.Int64()),
            gone_first=pl.col("created_at").min(),
            gone_last=pl.col("created_at").max(),
        )
        .join(
            (ended // (1 << 32))
            .cast(gone["tag"].dtype)
            .rename("tag")
            .value_counts(name="minus_authors"),
            on="tag",
            how="left",
        )
        .sort("tag")
    )
    rows = found_in(summary["tag"], taken["tag"])
    if rows.null_count():
        raise ValueError(f"{source}: a removed posting's tag has no summary row")
    renewed = (
        pl.concat([summary[rows], taken.drop("tag")], how="horizontal")
        .with_columns(
            posts=pl.col("posts") - pl.col("minus_posts"),
            engagement=pl.col("engagement") - pl.col("minus_engagement"),
            authors=pl.col("authors") - pl.col("minus_authors").fill_null(0),
        )
        .filter(pl.col("posts") > 0)  # a tag with no live posting that day has no row
    )
    moved = (pl.col("gone_first") == pl.col("first_seen")) | (
        pl.col("gone_last") == pl.col("last_seen")
    )
    times = _first_last_live(map_ipc(source / SPLIT_POSTINGS.file), renewed.filter(moved), removed)
    renewed = (
        renewed.join(times, on="tag", how="left")
        .with_columns(
            first_seen=pl.coalesce("new_first", "first_seen"),
            last_seen=pl.coalesce("new_last", "last_seen"),
        )
        .select(summary.columns)
    )
    keep = pl.repeat(True, summary.height, eager=True).scatter(rows, False)
    summary = pl.concat([summary.filter(keep), renewed], how="vertical_relaxed").sort("tag")
    write_table(summary, SPLIT_SUMMARY, target)


def _first_last_live(
    postings: pl.DataFrame, tags: pl.DataFrame, removed: pl.Series
) -> pl.DataFrame:
    """tag, new_first, new_last: the first and last live posting of each of ``tags`` (its
    summary rows), from its slice of the day's postings."""
    parts = [
        postings.slice(start, n)
        for start, n in tags.select("postings_start", "postings_len").iter_rows()
    ]
    return (
        pl.concat([SPLIT_POSTINGS.frame(), *parts])
        .filter(~pl.col("post").is_in(removed.implode()))
        .group_by("tag")
        .agg(new_first=pl.col("created_at").min(), new_last=pl.col("created_at").max())
    )


def _lost(gone: pl.DataFrame) -> pl.DataFrame:
    """key, lost: the postings ``gone`` take from each (tag, account) pair, by key."""
    return (
        gone.group_by(key=pair_key(pl.col("tag"), pl.col("account")))
        .agg(lost=pl.len().cast(pl.Int64()))
        .sort("key")
    )


def pair_key(tag: pl.Expr, account: pl.Expr) -> pl.Expr:
    """``tag << 32 | account``: one exact 64-bit key per (tag, account)."""
    return (tag.cast(pl.UInt64()) * (1 << 32)) + account.cast(pl.UInt64())


def _code(values: pl.Expr, codes: pl.DataFrame) -> pl.Expr:
    return values.replace_strict(codes["name"], codes["code"], return_dtype=pl.UInt32())


def link_split(source: Path, target: Path) -> None:
    """Make ``target`` hold ``source``'s files without copying them (hard links: split
    files are never written again); copies only where the filesystem cannot link."""
    target.mkdir(parents=True)
    for path in source.iterdir():
        link_file(path, target / path.name)


def link_file(source: Path, target: Path) -> None:
    """``source`` at ``target`` too: a hard link (files of a generation are never written
    again), a copy where the filesystem cannot link."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
