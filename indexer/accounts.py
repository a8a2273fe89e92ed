"""Account ids: one per ``(platform, author)``, given once and never changed.

An author's id is what every split stores (postings, pairs), so ids only grow:
a new author gets the next one. The table is sorted by ``(platform, author)``
so that an update finds its posts' authors by binary search in the memory-mapped
file (the pages it reads), not by hashing every account of the history. The
accounts an update adds go to a small second file, rewritten by each update,
until they pass :data:`ACCOUNTS_NEW_SHARE` of the first; then both are merged
into a new first file. So an hourly update costs its own authors, and the
history's accounts are rewritten about once per tenth of growth.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from indexer.schema import (
    ACCOUNTS_NEW_TABLE,
    ACCOUNTS_TABLE,
    LEGACY_ACCOUNTS_FILE,
    map_ipc,
)
from indexer.splits import found_in, link_file, write_table

ACCOUNTS_NEW_SHARE = 0.1
"""accounts-new.arrow is merged into accounts.arrow once it holds this share of its rows."""

KEY = ["platform", "author"]

MAX_PARTS = 8
"""Sorted parts of new accounts kept apart before they are merged into one (a build adds
one a day: merging every day would sort every account so far, every day)."""


class Accounts:
    """A generation's accounts: ``base`` (mapped, sorted by platform, author) plus
    ``new`` (the ones given since, sorted the same way)."""

    def __init__(self, base: pl.DataFrame, new: pl.DataFrame) -> None:
        self.base = base
        self._parts = [new]
        """The new accounts in sorted parts (see :data:`MAX_PARTS`)."""

    @property
    def new(self) -> pl.DataFrame:
        """The accounts given since accounts.arrow was written, sorted."""
        if len(self._parts) > 1:
            self._parts = [pl.concat(self._parts).sort(KEY)]
        return self._parts[0]

    @classmethod
    def read(cls, generation_dir: Path | None) -> Accounts:
        """The accounts of a generation (none without one)."""
        empty = ACCOUNTS_TABLE.frame()
        if generation_dir is None:
            return cls(empty, empty)
        path = generation_dir / ACCOUNTS_TABLE.file
        if not path.exists():  # schema 4 before accounts.arrow: read whole, once
            legacy = pl.read_parquet(generation_dir / LEGACY_ACCOUNTS_FILE)
            return cls(legacy.sort(KEY), empty)
        new = generation_dir / ACCOUNTS_NEW_TABLE.file
        return cls(map_ipc(path), map_ipc(new) if new.exists() else empty)

    @property
    def count(self) -> int:
        return self.base.height + sum(part.height for part in self._parts)

    def of(self, people: pl.DataFrame) -> pl.DataFrame:
        """``platform, author, account`` of those of ``people`` (platform, author) that
        have an account."""
        people = people.select(KEY).unique().sort(KEY)
        found = [ACCOUNTS_TABLE.frame()]
        for table in (self.base, *self._parts):
            for (platform,), wanted in people.partition_by(
                "platform", as_dict=True, maintain_order=True
            ).items():
                found.append(_found(table, str(platform), wanted["author"]))
        return pl.concat(found)

    def add(self, people: pl.DataFrame) -> None:
        """Give the next ids to those of ``people`` that have none, in (platform, author)
        order (so ids do not depend on the order posts come in within one call)."""
        people = people.select(KEY).unique()
        unknown = people.join(self.of(people), on=KEY, how="anti").sort(KEY)
        if unknown.height:
            ids = pl.int_range(self.count, self.count + unknown.height, dtype=pl.UInt32())
            self._parts.append(unknown.with_columns(account=ids))
            if len(self._parts) > MAX_PARTS:  # a search per part: keep them few
                self._parts = [self.new]

    def write(self, parent: Path | None, out: Path, *, fold: bool = False) -> None:
        """accounts.arrow (linked from ``parent`` unless the new accounts are folded in)
        and accounts-new.arrow of ``out``."""
        linkable = parent is not None and (parent / ACCOUNTS_TABLE.file).exists()
        if not linkable or fold or self.new.height > ACCOUNTS_NEW_SHARE * self.base.height:
            write_table(pl.concat([self.base, self.new]).sort(KEY), ACCOUNTS_TABLE, out)
            write_table(ACCOUNTS_NEW_TABLE.frame(), ACCOUNTS_NEW_TABLE, out)
            return
        assert parent is not None
        link_file(parent / ACCOUNTS_TABLE.file, out / ACCOUNTS_TABLE.file)
        write_table(self.new, ACCOUNTS_NEW_TABLE, out)


def _found(table: pl.DataFrame, platform: str, authors: pl.Series) -> pl.DataFrame:
    """The rows of ``table`` (sorted by platform, author) on ``platform`` whose author is
    one of ``authors`` (sorted): binary searches for the platform, then the authors."""
    platforms = table["platform"]
    lo = int(platforms.search_sorted(platform, side="left"))
    hi = int(platforms.search_sorted(platform, side="right"))
    if hi == lo:
        return ACCOUNTS_TABLE.frame()
    rows = table.slice(lo, hi - lo)
    at = found_in(rows["author"], authors).drop_nulls()
    return rows[at]
