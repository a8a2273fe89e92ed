"""A post's community (Reddit's subreddit): read, stored, filtered and returned.

Reddit dumps fill it from ``subreddit``; canonical NDJSON/CSV/Parquet carry an optional
``community`` column (or ``--map community=COLUMN``); the other native formats have
none. ``GET /v1/posts?community=`` matches it by key (case-insensitive, ``r/`` optional)
and every item carries it as written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from litestar.testing import TestClient

from hashtag_index.cli import main
from indexer.build import BuildOptions, build
from indexer.formats.reddit import Reddit
from indexer.globals import read_posts
from indexer.schema import community_key, read_manifest
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson

REDDIT = Path(__file__).resolve().parent / "fixtures" / "native" / "reddit"


def communities(index: Path) -> dict[str, str | None]:
    posts = read_posts((index / "current").resolve())
    return dict(zip(posts["uid"], posts["community"], strict=True))


def test_community_key() -> None:
    for spelling in ("python", "Python", " PYTHON ", "r/Python", "/r/python", "\uff30\uff39THON"):
        assert community_key(spelling) == "python", spelling
    assert community_key("reddit.com") == "reddit.com"
    assert community_key("r/") == ""


def test_reddit_community_falls_back_to_the_prefixed_name() -> None:
    base = {"id": "abc", "created_utc": 1609459100, "author": "pyfan", "title": "t"}

    def community(**fields: str) -> Any:
        row = Reddit("reddit").to_row({**base, **fields}, {})
        assert isinstance(row, dict)
        return row["community"]

    assert community(subreddit="Python") == "Python"
    assert community(subreddit_name_prefixed="r/AskReddit") == "AskReddit"
    assert community() is None
    assert community(subreddit=" ") is None


# --- Reddit dumps, end to end -----------------------------------------------


@pytest.fixture(scope="module")
def reddit_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reddit")
    other = write_ndjson(
        root / "x.ndjson",
        [post("x1", "a tweet about #Python", platform="x", created_at="2021-01-01T00:00:30Z")],
    )
    inputs = [REDDIT / "RC_sample.ndjson", REDDIT / "RS_sample.ndjson", other]
    build([str(p) for p in inputs], BuildOptions(index_dir=root / "index"), now=NOW)
    return root / "index"


@pytest.fixture(scope="module")
def client(reddit_index: Path) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(Settings(index_dir=reddit_index))) as c:
        yield c


def test_reddit_dumps_store_the_subreddit(reddit_index: Path) -> None:
    assert communities(reddit_index) == {
        "reddit:t1_c02d3yh": "reddit.com",
        "reddit:t1_ghf8sz1": "Python",  # a deleted comment is still a post of r/Python
        "reddit:t1_ghf8t3k": "Python",
        "reddit:t3_esbb3": "AskReddit",
        "reddit:t3_kntu4b": "Python",
        "reddit:t3_zzzz01": "Python",
        "x:x1": None,
    }


def found(client: TestClient[Any], query: str) -> list[tuple[str, str | None]]:
    r = client.get(f"/v1/posts?{query}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return [(i["id"], i["community"]) for i in body["items"]]


PYTHON_RECENT = [
    ("t3_zzzz01", "Python"),
    ("t1_ghf8t3k", "Python"),
    ("t1_ghf8sz1", "Python"),
    ("t3_kntu4b", "Python"),
]


@pytest.mark.parametrize("value", ["python", "Python", "PYTHON", "r/Python", "%2Fr%2Fpython"])
def test_filter_by_community_any_spelling(client: TestClient[Any], value: str) -> None:
    assert found(client, f"community={value}&sort=recent") == PYTHON_RECENT


def test_community_combines_with_the_other_filters(client: TestClient[Any]) -> None:
    assert found(client, "community=askreddit") == [("t3_esbb3", "AskReddit")]
    assert found(client, "community=reddit.com&platform=reddit") == [("t1_c02d3yh", "reddit.com")]
    assert found(client, "community=python&tag=%23Python&sort=recent") == [
        ("t1_ghf8t3k", "Python"),
        ("t3_kntu4b", "Python"),
    ]
    assert sorted(found(client, "q=happy%20new%20year&community=python")) == [
        ("t1_ghf8t3k", "Python"),
        ("t3_kntu4b", "Python"),
    ]
    assert found(client, "community=python&platform=x") == []
    assert found(client, "community=rust") == []


def test_every_item_carries_its_community(client: TestClient[Any]) -> None:
    everything = dict(found(client, "sort=recent&limit=100"))
    assert everything == {**dict(communities_of_fixture()), "x1": None}
    assert found(client, "community=&q=tweet") == [("x1", None)]  # empty: no filter


def communities_of_fixture() -> list[tuple[str, str]]:
    return [
        ("t1_c02d3yh", "reddit.com"),
        ("t3_esbb3", "AskReddit"),
        *PYTHON_RECENT,
    ]


def test_bad_community_is_a_400_naming_it(client: TestClient[Any]) -> None:
    r = client.get("/v1/posts?community=r/")
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["parameter"] == "community"
    assert "community" in error["message"]


def test_a_cursor_is_bound_to_its_community(client: TestClient[Any]) -> None:
    page = client.get("/v1/posts?community=python&sort=recent&limit=3").json()
    assert page["total"] == 4
    cursor = page["next_cursor"]
    rest = client.get(f"/v1/posts?community=PYTHON&sort=recent&limit=3&cursor={cursor}").json()
    assert [i["id"] for i in page["items"] + rest["items"]] == [i for i, _ in PYTHON_RECENT]
    other = client.get(f"/v1/posts?community=askreddit&sort=recent&limit=3&cursor={cursor}")
    assert other.status_code == 400
    assert other.json()["error"]["parameter"] == "cursor"


# --- canonical inputs ---------------------------------------------------------

CSV = """\
id,created_at,author,text,platform,community
c1,2026-10-01T10:00:00Z,ann,first #Tea,reddit,tea
c2,2026-10-01T11:00:00Z,bob,second #Tea,reddit,"  Tea "
c3,2026-10-01T12:00:00Z,cy,third #Tea,x,
c4,2026-10-01T13:00:00Z,dan,"fourth, quoted #Tea",reddit,"r/Tea"
"""


def test_canonical_csv_with_a_community_column(tmp_path: Path) -> None:
    dump = tmp_path / "posts.csv"
    dump.write_text(CSV)
    index = tmp_path / "index"
    build([str(dump)], BuildOptions(index_dir=index), now=NOW)
    assert communities(index) == {
        "reddit:c1": "tea",
        "reddit:c2": "Tea",  # trimmed, spelled as written
        "x:c3": None,  # empty: none
        "reddit:c4": "r/Tea",  # canonical input is kept as written; its key is "tea"
    }
    with TestClient(create_app(Settings(index_dir=index))) as client:
        assert sorted(found(client, "community=TEA")) == [
            ("c1", "tea"),
            ("c2", "Tea"),
            ("c4", "r/Tea"),
        ]


def test_canonical_ndjson_and_parquet_community(tmp_path: Path) -> None:
    ndjson = write_ndjson(
        tmp_path / "a.ndjson",
        [
            post(1, "#a", community="Python"),
            post(2, "#a", community=""),
            post(3, "#a", community=None),
            post(4, "#a"),
            post(5, "#a", community=42),
        ],
    )
    parquet = tmp_path / "b.parquet"
    frame = pl.DataFrame(
        [post(6, "#b", community="AskReddit"), post(7, "#b", community=None)]
    ).with_columns(pl.col("community").cast(pl.Categorical()))
    frame.write_parquet(parquet)
    index = tmp_path / "index"
    result = build([str(ndjson), str(parquet)], BuildOptions(index_dir=index), now=NOW)
    assert communities(index) == {
        "unknown:1": "Python",
        "unknown:2": None,
        "unknown:3": None,
        "unknown:4": None,
        "unknown:6": "AskReddit",
        "unknown:7": None,
    }
    assert result.manifest.rejected == 1
    rejects = (index / "current" / "rejects.ndjson").read_text().splitlines()
    [reject] = [json.loads(line) for line in rejects]
    assert (reject["line"], reject["reason"]) == (
        5,
        "Expected 'str | null', got 'int' - at '$.community'",
    )


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    code = done.value.code
    assert isinstance(code, int)
    return code


def test_map_community_to_an_export_column(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "PostID,Date,Message,Author,Subreddit\n"
        "p1,2026-10-14T08:00:00Z,one #a,ann,Python\n"
        "p2,2026-10-14T09:00:00Z,two #a,bob,\n"
    )
    index = tmp_path / "idx"
    mapping = "id=PostID,created_at=Date,text=Message,author=Author,community=Subreddit"
    args = ("--index", str(index), "--platform", "reddit", "--quiet")
    assert run_cli("build", str(export), "--map", mapping, *args) == 0
    assert communities(index) == {"reddit:p1": "Python", "reddit:p2": None}

    # update takes the same map and keeps the built posts' communities
    more = tmp_path / "more.csv"
    more.write_text("PostID,Date,Message,Author,Subreddit\np3,2026-10-15T08:00:00Z,x,cy,rust\n")
    assert run_cli("update", str(more), "--map", mapping, *args) == 0
    assert communities(index) == {"reddit:p1": "Python", "reddit:p2": None, "reddit:p3": "rust"}
    assert read_manifest(index / "current").posts == 3
