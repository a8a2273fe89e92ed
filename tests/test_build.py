"""hashtag-index build: exact counts, dedup, rejects, tables, publication."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import tantivy

from indexer.build import BuildOptions, BuildResult, build
from indexer.errors import EmptyBuildError, InputError
from indexer.globals import read_posts, read_tags
from indexer.schema import (
    REJECTS_FILE,
    open_posts_index,
    read_manifest,
)
from indexer.tagging import INVALID_TAG_NOTE
from tests.conftest import NOW, post, write_ndjson

FIXTURES = Path(__file__).resolve().parent / "fixtures"

Build = Callable[..., BuildResult]


def test_counts_dedup_and_rejects_are_exact(
    tmp_path: Path, run_build: Build, index_dir: Path
) -> None:
    first = write_ndjson(
        tmp_path / "a.ndjson",
        [
            post(1, "Hello #Python", platform="x", likes=1),
            post(2, "#python again", platform="x"),
            "{broken json",
            post(3, "no author") | {"author": None},
            post(1, "Hello #Python, edited", platform="x", likes=7),  # later copy wins
            post(1, "same id, other platform #Rust", platform="mastodon"),
            "",
        ],
    )
    second = write_ndjson(
        tmp_path / "b.ndjson",
        [
            post(2, "#python final", platform="x", likes=2),  # replaces a.ndjson's copy
            post(4, "naive time #go") | {"created_at": "2026-10-01T12:00:00"},
            post(5, "#Go #go #GO", platform="x"),
        ],
    )
    m = run_build(first, second).manifest
    assert (m.read, m.rejected, m.duplicates, m.posts, m.tags) == (9, 3, 2, 4, 3)
    assert [(s.rows, s.rejected) for s in m.sources] == [(6, 2), (3, 1)]

    assert read_manifest(index_dir / "current") == m


def test_later_copy_wins_everywhere(tmp_path: Path, run_build: Build) -> None:
    dump = write_ndjson(
        tmp_path / "a.ndjson",
        [
            post(1, "old text #old", platform="x", likes=1),
            post(1, "new text #new", platform="x", likes=9),
        ],
    )
    result = run_build(dump)
    gen = result.generation_dir
    posts = read_posts(gen)
    assert posts.select("uid", "likes", "tags").to_dicts() == [
        {"uid": "x:1", "likes": 9, "tags": ["new"]}
    ]
    assert read_tags(gen)["tag"].to_list() == ["new"]
    index = open_posts_index(gen)
    searcher = index.searcher()
    assert searcher.num_docs == 1
    assert searcher.search(index.parse_query("old", ["text"]), 10).count == 0
    assert searcher.search(index.parse_query("new", ["text"]), 10).count == 1


def test_rejects_file_names_source_line_and_reason(tmp_path: Path, run_build: Build) -> None:
    dump = write_ndjson(
        tmp_path / "a.ndjson",
        [
            post(1, "fine"),
            "not json",
            post(2, "x") | {"likes": "many"},
            post(3, "x") | {"created_at": "yesterday"},
            post(4, "x") | {"created_at": "2026-10-01 12:00:00"},
            post(5, "x") | {"reposts": -1},
        ],
    )
    gen = run_build(dump).generation_dir
    rejects = [json.loads(line) for line in (gen / REJECTS_FILE).read_text().splitlines()]
    assert [(r["source"], r["line"]) for r in rejects] == [(str(dump), n) for n in (2, 3, 4, 5, 6)]
    reasons = [r["reason"] for r in rejects]
    assert reasons[0].startswith("bad JSON")
    assert "likes" in reasons[1]
    assert reasons[2] == "bad timestamp in 'created_at': yesterday"
    assert reasons[3] == "timestamp without time zone in 'created_at': 2026-10-01 12:00:00"
    assert reasons[4] == "'reposts' is negative"
    assert rejects[0]["raw"] == "not json"


def test_tag_table_is_exact(tmp_path: Path, run_build: Build) -> None:
    rows = [
        post(1, "#Python", author="ann", platform="x", lang="en", likes=3, reposts=1),
        post(2, "#python", author="ann", platform="x", lang="en", replies=2),
        post(3, "#Python", author="bob", platform="bluesky", lang="de", quotes=4),
        post(4, "#PYTHON #python", author="cy", platform="x", created_at="2026-10-03T00:00:00Z"),
        post(5, "#Straße", author="dan", platform="mastodon", created_at="2026-09-30T23:00:00Z"),
    ]
    gen = run_build(write_ndjson(tmp_path / "a.ndjson", rows)).generation_dir
    tags = {r["tag"]: r for r in read_tags(gen).to_dicts()}
    py = tags["python"]
    assert (py["display"], py["posts"], py["authors"], py["engagement"]) == ("Python", 4, 3, 10)
    assert py["first_seen"].isoformat() == "2026-10-01T12:00:00+00:00"
    assert py["last_seen"].isoformat() == "2026-10-03T00:00:00+00:00"
    assert py["platforms"] == [{"name": "x", "posts": 3}, {"name": "bluesky", "posts": 1}]
    assert py["langs"] == [
        {"name": "en", "posts": 2},
        {"name": "de", "posts": 1},
        {"name": "und", "posts": 1},
    ]
    assert tags["strasse"]["display"] == "Straße"
    postings = read_posts(gen).explode("tags")
    assert postings.filter(pl.col("tags") == "python").height == 4  # post 4 counts once


def test_own_tag_list_wins_over_text(tmp_path: Path, run_build: Build) -> None:
    rows = [
        post(1, "text says #alpha", hashtags=["#Beta", "gamma"]),
        post(2, "text says #alpha"),
        post(3, "explicitly none #alpha", hashtags=[]),
    ]
    gen = run_build(write_ndjson(tmp_path / "a.ndjson", rows)).generation_dir
    posts = read_posts(gen).sort("id")
    assert posts["tags"].to_list() == [["beta", "gamma"], ["alpha"], []]


FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)"]


def test_own_tags_that_are_not_hashtags_are_dropped_and_counted(
    tmp_path: Path, run_build: Build
) -> None:
    """Issue 16: a row's own list reached the report's cells as it came (formula injection)."""
    rows = [
        post(1, "text #ignored", hashtags=[*FORMULAS, "#Python", "C++", "2026", "ok_tag"]),
        post(2, "#alpha", hashtags=["=1+1"]),
        post(3, "#beta", hashtags=["beta"]),
        post(4, "#gamma"),
    ]
    result = run_build(write_ndjson(tmp_path / "a.ndjson", rows))
    posts = read_posts(result.generation_dir).sort("id")
    assert posts["tags"].to_list() == [["python", "ok_tag"], [], ["beta"], ["gamma"]]
    assert sorted(read_tags(result.generation_dir)["display"]) == [
        "Python",
        "beta",
        "gamma",
        "ok_tag",
    ]
    (source,) = result.manifest.sources
    assert source.notes == {INVALID_TAG_NOTE: 2}
    assert (source.rows, source.rejected, result.manifest.posts) == (4, 0, 4)


def test_bluesky_facet_and_record_tags_must_be_hashtags(tmp_path: Path, run_build: Build) -> None:
    line = json.loads(
        (FIXTURES / "native" / "bluesky" / "jetstream.jsonl").read_text().splitlines()[1]
    )
    record = line["commit"]["record"]
    text = "a post " + " ".join(f"#{tag}" for tag in FORMULAS)
    record["text"] = text
    record["facets"] = [
        {
            "index": {"byteStart": 0, "byteEnd": 1},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
        }
        for tag in [*FORMULAS, "Köln"]
    ]
    record["tags"] = ["-SUM(A1)", "dev"]
    dump = tmp_path / "jet.jsonl"
    dump.write_text(json.dumps(line) + "\n", encoding="utf-8")
    result = run_build(dump)
    assert read_posts(result.generation_dir)["tags"].to_list() == [["köln", "dev"]]
    assert result.manifest.sources[0].notes == {INVALID_TAG_NOTE: 1}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-01T12:00:00Z", "2026-10-01T12:00:00+00:00"),
        ("2026-10-01T14:00:00+02:00", "2026-10-01T12:00:00+00:00"),
        ("2026-10-01T06:30:00.250-05:30", "2026-10-01T12:00:00.250000+00:00"),
        (1759320000, "2025-10-01T12:00:00+00:00"),
        ("1759320000", "2025-10-01T12:00:00+00:00"),
    ],
)
def test_timestamps_become_utc(
    tmp_path: Path, run_build: Build, value: str | int, expected: str
) -> None:
    dump = write_ndjson(tmp_path / "a.ndjson", [post(1, "#t", created_at=value)])
    gen = run_build(dump).generation_dir
    assert read_posts(gen)["created_at"][0].isoformat() == expected


def test_missing_input_fails_and_publishes_nothing(
    tmp_path: Path, run_build: Build, index_dir: Path
) -> None:
    good = write_ndjson(tmp_path / "a.ndjson", [post(1, "#a")])
    first = run_build(good)
    with pytest.raises(InputError, match=r"nope\.ndjson: no such file"):
        run_build(good, tmp_path / "nope.ndjson")
    assert (index_dir / "current").resolve() == first.generation_dir
    assert [p.name for p in (index_dir / "generations").iterdir()] == [first.generation_dir.name]


def test_corrupt_compressed_file_is_a_clear_error(
    tmp_path: Path, run_build: Build, index_dir: Path
) -> None:
    bad = tmp_path / "bad.ndjson.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage that is not gzip")
    with pytest.raises(InputError, match=r"bad\.ndjson\.gz"):
        run_build(bad)
    assert not (index_dir / "current").exists()
    assert list((index_dir / "generations").iterdir()) == []


def test_old_generations_are_pruned(tmp_path: Path, run_build: Build, index_dir: Path) -> None:
    dump = write_ndjson(tmp_path / "a.ndjson", [post(1, "#a")])
    results = [run_build(dump, keep=2) for _ in range(4)]
    kept = sorted(p.name for p in (index_dir / "generations").iterdir())
    assert kept == sorted(r.generation_dir.name for r in results[-2:])
    assert (index_dir / "current").resolve() == results[-1].generation_dir


def test_empty_input_builds_an_empty_generation_only_when_allowed(
    tmp_path: Path, run_build: Build, index_dir: Path
) -> None:
    dump = write_ndjson(tmp_path / "a.ndjson", ["", "  "])
    with pytest.raises(EmptyBuildError, match="no posts to index"):
        run_build(dump)
    assert not (index_dir / "current").exists()
    assert list((index_dir / "generations").iterdir()) == []
    m = run_build(dump, allow_empty=True).manifest
    assert (m.read, m.posts, m.tags, m.rejected, m.from_, m.to) == (0, 0, 0, 0, None, None)
    # Rows, but every one rejected: no generation of 0 posts (tests/test_visibility.py).


def test_text_search_folds_accents_and_case(tmp_path: Path, run_build: Build) -> None:
    rows = [post(1, "Meet me at the Café tonight"), post(2, "CAFE society"), post(3, "tea")]
    gen = run_build(write_ndjson(tmp_path / "a.ndjson", rows)).generation_dir
    index = open_posts_index(gen)
    searcher = index.searcher()
    for query in ("cafe", "café", "CAFÉ"):
        hits = searcher.search(index.parse_query(query, ["text"]), 10).hits
        uids = sorted(searcher.doc(addr)["uid"][0] for _, addr in hits)
        assert uids == ["unknown:1", "unknown:2"], query


def test_tag_keys_are_a_raw_multivalued_field(tmp_path: Path, run_build: Build) -> None:
    rows = [post(1, "#Python #ÉTÉ"), post(2, "#python"), post(3, "#pythonic")]
    gen = run_build(write_ndjson(tmp_path / "a.ndjson", rows)).generation_dir
    index = open_posts_index(gen)
    searcher = index.searcher()
    agg = searcher.aggregate(
        tantivy.Query.all_query(), {"t": {"terms": {"field": "tags", "size": 10}}}
    )
    assert {b["key"]: b["doc_count"] for b in agg["t"]["buckets"]} == {
        "python": 2,
        "été": 1,
        "pythonic": 1,
    }


def test_a_crafted_16_kb_dump_builds_as_fast_as_plain_text(
    tmp_path: Path, run_build: Build
) -> None:
    """Issue 16: three posts of URL-like labels took 25 s to build (regex backtracking)."""
    crafted = [
        "http://" + "a." * 2700 + "#x",
        "x " + "a_b.com_" * 650 + "/#y",
        "a." * 2700 + "д.com/#z",
    ]
    dump = write_ndjson(tmp_path / "crafted.ndjson", [post(i, t) for i, t in enumerate(crafted)])
    plain = write_ndjson(tmp_path / "plain.ndjson", [post(i, "hello #x " * 600) for i in range(3)])
    assert dump.stat().st_size > 16_000
    assert plain.stat().st_size > 16_000
    started = time.perf_counter()
    build([str(plain)], BuildOptions(index_dir=tmp_path / "plain"), now=NOW)
    plain_seconds = time.perf_counter() - started
    started = time.perf_counter()
    m = run_build(dump).manifest
    crafted_seconds = time.perf_counter() - started
    # The backtracking took 25 s; a build of three posts takes well under a second, and
    # 1.6 s on a machine loaded by other suites: the bound catches the one, not the other.
    assert crafted_seconds < max(5.0, 3 * plain_seconds), (crafted_seconds, plain_seconds)
    assert (m.posts, m.tags) == (3, 3)
