"""GET /v1/posts through HTTP: parameters reach the search, pages chain by cursor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    root = tmp_path_factory.mktemp("posts")
    rows = [
        post(
            i,
            f"Coffee number {i} at the café #Morning",
            author=f"a{i % 3}",
            platform="x" if i % 2 else "bluesky",
            likes=i,
            created_at=f"2026-10-{1 + i % 9:02d}T10:00:00Z",
        )
        for i in range(45)
    ] + [post(100, "tea only #Tea", author="t", platform="x")]
    dump = write_ndjson(root / "posts.ndjson", rows)
    build([str(dump)], BuildOptions(index_dir=root / "index"), now=NOW)
    with TestClient(create_app(Settings(index_dir=root / "index"))) as c:
        yield c


def test_search_filters_and_snippet(client: TestClient[Any]) -> None:
    r = client.get("/v1/posts?q=cafe&tag=%23MORNING&platform=X&from=2026-10-02&to=2026-10-03")
    assert r.status_code == 200
    body = r.json()
    ids = sorted(int(i["id"]) for i in body["items"])
    assert ids == [i for i in range(45) if i % 2 and 1 + i % 9 == 2]
    assert body["total"] == len(ids)
    assert all("<b>café</b>" in i["snippet"] for i in body["items"])
    assert body["items"][0]["hashtags"] == ["morning"]


def test_cursor_pages_cover_everything_once(client: TestClient[Any]) -> None:
    seen: list[str] = []
    url = "/v1/posts?q=coffee&sort=engagement&limit=7"
    cursor = None
    while True:
        page = client.get(url + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [i["id"] for i in page["items"]]
        assert page["total"] == 45
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(i) for i in range(44, -1, -1)]  # likes = i, descending


def test_cursor_of_another_query_is_rejected(client: TestClient[Any]) -> None:
    cursor = client.get("/v1/posts?q=coffee&limit=2").json()["next_cursor"]
    r = client.get(f"/v1/posts?q=tea&limit=2&cursor={cursor}")
    assert r.status_code == 400
    assert r.json()["error"]["parameter"] == "cursor"
