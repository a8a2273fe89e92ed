"""GET /v1/trending/changes over two real generations: a build, then an update.

Generation A holds the morning of 2026-10-31: #alpha by 30 accounts, #beta by 20,
#gamma by 10 (all new). The update B adds the afternoon: #delta by 50 accounts and
#gamma by 40 more. With limit=3, the list goes from [alpha, beta, gamma] to [delta,
gamma, alpha] (delta and gamma tie on score and authors: by tag key).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from indexer.update import update
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson

MORNING = datetime(2026, 10, 31, tzinfo=UTC)
AFTERNOON = MORNING + timedelta(hours=12)


def rows(start: datetime, counts: dict[str, int], first_id: int) -> list[dict[str, Any]]:
    found = []
    for tag, n in counts.items():
        for k in range(n):
            at = start + timedelta(minutes=7 * k + len(found) % 5)
            found.append(
                post(
                    first_id + len(found),
                    f"#{tag.capitalize()} today",
                    created_at=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    author=f"{tag}_fan{k}_{first_id}",
                    platform="x",
                )
            )
    return found


@pytest.fixture(scope="module")
def two_generations(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    root = tmp_path_factory.mktemp("changes")
    index = root / "index"
    a = write_ndjson(root / "a.ndjson", rows(MORNING, {"alpha": 30, "beta": 20, "gamma": 10}, 0))
    b = write_ndjson(root / "b.ndjson", rows(AFTERNOON, {"delta": 50, "gamma": 40}, 1000))
    first = build([str(a)], BuildOptions(index), now=NOW)
    second = update([str(b)], BuildOptions(index), now=NOW + timedelta(hours=1))
    return index, first.generation_dir.name, second.generation_dir.name


@pytest.fixture(scope="module")
def client(two_generations: tuple[Path, str, str]) -> Iterator[TestClient[Any]]:
    index = two_generations[0]
    with TestClient(create_app(Settings(index_dir=index, access_log=False))) as c:
        yield c


def moves(body: dict[str, Any]) -> dict[str, list[tuple[str, int | None, int | None]]]:
    return {
        kind: [(i["tag"], i["old_rank"], i["new_rank"]) for i in body[kind]]
        for kind in ("entered", "exited", "risers", "fallers")
    }


def test_changes_since_the_previous_generation(
    client: TestClient[Any], two_generations: tuple[Path, str, str]
) -> None:
    r = client.get("/v1/trending/changes?limit=3")
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["x-index-generation"] == two_generations[2]
    assert moves(body) == {
        "entered": [("delta", None, 1)],
        "exited": [("beta", 2, None)],
        "risers": [("gamma", 3, 2)],
        "fallers": [("alpha", 1, 3)],
    }
    assert body["unchanged"] == 0
    # old_as_of: just after generation A's newest post; as_of: just after B's
    assert body["old_as_of"] == "2026-10-31T03:27:00.000001Z"
    assert body["as_of"] == client.get("/v1/trending").json()["as_of"]
    delta = body["entered"][0]
    assert (delta["display"], delta["authors"], delta["score"]) == ("Delta", 50, 1152.0)
    assert body["exited"][0]["authors"] == 20  # an exit carries its figures of then


def test_since_a_generation_id_or_a_time_is_the_same_question(
    client: TestClient[Any], two_generations: tuple[Path, str, str]
) -> None:
    by_default = client.get("/v1/trending/changes?limit=3").json()
    by_id = client.get(f"/v1/trending/changes?limit=3&since={two_generations[1]}").json()
    by_time = client.get(f"/v1/trending/changes?limit=3&since={by_default['old_as_of']}").json()
    assert by_default == by_id == by_time


def test_nothing_changed_since_now(client: TestClient[Any]) -> None:
    as_of = client.get("/v1/trending").json()["as_of"]
    body = client.get(f"/v1/trending/changes?limit=3&since={as_of}").json()
    assert moves(body) == {"entered": [], "exited": [], "risers": [], "fallers": []}
    assert body["unchanged"] == 3


def test_the_list_compared_is_the_trending_list(client: TestClient[Any]) -> None:
    now = client.get("/v1/trending?limit=3").json()["items"]
    body = client.get("/v1/trending/changes?limit=3").json()
    ranks = {i["tag"]: i["new_rank"] for k in ("entered", "risers", "fallers") for i in body[k]}
    assert ranks == {i["tag"]: i["rank"] for i in now}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("since=20991231T000000Z-0001", "since"),  # a generation never published
        ("since=yesterday", "since"),
        ("since=2026-10-31T00:00:00", "since"),  # no zone
        ("since=2027-01-01T00:00:00Z", "since"),  # after as_of
        ("since=0001-01-02T00:00:00Z", "since"),  # baseline before the earliest time
        ("window=0h", "window"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("flag_above=2", "flag_above"),
        ("sinse=2026-10-31", "sinse"),
        ("since=2026-10-30&since=2026-10-31", "since"),
    ],
)
def test_bad_parameters(client: TestClient[Any], query: str, parameter: str) -> None:
    r = client.get(f"/v1/trending/changes?{query}")
    assert r.status_code == 400, r.text
    assert r.json()["error"]["parameter"] == parameter


def test_a_first_generation_has_nothing_before_it(tmp_path: Path) -> None:
    source = write_ndjson(tmp_path / "a.ndjson", rows(MORNING, {"alpha": 30}, 0))
    build([str(source)], BuildOptions(tmp_path / "index"), now=NOW)
    with TestClient(create_app(Settings(index_dir=tmp_path / "index", access_log=False))) as c:
        r = c.get("/v1/trending/changes")
        assert r.status_code == 400
        assert r.json()["error"]["parameter"] == "since"
        assert "no generation was published before this one" in r.json()["error"]["message"]
        entered = c.get("/v1/trending/changes?since=2026-10-31").json()["entered"]
        assert [i["tag"] for i in entered] == ["alpha"]


def test_the_trending_page_shows_the_moves(client: TestClient[Any]) -> None:
    html = client.get("/").text
    moves = dict(
        re.findall(
            r'data-tag="([^"]+)">\s*<td class="n">\d+</td>\s*<td class="move"'
            r'[^>]*><span aria-hidden="true" class="arrow">(.)</span>',
            html,
        )
    )
    # 20 rows: beta falls from 2nd to 4th instead of leaving
    assert moves == {"delta": "★", "gamma": "▲", "alpha": "▼", "beta": "▼"}
    assert "data-exited" not in html
    assert "Moves since the previous generation" in html


def test_the_first_generation_page_has_no_moves(tmp_path: Path) -> None:
    source = write_ndjson(tmp_path / "a.ndjson", rows(MORNING, {"alpha": 30}, 0))
    build([str(source)], BuildOptions(tmp_path / "index"), now=NOW)
    with TestClient(create_app(Settings(index_dir=tmp_path / "index", access_log=False))) as c:
        html = c.get("/").text
        assert 'data-tag="alpha"' in html
        assert 'class="move"' not in html
