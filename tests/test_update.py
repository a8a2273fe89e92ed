"""hashtag-index update: `build A; update B` is `build A B`, cheaply and safely.

The heart is :func:`assert_same_generation`: manifest counts, every table as
data, tantivy's documents and search hits of an updated generation against a
full build of the same inputs, over planted splits and random ones.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import tantivy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from indexer import globals as indexer_globals
from indexer import splits
from indexer.accounts import Accounts
from indexer.build import BuildOptions, BuildResult, build
from indexer.errors import IndexerError, NoGenerationError
from indexer.globals import read_cooc, read_posts, read_tags
from indexer.schema import (
    CODES_TABLE,
    KEYS_TABLE,
    POSTS_INDEX_DIR,
    REJECTS_FILE,
    SCHEMA_VERSION,
    SPLIT_POSTS_RECORD,
    SPLIT_TABLES,
    SPLIT_UIDS,
    encode_manifest,
    open_posts_index,
    read_manifest,
)
from indexer.splits import read_record, removed_posts
from indexer.update import UpdateResult, update
from tests.conftest import NOW, ROOT, post, write_ndjson

Row = dict[str, Any] | str

# --- comparing generations ---------------------------------------------------

MANIFEST_FIELDS = (
    *("posts", "tags", "read", "duplicates", "rejected", "from_", "to"),
    *("deleted", "deletes_unmatched", "skipped"),
)
QUERIES = ("hello", "cafe", "world", "python", '"hello world"')
TAG_TERMS = ("python", "strasse", "café", "solo", "rust", "t13")
COMMUNITY_KEYS = ("python", "askreddit", "rust")


def _sorted(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.sort(keys).select(sorted(frame.columns))


def tables(gen: Path) -> dict[str, pl.DataFrame]:
    """Every table of a generation, with ids decoded (a build and an update give tags
    and authors other ids), in an order that does not depend on how it was made."""
    return {
        "posts": _sorted(read_posts(gen), ["uid"]),
        "tags": _sorted(read_tags(gen), ["tag"]),
        "cooc": _sorted(read_cooc(gen), ["tag", "other"]),
        **split_views(gen),
    }


def split_views(gen: Path) -> dict[str, pl.DataFrame]:
    """Each split's postings, summary, timeline and pairs, ids decoded, sorted."""
    keys = pl.read_ipc(gen / KEYS_TABLE.file).sort("id")["tag"]
    both = Accounts.read(gen)
    accounts = pl.concat([both.base, both.new]).sort("account")
    people = accounts.select(person=pl.concat_str("platform", "author", separator=":"))["person"]
    codes = pl.read_ipc(gen / CODES_TABLE.file)
    names = {
        k: codes.filter(pl.col("kind") == k).sort("code")["name"] for k in ("platform", "lang")
    }

    def decoded(frame: pl.DataFrame) -> pl.DataFrame:
        out = frame
        coded = {c for c, t in frame.schema.items() if t.is_integer()}
        if "tag" in coded:
            out = out.with_columns(tag=keys.gather(frame["tag"]))
        if "account" in coded:
            out = out.with_columns(account=people.gather(frame["account"]))
        for kind in ("platform", "lang"):
            if kind in coded:
                out = out.with_columns(names[kind].gather(frame[kind]).alias(kind))
        if "key" in frame.columns:
            out = out.select(
                tag=keys.gather(frame["key"] // (1 << 32)),
                account=people.gather(frame["key"] % (1 << 32)),
                posts="posts",
            )
        return out.drop("postings_start", "postings_len", "post", strict=False).sort(pl.all())

    views: dict[str, pl.DataFrame] = {}
    manifest = read_manifest(gen)
    for split in manifest.splits:
        directory = gen / split.path
        removed = removed_posts(directory)
        gone = pl.Series("post", [], dtype=pl.UInt32()) if removed is None else removed
        for spec in SPLIT_TABLES:  # what a reader sees: the live posts' rows
            path = directory / spec.file
            if spec is SPLIT_POSTS_RECORD:
                frame = read_record(directory)
            elif spec is SPLIT_UIDS:
                frame = pl.read_ipc(path).with_row_index("post")
            else:
                frame = pl.read_ipc(path)
            if "post" in frame.columns:
                frame = frame.filter(~pl.col("post").is_in(gone.implode()))
            views[f"{split.day}/{spec.file}"] = decoded(frame)
    return views


def uids(searcher: tantivy.Searcher, query: tantivy.Query) -> set[str]:
    limit = max(searcher.num_docs, 1)
    return {searcher.doc(addr)["uid"][0] for _, addr in searcher.search(query, limit).hits}


def search_view(gen: Path) -> dict[str, Any]:
    """What tantivy holds: document count, uids, and hits of text and tag queries as sets."""
    index = open_posts_index(gen)
    searcher = index.searcher()
    schema = index.schema
    view: dict[str, Any] = {
        "num_docs": searcher.num_docs,
        "uids": uids(searcher, tantivy.Query.all_query()),
    }
    for q in QUERIES:
        view[f"text:{q}"] = uids(searcher, index.parse_query(q, ["text"]))
    for t in TAG_TERMS:
        view[f"tag:{t}"] = uids(searcher, tantivy.Query.term_query(schema, "tags", t))
    for c in COMMUNITY_KEYS:
        query = tantivy.Query.term_query(schema, "community_key", c)
        view[f"community:{c}"] = uids(searcher, query)
    view["stored communities"] = {
        searcher.doc(addr)["uid"][0]: searcher.doc(addr).get_all("community")
        for _, addr in searcher.search(tantivy.Query.all_query(), max(searcher.num_docs, 1)).hits
    }
    # _seq numbers accepted rows: an update goes on from its parent, as one build would.
    seqs = range(read_manifest(gen).read)
    view["_seq"] = {n: uids(searcher, tantivy.Query.term_query(schema, "_seq", n)) for n in seqs}
    agg = searcher.aggregate(
        tantivy.Query.all_query(), {"t": {"terms": {"field": "tags", "size": 1000}}}
    )
    view["tag counts"] = {b["key"]: b["doc_count"] for b in agg["t"]["buckets"]}
    return view


def assert_same_generation(updated: Path, built: Path) -> None:
    m, b = read_manifest(updated), read_manifest(built)
    assert {f: getattr(m, f) for f in MANIFEST_FIELDS} == {
        f: getattr(b, f) for f in MANIFEST_FIELDS
    }
    assert m.duplicates == m.read - m.rejected - m.deleted - m.posts
    assert [
        (s.path, s.sha256, s.rows, s.rejected, s.deletes, s.skipped, s.notes) for s in m.sources
    ] == [(s.path, s.sha256, s.rows, s.rejected, s.deletes, s.skipped, s.notes) for s in b.sources]
    mine, theirs = tables(updated), tables(built)
    for name in mine:  # the frames' diff names the table by its columns
        assert_frame_equal(mine[name], theirs[name])
    assert search_view(updated) == search_view(built)
    assert related_view(updated) == related_view(built)
    assert (updated / REJECTS_FILE).read_bytes() == (built / REJECTS_FILE).read_bytes()


def related_view(gen: Path) -> dict[str, dict[str, int]]:
    """What the service reads of each tag's co-occurring tags (cooc.arrow and the
    changes kept beside it), by key."""
    from service.tables import load_tables

    tables = load_tables(gen)
    keys = tables.tags["tag"]
    return {
        key: dict(
            zip(keys.gather(pairs["other"]).to_list(), pairs["co_posts"].to_list(), strict=True)
        )
        for key in tables.keys
        if (pairs := tables.tag_cooc(key)).height
    }


def file_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- running build and update ------------------------------------------------


def run_build(index_dir: Path, *inputs: Path, **options: Any) -> BuildResult:
    return build([str(i) for i in inputs], BuildOptions(index_dir=index_dir, **options), now=NOW)


def run_update(index_dir: Path, *inputs: Path, **options: Any) -> UpdateResult:
    return update([str(i) for i in inputs], BuildOptions(index_dir=index_dir, **options), now=NOW)


def check_split(root: Path, parts: list[list[list[Row]]]) -> UpdateResult:
    """``parts[0]`` (files of rows) is built, each later part is an update; the result
    must equal one build of every file, whether the days that only lose posts are
    rewritten or patched (indexer.splits.patch_split), and whether the pair changes
    are folded into cooc.arrow at once or kept beside it (indexer.globals.write_cooc).
    Returns the last update."""
    files = [
        [write_ndjson(root / f"in/p{i}-f{j}.ndjson", rows) for j, rows in enumerate(part)]
        for i, part in enumerate(parts)
    ]
    full = run_build(root / "built", *(f for part in files for f in part))
    defaults = splits.PATCH_MAX_REMOVED, indexer_globals.COOC_DELTA_SHARE
    result = None
    for mode, limit, share in (("rewritten", 0.0, 0.0), ("patched", 1.0, float("inf"))):
        splits.PATCH_MAX_REMOVED, indexer_globals.COOC_DELTA_SHARE = limit, share
        try:
            run_build(root / mode, *files[0], allow_empty=True)
            for part in files[1:]:
                result = run_update(root / mode, *part)
                assert result.published
        finally:
            splits.PATCH_MAX_REMOVED, indexer_globals.COOC_DELTA_SHARE = defaults
        assert result is not None
        assert_same_generation(result.generation_dir, full.generation_dir)
    assert result is not None
    return result


# --- planted splits ----------------------------------------------------------

A_ROWS: list[Row] = [
    post(1, "hello world #Python", platform="x", author="ann", likes=1),
    post(2, "#python again #Rust", platform="x", author="bob", lang="en"),
    post(6, "ask away #python", platform="reddit", author="bob", community="AskReddit"),
    post(7, "hello from the sub #Python", platform="reddit", author="gil", community="Python"),
    post(3, "Café time #café #Straße", platform="mastodon", author="cy", lang="fr"),
    post(
        4, "only here #solo #python", platform="x", author="dan", created_at="2026-09-30T00:00:00Z"
    ),
    post(5, "no tags at all, hello", platform="bluesky", author="eve"),
    post(1, "same id, other platform #Rust", platform="mastodon", author="fay"),
    "{broken json",
]

SCENARIOS: dict[str, list[list[Row]]] = {
    "only new posts": [
        [post(10, "hello #PYTHON", platform="x", author="gus", reposts=3)],
    ],
    "duplicates inside B, later wins": [
        [
            post(11, "first copy #python", platform="x", author="hal"),
            post(11, "second copy #rust", platform="x", author="hal", likes=4),
            post(12, "world #Python", platform="x"),
            post(11, "third copy #STRASSE world", platform="x", author="hal", likes=9),
        ],
    ],
    "B replaces posts of A": [
        [
            post(2, "edited #PYTHON hello", platform="x", author="bob", likes=50),
            post(7, "moved #rust", platform="reddit", author="gil", community=" rust "),
            post(6, "no longer anywhere", platform="reddit", author="bob", community=""),
            post(3, "Café closed #cafe", platform="mastodon", author="cy", quotes=2),
            post(5, "now tagged #Python", platform="bluesky", author="eve"),
        ],
    ],
    "B moves the time span": [
        [
            post(4, "moved #solo", platform="x", author="dan", created_at="2026-10-05T00:00:00Z"),
            post(20, "early #python", created_at="2026-09-01T08:00:00Z"),
        ],
    ],
    "B with bad rows": [
        [
            "not json",
            post(21, "ok #python"),
            post(22, "x") | {"author": None},
            post(23, "x") | {"created_at": "2026-10-01 12:00:00"},
            post(24, "x") | {"likes": -3},
            "",
            post(25, "fine #rust hello world"),
        ],
    ],
    "empty B": [["", ""]],
    "zero-byte B": [[]],
    "B with an input of only bad rows": [
        [post(27, "#ok")],
        ["{", post(26, "x") | {"id": None}],
    ],
    "tags appear and disappear": [
        [
            post(4, "replaced, #solo is gone #newtag", platform="x", author="dan"),
            post(30, "#newtag #Rust #brandnew", platform="x", author="ivy"),
        ],
    ],
    "B in two files, later file wins": [
        [post(40, "one #python", platform="x"), post(1, "from file 1 #one", platform="x")],
        [post(40, "two #rust", platform="x", likes=2), post(41, "hello #t13")],
    ],
    "many tags (co-occurrence cap)": [
        [post(50, " ".join(f"#t{i}" for i in range(16)), platform="x")],
        [post(1, " ".join(f"#t{i}" for i in range(14, 0, -1)), platform="x")],
    ],
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_update_equals_a_full_build(tmp_path: Path, scenario: str) -> None:
    check_split(tmp_path, [[A_ROWS], SCENARIOS[scenario]])


def test_a_chain_of_updates_equals_one_build(tmp_path: Path) -> None:
    parts = [
        [A_ROWS],
        SCENARIOS["B replaces posts of A"],
        SCENARIOS["tags appear and disappear"],
        SCENARIOS["duplicates inside B, later wins"],
    ]
    result = check_split(tmp_path, parts)
    assert result.manifest.parent is not None
    assert len(result.manifest.sources) == 4


def test_update_of_an_empty_generation(tmp_path: Path) -> None:
    check_split(tmp_path, [[["", ""]], [A_ROWS]])


def test_figures_of_an_update(tmp_path: Path) -> None:
    result = check_split(
        tmp_path,
        [
            [A_ROWS],
            [
                [
                    post(2, "replaces A's x:2", platform="x"),
                    post(60, "new"),
                    post(60, "new, later copy"),
                    "bad",
                ]
            ],
        ],
    )
    f = result.figures
    assert (f.read, f.added, f.replaced, f.duplicates, f.rejected) == (4, 1, 1, 1, 1)
    assert f.read == f.added + f.replaced + f.duplicates + f.rejected


# --- random splits -----------------------------------------------------------

WORDS = ("hello", "world", "cafe", "Café", "python", "news")
TAGS = ("#Python", "#python", "#PYTHON", "#Straße", "#STRASSE", "#café", "#Rust", "#solo", "#t13")


@st.composite
def rows(draw: st.DrawFn) -> Row:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["{bad", post(0, "x") | {"author": None}, ""]))
    words = draw(st.lists(st.sampled_from(WORDS + TAGS), max_size=6))
    return post(
        draw(st.integers(0, 12)),
        " ".join(words),
        platform=draw(st.sampled_from(["x", "mastodon"])),
        author=draw(st.sampled_from(["ann", "bob", "cy"])),
        lang=draw(st.sampled_from(["en", "de", None])),
        community=draw(st.sampled_from(["python", "Python", "r/AskReddit", " ", None])),
        likes=draw(st.integers(0, 3)),
        created_at=f"2026-10-0{draw(st.integers(1, 4))}T0{draw(st.integers(0, 9))}:00:00Z",
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(rows(), min_size=1, max_size=24),
    st.integers(0, 24),
    st.integers(0, 24),
)
def test_random_splits_equal_a_full_build(rows: list[Row], cut: int, cut2: int) -> None:
    a_end = min(cut, len(rows))
    b_end = max(a_end, min(cut2, len(rows)))
    # A, then B in two files (the second possibly empty): content must differ from A's
    # for B not to be skipped, hence the marker posts; they also keep a part from
    # holding only bad rows, which fails a build or update (tests/test_visibility.py).
    a, b1, b2 = (post(f"m{i}", "marker #m") for i in range(3))
    parts = [[[*rows[:a_end], a]], [[*rows[a_end:b_end], b1], [*rows[b_end:], b2]]]
    with tempfile.TemporaryDirectory() as tmp:
        check_split(Path(tmp), parts)


# --- the old generation ------------------------------------------------------


def test_the_old_generation_stays_byte_identical_and_servable(tmp_path: Path) -> None:
    from service.generation import load_generation

    index = tmp_path / "index"
    old = run_build(index, write_ndjson(tmp_path / "a.ndjson", A_ROWS)).generation_dir
    before = file_hashes(old)
    old_view = search_view(old)
    b = write_ndjson(tmp_path / "b.ndjson", SCENARIOS["B replaces posts of A"][0])
    new = run_update(index, b).generation_dir
    assert file_hashes(old) == before
    assert search_view(old) == old_view
    served = load_generation(old)
    assert served.searcher.num_docs == read_manifest(old).posts
    # The segments are shared, not copied.
    old_inodes = {p.stat().st_ino for p in (old / POSTS_INDEX_DIR).iterdir()}
    new_inodes = {p.stat().st_ino for p in (new / POSTS_INDEX_DIR).iterdir()}
    assert old_inodes & new_inodes


def test_segment_merges_never_touch_older_generations(tmp_path: Path) -> None:
    """Each update adds a segment; at 8 small ones tantivy merges them (new files, the
    links unlinked). Every older generation stays byte-identical all along."""
    index = tmp_path / "index"
    files = [write_ndjson(tmp_path / "a.ndjson", A_ROWS)]
    first = run_build(index, files[0], keep=20).generation_dir
    hashes = {first: file_hashes(first)}
    segments = []
    for k in range(8):
        rows = [post(100 * k + i, f"b{k} #python {i}") for i in range(20)] + [post(k, "#edit")]
        files.append(write_ndjson(tmp_path / f"b{k}.ndjson", rows))
        gen = run_update(index, files[-1], keep=20, writer_threads=1).generation_dir
        meta = json.loads((gen / POSTS_INDEX_DIR / "meta.json").read_text())
        segments.append(len(meta["segments"]))
        hashes[gen] = file_hashes(gen)
        for old, before in hashes.items():
            assert file_hashes(old) == before, old
    assert any(b < a for a, b in itertools.pairwise(segments)), segments
    assert_same_generation(gen, run_build(tmp_path / "full", *files).generation_dir)


def test_pruning_the_parent_leaves_the_update_whole(tmp_path: Path) -> None:
    index = tmp_path / "index"
    a = write_ndjson(tmp_path / "a.ndjson", A_ROWS)
    b = write_ndjson(tmp_path / "b.ndjson", SCENARIOS["B replaces posts of A"][0])
    old = run_build(index, a).generation_dir
    new = run_update(index, b, keep=1)
    assert not old.exists()
    assert new.pruned == [old]
    full = run_build(tmp_path / "full", a, b).generation_dir
    assert_same_generation(new.generation_dir, full)


def test_update_manifest_records_parent_sources_and_timings(tmp_path: Path) -> None:
    index = tmp_path / "index"
    a = write_ndjson(tmp_path / "a.ndjson", A_ROWS)
    b = write_ndjson(tmp_path / "b.ndjson", SCENARIOS["B with bad rows"][0])
    first = run_build(index, a).manifest
    m = run_update(index, b).manifest
    assert m.parent == first.generation
    assert [s.path for s in m.sources] == [str(a), str(b)]
    assert set(m.stage_seconds) == {"read", "dedup", "index", "rollups"}
    assert m.seconds >= sum(m.stage_seconds.values()) - 0.01
    assert read_manifest(index / "current") == m
    assert (index / "current" / "manifest.json").read_bytes() == encode_manifest(m)
    lines = (index / "current" / REJECTS_FILE).read_text().splitlines()
    rejects = [json.loads(line) for line in lines]
    assert [r["source"] for r in rejects] == [str(a)] + [str(b)] * 4


# --- skipping what was ingested ----------------------------------------------


def test_inputs_already_ingested_are_skipped(tmp_path: Path) -> None:
    index = tmp_path / "index"
    a = write_ndjson(tmp_path / "a.ndjson", A_ROWS)
    copy = tmp_path / "elsewhere" / "a-again.ndjson"
    copy.parent.mkdir()
    shutil.copyfile(a, copy)
    b = write_ndjson(tmp_path / "b.ndjson", [post(70, "#new")])
    run_build(index, a)
    result = run_update(index, copy, b)
    assert result.published
    assert [(s.path, s.sha256) for s in result.skipped] == [
        (copy, hashlib.sha256(a.read_bytes()).hexdigest())
    ]
    assert [s.path for s in result.manifest.sources] == [str(a), str(b)]
    assert_same_generation(result.generation_dir, run_build(tmp_path / "full", a, b).generation_dir)


def test_nothing_is_published_when_every_input_was_ingested(tmp_path: Path) -> None:
    index = tmp_path / "index"
    a = write_ndjson(tmp_path / "a.ndjson", A_ROWS)
    b = write_ndjson(tmp_path / "b.ndjson", [post(70, "#new")])
    run_build(index, a)
    current = run_update(index, b).generation_dir
    again = run_update(index, a, b)
    assert not again.published
    assert [s.path for s in again.skipped] == [a, b]
    assert again.generation_dir == current == (index / "current").resolve()
    assert len(list((index / "generations").iterdir())) == 2


def test_update_needs_a_published_generation(tmp_path: Path) -> None:
    a = write_ndjson(tmp_path / "a.ndjson", A_ROWS)
    with pytest.raises(NoGenerationError, match="hashtag-index build"):
        run_update(tmp_path / "index", a)


def test_update_refuses_a_generation_of_another_schema_version(tmp_path: Path) -> None:
    index = tmp_path / "index"
    gen = run_build(index, write_ndjson(tmp_path / "a.ndjson", A_ROWS)).generation_dir
    manifest = read_manifest(gen)
    manifest.schema_version = 1
    (gen / "manifest.json").write_bytes(encode_manifest(manifest))
    b = write_ndjson(tmp_path / "b.ndjson", [post(70, "#new")])
    with pytest.raises(IndexerError, match=r"schema version 1.*rebuild"):
        run_update(index, b)
    assert not list((index / "generations").glob(".building-*"))


# --- the command line --------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hashtag_index", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_update_summary_skips_and_errors(tmp_path: Path) -> None:
    index = str(tmp_path / "idx")
    a = write_ndjson(tmp_path / "a.ndjson", A_ROWS)
    b = write_ndjson(tmp_path / "b.ndjson", [post(2, "#edit", platform="x"), post(80, "#n"), "x"])

    missing = cli("update", str(b), "--index", index)
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1
    assert "no generation published" in missing.stderr
    assert "hashtag-index build" in missing.stderr

    assert cli("build", str(a), "--index", index).returncode == 0
    done = cli("update", str(a), str(b), "--index", index)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        f"skipped {a}: already ingested (sha256 {hashlib.sha256(a.read_bytes()).hexdigest()[:12]}…)"
    )
    [line] = done.stdout.strip().splitlines()
    assert re.search(
        r"read 3 rows: 1 post added, 1 replaced, 0 duplicates, 1 rejected; "
        r"skipped 1 input already ingested; now 9 posts, \d+ tags, [\d.]+ s$",
        line,
    ), line

    nothing = cli("update", str(b), "--index", index)
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout.startswith("nothing to update: skipped 1 input already ingested")
    assert f"skipped {b}: already ingested" in nothing.stderr


def test_cli_update_of_a_previous_schema_version_says_to_build(tmp_path: Path) -> None:
    """A generation of the previous version (v2: no community) cannot take an update:
    one line, exit 1, naming build; nothing is published or left behind."""
    index = tmp_path / "idx"
    gen = run_build(index, write_ndjson(tmp_path / "a.ndjson", A_ROWS)).generation_dir
    manifest = read_manifest(gen)
    manifest.schema_version = SCHEMA_VERSION - 1
    (gen / "manifest.json").write_bytes(encode_manifest(manifest))
    b = write_ndjson(tmp_path / "b.ndjson", [post(70, "#new", platform="reddit", community="x")])
    done = cli("update", str(b), "--index", str(index))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"hashtag-index: error: generation {manifest.generation} has schema version "
        f"{SCHEMA_VERSION - 1}, update needs {SCHEMA_VERSION}: rebuild it once with "
        "'hashtag-index build' and all its inputs\n"
    )
    assert [p.name for p in (index / "generations").iterdir()] == [gen.name]
    assert (index / "current").resolve() == gen


def test_cli_update_help_teaches() -> None:
    result = cli("update", "--help")
    assert result.returncode == 0
    for text in ("--index", "--format", "--platform", "--keep", "--quiet", "sha256", "build"):
        assert text in result.stdout


def _start_update(index: Path, dump: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hashtag_index",
            "update",
            str(dump),
            "--index",
            str(index),
            "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_when(proc: subprocess.Popen[bytes], index: Path, marker: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if list((index / "generations").glob(f".building-*/{marker}")):
            break
        time.sleep(0.005)
    assert proc.poll() is None, "update finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _big_dump(path: Path, n: int) -> Path:
    return write_ndjson(path, (post(i, f"post {i} #tag{i % 50} #common") for i in range(n)))


@pytest.mark.parametrize("marker", ["_spool/posts/new/*.parquet", f"{POSTS_INDEX_DIR}/meta.json"])
def test_killed_update_leaves_the_published_generation_intact(tmp_path: Path, marker: str) -> None:
    index = tmp_path / "idx"
    small = write_ndjson(tmp_path / "small.ndjson", [post(1, "#kept"), post(2, "#kept")])
    assert cli("build", str(small), "--index", str(index)).returncode == 0
    published = (index / "current").resolve()
    before = file_hashes(published)

    big = _big_dump(tmp_path / "big.ndjson", 200_000)
    _kill_when(_start_update(index, big), index, marker)

    assert (index / "current").resolve() == published
    assert file_hashes(published) == before
    info = cli("info", "--json", "--index", str(index))
    assert json.loads(info.stdout)["posts"] == 2

    # The next update needs no cleanup by hand, and reads the dump the killed one did not finish.
    again = cli("update", str(big), "--index", str(index), "--quiet")
    assert again.returncode == 0, again.stderr
    assert "now 200000 posts" in again.stdout
    assert not list((index / "generations").glob(".building-*"))
    assert file_hashes(published) == before


_OPEN = re.compile(r'openat\(AT_FDCWD, "(?P<path>[^"]+)", (?P<flags>[A-Z_|]+)')


def _written_paths(trace: Iterable[str]) -> list[tuple[str, str]]:
    """(path, flags) of every open for writing in an strace log."""
    found = []
    for line in trace:
        m = _OPEN.search(line)
        if m and ("O_WRONLY" in m["flags"] or "O_RDWR" in m["flags"]):
            found.append((m["path"], m["flags"]))
    return found


def test_tantivy_never_writes_into_a_shared_file(tmp_path: Path) -> None:
    """Under strace: no file of the parent is opened for writing, and in the new index
    every file opened for writing is created anew (O_EXCL), or is one tantivy does not
    share with the parent (locks, meta.json and .managed.json, which are copies)."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    index = tmp_path / "idx"
    run_build(index, write_ndjson(tmp_path / "a.ndjson", A_ROWS))
    parent = (index / "current").resolve()
    b = _big_dump(tmp_path / "b.ndjson", 3000)
    log = tmp_path / "trace.log"
    traced = subprocess.run(
        [
            *("strace", "-f", "-qq", "-e", "trace=openat,truncate", "-o", str(log)),
            *(sys.executable, "-m", "hashtag_index", "update", str(b), "--index", str(index)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if traced.returncode != 0 and "ptrace" in traced.stderr:
        pytest.skip(f"strace cannot trace here: {traced.stderr.strip()}")
    assert traced.returncode == 0, traced.stderr
    lines = log.read_text().splitlines()
    assert not [ln for ln in lines if "truncate(" in ln and str(index) in ln]
    linked = {
        p.name
        for p in (parent / POSTS_INDEX_DIR).iterdir()
        if not p.name.startswith(".") and p.name != "meta.json"
    }
    assert linked
    written = _written_paths(lines)
    assert any(".building-" in path for path, _ in written)
    for path, flags in written:
        assert not path.startswith(str(parent)), (path, flags)
        if ".building-" in path and Path(path).name in linked:
            assert "O_EXCL" in flags, (path, flags)


@pytest.mark.parametrize("command", ["serve", "report"])
def test_serve_and_report_of_a_previous_schema_version_say_to_build(
    tmp_path: Path, command: str
) -> None:
    """A v3 index (its tables loaded into every worker) is not served as v4 (memory-mapped
    serve tables): one line naming the index, both versions and the command that rebuilds."""
    index = tmp_path / "idx"
    gen = run_build(index, write_ndjson(tmp_path / "a.ndjson", A_ROWS)).generation_dir
    manifest = read_manifest(gen)
    manifest.schema_version = SCHEMA_VERSION - 1
    (gen / "manifest.json").write_bytes(encode_manifest(manifest))
    extra = ["index", "--from", "2026-01-01", "--to", "2027-01-01"] if command == "report" else []
    done = (
        cli(command, *extra, "--index", str(index), "--port", "1")
        if command == "serve"
        else (cli(command, *extra, "--index", str(index)))
    )
    assert done.returncode == 1
    assert done.stderr == (
        f"hashtag-index: error: {index}: generation {manifest.generation} has schema version "
        f"{SCHEMA_VERSION - 1}, this version reads {SCHEMA_VERSION}: rebuild it once with "
        "'hashtag-index build' and all its inputs\n"
    )
