"""Reading canonical dumps: NDJSON, CSV, Parquet; compressed; directories and globs."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.build import BuildResult
from indexer.errors import InputError
from indexer.formats.detect import detect_format
from indexer.globals import read_posts
from indexer.ingest import read_batches
from indexer.inputs import expand_inputs
from indexer.schema import REJECTS_FILE
from indexer.sources import iter_line_blocks
from tests.conftest import post, write_ndjson

Build = Callable[..., BuildResult]

ROWS = [
    post(1, "first #Alpha", platform="x", likes=1, lang="en"),
    post(2, "second #beta #Alpha", platform="bluesky", reposts=2),
    post(3, "third, no tags", platform="mastodon", replies=3, quotes=4),
]


def _posts(result: BuildResult) -> list[dict[str, object]]:
    frame = read_posts(result.generation_dir).sort("uid")
    return frame.select("uid", "author", "engagement", "tags").to_dicts()


EXPECTED = [
    {"uid": "bluesky:2", "author": "user2", "engagement": 2, "tags": ["beta", "alpha"]},
    {"uid": "mastodon:3", "author": "user3", "engagement": 7, "tags": []},
    {"uid": "x:1", "author": "user1", "engagement": 1, "tags": ["alpha"]},
]


def _write(path: Path, fmt: str) -> Path:
    frame = pl.DataFrame(ROWS)
    if fmt == "csv":
        frame.write_csv(path)
    elif fmt == "parquet":
        frame.write_parquet(path)
    else:
        write_ndjson(path, ROWS)
    return path


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "parquet"])
@pytest.mark.parametrize("compression", ["", ".gz", ".zst"])
def test_every_format_and_compression_gives_the_same_posts(
    tmp_path: Path, run_build: Build, fmt: str, compression: str
) -> None:
    plain = _write(tmp_path / f"plain.{fmt}", fmt)
    path = tmp_path / f"dump.{fmt}{compression}"
    data = plain.read_bytes()
    if compression == ".gz":
        path.write_bytes(gzip.compress(data))
    elif compression == ".zst":
        path.write_bytes(zstandard.ZstdCompressor().compress(data))
    else:
        path = plain
    result = run_build(path)
    assert _posts(result) == EXPECTED
    assert result.manifest.sources[0].format == fmt


def test_format_is_detected_from_content_not_name(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.data", "ndjson")
    b = _write(tmp_path / "b.data", "csv")
    c = _write(tmp_path / "c.data", "parquet")
    assert [detect_format(p) for p in (a, b, c)] == ["ndjson", "csv", "parquet"]


def test_csv_rejects_name_the_line_and_keep_the_row(tmp_path: Path, run_build: Build) -> None:
    path = tmp_path / "dump.csv"
    path.write_text(
        "id,created_at,author,text,likes,hashtags\n"
        '1,2026-10-01T00:00:00Z,ann,"hello, world",5,"#Tag1 tag2"\n'
        "2,2026-10-01T00:00:00Z,,no author,0,\n"
        "3,2026-10-01T00:00:00Z,bob,x,lots,\n"
        '4,2026-10-01T00:00:00Z,cy,"#FromText",0,\n'
    )
    result = run_build(path)
    rejects = [
        json.loads(x) for x in (result.generation_dir / REJECTS_FILE).read_text().splitlines()
    ]
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (3, "missing required field 'author'"),
        (4, "'likes' is not an integer: lots"),
    ]
    assert json.loads(rejects[1]["raw"])["likes"] == "lots"
    assert [p["tags"] for p in _posts(result)] == [["tag1", "tag2"], ["fromtext"]]


def test_csv_without_required_column_is_a_clear_error(tmp_path: Path, run_build: Build) -> None:
    path = tmp_path / "dump.csv"
    path.write_text("id,created_at,text\n1,2026-10-01T00:00:00Z,hi\n")
    with pytest.raises(InputError, match=r"dump\.csv: no column 'author'"):
        run_build(path)


def test_csv_without_required_column_shows_the_header_it_read(
    tmp_path: Path, run_build: Build
) -> None:
    path = tmp_path / "dump.csv"
    path.write_text("id,created_at,body\n1,2026-10-01T00:00:00Z,hi\n")
    with pytest.raises(InputError) as raised:
        run_build(path)
    assert str(raised.value) == (
        f"{path}: no column 'author', 'text'; its header, split at ',' (--csv-delimiter): "
        "'id', 'created_at', 'body'"
    )


@pytest.mark.parametrize(
    ("delimiter", "option"),
    [(";", None), ("\t", None), ("|", None), (",", None), (";", ";"), ("\t", "\t")],
)
def test_csv_delimiter_is_detected_from_the_header_or_given(
    tmp_path: Path, run_build: Build, delimiter: str, option: str | None
) -> None:
    """Spreadsheets in many locales save ";"-separated CSV; their rows were one column."""
    rows = [
        ["id", "created_at", "author", "text", "likes"],
        ["1", "2026-10-01T00:00:00Z", "ann", '"hello #Semi; with, a | comma"', "3"],
        ["2", "2026-10-01T01:00:00Z", "bob", "#semi again", "1"],
    ]
    path = tmp_path / "dump.csv"
    path.write_text("".join(delimiter.join(row) + "\r\n" for row in rows), encoding="utf-8")
    result = run_build(path, csv_delimiter=option)
    assert [(p["author"], p["engagement"], p["tags"]) for p in _posts(result)] == [
        ("ann", 3, ["semi"]),
        ("bob", 1, ["semi"]),
    ]


def test_a_wrong_csv_delimiter_shows_the_header_it_split(tmp_path: Path, run_build: Build) -> None:
    path = tmp_path / "dump.csv"
    path.write_text("id;created_at;author;text\n1;2026-10-01T00:00:00Z;ann;hi\n")
    with pytest.raises(InputError) as raised:
        run_build(path, csv_delimiter=",")
    assert str(raised.value).endswith(
        "; its header, split at ',' (--csv-delimiter): 'id;created_at;author;text'"
    )


def test_directories_and_globs_expand_in_sorted_order(tmp_path: Path) -> None:
    for name in ("b.ndjson", "a.ndjson.gz", "sub/c.csv", "README.md", "notes.txt"):
        (tmp_path / "in" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / name).write_bytes(b"")
    found = expand_inputs([str(tmp_path / "in")])
    assert [p.relative_to(tmp_path / "in").as_posix() for p in found] == [
        "a.ndjson.gz",
        "b.ndjson",
        "sub/c.csv",
    ]
    globbed = expand_inputs([str(tmp_path / "in" / "*.ndjson*")])
    assert [p.name for p in globbed] == ["a.ndjson.gz", "b.ndjson"]
    with pytest.raises(InputError, match="no file matches"):
        expand_inputs([str(tmp_path / "in" / "*.parquet")])


def test_later_file_wins_across_formats(tmp_path: Path, run_build: Build) -> None:
    first = write_ndjson(tmp_path / "1.ndjson", [post(1, "#old", platform="x")])
    second = tmp_path / "2.csv"
    pl.DataFrame([post(1, "#new", platform="x")]).write_csv(second)
    result = run_build(first, second)
    assert [p["tags"] for p in _posts(result)] == [["new"]]
    assert result.manifest.duplicates == 1


def test_platform_default_applies_to_rows_without_one(tmp_path: Path, run_build: Build) -> None:
    dump = write_ndjson(tmp_path / "a.ndjson", [post(1, "#a"), post(2, "#b", platform="X")])
    result = run_build(dump, platform="reddit")
    assert [p["uid"] for p in _posts(result)] == ["reddit:1", "x:2"]


def test_invalid_utf8_line_is_a_reject_naming_it(tmp_path: Path) -> None:
    """A canonical line with bytes that are not UTF-8 is rejected with a reason; the
    other lines are read (it used to stop the build with a bare codec error)."""
    path = tmp_path / "posts.ndjson"
    good = b'{"id":"2","created_at":"2024-01-01T00:00:00Z","author":"a","text":"ok #y"}'
    path.write_bytes(good.replace(b'"2"', b'"1"').replace(b"ok", b"hi \xff") + b"\n" + good + b"\n")
    batches = list(read_batches(path, "ndjson", tmp_path))
    assert [r["id"] for b in batches for r in b.rows.to_dicts()] == ["2"]
    assert [(n, reason) for b in batches for n, reason, _ in b.rejects] == [
        (1, "bad JSON: invalid UTF-8")
    ]


def test_a_count_too_big_for_the_index_is_a_reject_not_a_failed_build(
    tmp_path: Path, run_build: Build
) -> None:
    """A JSON integer past Int64 in a count used to stop the whole build (polars could not
    build the column); it is that line's reject, and a huge numeric id is kept as text."""
    path = tmp_path / "posts.ndjson"
    head = '"created_at":"2026-10-01T00:00:00Z","author":"a"'
    path.write_text(
        f'{{"id":"1",{head},"text":"#big","likes":99999999999999999999999}}\n'
        f'{{"id":99999999999999999999999,{head},"text":"#ok"}}\n'
    )
    result = run_build(path)
    assert result.manifest.posts == 1
    assert read_posts(result.generation_dir)["id"].to_list() == ["99999999999999999999999"]
    rejects = [
        json.loads(x) for x in (result.generation_dir / REJECTS_FILE).read_text().splitlines()
    ]
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (1, "Expected 'int' <= 9223372036854775807 - at '$.likes'")
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"a", b"bc", b"\r", b"\n", b"\r\n", b"{}"]), max_size=30).map(
        b"".join
    ),
    st.integers(1, 7),
    st.sampled_from([".ndjson", ".ndjson.gz"]),
)
def test_line_blocks_are_the_lines_whatever_the_chunking(
    tmp_path_factory: pytest.TempPathFactory, content: bytes, chunk_size: int, suffix: str
) -> None:
    """Lines end at LF, a CR before it is dropped (also when a chunk ends between the
    two), a CR elsewhere stays, and the last line needs no LF; line n is the n-th."""
    path = tmp_path_factory.mktemp("lines") / f"f{suffix}"
    path.write_bytes(gzip.compress(content) if suffix.endswith(".gz") else content)
    expected = content.split(b"\n")
    if expected[-1] == b"":
        expected.pop()
    expected = [line[:-1] if line.endswith(b"\r") else line for line in expected]
    got = [line for block in iter_line_blocks(path, chunk_size) for line in block]
    assert got == expected
