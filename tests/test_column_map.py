"""Other tools' CSV/Parquet exports: --map / --map-file, generated ids, export time forms."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from litestar.testing import TestClient

from hashtag_index.cli import main
from indexer.errors import InputError
from indexer.globals import read_posts
from indexer.ingest import check_mapping, load_mapping_file, parse_column_map
from indexer.schema import read_manifest
from service.app import create_app
from service.settings import Settings

EXPORT_CSV = """\
PostID,Date,Message,Author,Network,Likes,Shares
p1,2026-10-14 08:29:38,Morning #Coffee with friends,ann,X,3,1
p2,2026-10-14 09:00:00,Second #coffee and #Tea,bob,X,0,0
p3,2026-10-14T10:00:00+02:00,already zoned #Tea,cy,Mastodon,1,
p4,not a time,bad time #Coffee,dan,X,0,0
p1,2026-10-14 08:29:38,Morning #Coffee with friends (edited),ann,X,5,1
"""
MAP = "id=PostID,created_at=Date,text=Message,author=Author,platform=Network,likes=Likes"


def run(*args: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    code = done.value.code
    assert isinstance(code, int)
    return code


def posts_of(index: Path) -> list[dict[str, Any]]:
    posts = read_posts((index / "current").resolve()).sort("uid")
    return posts.select("uid", "created_at", "author", "likes", "tags").to_dicts()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_csv_export_with_a_map_builds_and_serves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export.csv"
    export.write_text(EXPORT_CSV)
    index = tmp_path / "idx"
    assert run("build", str(export), "--index", str(index), "--map", MAP, "--map-tz", "UTC") == 0
    out = capsys.readouterr().out
    assert "read 5 rows, indexed 3 posts (4 accepted, 1 duplicate, 1 rejected)" in out
    assert posts_of(index) == [
        {
            "uid": "mastodon:p3",
            "created_at": utc(2026, 10, 14, 8),
            "author": "cy",
            "likes": 1,
            "tags": ["tea"],
        },
        {
            "uid": "x:p1",
            "created_at": utc(2026, 10, 14, 8, 29, 38),
            "author": "ann",
            "likes": 5,  # the later copy wins
            "tags": ["coffee"],
        },
        {
            "uid": "x:p2",
            "created_at": utc(2026, 10, 14, 9),
            "author": "bob",
            "likes": 0,
            "tags": ["coffee", "tea"],
        },
    ]
    rejects = [
        json.loads(line) for line in (index / "current" / "rejects.ndjson").read_text().splitlines()
    ]
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (5, "bad timestamp in 'created_at': not a time")
    ]
    with TestClient(create_app(Settings(index_dir=index))) as client:
        coffee = client.get("/v1/hashtags/coffee").json()
        assert (coffee["posts"], coffee["platforms"]) == (2, {"x": 2})
        found = client.get("/v1/posts?q=friends").json()
        assert [(i["id"], i["text"]) for i in found["items"]] == [
            ("p1", "Morning #Coffee with friends (edited)")
        ]


def test_parquet_export_with_a_mapping_file_and_no_id_column(tmp_path: Path) -> None:
    """Without an id column, the id is a hash of the row: the same row twice is one post."""
    export = tmp_path / "export.parquet"
    frame = pl.DataFrame(
        {
            "Datum": ["10/14/2026 08:29", "10/14/2026 09:30", "10/14/2026 08:29"],
            "Inhalt": ["Guten Morgen #Kaffee", "Mittag #Kaffee #Tee", "Guten Morgen #Kaffee"],
            "Nutzer": ["anna", "ben", "anna"],
            "lang": ["de", "de", "de"],  # a canonical name: read without a mapping
        }
    )
    frame.write_parquet(export)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "created_at": "Datum",
                "text": "Inhalt",
                "author": "Nutzer",
                "timezone": "Europe/Berlin",
                "created_at_format": "%m/%d/%Y %H:%M",
            }
        )
    )
    index = tmp_path / "idx"
    code = run("build", str(export), "--index", str(index), "--map-file", str(mapping), "--quiet")
    assert code == 0
    m = read_manifest(index / "current")
    assert (m.read, m.posts, m.duplicates, m.rejected) == (3, 2, 1, 0)
    expected_id = hashlib.blake2b(
        b"10/14/2026 08:29\x1fanna\x1fGuten Morgen #Kaffee", digest_size=8
    ).hexdigest()
    posts = read_posts((index / "current").resolve()).sort("created_at")
    assert posts.select("id", "created_at", "author", "lang", "tags").to_dicts()[0] == {
        "id": expected_id,
        "created_at": utc(2026, 10, 14, 6, 29),  # 08:29 in Berlin (CEST) is 06:29 UTC
        "author": "anna",
        "lang": "de",
        "tags": ["kaffee"],
    }
    assert posts["tags"].to_list() == [["kaffee"], ["kaffee", "tee"]]


def test_update_takes_the_same_map(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("Date,Message,Author\n2026-10-14T08:00:00Z,one #a,ann\n")
    second.write_text("Date,Message,Author\n2026-10-15 08:00,two #b,bob\n")
    args = ("--index", str(index), "--map", "created_at=Date,text=Message,author=Author")
    assert run("build", str(first), *args, "--quiet") == 0
    assert run("update", str(second), *args, "--map-tz", "+02:00", "--quiet") == 0
    assert [(p["author"], p["created_at"]) for p in posts_of(index)][-1] == (
        "bob",
        utc(2026, 10, 15, 6),
    )


def test_a_zone_less_time_without_map_tz_is_rejected_not_guessed(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("Date,Message,Author\n2026-10-14 08:29:38,x,ann\n2026-10-14T08:29:38Z,y,bo\n")
    index = tmp_path / "idx"
    mapped = ("--map", "created_at=Date,text=Message,author=Author")
    assert run("build", str(export), "--index", str(index), *mapped, "--quiet") == 0
    m = read_manifest(index / "current")
    assert (m.posts, m.rejected) == (1, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--map", "created=Date"], "column map: unknown field 'created' (fields: id, created_at"),
        (["--map", "created_at"], "--map: 'created_at' is not FIELD=COLUMN"),
        (["--map", "created_at=Datum"], "export.csv: no column 'Datum' (mapped to created_at)"),
        (
            ["--map", "created_at=Date"],
            "export.csv: no column 'author', 'text' (map: --map author=COLUMN,text=COLUMN)",
        ),
        (["--map-tz", "Mars/Olympus"], "column map: unknown time zone 'Mars/Olympus'"),
        (["--map-time-format", "%d.%m.%Y"], "has no zone (%z): say which zone"),
        (["--map", "text=Message", "--format", "ndjson"], "is for CSV and Parquet inputs"),
        (["--map-file", "nope.json"], "nope.json: cannot read the mapping file"),
    ],
)
def test_bad_maps_are_one_line_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    export = tmp_path / "export.csv"
    export.write_text(EXPORT_CSV)
    assert run("build", str(export), "--index", str(tmp_path / "idx"), *args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
    assert not (tmp_path / "idx" / "current").exists()


def test_mapping_helpers() -> None:
    assert parse_column_map(" created_at = Date , text=Post Text,") == {
        "created_at": "Date",
        "text": "Post Text",
    }
    check_mapping({"id": "PostID"}, "UTC", "%Y-%m-%d %H:%M")
    check_mapping(None, None, "%d/%m/%Y %H:%M %z")
    with pytest.raises(InputError, match="no % directive"):
        check_mapping(None, "UTC", "YYYY-MM-DD")


def test_mapping_file_must_be_an_object_of_strings(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text('{"created_at": 3}')
    with pytest.raises(InputError, match=r"m.json: the value of 'created_at' is not a column"):
        load_mapping_file(bad)
    bad.write_text('["created_at"]')
    with pytest.raises(InputError, match="a JSON object of field -> column"):
        load_mapping_file(bad)
