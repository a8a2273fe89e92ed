"""Tag endpoints over a generation built from planted data: exact answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson


def planted_posts() -> list[dict[str, Any]]:
    """Known truths:
    - #Python: 6 posts (spellings Python x3, python x2, PYTHON x1) by 5 authors
      (ann on x twice, ann on bluesky - another account -, bob, cy, dan), engagement 21;
      x 4, bluesky 2; en 5, de 1;
      2026-10-01 10:00 .. 2026-10-03 09:30 UTC.
    - #Straße: 2 posts (one written STRASSE).
    - #generic is on every post: it must not top the related lists.
    - #rust goes with #python on 3 posts, #pytest with #python on 2 posts.
    """
    rows = [
        post(
            1,
            "#Python #rust #generic",
            author="ann",
            platform="x",
            lang="en",
            created_at="2026-10-01T10:00:00Z",
            likes=5,
        ),
        post(
            2,
            "#python #rust #generic",
            author="ann",
            platform="x",
            lang="en",
            created_at="2026-10-01T10:30:00Z",
            likes=1,
            reposts=1,
        ),
        post(
            3,
            "#Python #PYTHON #rust #generic",
            author="bob",
            platform="bluesky",
            lang="de",
            created_at="2026-10-01T23:59:59Z",
            replies=3,
        ),
        post(
            4,
            "#Python #pytest #generic",
            author="cy",
            platform="x",
            lang="en",
            created_at="2026-10-02T00:00:00Z",
            quotes=4,
        ),
        post(
            5,
            "#PYTHON #pytest #generic",
            author="ann",
            platform="bluesky",
            lang="en",
            created_at="2026-10-03T09:00:00Z",
        ),
        post(
            6,
            "#python #generic",
            author="dan",
            platform="x",
            lang="en",
            created_at="2026-10-03T09:30:00Z",
            likes=7,
        ),
        post(
            7,
            "#Straße #generic",
            author="eve",
            platform="mastodon",
            lang="de",
            created_at="2026-10-02T12:00:00Z",
        ),
        post(
            8,
            "#STRASSE #generic",
            author="fay",
            platform="mastodon",
            lang="de",
            created_at="2026-10-02T13:00:00Z",
        ),
        post(
            9,
            "#pythonista #generic",
            author="gus",
            platform="x",
            lang="en",
            created_at="2026-10-02T14:00:00Z",
        ),
    ]
    rows += [
        post(
            100 + i,
            f"#generic filler {i} #filler",
            author=f"f{i}",
            platform="x",
            lang="en",
            created_at=f"2026-10-0{1 + i % 3}T08:00:00Z",
        )
        for i in range(12)
    ]
    return rows


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    root = tmp_path_factory.mktemp("api")
    dump = write_ndjson(root / "posts.ndjson", planted_posts())
    build([str(dump)], BuildOptions(index_dir=root / "index"), now=NOW)
    with TestClient(create_app(Settings(index_dir=root / "index"))) as c:
        yield c


PYTHON = {
    "tag": "python",
    "display": "Python",
    "posts": 6,
    "authors": 5,
    "engagement": 21,
    "first_seen": "2026-10-01T10:00:00Z",
    "last_seen": "2026-10-03T09:30:00Z",
    "platforms": {"x": 4, "bluesky": 2},
    "langs": {"en": 5, "de": 1},
}


@pytest.mark.parametrize(
    "spelling", ["python", "Python", "%23Python", "%23python", "PYTHON", "%EF%BC%83Python"]
)
def test_detail_is_exact_for_any_spelling(client: TestClient[Any], spelling: str) -> None:
    r = client.get(f"/v1/hashtags/{spelling}")
    assert r.status_code == 200
    assert r.json() == PYTHON


def test_detail_folds_case_fully(client: TestClient[Any]) -> None:
    body = client.get("/v1/hashtags/Stra%C3%9Fe").json()
    # One post each as "Straße" and "STRASSE": a tie, broken by the smaller string.
    assert (body["tag"], body["display"], body["posts"], body["authors"]) == (
        "strasse",
        "STRASSE",
        2,
        2,
    )


def test_detail_narrowed_by_from_inclusive_to_exclusive(client: TestClient[Any]) -> None:
    r = client.get("/v1/hashtags/python?from=2026-10-01T23:59:59Z&to=2026-10-03T09:30:00Z")
    assert r.json() | {"platforms": None, "langs": None} == {
        "tag": "python",
        "display": "Python",
        "posts": 3,
        "authors": 3,
        "engagement": 7,
        "first_seen": "2026-10-01T23:59:59Z",
        "last_seen": "2026-10-03T09:00:00Z",
        "platforms": None,
        "langs": None,
    }
    assert r.json()["platforms"] == {"bluesky": 2, "x": 1}


def test_unknown_tag_is_404_in_the_error_shape(client: TestClient[Any]) -> None:
    r = client.get("/v1/hashtags/nosuchtag")
    assert r.status_code == 404
    assert r.json() == {
        "error": {
            "status": 404,
            "code": "not_found",
            "message": "unknown tag: nosuchtag",
            "parameter": "tag",
            "request_id": r.headers["x-request-id"],
        }
    }
    for path in ("/timeseries", "/related"):
        assert client.get(f"/v1/hashtags/nosuchtag{path}").status_code == 404


def test_daily_timeseries_is_exact_and_zero_filled(client: TestClient[Any]) -> None:
    r = client.get("/v1/hashtags/python/timeseries?interval=day&from=2026-09-30&to=2026-10-05")
    assert r.status_code == 200
    assert r.json() == {
        "tag": "python",
        "interval": "day",
        "points": [
            {"t": "2026-09-30T00:00:00Z", "posts": 0, "authors": 0, "engagement": 0},
            {"t": "2026-10-01T00:00:00Z", "posts": 3, "authors": 2, "engagement": 10},
            {"t": "2026-10-02T00:00:00Z", "posts": 1, "authors": 1, "engagement": 4},
            {"t": "2026-10-03T00:00:00Z", "posts": 2, "authors": 2, "engagement": 7},
            {"t": "2026-10-04T00:00:00Z", "posts": 0, "authors": 0, "engagement": 0},
        ],
    }


def test_hourly_and_weekly_buckets(client: TestClient[Any]) -> None:
    hours = client.get("/v1/hashtags/python/timeseries?interval=hour").json()["points"]
    assert hours[0] == {"t": "2026-10-01T10:00:00Z", "posts": 2, "authors": 1, "engagement": 7}
    assert hours[-1]["t"] == "2026-10-03T09:00:00Z"
    assert len(hours) == 48
    assert sum(p["posts"] for p in hours) == 6
    weeks = client.get("/v1/hashtags/python/timeseries?interval=week").json()["points"]
    assert weeks == [{"t": "2026-09-28T00:00:00Z", "posts": 6, "authors": 5, "engagement": 21}]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("interval=month", "interval"),
        ("from=yesterday", "from"),
        ("to=2026-10-01T00:00:00", "to"),
        ("from=2026-10-05&to=2026-10-01", "from"),
        ("interval=hour&from=2000-01-01&to=2026-01-01", "interval"),
    ],
)
def test_bad_timeseries_parameters_are_400_naming_them(
    client: TestClient[Any], query: str, parameter: str
) -> None:
    r = client.get(f"/v1/hashtags/python/timeseries?{query}")
    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["status"], error["code"], error["parameter"]) == (400, "bad_parameter", parameter)
    assert error["message"].startswith(parameter)


def test_autocomplete_by_prefix_ranked_by_posts(client: TestClient[Any]) -> None:
    r = client.get("/v1/hashtags?prefix=%23PY&limit=10")
    assert r.json() == {
        "items": [
            {"tag": "python", "display": "Python", "posts": 6, "authors": 5},
            {"tag": "pytest", "display": "pytest", "posts": 2, "authors": 2},
            {"tag": "pythonista", "display": "pythonista", "posts": 1, "authors": 1},
        ]
    }
    assert len(client.get("/v1/hashtags?prefix=py&limit=1").json()["items"]) == 1


@pytest.mark.parametrize("typo", ["pyhton", "pythn", "pythom", "PYTHOM"])
def test_q_finds_near_misses(client: TestClient[Any], typo: str) -> None:
    items = client.get(f"/v1/hashtags?q={typo}").json()["items"]
    assert items[0]["tag"] == "python"


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "ten"])
def test_bad_limit_is_400(client: TestClient[Any], limit: str) -> None:
    r = client.get(f"/v1/hashtags?prefix=py&limit={limit}")
    assert r.status_code == 400
    assert r.json()["error"]["parameter"] == "limit"


def test_related_ranks_specific_partners_above_generic_ones(client: TestClient[Any]) -> None:
    r = client.get("/v1/hashtags/python/related?min_support=2")
    items = r.json()["items"]
    assert [(i["tag"], i["co_posts"]) for i in items][:2] == [("rust", 3), ("pytest", 2)]
    assert "generic" not in [i["tag"] for i in items]  # on every post: no better than chance
    assert all(-1 <= i["score"] <= 1 for i in items)
    assert client.get("/v1/hashtags/python/related?min_support=3").json()["items"] == [items[0]]
