"""Smaller points of a clear answer: 404s suggest, enums list their values, 405s carry Allow,
HEAD works where GET does, one JSON time format, no server paths in /v1/index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("answers")
    a = write_ndjson(
        root / "dumps" / "2026" / "a.ndjson",
        [post(1, "#python #rust", created_at="2026-10-01T12:00:00.5Z"), post(2, "#pythonista")],
    )
    b = write_ndjson(root / "dumps" / "old" / "b.ndjson", [post(3, "#rust")])
    build([str(a), str(b)], BuildOptions(index_dir=root / "i"), now=NOW)
    return root


@pytest.fixture(scope="module")
def client(root: Path) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(Settings(index_dir=root / "i", api_key="k"))) as c:
        yield c


def test_an_unknown_tag_suggests_near_misses(client: TestClient[Any]) -> None:
    for path in ("", "/timeseries", "/related"):
        r = client.get(f"/v1/hashtags/pyhton{path}")
        assert r.status_code == 404
        assert r.json()["error"]["message"] == "unknown tag: pyhton; did you mean python?"
    r = client.get("/v1/hashtags/zzzzzz")
    assert r.json()["error"]["message"] == "unknown tag: zzzzzz"


@pytest.mark.parametrize(
    ("url", "values"),
    [
        ("/v1/hashtags/python/timeseries?interval=month", "hour, day, week"),
        ("/v1/posts?sort=new", "relevance, recent, engagement"),
    ],
)
def test_a_bad_enum_value_lists_the_valid_ones(
    client: TestClient[Any], url: str, values: str
) -> None:
    r = client.get(url)
    assert r.status_code == 400
    assert r.json()["error"]["message"].endswith(f"; valid values: {values}")


def test_405_carries_allow(client: TestClient[Any]) -> None:
    r = client.post("/v1/trending")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD, OPTIONS"
    assert r.json()["error"]["message"] == "POST is not allowed here; allowed: GET, HEAD, OPTIONS"
    r = client.get("/v1/admin/reindex")
    assert r.headers["allow"] == "OPTIONS, POST"
    assert client.head("/v1/admin/reindex").headers["allow"] == "OPTIONS, POST"


def test_head_works_wherever_get_does(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    urls = [p.replace("{tag}", "python") for p, ops in paths.items() if "get" in ops]
    urls = [u.replace("{job_id}", "abc") for u in urls] + ["/schema/openapi.json"]
    for url in urls:
        got, head = (
            client.get(url, headers={"X-API-Key": "k"}),
            client.head(url, headers={"X-API-Key": "k"}),
        )
        assert head.status_code == got.status_code, url
        assert head.content == b"", url
        for name in ("content-type", "content-length", "etag", "x-index-generation"):
            if (url, name) != ("/metrics", "content-length"):  # counts the GET just made
                assert head.headers.get(name) == got.headers.get(name), (url, name)


TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_json_times_have_one_format(client: TestClient[Any]) -> None:
    """RFC 3339 in UTC with Z, microseconds only when they are not zero."""
    times = []
    for url in (
        "/v1/index",
        "/v1/hashtags/python",
        "/v1/hashtags/python?from=2026-10-01T00:00:00%2B02:00",
        "/v1/hashtags/python/timeseries?interval=hour",
        "/v1/posts?sort=recent",
        "/v1/trending?as_of=2026-10-02T02:00:00%2B02:00",
    ):
        times += [s for s in _strings(client.get(url).json()) if re.match(r"^\d{4}-\d\d-\d\dT", s)]
    assert times
    assert [t for t in times if not TIME.match(t)] == []
    assert "2026-10-01T12:00:00.500000Z" in times
    assert "2026-10-02T00:00:00Z" in times  # as_of, given with an offset


def test_the_manifest_does_not_expose_server_paths(client: TestClient[Any], root: Path) -> None:
    sources = client.get("/v1/index").json()["sources"]
    assert sorted(s["path"] for s in sources) == ["2026/a.ndjson", "old/b.ndjson"]
    assert str(root) not in client.get("/v1/index").text
