"""Rewriting a day that updates patched: its split written anew from its live posts
(``compact`` does it for every patched day, here or as a Ray task each)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from indexer.accounts import Accounts
from indexer.splits import postings_of, read_record, removed_posts, write_split


@dataclass
class DayIds:
    """What rewriting a day needs of the generation's id tables."""

    keys: pl.DataFrame
    accounts: Accounts
    platforms: pl.DataFrame
    langs: pl.DataFrame


def rewrite_patched(source: Path, target: Path, ids: DayIds) -> int:
    """Write the patched split ``source`` anew at ``target`` from its live posts; returns
    how many removed posts it leaves out."""
    gone = removed_posts(source)
    posts = read_record(source)
    people = postings_of(posts).select("platform", "author").unique()
    known = ids.accounts.of(people)
    write_split(target, posts, ids.keys, known, ids.platforms, ids.langs)
    return 0 if gone is None else gone.len()
