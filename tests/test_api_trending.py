"""GET /v1/trending over the bundled sample, through HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, ROOT


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    index = tmp_path_factory.mktemp("trending") / "index"
    build([str(ROOT / "data" / "sample")], BuildOptions(index_dir=index), now=NOW)
    with TestClient(create_app(Settings(index_dir=index))) as c:
        yield c


def test_the_planted_burst_trends_first_and_spam_and_steady_do_not(
    client: TestClient[Any],
) -> None:
    r = client.get("/v1/trending?window=24h&baseline=7d&limit=50")
    assert r.status_code == 200
    body = r.json()
    # as_of defaults to just after the newest post (2026-10-31T23:59:22Z), not the clock.
    assert body["as_of"] == "2026-10-31T23:59:22.000001Z"
    assert (body["window"], body["baseline"]) == ("24h", "7d")
    tags = [i["tag"] for i in body["items"]]
    assert tags[:2] == ["northernlights", "solarstorm"]
    assert "freetokendrop" not in tags
    assert "goodmorning" not in tags
    top = body["items"][0]
    signals = ("posts_per_author", "top_author_share", "new_author_share", "burstiness")
    assert top["posts_per_author"] == round(250 / 235, 3)
    assert top["coordination"] < 0.1
    assert (top["flagged"], top["reasons"]) == (False, [])
    assert body["flagged"] == []
    base = {k: v for k, v in top.items() if k not in (*signals, "coordination", "flagged")}
    assert base | {"expected_authors": 0, "growth": 0, "score": 0, "reasons": None} == {
        "rank": 1,
        "tag": "northernlights",
        "display": "NorthernLights",
        "posts": 250,
        "authors": 235,
        "baseline_posts": 0,
        "baseline_authors": 0,
        "expected_authors": 0,
        "growth": 0,
        "score": 0,
        "reasons": None,
    }
    e = top["expected_authors"]
    assert top["score"] == pytest.approx((235 - e) ** 2 / e, rel=1e-3)
    assert top["growth"] == pytest.approx(235 / e, rel=1e-3)


def test_as_of_before_the_burst(client: TestClient[Any]) -> None:
    items = client.get("/v1/trending?as_of=2026-10-31T00:00:00Z").json()["items"]
    assert "northernlights" not in [i["tag"] for i in items]


def test_platform_narrows(client: TestClient[Any]) -> None:
    everywhere = client.get("/v1/trending?limit=1").json()["items"][0]
    on_x = client.get("/v1/trending?limit=1&platform=X").json()["items"][0]
    assert on_x["tag"] == "northernlights"
    assert on_x["posts"] < everywhere["posts"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("window=0h", "window"),
        ("window=1y", "window"),
        ("baseline=soon", "baseline"),
        ("as_of=2026-10-31", None),
        ("as_of=2026-10-31T00:00:00", "as_of"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
    ],
)
def test_bad_parameters(client: TestClient[Any], query: str, parameter: str | None) -> None:
    r = client.get(f"/v1/trending?{query}")
    if parameter is None:
        assert r.status_code == 200  # a date is its midnight UTC
        return
    assert r.status_code == 400
    assert r.json()["error"]["parameter"] == parameter
