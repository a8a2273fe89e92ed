"""A generation's tables: its time splits and the generation-wide tables over them.

:func:`write_tables` makes every table of a new generation from its parent's
(none for a build) and the changes: new posts (deduplicated) and the uids of
posts that are gone (replaced by a new copy, or deleted). A build is the same
call with no parent, so ``build A; update B`` and ``build A B`` agree by
construction (a test checks it, ids aside).

1. **ids**: new tag keys, authors (``(platform, author)``), platforms and
   languages get the next ids; old ids never change (indexer/splits.py).
2. **splits**: the days the changes touch are rewritten from their old posts
   minus the gone ones plus the new ones; every other split is hard-linked.
3. **totals per tag** (tags.arrow): posts, engagement, per-platform and
   per-language posts and spellings are sums, so the parent's totals minus the
   touched days' old aggregates plus their new ones; first/last seen are
   re-read from the split summaries of the tags touched; distinct authors
   change by the (tag, account) pairs whose count crosses zero, found by a
   binary search of the touched pairs in every other split's ``pairs.arrow``.
4. **co-occurrence**: the parent's pair counts, +1 per pair of each new post,
   -1 per pair of each gone one.
The cost follows the days touched and the vocabulary, not the posts of the
history; the generation-wide tables are rewritten whole (their size grows with
tags, authors and tag pairs, not with posts).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import polars as pl

from indexer.accounts import Accounts
from indexer.schema import (
    CODES_TABLE,
    COOC_DELTA_TABLE,
    COOC_MAX_TAGS,
    COOC_TABLE,
    KEYS_TABLE,
    RANKED_TABLE,
    SPELLINGS_TABLE,
    SPLIT_PAIRS,
    SPLIT_POSTS,
    SPLIT_POSTS_RECORD,
    SPLIT_SUMMARY,
    SPLIT_UIDS,
    TAGS_TABLE,
    UNKNOWN_LANG,
    UNKNOWN_PLATFORM,
    SplitInfo,
    TableSpec,
    map_ipc,
    read_manifest,
)
from indexer.splits import (
    found_in,
    link_file,
    link_split,
    pair_key,
    patch_split,
    postings_of,
    read_record,
    removed_posts,
    split_path,
    write_split,
    write_table,
)

POST_COLUMNS = tuple(SPLIT_POSTS_RECORD.columns)


@dataclass
class Stats:
    posts: int
    tags: int
    first: datetime | None
    last: datetime | None
    splits: list[SplitInfo]


def read_table(directory: Path | None, spec: TableSpec) -> pl.DataFrame:
    """A generation's table, read whole (an empty frame of its columns without one)."""
    path = None if directory is None else directory / spec.file
    if path is None or not path.exists():
        return spec.frame()
    return pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_ipc(path)


@dataclass
class Changes:
    """What a build or update changes: new posts by UTC day, and uids gone from the parent."""

    days: list[date]
    """The days of the new posts."""
    posts_of: Callable[[date], pl.DataFrame]
    """A day's new posts (deduplicated; :data:`POST_COLUMNS`)."""
    gone: pl.Series
    """uids of the parent's posts to remove (replaced by a new copy, or deleted)."""


@dataclass
class Ids:
    """The generation's id tables: tag keys, accounts, platform and language codes."""

    keys: pl.DataFrame
    """tag, id (id order)."""
    accounts: Accounts
    codes: pl.DataFrame
    """kind, name, code."""

    def add(self, words: Vocabulary) -> None:
        """Give the next ids to the tag keys, authors, platforms and languages of some posts
        (their :func:`vocabulary`) that have none: new values in sorted order, so the
        result does not depend on the order posts come in within one call."""
        new_keys = words.tags.join(self.keys, on="tag", how="anti")
        if new_keys.height:
            self.keys = pl.concat(
                [self.keys, _numbered(new_keys.sort("tag"), "id", self.keys.height)]
            )
        self.accounts.add(words.people)
        for kind, names in (("platform", words.platforms), ("lang", words.langs)):
            known = self.codes.filter(pl.col("kind") == kind)
            new = names.join(known.select("name"), on="name", how="anti").sort("name")
            if new.height:
                numbered = _numbered(new, "code", known.height).select(
                    kind=pl.lit(kind), name="name", code="code"
                )
                self.codes = pl.concat([self.codes, numbered])

    def of_people(self, people: pl.DataFrame) -> pl.DataFrame:
        """``platform, author, account`` of ``people`` that have an account (binary
        searches: the cost is the people's, not the history's)."""
        return self.accounts.of(people)

    def of(self, kind: str) -> pl.DataFrame:
        return self.codes.filter(pl.col("kind") == kind).select("name", "code")


@dataclass
class Vocabulary:
    """The distinct values of some posts that get ids (:class:`Ids`)."""

    tags: pl.DataFrame
    """tag: the tag keys of their postings."""
    people: pl.DataFrame
    """platform, author: the authors of their postings."""
    platforms: pl.DataFrame
    """name: their platforms (:data:`UNKNOWN_PLATFORM` for none)."""
    langs: pl.DataFrame
    """name: their languages (:data:`UNKNOWN_LANG` for none)."""


def vocabulary(posts: pl.DataFrame) -> Vocabulary:
    postings = postings_of(posts)
    return Vocabulary(
        tags=postings.select("tag").unique(),
        people=postings.select("platform", "author").unique(),
        platforms=posts.select(name=pl.col("platform").fill_null(UNKNOWN_PLATFORM)).unique(),
        langs=posts.select(name=pl.col("lang").fill_null(UNKNOWN_LANG)).unique(),
    )


def _numbered(frame: pl.DataFrame, name: str, start: int) -> pl.DataFrame:
    ids = pl.int_range(start, start + frame.height, dtype=pl.UInt32(), eager=True)
    return frame.with_columns(ids.alias(name))


def aggregates(posts: pl.DataFrame, keys: pl.DataFrame, sign: int) -> dict[str, pl.DataFrame]:
    """Per tag id, ``sign`` times the additive totals of ``posts``: ``totals`` (posts,
    engagement), ``platforms`` / ``langs`` (name, posts), ``spellings`` (written, n)."""
    postings = postings_of(posts).join(keys.rename({"id": "tid"}), on="tag")
    n = pl.len().cast(pl.Int64()) * sign
    return {
        "totals": postings.group_by(tag="tid").agg(
            posts=n, engagement=pl.col("engagement").sum() * sign
        ),
        "platforms": postings.group_by(tag="tid", name="platform").agg(posts=n),
        "langs": postings.group_by(tag="tid", name="lang").agg(posts=n),
        "spellings": postings.group_by(tag="tid", written="written").agg(n=n),
    }


def cooc_pairs(posts: pl.DataFrame, keys: pl.DataFrame, sign: int) -> pl.DataFrame:
    """``key, co_posts`` (key = tag << 32 | other, ids; ``sign`` each) for every ordered pair
    of distinct tag keys of a post, among its first :data:`COOC_MAX_TAGS`."""
    ranked = (
        posts.select(pl.col("uid"), pl.col("tags").list.head(COOC_MAX_TAGS).alias("tag"))
        .explode("tag", empty_as_null=False)
        .drop_nulls("tag")
        .join(keys, on="tag")
        .select("uid", tag="id")
    )
    return (
        ranked.join(ranked.rename({"tag": "other"}), on="uid")
        .filter(pl.col("tag") != pl.col("other"))
        .group_by(key=pair_key(pl.col("tag"), pl.col("other")))
        .agg(co_posts=pl.len().cast(pl.Int64()) * sign)
    )


@dataclass
class DayWritten:
    """What writing a new day's split (:func:`write_new_day`) adds to the
    generation-wide tables."""

    sums: dict[str, pl.DataFrame]
    """:func:`aggregates` of the day's posts."""
    pairs: pl.DataFrame
    """:func:`cooc_pairs` of the day's posts."""
    split: SplitInfo | None
    """None if the day has no post."""


def write_new_day(
    out: Path, day: date, posts: pl.DataFrame, ids: Ids, generation: str
) -> DayWritten:
    """Write the split of a day that the parent does not have (every day of a build)."""
    split = _write_day(out, day, posts, ids, generation)
    return DayWritten(aggregates(posts, ids.keys, 1), cooc_pairs(posts, ids.keys, 1), split)


def _write_day(
    out: Path, day: date, posts: pl.DataFrame, ids: Ids, generation: str
) -> SplitInfo | None:
    """Write a day's split from all its posts, coded with the generation's ids (None, and
    nothing written, if it has none)."""
    if not posts.height:
        return None
    people = postings_of(posts).select("platform", "author").unique()
    write_split(
        out / split_path(day),
        posts,
        ids.keys,
        ids.of_people(people),
        ids.of("platform"),
        ids.of("lang"),
    )
    return _split_info(day, posts, generation)


class DayTasks(Protocol):
    """Who reads and writes the new days of a build or update: this process by default
    (:class:`InProcess`), or Ray tasks (indexer/distributed/)."""

    def vocabularies(self, days: list[date]) -> Iterator[Vocabulary]:
        """The :func:`vocabulary` of each day's new posts, in the order of ``days``."""
        ...

    def write(self, days: list[date], ids: Ids, generation: str) -> Iterator[DayWritten]:
        """:func:`write_new_day` of each day (into the generation), in any order."""
        ...


@dataclass
class InProcess:
    out: Path
    posts_of: Callable[[date], pl.DataFrame]

    def vocabularies(self, days: list[date]) -> Iterator[Vocabulary]:
        return (vocabulary(self.posts_of(day)) for day in days)

    def write(self, days: list[date], ids: Ids, generation: str) -> Iterator[DayWritten]:
        for day in days:
            yield write_new_day(self.out, day, self.posts_of(day), ids, generation)


def write_tables(
    out: Path,
    generation: str,
    parent: Path | None,
    parent_splits: list[SplitInfo],
    changes: Changes,
    tasks: DayTasks | None = None,
) -> Stats:
    """Write the splits and generation-wide tables of a generation into ``out``; the
    new days by ``tasks`` (default: in this process)."""
    tasks = tasks or InProcess(out, changes.posts_of)
    ids = Ids(
        keys=read_table(parent, KEYS_TABLE).sort("id").select("tag", "id"),
        accounts=Accounts.read(parent),
        codes=read_table(parent, CODES_TABLE),
    )
    for words in tasks.vocabularies(changes.days):
        ids.add(words)
    gone_by_day = held_by_day(parent, parent_splits, changes.gone)
    touched = sorted(set(changes.days) | set(gone_by_day))
    old_splits = {s.day: s for s in parent_splits}
    sums = _Sums(out, ids, generation, _Deltas(spill=out / PAIRS_SPILL if parent is None else None))
    new_days = [day for day in changes.days if day not in old_splits]
    for written in tasks.write(new_days, ids, generation):
        sums.add_written(written)
    written_days = set(new_days)
    for day in touched:
        if day in written_days:
            continue
        gone = gone_by_day.get(day)
        if parent is not None and day in old_splits and day not in changes.days:
            assert gone is not None
            if sums.patch_day(parent, old_splits[day], gone):
                continue
        sums.rewrite_day(parent, old_splits.get(day), day, changes, gone)
    untouched = [s for s in parent_splits if s.day not in set(touched)]
    for split in untouched:
        assert parent is not None
        link_split(parent / split.path, out / split.path)
    splits = sorted([*sums.splits, *untouched, *sums.patched], key=lambda s: s.day)
    tags = _tags_table(
        parent,
        out,
        ids,
        sums.parts,
        (sums.pair_files, sums.pair_deltas),
        sums.new_summaries,
        set(touched),
        untouched + sums.patched,
    )
    return _write_globals(parent, out, ids, tags, sums.cooc_deltas, splits)


@dataclass
class _Sums:
    """What :func:`write_tables` gathers day by day: the per-tag aggregate changes, the
    pair changes, the splits written or patched, and what ``_tags_table`` needs of them."""

    out: Path
    ids: Ids
    generation: str
    cooc_deltas: _Deltas
    parts: dict[str, list[pl.DataFrame]] = field(default_factory=dict)
    pair_files: list[tuple[Path, str]] = field(default_factory=list)
    pair_deltas: list[pl.DataFrame] = field(default_factory=list)
    new_summaries: list[pl.DataFrame] = field(default_factory=list)
    splits: list[SplitInfo] = field(default_factory=list)
    """Days written anew."""
    patched: list[SplitInfo] = field(default_factory=list)
    """Days of the parent patched (hard-linked, with a list of the posts gone)."""

    def add_parts(self, sums: dict[str, pl.DataFrame]) -> None:
        for name, frame in sums.items():
            self.parts.setdefault(name, []).append(frame)

    def add_written(self, written: DayWritten) -> None:
        """A new day, written by a :class:`DayTasks`."""
        self.add_parts(written.sums)
        self.cooc_deltas.add(written.pairs)
        _fold(self.parts)
        if written.split is not None:
            self.add_split(written.split)

    def add_split(self, split: SplitInfo) -> None:
        """A day written anew into the generation: its pairs and first/last times count."""
        directory = self.out / split.path
        self.pair_files.append((directory / SPLIT_PAIRS.file, "after"))
        _add_seen(self.new_summaries, directory)
        self.splits.append(split)

    def patch_day(self, parent: Path, was: SplitInfo, gone: pl.Series) -> bool:
        """A day of the parent that only loses posts, patched if few go (False: rewrite it)."""
        directory = self.out / split_path(was.day)
        patch = patch_split(parent / was.path, directory, gone)
        if patch is None:
            return False
        lost = patch.posts
        self.add_parts(aggregates(lost, self.ids.keys, -1))
        self.cooc_deltas.add(cooc_pairs(lost, self.ids.keys, -1))
        self.pair_deltas.append(patch.pairs.rename({"posts": "before"}))
        _add_seen(self.new_summaries, directory)
        self.patched.append(
            SplitInfo(
                day=was.day,
                path=was.path,
                posts=was.posts - lost.height,
                postings=was.postings - int(lost["tags"].list.len().sum()),
                written_by=self.generation,
            )
        )
        return True

    def rewrite_day(
        self,
        parent: Path | None,
        was: SplitInfo | None,
        day: date,
        changes: Changes,
        gone: pl.Series | None,
    ) -> None:
        """A day written anew: the parent's posts of it, but the gone, plus the new."""
        old = read_record(parent / was.path) if parent and was else SPLIT_POSTS_RECORD.frame()
        removed, kept = None, old
        if gone is not None:
            removed = old.filter(pl.col("uid").is_in(gone.implode()))
            kept = old.filter(~pl.col("uid").is_in(gone.implode()))
        new = changes.posts_of(day) if day in changes.days else SPLIT_POSTS_RECORD.frame()
        posts = pl.concat([kept, new.select(POST_COLUMNS)])
        self.add_parts(aggregates(old, self.ids.keys, -1))
        self.add_parts(aggregates(posts, self.ids.keys, 1))
        self.cooc_deltas.add(cooc_pairs(new, self.ids.keys, 1))
        if removed is not None:
            self.cooc_deltas.add(cooc_pairs(removed, self.ids.keys, -1))
        _fold(self.parts)
        if parent and was:
            self.pair_files.append((parent / was.path / SPLIT_PAIRS.file, "before"))
        split = _write_day(self.out, day, posts, self.ids, self.generation)
        if split is not None:
            self.add_split(split)


def _write_globals(
    parent: Path | None,
    out: Path,
    ids: Ids,
    tags: pl.DataFrame,
    cooc_deltas: _Deltas,
    splits: list[SplitInfo],
) -> Stats:
    """The generation-wide tables (tags, pairs, keys, ranks, codes, accounts) and the
    generation's totals."""
    cooc = write_cooc(parent, out, cooc_deltas.total())
    tags = with_cooc_offsets(tags, cooc)
    write_table(tags, TAGS_TABLE, out)
    write_table(ids.keys.sort("tag"), KEYS_TABLE, out)
    write_table(
        tags.with_row_index("id")
        .filter(pl.col("posts") > 0)
        .sort(["posts", "tag"], descending=[True, False])
        .select("id"),
        RANKED_TABLE,
        out,
    )
    write_table(ids.codes, CODES_TABLE, out)
    ids.accounts.write(parent, out)
    times = [_live_times(out / s.path) for s in (splits[:1] + splits[-1:])]
    return Stats(
        posts=sum(s.posts for s in splits),
        tags=int((tags["posts"] > 0).sum()),
        first=times[0].min() if splits else None,  # type: ignore[arg-type]
        last=times[-1].max() if splits else None,  # type: ignore[arg-type]
        splits=splits,
    )


SEEN_FOLD = 8
"""Written days whose per-tag first and last times are kept apart before they are folded
into one (a build writes every day: memory follows the tags, not the days)."""


def _add_seen(frames: list[pl.DataFrame], split_dir: Path) -> None:
    """Keep ``tag, first_seen, last_seen`` of a written split's summary (for ``_seen``)."""
    summary = pl.read_ipc(
        split_dir / SPLIT_SUMMARY.file, columns=["tag", "first_seen", "last_seen"]
    )
    frames.append(summary)
    if len(frames) > SEEN_FOLD:
        frames[:] = [
            pl.concat(frames)
            .group_by("tag")
            .agg(pl.col("first_seen").min(), pl.col("last_seen").max())
        ]


def _live_times(directory: Path) -> pl.Series:
    """created_at of a split's live posts."""
    posts = pl.read_ipc(directory / SPLIT_POSTS.file, columns=["created_at", "post"])
    removed = removed_posts(directory)
    if removed is not None:
        posts = posts.filter(~pl.col("post").is_in(removed.implode()))
    return posts["created_at"]


def _split_info(day: date, posts: pl.DataFrame, generation: str) -> SplitInfo:
    return SplitInfo(
        day=day,
        path=split_path(day),
        posts=posts.height,
        postings=int(posts["tags"].list.len().sum()),
        written_by=generation,
    )


def held_by_day(
    parent: Path | None, splits: list[SplitInfo], uids: pl.Series
) -> dict[date, pl.Series]:
    """The parent's days that hold one of ``uids`` live, with those uids: a binary search
    in each split's sorted uids (memory-mapped: only the pages searched are read), not a
    scan of its posts. A uid a patch removed from a day (still in its files, listed in
    removed.arrow) is not held there."""
    found: dict[date, pl.Series] = {}
    if parent is None or uids.len() == 0:
        return found
    wanted = uids.unique().sort()
    for split in splits:
        directory = parent / split.path
        day_uids = map_ipc(directory / SPLIT_UIDS.file)["uid"]
        candidates = within_runs(day_uids, wanted)
        rows = found_in(day_uids, candidates)
        held = rows.is_not_null()
        removed = removed_posts(directory)
        if removed is not None:
            held &= ~rows.cast(pl.UInt32()).is_in(removed.implode()).fill_null(False)
        if held.any():
            found[split.day] = candidates.filter(held)
    return found


def within_runs(uids: pl.Series, wanted: pl.Series) -> pl.Series:
    """The values of ``wanted`` (sorted) that lie between the first and last of one
    platform's uids in ``uids`` (a day's, sorted): a zone map. Post ids grow with time
    on every platform (snowflakes, TIDs, base-36 counters), so a new day's uids fall
    outside an old day's ranges and only those inside are searched one by one."""
    parts = [wanted.clear()]
    start, n = 0, uids.len()
    while start < n:
        first = str(uids[start])
        platform, colon, _ = first.partition(":")
        end = n if not colon else int(uids.search_sorted(platform + ";", side="left"))
        last = str(uids[end - 1])
        lo = int(wanted.search_sorted(first, side="left"))
        hi = int(wanted.search_sorted(last, side="right"))
        parts.append(wanted.slice(lo, hi - lo))
        start = end
    return pl.concat(parts)


def _summed(frames: list[pl.DataFrame], by: list[str], values: list[str]) -> pl.DataFrame:
    return pl.concat(frames, how="vertical_relaxed").group_by(by).agg(pl.col(values).sum())


def _named_counts(rows: pl.DataFrame, column: str) -> pl.DataFrame:
    """tag, ``column``: ``[{name, posts}]`` by posts (desc), then name; rows with posts."""
    return (
        rows.filter(pl.col("posts") > 0)
        .sort(["tag", "posts", "name"], descending=[False, True, False])
        .group_by("tag", maintain_order=True)
        .agg(pl.struct("name", "posts").alias(column))
    )


def _tags_table(
    parent: Path | None,
    out: Path,
    ids: Ids,
    parts: dict[str, list[pl.DataFrame]],
    pairs: tuple[list[tuple[Path, str]], list[pl.DataFrame]],
    new_summaries: list[pl.DataFrame],
    touched_days: set[date],
    untouched: list[SplitInfo],
) -> pl.DataFrame:
    """The id-ordered tags table: the parent's totals plus the touched days' changes."""
    old = read_table(parent, TAGS_TABLE).with_row_index("tag_id").rename({"tag": "key"})
    old = old.rename({"tag_id": "tag"}).with_columns(pl.col("tag").cast(pl.UInt32()))
    empty = {name: [TAG_PART_SCHEMAS[name]] for name in TAG_PART_SCHEMAS}
    parts = {name: empty[name] + parts.get(name, []) for name in TAG_PART_SCHEMAS}
    totals = _summed(
        [old.select("tag", "posts", "engagement"), *parts["totals"]],
        ["tag"],
        ["posts", "engagement"],
    )
    counted: dict[str, pl.DataFrame] = {}
    for column in ("platforms", "langs"):
        before = old.select("tag", column).explode(column).drop_nulls(column).unnest(column)
        counted[column] = _named_counts(
            _summed([before, *parts[column]], ["tag", "name"], ["posts"]), column
        )
    display = _display(parent, out, parts["spellings"])
    authors = old.select("tag", "authors").join(
        _authors_change(out, *pairs, untouched), on="tag", how="full", coalesce=True
    )
    authors = authors.select(
        "tag", authors=pl.col("authors").fill_null(0) + pl.col("change").fill_null(0)
    )
    seen = _seen(out, old, new_summaries, touched_days, untouched)
    base = ids.keys.sort("id").select(tag=pl.col("id"), key=pl.col("tag"))
    table = (
        base.join(totals, on="tag", how="left")
        .join(authors, on="tag", how="left")
        .join(display, on="tag", how="left")
        .join(old.select("tag", old_display="display"), on="tag", how="left")
        .join(seen, on="tag", how="left")
        .join(counted["platforms"], on="tag", how="left")
        .join(counted["langs"], on="tag", how="left")
        .sort("tag")
    )
    none = pl.lit([], dtype=TAGS_TABLE.columns["platforms"])
    return table.select(
        tag="key",
        display=pl.coalesce("display", "old_display", "key"),
        posts=pl.col("posts").fill_null(0),
        authors=pl.col("authors").fill_null(0),
        engagement=pl.col("engagement").fill_null(0),
        first_seen="first_seen",
        last_seen="last_seen",
        platforms=pl.col("platforms").fill_null(none),
        langs=pl.col("langs").fill_null(none),
    )


def _display(parent: Path | None, out: Path, changes: list[pl.DataFrame]) -> pl.DataFrame:
    """Write the spellings table (the parent's counts plus ``changes``) and return each
    tag's display form: its most used spelling (then the first in order)."""
    spellings = _summed(
        [read_table(parent, SPELLINGS_TABLE), *changes], ["tag", "written"], ["n"]
    ).filter(pl.col("n") > 0)
    write_table(spellings.sort("tag", "written"), SPELLINGS_TABLE, out)
    return (
        spellings.sort(["tag", "n", "written"], descending=[False, True, False])
        .group_by("tag", maintain_order=True)
        .agg(display=pl.col("written").first())
    )


PART_KEYS = {"totals": ["tag"], "platforms": ["tag", "name"], "langs": ["tag", "name"]}
PART_KEYS["spellings"] = ["tag", "written"]
FOLD_ROWS = 2_000_000
"""Per-tag aggregate rows kept unsummed before they are folded (a build adds every day's)."""


def _fold(parts: dict[str, list[pl.DataFrame]]) -> None:
    """Sum each kind of aggregate once its pieces pass :data:`FOLD_ROWS` rows, so that a
    build's memory follows the distinct keys, not the days."""
    for name, frames in parts.items():
        if len(frames) > 1 and sum(f.height for f in frames) > FOLD_ROWS:
            keys = PART_KEYS[name]
            values = [c for c in frames[0].columns if c not in keys]
            parts[name] = [_summed(frames, keys, values)]


TAG_PART_SCHEMAS = {
    "totals": pl.DataFrame(
        schema={"tag": pl.UInt32(), "posts": pl.Int64(), "engagement": pl.Int64()}
    ),
    "platforms": pl.DataFrame(
        schema={"tag": pl.UInt32(), "name": pl.String(), "posts": pl.Int64()}
    ),
    "langs": pl.DataFrame(schema={"tag": pl.UInt32(), "name": pl.String(), "posts": pl.Int64()}),
    "spellings": pl.DataFrame(schema={"tag": pl.UInt32(), "written": pl.String(), "n": pl.Int64()}),
}


PAIR_PARTITION_ROWS = 4_000_000
"""Pair rows summed at a time when authors are counted (a build reads every day's pairs:
cut into ranges of keys of about this many rows, memory stays bounded)."""


def _authors_change(
    out: Path,
    pair_files: list[tuple[Path, str]],
    pair_deltas: list[pl.DataFrame],
    searched: list[SplitInfo],
) -> pl.DataFrame:
    """tag, change: how many (tag, account) pairs start or stop having posts.

    ``pair_files``: the touched days' pairs files, old (``before``) and new
    (``after``) versions. A pair's count elsewhere is found by binary search in
    every untouched split's pairs (memory-mapped, so only the pages searched are
    read). ``pair_deltas``: key, before (a patched day's removed postings of the pair; its
    new pairs file is among the ``searched``), after 0. Keys are taken a range at a time
    (:data:`PAIR_PARTITION_ROWS`)."""
    mapped = [(map_ipc(path), role) for path, role in pair_files]
    mapped += [
        (d.with_columns(after=pl.lit(0, pl.Int64())).sort("key"), "delta") for d in pair_deltas
    ]
    total = sum(frame.height for frame, _ in mapped)
    parts = max(1, -(-total // PAIR_PARTITION_ROWS))
    bounds = _key_bounds(mapped, parts)
    changes = [
        _authors_change_in(mapped, lo, hi, out, searched) for lo, hi in itertools.pairwise(bounds)
    ]
    empty = pl.DataFrame(schema={"tag": pl.UInt32(), "change": pl.Int64()})
    return _summed([empty, *changes], ["tag"], ["change"])


def _key_range(frame: pl.DataFrame, lo: int, hi: int) -> pl.DataFrame:
    """The rows of ``frame`` (sorted by ``key``) with ``lo <= key < hi`` (``hi`` 2**64: no
    upper bound): a slice, found by binary search."""
    keys = frame["key"]
    start = int(keys.search_sorted(lo, side="left"))
    end = keys.len() if hi >= 1 << 64 else int(keys.search_sorted(hi, side="left"))
    return frame.slice(start, end - start)


def _key_bounds(mapped: list[tuple[pl.DataFrame, str]], parts: int) -> list[int]:
    """``parts + 1`` increasing key bounds, cut at tag boundaries (a tag's pairs stay in one
    range), from quantiles of the largest file's keys."""
    top = 1 << 64
    if parts == 1 or not mapped:
        return [0, top]
    largest = max(mapped, key=lambda m: m[0].height)[0]["key"]
    cuts = {(int(largest[largest.len() * k // parts]) >> 32) << 32 for k in range(1, parts)}
    return [0, *sorted(c for c in cuts if c > 0), top]


def _authors_change_in(
    mapped: list[tuple[pl.DataFrame, str]],
    lo: int,
    hi: int,
    out: Path,
    untouched: list[SplitInfo],
) -> pl.DataFrame:
    schema = {"key": pl.UInt64(), "before": pl.Int64(), "after": pl.Int64()}
    frames = [pl.DataFrame(schema=schema)]
    zero = pl.lit(0, pl.Int64())
    for frame, role in mapped:
        part = _key_range(frame, lo, hi)
        if role == "delta":
            frames.append(part.select("key", "before", "after"))
            continue
        counts = {"before": zero, "after": zero, role: pl.col("posts")}
        frames.append(part.select("key", **counts))
    changed = (
        pl.concat(frames, how="vertical_relaxed")
        .group_by("key")
        .agg(pl.col("before", "after").sum())
        .filter(pl.col("before") != pl.col("after"))
        .sort("key")
    )
    elsewhere = pl.Series("u", [0] * changed.height, dtype=pl.Int64())
    for split in untouched if changed.height else []:
        pairs = map_ipc(out / split.path / SPLIT_PAIRS.file)
        rows = found_in(pairs["key"], changed["key"])
        elsewhere = elsewhere + pairs["posts"].gather(rows).fill_null(0)
    return (
        changed.with_columns(u=elsewhere)
        .group_by(tag=(pl.col("key") // (1 << 32)).cast(pl.UInt32()))
        .agg(
            change=(
                (pl.col("after") + pl.col("u") > 0).cast(pl.Int64())
                - (pl.col("before") + pl.col("u") > 0).cast(pl.Int64())
            ).sum()
        )
    )


def _seen(
    out: Path,
    old: pl.DataFrame,
    new_summaries: list[pl.DataFrame],
    touched_days: set[date],
    untouched: list[SplitInfo],
) -> pl.DataFrame:
    """tag, first_seen, last_seen of every tag.

    A tag's old first (last) post stays the first (last) unless its day was touched;
    then, if the touched days' new first (last) is not on that day, the untouched
    splits are searched for the tag."""
    time = TAGS_TABLE.columns["first_seen"]
    summaries = pl.concat(
        [
            pl.DataFrame(schema={"tag": pl.UInt32(), "first_seen": time, "last_seen": time}),
            *(s.select("tag", "first_seen", "last_seen") for s in new_summaries),
        ]
    )
    now = summaries.group_by("tag").agg(tf=pl.col("first_seen").min(), tl=pl.col("last_seen").max())
    days = pl.Series(sorted(touched_days), dtype=pl.Date())
    frame = old.select("tag", of=pl.col("first_seen"), ol=pl.col("last_seen")).join(
        now, on="tag", how="full", coalesce=True
    )
    in_touched = {
        c: pl.col(c).dt.date().is_in(days.implode()).fill_null(False) for c in ("of", "ol")
    }
    frame = frame.with_columns(
        need=(in_touched["of"] & (pl.col("tf").dt.date() != pl.col("of").dt.date()).fill_null(True))
        | (in_touched["ol"] & (pl.col("tl").dt.date() != pl.col("ol").dt.date()).fill_null(True)),
        bf=pl.when(in_touched["of"]).then(None).otherwise(pl.col("of")),
        bl=pl.when(in_touched["ol"]).then(None).otherwise(pl.col("ol")),
    )
    wanted = frame.filter("need")["tag"].sort()
    uf = pl.Series("uf", [None] * wanted.len(), dtype=time)
    ul = pl.Series("ul", [None] * wanted.len(), dtype=time)
    for split in untouched if wanted.len() else []:
        summary = map_ipc(out / split.path / SPLIT_SUMMARY.file)
        rows = found_in(summary["tag"], wanted)
        uf = pl.select(pl.min_horizontal(uf, summary["first_seen"].gather(rows))).to_series()
        ul = pl.select(pl.max_horizontal(ul, summary["last_seen"].gather(rows))).to_series()
    searched = pl.DataFrame({"tag": wanted, "uf": uf, "ul": ul})
    return frame.join(searched, on="tag", how="left").select(
        "tag",
        first_seen=pl.min_horizontal("bf", "tf", "uf"),
        last_seen=pl.max_horizontal("bl", "tl", "ul"),
    )


class _Deltas:
    """Summed ``key, co_posts`` changes. An update's few are kept and summed in memory.
    A build's (every pair of every day: 30M rows at 10M posts) are written to ``spill``
    :data:`FOLD_ROWS` at a time and summed once at the end, a range of keys at a time
    (:data:`PAIR_PARTITION_ROWS`): memory follows a range, not the history's pairs,
    and no row is summed twice (folding in memory re-summed the total each time)."""

    FOLD_ROWS = 2_000_000

    def __init__(self, spill: Path | None = None) -> None:
        self._frames: list[pl.DataFrame] = [COOC_TABLE.frame()]
        self._rows = 0
        self._spill = spill
        self._files: list[Path] = []

    def add(self, frame: pl.DataFrame) -> None:
        self._frames.append(frame)
        self._rows += frame.height
        if self._rows > self.FOLD_ROWS:
            if self._spill is None:
                self._frames = [_summed_pairs(self._frames)]
                self._rows = self._frames[0].height
            else:
                self._write()

    def _write(self) -> None:
        assert self._spill is not None
        self._spill.mkdir(parents=True, exist_ok=True)
        path = self._spill / f"pairs-{len(self._files):05d}.arrow"
        frame = pl.concat(self._frames, how="vertical_relaxed").sort("key")
        write_table(frame, COOC_TABLE, path.parent)  # sorted: a range of keys is a slice
        (path.parent / COOC_TABLE.file).rename(path)
        self._files.append(path)
        self._frames, self._rows = [COOC_TABLE.frame()], 0

    def total(self) -> pl.DataFrame:
        """Every change summed (zeros left out), by key."""
        if not self._files:
            return _summed_pairs(self._frames)
        self._write()
        spilled = [map_ipc(path) for path in self._files]
        rows = sum(frame.height for frame in spilled)
        parts = max(1, -(-rows // PAIR_PARTITION_ROWS))
        bounds = _key_bounds([(frame, "") for frame in spilled], parts)
        ranges = []
        for lo, hi in itertools.pairwise(bounds):
            ranges.append(_summed_pairs([_key_range(frame, lo, hi) for frame in spilled]))
        del spilled
        shutil.rmtree(self._files[0].parent)
        self._files = []
        return pl.concat(ranges)


PAIRS_SPILL = "_pairs"
"""Where a build spills its tag pairs' changes (inside the generation being written;
removed before it is published)."""


COOC_DELTA_SHARE = 0.1
"""An update writes the pair changes since cooc.arrow was written (cooc-delta.arrow) and
hard-links cooc.arrow, until they pass this share of its rows; then it folds them into
a new cooc.arrow. So an hour's update costs the changes, and the history's pairs are
rewritten about once every share's worth of new pairs (``compact`` folds too)."""


def write_cooc(
    parent: Path | None, out: Path, delta: pl.DataFrame, *, fold: bool = False
) -> pl.DataFrame:
    """Write ``out``'s cooc.arrow and cooc-delta.arrow: the parent's, with ``delta``
    (key, co_posts; sorted by key) added. Returns the cooc.arrow written or linked."""
    base = _mapped_or_empty(parent, COOC_TABLE)
    pending = _summed_pairs([_mapped_or_empty(parent, COOC_DELTA_TABLE), delta])
    if parent is None or fold or pending.height > COOC_DELTA_SHARE * base.height:
        base = _cooc_merged(base, pending)
        write_table(base, COOC_TABLE, out)
        pending = COOC_DELTA_TABLE.frame()
    else:
        link_file(parent / COOC_TABLE.file, out / COOC_TABLE.file)
    write_table(pending, COOC_DELTA_TABLE, out)
    return base


def _mapped_or_empty(directory: Path | None, spec: TableSpec) -> pl.DataFrame:
    path = None if directory is None else directory / spec.file
    return map_ipc(path) if path is not None and path.exists() else spec.frame()


def _summed_pairs(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """key, co_posts summed over ``frames``, the zeros left out, by key."""
    return (
        pl.concat([COOC_TABLE.frame(), *frames], how="vertical_relaxed")
        .group_by("key")
        .agg(pl.col("co_posts").sum())
        .filter(pl.col("co_posts") != 0)
        .sort("key")
    )


def _cooc_merged(old: pl.DataFrame, delta: pl.DataFrame) -> pl.DataFrame:
    """``old`` pair counts (sorted by key) with ``delta`` (sorted by key) merged in:
    a binary search finds the pairs it changes; new pairs are merged in order; pairs
    falling to 0 leave. Linear copies of the old table, no sort or hash of it."""
    rows = found_in(old["key"], delta["key"])
    known = rows.is_not_null()
    counts = old["co_posts"]
    if known.any():
        at = rows.filter(known)
        counts = counts.scatter(at, counts.gather(at) + delta["co_posts"].filter(known))
    merged = pl.DataFrame({"key": old["key"], "co_posts": counts}).merge_sorted(
        delta.filter(~known).select("key", "co_posts"), key="key"
    )
    return merged.filter(pl.col("co_posts") > 0)


def with_cooc_offsets(tags: pl.DataFrame, cooc: pl.DataFrame) -> pl.DataFrame:
    """Each tag's slice of the key-sorted pairs (its keys are ``id << 32 ..``)."""
    ids = pl.int_range(tags.height + 1, dtype=pl.UInt64(), eager=True) * (1 << 32)
    bounds = cooc["key"].search_sorted(ids, side="left").cast(pl.Int64())
    return tags.with_columns(cooc_start=bounds.head(-1), cooc_len=bounds.diff().tail(-1))


def read_posts(generation_dir: Path) -> pl.DataFrame:
    """Every post of a generation (no text), from its splits' records, by uid."""
    manifest = read_manifest(generation_dir)
    frames = [read_record(generation_dir / s.path) for s in manifest.splits]
    return pl.concat([SPLIT_POSTS_RECORD.frame(), *frames]).sort("uid")


def read_tags(generation_dir: Path) -> pl.DataFrame:
    """The tags of a generation with posts: tag, display, posts, authors, engagement,
    first_seen, last_seen, platforms, langs; by posts (desc), then tag."""
    tags = pl.read_ipc(generation_dir / TAGS_TABLE.file)
    return (
        tags.filter(pl.col("posts") > 0)
        .drop("cooc_start", "cooc_len")
        .sort(["posts", "tag"], descending=[True, False])
    )


def read_cooc(generation_dir: Path) -> pl.DataFrame:
    """tag, other, co_posts (tag keys) of a generation, by tag, co_posts (desc), other."""
    cooc = _summed_pairs(
        [read_table(generation_dir, COOC_TABLE), read_table(generation_dir, COOC_DELTA_TABLE)]
    ).filter(pl.col("co_posts") > 0)
    keys = pl.read_ipc(generation_dir / KEYS_TABLE.file)
    by_id = keys.sort("id")["tag"]
    return cooc.select(
        tag=by_id.gather(cooc["key"] // (1 << 32)),
        other=by_id.gather(cooc["key"] % (1 << 32)),
        co_posts="co_posts",
    ).sort(["tag", "co_posts", "other"], descending=[False, True, False])
