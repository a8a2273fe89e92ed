"""Every time and integer parameter has a documented range: outside it, a 400 naming the
parameter, never a 500 from date or integer arithmetic; inside it, a correct answer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from litestar import get
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    root = tmp_path_factory.mktemp("bounds")
    rows = [
        post(i, "#python #rust hello", created_at=f"2026-10-0{1 + i % 3}T12:00:00Z")
        for i in range(9)
    ]
    build([str(write_ndjson(root / "a.ndjson", rows))], BuildOptions(index_dir=root / "i"), now=NOW)

    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise ZeroDivisionError("a bug")

    app = create_app(Settings(index_dir=root / "i"))
    app.register(boom)
    with TestClient(app) as c:
        yield c


NOTHING_TO_SEARCH = "q has nothing to search for: give words of letters or digits, or omit q"

OUT_OF_RANGE = [
    # the list
    ("/v1/hashtags/python?from=0001-01-01T00:00:00%2B01:00", "from"),
    ("/v1/hashtags/python?to=9999-12-31T23:59:59-01:00", "to"),
    ("/v1/hashtags/python/timeseries?interval=week&from=9999-12-20&to=9999-12-31", "to"),
    ("/v1/reports/index.csv?from=9999-12-31", "from"),
    ("/v1/reports/index.csv?limit=99999999999999999999", "limit"),
    ("/v1/posts?from=0001-01-01T00:00:00%2B01:00", "from"),
    ("/v1/trending?as_of=0001-01-01T00:00:00%2B01:00", "as_of"),
    # the same class of input elsewhere
    ("/v1/hashtags/python?from=0001-01-01", "from"),
    ("/v1/hashtags/python/related?min_support=9007199254740993", "min_support"),
    ("/v1/hashtags/python/timeseries?to=9999-12-31T12:00:00Z", "to"),
    ("/v1/posts?to=9999-12-31T23:59:59.999999Z", "to"),
    ("/v1/trending?as_of=9999-12-31", "as_of"),
    ("/v1/trending?as_of=0001-01-02", "as_of"),  # its baseline starts before year 1
    ("/v1/trending?window=99999w&baseline=99999w", "window"),
    ("/v1/trending?baseline=521w", "baseline"),
    ("/v1/trending?window=5241601m", "window"),  # 520w and a minute
]


@pytest.mark.parametrize(("url", "parameter"), OUT_OF_RANGE)
def test_out_of_range_is_a_400_naming_the_parameter(
    client: TestClient[Any], url: str, parameter: str
) -> None:
    r = client.get(url)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["parameter"] == parameter


def test_the_edges_of_the_ranges_answer(client: TestClient[Any]) -> None:
    def ok(url: str) -> Any:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text)
        return r.json() if r.headers["content-type"].startswith("application/json") else r.text

    assert ok("/v1/hashtags/python?from=0001-01-02&to=9999-12-30")["posts"] == 9
    # the last week bucket would end after 9999-12-31: it is still one bucket
    points = ok("/v1/hashtags/python/timeseries?interval=week&from=9999-12-20&to=9999-12-30")
    assert [p["t"] for p in points["points"]] == ["9999-12-20T00:00:00Z", "9999-12-27T00:00:00Z"]
    points = ok("/v1/hashtags/python/timeseries?interval=week&from=0001-01-02&to=0001-01-09")
    assert [p["t"] for p in points["points"]] == ["0001-01-01T00:00:00Z", "0001-01-08T00:00:00Z"]
    hours = ok(
        "/v1/hashtags/python/timeseries?interval=hour&from=9999-12-29T22:00:00Z&to=9999-12-30"
    )
    assert len(hours["points"]) == 2
    # the period before [from, to) would start before year 1: it starts there
    report = ok("/v1/reports/index.csv?from=0001-01-02&to=9999-12-30&limit=4294967295")
    assert report.splitlines()[1].startswith("1,python,python,9,9,0,100.0,0,")
    assert ok("/v1/reports/index.csv?from=9999-12-30").count("\n") == 1  # header only
    assert ok("/v1/trending?as_of=9999-12-30")["items"] == []
    assert ok("/v1/trending?as_of=0001-01-10&window=1d&baseline=7d")["items"] == []
    assert ok("/v1/trending?window=520w&baseline=520w")["items"][0]["authors"] == 9
    assert ok("/v1/hashtags/python/related?min_support=9007199254740992")["items"] == []
    assert ok("/v1/posts?from=0001-01-02&to=9999-12-30")["total"] == 9
    assert ok("/v1/posts?q=hello&from=9999-12-29T23:59:59.5Z")["total"] == 0


def test_openapi_declares_the_ranges(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]

    def param(path: str, name: str) -> dict[str, Any]:
        (found,) = [p for p in paths[path]["get"]["parameters"] if p["name"] == name]
        schema: dict[str, Any] = found["schema"]
        for branch in schema.get("oneOf", []):  # optional: [T, null]
            if branch.get("type") != "null":
                schema = {**schema, **branch}
        return {**schema, "description": found.get("description", "")}

    for path, name in [
        ("/v1/hashtags/{tag}", "from"),
        ("/v1/hashtags/{tag}", "to"),
        ("/v1/hashtags/{tag}/timeseries", "to"),
        ("/v1/posts", "from"),
        ("/v1/reports/index.csv", "to"),
        ("/v1/trending", "as_of"),
    ]:
        schema = param(path, name)
        assert schema["format"] == "date-time", (path, name)
        assert "0001-01-02T00:00:00Z to 9999-12-30T00:00:00Z" in schema["description"]
    assert param("/v1/reports/index.csv", "limit")["maximum"] == 2**32 - 1
    assert param("/v1/hashtags/{tag}/related", "min_support")["maximum"] == 2**53
    for path, most in [("/v1/hashtags", 1000), ("/v1/trending", 200), ("/v1/posts", 100)]:
        assert (param(path, "limit")["minimum"], param(path, "limit")["maximum"]) == (1, most)


@pytest.mark.parametrize(
    ("url", "message", "parameter"),
    [
        ("/v1/posts?q=%22", NOTHING_TO_SEARCH, "q"),
        ("/v1/posts?cursor=nonsense", "cursor is not a valid cursor", "cursor"),
        ("/v1/reports/index.csv?from=2026-10-02&to=2026-10-01", "from: must be before to", "from"),
        (
            "/v1/trending?window=0h",
            "window: expected a duration like 1h, 24h or 7d, got '0h'",
            "window",
        ),
    ],
)
def test_a_domain_error_is_a_400_in_the_error_shape(
    client: TestClient[Any], url: str, message: str, parameter: str
) -> None:
    """InvalidParameter, raised below the routes, answers exactly as ApiError(400) did."""
    r = client.get(url)
    assert (r.status_code, r.headers["content-type"]) == (400, "application/json")
    body = {"status": 400, "code": "bad_parameter", "message": message, "parameter": parameter}
    rid = r.headers["x-request-id"]
    assert r.content == msgspec.json.encode({"error": {**body, "request_id": rid}})


def test_an_unexpected_error_is_logged_with_its_request_id(
    client: TestClient[Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="hashtag_index.service"):
        r = client.get("/boom")
    assert r.status_code == 500
    error = r.json()["error"]
    rid = r.headers["x-request-id"]
    assert error["request_id"] == rid
    assert "ZeroDivisionError" not in r.text
    assert rid in error["message"]
    (record,) = [rec for rec in caplog.records if rid in rec.getMessage()]
    assert record.exc_info is not None
    assert record.exc_info[0] is ZeroDivisionError


def test_every_response_has_a_request_id(client: TestClient[Any]) -> None:
    ids = {client.get(u).headers["x-request-id"] for u in ("/healthz", "/nowhere", "/healthz")}
    assert len(ids) == 3
    r = client.get("/nowhere", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert r.json()["error"]["request_id"] == "abc-123"
    # a client's id that could forge log lines is replaced
    r = client.get("/healthz", headers={"X-Request-ID": "a b\x7f" + "x" * 100})
    assert r.headers["x-request-id"].isalnum()


@pytest.mark.parametrize(
    "value", ["", "2026-10-01T10:00Z", "20261001T101010Z", "2026-W40-1", "2026-10-01T10:00:00"]
)
def test_a_time_is_rfc3339_or_a_date_and_never_empty(client: TestClient[Any], value: str) -> None:
    r = client.get(f"/v1/posts?from={value}")
    assert r.status_code == 400
    assert r.json()["error"]["parameter"] == "from"
    good = "2026-10-01t12:00:00.1234567+02:00"  # any case, any fraction digits, an offset
    assert client.get(f"/v1/posts?from={good.replace('+', '%2B')}").json()["total"] == 9
