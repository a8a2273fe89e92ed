"""Time splits: a build cuts posts by UTC day, counts authors over every day in bounded
pieces, and an update rewrites only the days it touches."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer import globals as generation_tables
from indexer.build import BuildOptions, build
from indexer.globals import read_cooc, read_posts, read_tags
from indexer.schema import read_manifest
from indexer.update import update
from tests.conftest import NOW, ROOT, post, write_ndjson


def test_bounded_memory_passes_equal_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = str(ROOT / "data" / "sample")
    one = build([sample], BuildOptions(index_dir=tmp_path / "one"), now=NOW).generation_dir
    monkeypatch.setattr(generation_tables, "PAIR_PARTITION_ROWS", 97)
    monkeypatch.setattr(generation_tables, "FOLD_ROWS", 50)  # aggregates summed as they come
    monkeypatch.setattr(generation_tables._Deltas, "FOLD_ROWS", 50)  # and tag pairs
    parts = build([sample], BuildOptions(index_dir=tmp_path / "parts"), now=NOW).generation_dir
    expected = read_tags(one)
    assert expected["authors"].sum() > 3000
    assert read_tags(parts).equals(expected)
    assert read_cooc(parts).equals(read_cooc(one))


def test_an_update_rewrites_only_the_days_it_touches(tmp_path: Path) -> None:
    """New posts of one day, a new copy of a post of another day: those two days are
    written anew, every other day's files are the parent's (the same inodes)."""
    index = tmp_path / "index"
    first = write_ndjson(
        tmp_path / "a.ndjson",
        [
            post(i, f"#t{i % 3} day {i}", created_at=f"2026-10-{1 + i:02d}T10:00:00Z")
            for i in range(6)
        ],
    )
    parent = build([str(first)], BuildOptions(index_dir=index), now=NOW).generation_dir
    later = write_ndjson(
        tmp_path / "b.ndjson",
        [
            post(100, "#late", created_at="2026-10-03T23:00:00Z"),
            post(4, "#edited copy", created_at="2026-10-05T10:00:00Z"),
        ],
    )
    child = update([str(later)], BuildOptions(index_dir=index), now=NOW).generation_dir
    before = {s.day.isoformat(): s for s in read_manifest(parent).splits}
    after = {s.day.isoformat(): s for s in read_manifest(child).splits}
    assert sorted(after) == sorted(before) == [f"2026-10-{d:02d}" for d in range(1, 7)]
    touched = {"2026-10-03", "2026-10-05"}
    for day, split in after.items():
        files = sorted((child / split.path).iterdir())
        shared = [
            f for f in files if os.stat(f).st_ino == os.stat(parent / split.path / f.name).st_ino
        ]
        if day in touched:
            assert split.written_by == read_manifest(child).generation
            assert shared == [], day
        else:
            assert split.written_by == read_manifest(parent).generation
            assert len(shared) == len(files) == 7, day
    tags = read_tags(child).select("tag", "posts")
    assert dict(tags.iter_rows()) == {"t0": 2, "t1": 1, "t2": 2, "late": 1, "edited": 1}
    assert after["2026-10-03"].posts == 2
    assert after["2026-10-05"].posts == 1
    assert pl.read_ipc(child / after["2026-10-05"].path / "uids.arrow")["uid"].to_list() == [
        "unknown:4"
    ]


def test_a_patched_day_then_compact_equal_a_full_build(tmp_path: Path) -> None:
    """A day that only loses a post (its new copy is on another day) is patched, not
    rewritten; answers equal a full build; compact rewrites it without the list of gone
    posts and changes no answer; a second compact has nothing to do."""
    from tests.test_update import assert_same_generation, cli

    days = [
        post(i, f"#d{i % 20} #all", created_at=f"2026-10-0{1 + i % 3}T10:00:00Z") for i in range(60)
    ]
    a = write_ndjson(tmp_path / "a.ndjson", days)
    b = write_ndjson(
        tmp_path / "b.ndjson",
        [post(1, "#moved #all", created_at="2026-10-09T10:00:00Z"), post(99, "#new")],
    )
    full = build([str(a), str(b)], BuildOptions(index_dir=tmp_path / "full"), now=NOW)
    index = tmp_path / "index"
    built = build([str(a)], BuildOptions(index_dir=index), now=NOW).generation_dir
    updated = update([str(b)], BuildOptions(index_dir=index), now=NOW).generation_dir
    # 4 pair changes against 40 pairs: kept beside cooc.arrow, which is linked, not rewritten
    assert pl.read_ipc(updated / "cooc-delta.arrow").height == 4
    assert (updated / "cooc.arrow").stat().st_ino == (built / "cooc.arrow").stat().st_ino
    by_day = {s.day.isoformat(): s for s in read_manifest(updated).splits}
    patched = updated / by_day["2026-10-02"].path  # post 1's old day lost it, gained nothing
    assert pl.read_ipc(patched / "removed.arrow")["post"].len() == 1
    assert by_day["2026-10-02"].posts == 19
    assert_same_generation(updated, full.generation_dir)

    info = cli("info", "--index", str(index)).stdout
    assert "splits       4 days (2026-10-01 .. 2026-10-09), 1 patched" in info
    assert "pending      4 tag-pair changes, 1 new account beside the tables" in info
    done = cli("compact", "--index", str(index), "--quiet")
    assert done.returncode == 0, done.stderr
    compacted = (index / "current").resolve()
    assert done.stdout.startswith(f"generation {compacted.name} (compact of {updated.name}): ")
    assert "rewrote 1 day without 1 removed post, folded 4 pair changes" in done.stdout
    assert not list(compacted.glob("splits/*/removed.arrow"))
    assert pl.read_ipc(compacted / "cooc-delta.arrow").height == 0
    assert "pending " not in cli("info", "--index", str(index)).stdout
    assert_same_generation(compacted, full.generation_dir)
    assert (
        "splits       4 days (2026-10-01 .. 2026-10-09)\n"
        in cli("info", "--index", str(index)).stdout
    )
    again = cli("compact", "--index", str(index))
    assert again.stdout == (
        f"nothing to compact: no day of generation {compacted.name} is patched "
        "and no pair change is pending\n"
    )


def test_a_day_that_loses_only_untagged_posts_is_patched(tmp_path: Path) -> None:
    """A patch whose removed posts carry no tag changes no tag's figures (it once failed
    on the empty set of postings to take away)."""
    from tests.test_update import assert_same_generation

    rows = [post(i, f"#t{i % 4}", created_at="2026-10-02T10:00:00Z") for i in range(30)]
    rows += [post(100, "no tag here", created_at="2026-10-02T11:00:00Z")]
    a = write_ndjson(tmp_path / "a.ndjson", rows)
    b = write_ndjson(tmp_path / "b.ndjson", [post(100, "moved", created_at="2026-10-05T10:00:00Z")])
    full = build([str(a), str(b)], BuildOptions(index_dir=tmp_path / "full"), now=NOW)
    index = tmp_path / "index"
    build([str(a)], BuildOptions(index_dir=index), now=NOW)
    updated = update([str(b)], BuildOptions(index_dir=index), now=NOW).generation_dir
    day = next(s for s in read_manifest(updated).splits if s.day.isoformat() == "2026-10-02")
    assert pl.read_ipc(updated / day.path / "removed.arrow")["post"].len() == 1
    assert_same_generation(updated, full.generation_dir)


def test_a_post_moved_twice_is_taken_once_from_each_day(tmp_path: Path) -> None:
    """A post moved to another day leaves its old day patched (listed as removed there);
    moved again, only the day that holds it live loses it: the patched day, whose files
    still hold the first copy's uid, must not lose it a second time."""
    from tests.test_update import check_split

    rows = [post(i, f"#t{i % 4} #all", created_at="2026-10-02T10:00:00Z") for i in range(30)]
    first_move = [post(3, "#moved #all", created_at="2026-10-05T10:00:00Z")]
    first_move += [post(i, f"#f{i}", created_at="2026-10-05T11:00:00Z") for i in range(40, 70)]
    second_move = [post(3, "#again", created_at="2026-10-08T10:00:00Z")]
    check_split(tmp_path, [[rows], [first_move], [second_move]])


def test_the_first_and_last_postings_are_live_ones(tmp_path: Path) -> None:
    """The generation's first and last tagged posts (trending's start of data, the report's
    whole period) are read from live rows: a patch that removes the earliest and the
    latest posting of their days moves both."""
    from service.tables import load_tables

    rows = [post(i, "#t", created_at=f"2026-10-02T10:{i:02d}:00Z") for i in range(20)]
    rows += [post(i, "#t", created_at=f"2026-10-04T10:{i:02d}:00Z") for i in range(20, 40)]
    a = write_ndjson(tmp_path / "a.ndjson", rows)
    moved = [post(0, "#t moved", created_at="2026-10-03T12:00:00Z")]
    moved += [post(39, "#t moved", created_at="2026-10-03T13:00:00Z")]
    b = write_ndjson(tmp_path / "b.ndjson", moved)
    index = tmp_path / "index"
    build([str(a)], BuildOptions(index_dir=index), now=NOW)
    gen = update([str(b)], BuildOptions(index_dir=index), now=NOW).generation_dir
    assert len(list(gen.glob("splits/*/removed.arrow"))) == 2
    live = read_posts(gen)["created_at"]
    tables = load_tables(gen)
    assert (tables.first_posting, tables.last_posting) == (live.min(), live.max())


def _authors_build(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A: 60 posts by 60 authors (120 tag pairs); B: a post by a new author, one by a
    known author. Returns A's input, B's input and the full build of both."""
    a = write_ndjson(
        tmp_path / "a.ndjson",
        [post(i, f"#t{i} #all", platform="x", author=f"a{i:02d}") for i in range(60)],
    )
    b = write_ndjson(
        tmp_path / "b.ndjson",
        [
            post(100, "#t1 #fresh", platform="x", author="newcomer"),
            post(101, "#t2 #all", platform="x", author="a07"),
        ],
    )
    full = build([str(a), str(b)], BuildOptions(index_dir=tmp_path / "full"), now=NOW)
    return a, b, full.generation_dir


def test_an_update_writes_its_new_accounts_beside_the_accounts_table(tmp_path: Path) -> None:
    """The accounts and tag pairs grow with the history: an update links the large files
    and writes only what it adds (accounts-new.arrow, cooc-delta.arrow)."""
    from indexer.accounts import Accounts
    from tests.test_update import assert_same_generation

    a, b, full = _authors_build(tmp_path)
    index = tmp_path / "index"
    built = build([str(a)], BuildOptions(index_dir=index), now=NOW).generation_dir
    updated = update([str(b)], BuildOptions(index_dir=index), now=NOW).generation_dir
    for name in ("accounts.arrow", "cooc.arrow"):
        assert (updated / name).stat().st_ino == (built / name).stat().st_ino, name
    accounts = Accounts.read(updated)
    assert accounts.new.rows() == [("x", "newcomer", 60)]  # the next id
    assert accounts.of(pl.DataFrame({"platform": ["x"], "author": ["a07"]}))["account"][0] == 7
    assert_same_generation(updated, full)


def test_a_generation_with_accounts_parquet_is_updated_without_a_rebuild(tmp_path: Path) -> None:
    """A schema-4 generation written before accounts.arrow and the delta files (its
    accounts in accounts.parquet, by id) is served as it is, and its next update writes
    the new files and equals a full build."""
    from service.tables import load_tables
    from tests.test_update import assert_same_generation, related_view

    a, b, full = _authors_build(tmp_path)
    index = tmp_path / "index"
    old = build([str(a)], BuildOptions(index_dir=index), now=NOW).generation_dir
    related = related_view(old)
    accounts = pl.read_ipc(old / "accounts.arrow").sort("account")
    accounts.write_parquet(old / "accounts.parquet")
    for name in ("accounts.arrow", "accounts-new.arrow", "cooc-delta.arrow"):
        (old / name).unlink()
    assert load_tables(old).cooc_delta.height == 0
    assert related_view(old) == related
    updated = update([str(b)], BuildOptions(index_dir=index), now=NOW).generation_dir
    assert pl.read_ipc(updated / "accounts.arrow").height == 61
    assert_same_generation(updated, full)


@given(
    st.lists(st.sampled_from(["x", "reddit", "bluesky", "odd", "x2"]), min_size=1, max_size=5),
    st.lists(st.text("0123456789:ab", max_size=6), max_size=40),
    st.lists(st.text("0123456789:ab", max_size=6), max_size=40),
)
def test_the_zone_map_of_a_day_keeps_every_uid_it_holds(
    platforms: list[str], held: list[str], other: list[str]
) -> None:
    """Searching only the wanted uids within each platform's first..last uid of a day
    (globals.within_runs) finds every uid the day holds, whatever the ids look like."""
    day = pl.Series(
        [f"{platforms[i % len(platforms)]}:{v}" for i, v in enumerate(held)], dtype=pl.String()
    )
    day = day.unique().sort()
    wanted = pl.concat([day.sample(fraction=0.5, seed=1), pl.Series(other, dtype=pl.String())])
    wanted = wanted.unique().sort()
    kept = generation_tables.within_runs(day, wanted)
    assert set(kept.to_list()) <= set(wanted.to_list())
    assert set(wanted.to_list()) & set(day.to_list()) <= set(kept.to_list())


def test_the_zone_map_skips_a_new_day_of_growing_ids() -> None:
    day = pl.Series(["bluesky:3maa", "bluesky:3mzz", "x:2100", "x:2199"])
    new = pl.Series(["bluesky:3nab", "x:2100", "x:2200", "x:2201"])
    assert generation_tables.within_runs(day, new).to_list() == ["x:2100"]
