"""The Hashtag Index CSV report: exact rows, spreadsheet-friendly bytes, same offline."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from hashtag_index.cli import main
from indexer.build import BuildOptions, build
from indexer.globals import read_posts
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, ROOT, post, write_ndjson

HEADER = (
    "rank,tag,display,posts,authors,engagement,share_pct,prev_posts,change_pct,first_seen,last_seen"
)


def report_posts() -> list[dict[str, Any]]:
    """Period [2026-10-02, 2026-10-03): 5 posts, one without tags.
    Previous period [2026-10-01, 2026-10-02): #a on 2 posts, #b on 1."""
    day1, day2 = "2026-10-01T12:00:00Z", "2026-10-02T"
    return [
        post(1, "#a", author="u1", created_at=day1),
        post(2, "#A", author="u2", created_at=day1),
        post(3, "#b", author="u1", created_at=day1),
        post(4, "#a #日本", author="u1", created_at=day2 + "01:00:00Z", likes=2, platform="x"),
        post(5, "#A", author="u1", created_at=day2 + "02:00:00Z", likes=1, platform="x"),
        post(6, "#a #c", author="u2", created_at=day2 + "03:00:00Z", platform="bluesky"),
        post(7, "#日本", author="u3", created_at=day2 + "23:59:59Z", reposts=5, platform="x"),
        post(8, "no tags", author="u4", created_at=day2 + "12:00:00Z"),
        post(9, "#a next day", author="u9", created_at="2026-10-03T00:00:00Z"),
    ]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    dump = write_ndjson(root / "posts.ndjson", report_posts())
    build([str(dump)], BuildOptions(index_dir=root / "index"), now=NOW)
    return root / "index"


@pytest.fixture(scope="module")
def client(index_dir: Path) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(Settings(index_dir=index_dir))) as c:
        yield c


def test_report_rows_are_exact(client: TestClient[Any]) -> None:
    r = client.get("/v1/reports/index.csv?from=2026-10-02&to=2026-10-03")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == (
        'attachment; filename="hashtag-index_2026-10-02_2026-10-03.csv"'
    )
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 tags right
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines == [
        HEADER,
        "1,a,a,3,2,3,60.0,2,50.0,2026-10-02T01:00:00Z,2026-10-02T03:00:00Z",
        "2,日本,日本,2,2,7,40.0,0,,2026-10-02T01:00:00Z,2026-10-02T23:59:59Z",
        "3,c,c,1,1,0,20.0,0,,2026-10-02T03:00:00Z,2026-10-02T03:00:00Z",
    ]


def test_report_parses_as_csv_with_the_contract_columns(client: TestClient[Any]) -> None:
    text = client.get("/v1/reports/index.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == HEADER.split(",")
    assert [r["rank"] for r in rows] == [str(i) for i in range(1, len(rows) + 1)]
    # Whole generation by default: every tag, days from the first post to the last.
    assert {r["tag"] for r in rows} == {"a", "b", "c", "日本"}
    # u1 and u2 also post on x and bluesky: other accounts (an author is per platform).
    assert rows[0] == rows[0] | {"tag": "a", "posts": "6", "authors": "5"}


def test_report_filters_and_limit(client: TestClient[Any]) -> None:
    r = client.get("/v1/reports/index.csv?from=2026-10-02&to=2026-10-03&platform=X&limit=1")
    lines = r.content.decode("utf-8-sig").splitlines()
    # x has 3 posts in the period; #a and #日本 are on 2 of them each: the tie on posts
    # goes to more distinct authors (日本: 2, a: 1).
    assert lines == [
        HEADER,
        "1,日本,日本,2,2,7,66.6667,0,,2026-10-02T01:00:00Z,2026-10-02T23:59:59Z",
    ]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("from=2026-10-03&to=2026-10-02", "from"), ("limit=0", "limit"), ("to=soon", "to")],
)
def test_bad_report_parameters(client: TestClient[Any], query: str, parameter: str) -> None:
    r = client.get(f"/v1/reports/index.csv?{query}")
    assert r.status_code == 400
    assert r.json()["error"]["parameter"] == parameter


def test_cli_report_writes_the_same_bytes(
    client: TestClient[Any], index_dir: Path, tmp_path: Path
) -> None:
    served = client.get("/v1/reports/index.csv?from=2026-10-02&to=2026-10-03").content
    out = tmp_path / "report.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hashtag_index",
            "report",
            "index",
            "--index",
            str(index_dir),
            "--from",
            "2026-10-02",
            "--to",
            "2026-10-03",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == served


def test_etag_and_conditional_get(client: TestClient[Any]) -> None:
    first = client.get("/v1/reports/index.csv?limit=2")
    etag = first.headers["etag"]
    generation = first.headers["x-index-generation"]
    assert generation in etag
    assert client.get("/v1/reports/index.csv?limit=2").headers["etag"] == etag
    assert client.get("/v1/reports/index.csv?limit=3").headers["etag"] != etag
    again = client.get("/v1/reports/index.csv?limit=2", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["x-index-generation"] == generation


def test_openapi_documents_every_endpoint_and_parameter(client: TestClient[Any]) -> None:
    spec = client.get("/schema/openapi.json").json()
    paths = spec["paths"]
    expected = {
        "/healthz": [],
        "/readyz": [],
        "/v1/index": [],
        "/v1/hashtags": ["prefix", "q", "limit"],
        "/v1/hashtags/{tag}": ["tag", "from", "to", "platform", "lang"],
        "/v1/hashtags/{tag}/timeseries": ["tag", "interval", "from", "to", "platform", "lang"],
        "/v1/hashtags/{tag}/related": ["tag", "limit", "min_support", "platform", "lang"],
        "/v1/reports/index.csv": ["from", "to", "limit", "platform", "lang"],
        "/v1/reports/index.xlsx": ["from", "to", "limit", "platform", "lang"],
        "/v1/reports/index.parquet": ["from", "to", "limit", "platform", "lang"],
        "/v1/trending": [
            "window",
            "baseline",
            "as_of",
            "limit",
            "platform",
            "lang",
            "include_flagged",
            "flag_above",
        ],
        "/v1/trending/changes": [
            "since",
            "window",
            "baseline",
            "as_of",
            "limit",
            "platform",
            "lang",
            "include_flagged",
            "flag_above",
        ],
        "/v1/posts": [
            "q",
            "tag",
            "author",
            "platform",
            "lang",
            "community",
            "from",
            "to",
            "sort",
            "limit",
            "cursor",
        ],
    }
    for path, params in expected.items():
        assert path in paths, path
        got = {p["name"]: p for p in paths[path]["get"].get("parameters", [])}
        assert sorted(got) == sorted(params), path
        assert all(p.get("description") for p in got.values()), path
    limit = {p["name"]: p for p in paths["/v1/hashtags"]["get"]["parameters"]}["limit"]
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 1000)


def test_whole_generation_report_matches_a_brute_force_count(tmp_path: Path) -> None:
    import polars as pl

    from service.reports import report_frame
    from service.tables import load_tables

    index = tmp_path / "index"
    gen = build([str(ROOT / "data" / "sample")], BuildOptions(index_dir=index), now=NOW)
    tables = load_tables(gen.generation_dir)
    start, end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
    frame = report_frame(tables, start, end).select(
        "tag", "posts", "authors", "engagement", "first_seen", "last_seen"
    )
    posts = read_posts(gen.generation_dir).explode("tags")
    brute = (
        posts.filter(pl.col("tags").is_not_null())
        .group_by(tag="tags")
        .agg(
            posts=pl.len().cast(pl.Int64()),
            authors=pl.struct("platform", "author").n_unique().cast(pl.Int64()),
            engagement=pl.col("engagement").sum(),
            first_seen=pl.col("created_at").min(),
            last_seen=pl.col("created_at").max(),
        )
    )
    assert frame.sort("tag").equals(brute.sort("tag"))
    # A period that cuts the generation takes the computed path: same figures for a tag
    # whose posts all fall inside it.
    burst = report_frame(tables, datetime(2026, 10, 31, tzinfo=UTC), end).filter(
        pl.col("tag") == "northernlights"
    )
    assert burst.select("posts", "authors").row(0) == (250, 235)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-10-03", "--to", "2026-10-02"], "--from: must be before to"),
        (["--to", "soon"], "--to: expected an RFC 3339 time like"),
    ],
)
def test_cli_report_names_the_bad_flag(
    index_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """The report's parameters are checked once, by the service's parsers: the command line
    says the same thing as the 400, of its flag, in one line."""
    with pytest.raises(SystemExit) as exited:
        main(["report", "index", "--index", str(index_dir), *args])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"hashtag-index: error: {message}")
    assert err.count("\n") == 1
