"""Coordination signals of trending tags (service/coordination.py), on real builds.

The data: the synthetic generator's dump (``bench/gen.py``, two weeks, with its planted
burst and spam) plus the planted coordination cases of ``bench/rings.py``: two rings
(one of brand-new accounts, one of accounts with a history that also post ordinary
tags) and two organic bursts (200 accounts once each; 200 once each plus six fans
posting 40 times). The brute-force check of every signal's figure is in
tests/test_trends.py (``reference_signals``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from bench.gen import write_posts
from bench.rings import EVERYDAY, FLAGGED, ORGANIC, coordination_rows
from indexer.build import BuildOptions, build
from service.app import create_app
from service.settings import Settings
from service.tables import Tables, load_tables
from service.trends import TrendParams, ranking, trend_list
from tests.conftest import NOW, ROOT, write_ndjson

END = datetime(2026, 11, 1, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
SPANS = [(DAY, 7 * DAY), (6 * HOUR, DAY), (HOUR, DAY)]


@pytest.fixture(scope="module")
def planted_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("coordination")
    write_posts(root / "gen.ndjson", 20_000, seed=3, days=14, plant_trends=True, end=END)
    write_ndjson(root / "rings.ndjson", coordination_rows(END))
    index = root / "index"
    build([str(root / "gen.ndjson"), str(root / "rings.ndjson")], BuildOptions(index), now=NOW)
    return index


@pytest.fixture(scope="module")
def planted(planted_index: Path) -> Tables:
    return load_tables(planted_index / "current")


@pytest.fixture(scope="module")
def client(planted_index: Path) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(Settings(index_dir=planted_index, access_log=False))) as c:
        yield c


def test_planted_rings_are_flagged_and_organic_bursts_are_not(planted: Tables) -> None:
    found = trend_list(planted, as_of=END, window=DAY, baseline=7 * DAY, limit=50)
    assert sorted(i.tag for i in found.flagged) == sorted(FLAGGED)
    listed = [i.tag for i in found.items]
    for tag in (*ORGANIC, "northernlights", "solarstorm"):
        assert tag in listed
    assert not any(i.flagged or i.reasons for i in found.items)
    assert [i.rank for i in found.items] == list(range(1, len(found.items) + 1))
    # the rings trend by distinct authors: without the flag they would be listed
    everything = [i.tag for i in ranking(planted, as_of=END, window=DAY, baseline=7 * DAY)]
    assert set(FLAGGED) <= set(everything)


def test_the_flagged_items_carry_their_evidence(planted: Tables) -> None:
    found = trend_list(planted, as_of=END, window=DAY, baseline=7 * DAY, limit=50)
    by_tag = {i.tag: i for i in found.flagged}
    fresh, mixed = by_tag["moonpumpnow"], by_tag["votezed2026"]
    # 12 new accounts, 30 posts each; top 10% = 2 accounts = 60 of 360 posts
    assert (fresh.authors, fresh.posts, fresh.posts_per_author) == (12, 360, 30.0)
    assert (fresh.top_author_share, fresh.new_author_share) == (0.167, 1.0)
    assert fresh.coordination > 0.8
    assert fresh.reasons[0].startswith("posts_per_author 30:")
    assert any(r.startswith("new_author_share 1:") for r in fresh.reasons)
    # 10 accounts with a history: not new, but each posted it 33 times
    assert (mixed.authors, mixed.posts, mixed.new_author_share) == (10, 330, 0.0)
    assert mixed.coordination > 0.8
    assert [r.split(":")[0] for r in mixed.reasons] == ["posts_per_author 33"]
    # a flagged item keeps the rank it has in the whole ranking
    everything = ranking(planted, as_of=END, window=DAY, baseline=7 * DAY)
    assert {i.tag: i.rank for i in everything if i.flagged} == {
        t: i.rank for t, i in by_tag.items()
    }


def test_organic_bursts_score_low(planted: Tables) -> None:
    items = {i.tag: i for i in ranking(planted, as_of=END, window=DAY, baseline=7 * DAY)}
    crowd, fans = items["lunareclipse"], items["finalmatch"]
    assert (crowd.authors, crowd.posts_per_author) == (210, 1.0)  # 200 + the mixed ring's 10
    assert crowd.coordination < 0.1
    # 6 fans of 206 authors make 240 of 440 posts: concentrated, yet the crowd posts once
    assert (fans.authors, fans.posts) == (206, 440)
    assert fans.top_author_share > 0.5
    assert fans.coordination < 0.1


def test_ordinary_tags_the_mixed_ring_posts_are_never_flagged(planted: Tables) -> None:
    for window, baseline in SPANS:
        for hours in range(0, 48, 6):
            as_of = END - hours * HOUR
            for item in ranking(planted, as_of=as_of, window=window, baseline=baseline):
                assert item.tag in FLAGGED or not item.flagged, (item, as_of, window)
                assert item.tag not in EVERYDAY or not item.flagged


def test_no_false_positive_on_the_bundled_sample(tmp_path: Path) -> None:
    """The sample (data/sample) is organic: nothing is flagged at 3-hourly instants of its
    last week, for every window docs/trending.md lists."""
    built = build([str(ROOT / "data" / "sample")], BuildOptions(tmp_path / "i"), now=NOW)
    sample = load_tables(built.generation_dir)
    listed = 0
    for window, baseline in SPANS:
        for k in range(56):
            items = ranking(sample, as_of=END - 3 * k * HOUR, window=window, baseline=baseline)
            listed += len(items)
            assert [i.tag for i in items if i.flagged] == []
    assert listed > 100


def test_flag_above_is_the_threshold(planted: Tables) -> None:
    ask: dict[str, Any] = {"as_of": END, "window": DAY, "baseline": 7 * DAY, "limit": 50}
    lenient = trend_list(planted, **ask, params=TrendParams(flag_above=1.0))
    assert lenient.flagged == []
    strict = trend_list(planted, **ask, params=TrendParams(flag_above=0.0))
    assert {i.tag for i in strict.flagged} >= set(FLAGGED)
    assert all(i.coordination > 0 for i in strict.flagged)


def test_http_flagged_list_and_include_flagged(client: TestClient[Any]) -> None:
    body = client.get("/v1/trending?limit=50").json()
    assert sorted(i["tag"] for i in body["flagged"]) == sorted(FLAGGED)
    item = body["items"][0]
    for field in ("posts_per_author", "top_author_share", "new_author_share", "burstiness"):
        assert item[field] >= 0
    assert (item["flagged"], item["reasons"]) == (False, [])
    flagged = body["flagged"][0]
    assert flagged["flagged"] is True
    assert flagged["reasons"]

    both = client.get("/v1/trending?limit=50&include_flagged=true").json()
    assert both["flagged"] == []
    tags = [i["tag"] for i in both["items"]]
    assert set(FLAGGED) <= set(tags)
    assert [i["rank"] for i in both["items"]] == list(range(1, len(tags) + 1))
    assert {i["tag"] for i in both["items"] if i["flagged"]} == set(FLAGGED)

    none = client.get("/v1/trending?limit=50&flag_above=1").json()
    assert none["flagged"] == []


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("flag_above=1.5", "flag_above"),
        ("flag_above=-0.1", "flag_above"),
        ("flag_above=nan", "flag_above"),
        ("include_flagged=maybe", "include_flagged"),
        ("include_flagged=true&include_flagged=false", "include_flagged"),
    ],
)
def test_bad_flag_parameters(client: TestClient[Any], query: str, parameter: str) -> None:
    r = client.get(f"/v1/trending?{query}")
    assert r.status_code == 400
    assert r.json()["error"]["parameter"] == parameter


def test_the_trending_page_shows_flagged_tags_apart_with_reasons(client: TestClient[Any]) -> None:
    html = client.get("/").text
    listed = re.findall(r'<tr data-tag="([^"]+)">', html)
    flagged = re.findall(r'<tr data-flagged="([^"]+)">', html)
    assert sorted(flagged) == sorted(FLAGGED)
    assert not set(FLAGGED) & set(listed)
    assert "posts_per_author 30:" in html


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 8, 200])
def test_the_list_is_the_ranking_without_the_flagged_tags_above_its_last(
    planted: Tables, limit: int
) -> None:
    """Signals are computed for as many tags as the list needs; the answer is the whole
    ranking's, flagged tags taken out: those ranked above the last listed tag go apart."""
    ask: dict[str, Any] = {"as_of": END, "window": DAY, "baseline": 7 * DAY}
    everything = ranking(planted, **ask)
    kept = [i for i in everything if not i.flagged][:limit]
    last = kept[-1].rank if len(kept) == limit else len(everything)
    found = trend_list(planted, **ask, limit=limit)
    assert [(i.rank, i.tag) for i in found.items] == [(n, i.tag) for n, i in enumerate(kept, 1)]
    assert found.flagged == [i for i in everything if i.flagged and i.rank <= last][:limit]
    # the other items are the whole ranking's (same figures), renumbered
    assert [msgspec.structs.replace(i, rank=0) for i in found.items] == [
        msgspec.structs.replace(i, rank=0) for i in kept
    ]
