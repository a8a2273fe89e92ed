"""platform and lang narrow every tag endpoint (detail, timeseries, related), exactly: each
answer is checked against the truth computed with plain polars from the planted posts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson

PLATFORMS = ("x", "bluesky", "mastodon")
LANGS = ("en", "de", "ja")
TAGS = ("python", "rust", "go", "data", "ai", "web")
START = datetime(2026, 10, 1, tzinfo=UTC)


def planted() -> list[dict[str, Any]]:
    """80 posts over 12 days: authors on several platforms, tags in every combination."""
    rng = random.Random(16)
    rows = []
    for i in range(80):
        tags = rng.sample(TAGS, rng.randint(1, 3))
        if i % 2 == 0 and "python" not in tags:
            tags.append("python")
        at = START + timedelta(days=rng.randint(0, 11), hours=rng.randint(0, 23))
        rows.append(
            post(
                i,
                " ".join(f"#{t}" for t in tags) + " words",
                author=f"a{rng.randint(0, 9)}",
                platform=rng.choice(PLATFORMS),
                lang=rng.choice(LANGS),
                created_at=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                likes=rng.randint(0, 5),
                replies=rng.randint(0, 2),
            )
        )
    return rows


def truth_frame() -> pl.DataFrame:
    rows = planted()
    return pl.DataFrame(
        {
            "post": [r["id"] for r in rows],
            "author": [r["author"] for r in rows],
            "platform": [r["platform"] for r in rows],
            "lang": [r["lang"] for r in rows],
            "created_at": [
                datetime.strptime(r["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
                for r in rows
            ],
            "engagement": [r["likes"] + r["replies"] for r in rows],
            "tags": [[w[1:] for w in r["text"].split() if w.startswith("#")] for r in rows],
        }
    )


TRUTH = truth_frame()


def _posts(platform: str | None, lang: str | None) -> pl.DataFrame:
    frame = TRUTH
    if platform is not None:
        frame = frame.filter(pl.col("platform") == platform)
    if lang is not None:
        frame = frame.filter(pl.col("lang") == lang)
    return frame


def _tagged(tag: str, platform: str | None, lang: str | None) -> pl.DataFrame:
    return _posts(platform, lang).filter(pl.col("tags").list.contains(tag))


def _time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    rows = frame.group_by(column).len().sort(["len", column], descending=[True, False])
    return dict(rows.iter_rows())


def true_detail(tag: str, platform: str | None, lang: str | None) -> dict[str, Any]:
    rows = _tagged(tag, platform, lang)
    return {
        "tag": tag,
        "display": tag,
        "posts": rows.height,
        "authors": rows.select(pl.struct("platform", "author").n_unique()).item(),
        "engagement": rows["engagement"].sum(),
        "first_seen": _time(rows["created_at"].min()),  # type: ignore[arg-type]
        "last_seen": _time(rows["created_at"].max()),  # type: ignore[arg-type]
        "platforms": _counts(rows, "platform"),
        "langs": _counts(rows, "lang"),
    }


def true_series(tag: str, interval: str, platform: str | None, lang: str | None) -> list[Any]:
    every = {"hour": "1h", "day": "1d", "week": "1w"}[interval]
    all_rows = _tagged(tag, None, None)
    first = all_rows["created_at"].min().replace(minute=0, second=0)  # type: ignore[union-attr]
    last = all_rows["created_at"].max()
    buckets = pl.datetime_range(
        pl.lit(first).dt.truncate(every), pl.lit(last), every, eager=True, time_zone="UTC"
    ).alias("t")
    per = (
        _tagged(tag, platform, lang)
        .group_by(t=pl.col("created_at").dt.truncate(every))
        .agg(
            posts=pl.len(),
            authors=pl.struct("platform", "author").n_unique(),
            engagement=pl.col("engagement").sum(),
        )
    )
    full = buckets.to_frame().join(per, on="t", how="left").fill_null(0).sort("t")
    return [
        {"t": _time(t), "posts": p, "authors": a, "engagement": e}
        for t, p, a, e in full.iter_rows()
    ]


def true_related(
    tag: str, min_support: int, platform: str | None, lang: str | None
) -> list[dict[str, Any]]:
    posts = _posts(platform, lang)
    n = posts.height
    per_tag = posts.explode("tags").group_by(other="tags").agg(posts_b=pl.len())
    posts_a = _tagged(tag, platform, lang).height
    co = (
        _tagged(tag, platform, lang)
        .explode("tags")
        .filter(pl.col("tags") != tag)
        .group_by(other="tags")
        .agg(co_posts=pl.len())
        .filter(pl.col("co_posts") >= min_support)
        .join(per_tag, on="other")
    )
    p_ab = pl.col("co_posts") / n
    pmi = (p_ab / ((posts_a / n) * (pl.col("posts_b") / n))).log()
    npmi = pl.when(p_ab >= 1).then(1.0).otherwise(pmi / -(p_ab.log()))
    scored = (
        co.with_columns(score=npmi.round(4))
        .filter(pl.col("score") > 0)
        .sort(["score", "co_posts", "other"], descending=[True, True, False])
    )
    return [
        {"tag": o, "display": o, "co_posts": c, "score": s}
        for o, c, s in scored.select("other", "co_posts", "score").iter_rows()
    ]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    root = tmp_path_factory.mktemp("filters")
    dump = write_ndjson(root / "posts.ndjson", planted())
    build([str(dump)], BuildOptions(index_dir=root / "i"), now=NOW)
    with TestClient(create_app(Settings(index_dir=root / "i"))) as c:
        yield c


FILTERS = [("x", None), (None, "de"), ("bluesky", "ja"), ("mastodon", "en")]


def _query(platform: str | None, lang: str | None) -> str:
    given = {"platform": platform, "lang": lang}
    return "&".join(f"{k}={v}" for k, v in given.items() if v is not None)


@pytest.mark.parametrize(("platform", "lang"), FILTERS)
def test_detail_is_exact_for_each_filter(
    client: TestClient[Any], platform: str | None, lang: str | None
) -> None:
    for tag in ("python", "rust"):
        r = client.get(f"/v1/hashtags/{tag}?{_query(platform, lang)}")
        assert r.json() == true_detail(tag, platform, lang)


def test_detail_filters_and_range_together(client: TestClient[Any]) -> None:
    r = client.get("/v1/hashtags/python?from=2026-10-03&to=2026-10-08&platform=X&lang=EN")
    rows = _tagged("python", "x", "en").filter(
        pl.col("created_at").is_between(
            START + timedelta(days=2), START + timedelta(days=7), "left"
        )
    )
    body = r.json()
    assert (body["posts"], body["engagement"]) == (rows.height, rows["engagement"].sum())
    assert body["platforms"] == {"x": rows.height}


@pytest.mark.parametrize(("platform", "lang"), FILTERS)
@pytest.mark.parametrize("interval", ["hour", "day", "week"])
def test_timeseries_is_exact_for_each_filter(
    client: TestClient[Any], interval: str, platform: str | None, lang: str | None
) -> None:
    r = client.get(f"/v1/hashtags/go/timeseries?interval={interval}&{_query(platform, lang)}")
    assert r.json()["points"] == true_series("go", interval, platform, lang)


@pytest.mark.parametrize(("platform", "lang"), FILTERS)
@pytest.mark.parametrize("min_support", [1, 2])
def test_related_is_exact_for_each_filter(
    client: TestClient[Any], min_support: int, platform: str | None, lang: str | None
) -> None:
    for tag in ("python", "data"):
        url = f"/v1/hashtags/{tag}/related?min_support={min_support}&{_query(platform, lang)}"
        items = client.get(url).json()["items"]
        assert items == true_related(tag, min_support, platform, lang)
        if tag == "python":  # the planted data has pairs to find
            assert items


def test_a_platform_without_posts_gives_zeros_and_an_unknown_one_a_400(
    client: TestClient[Any],
) -> None:
    body = client.get("/v1/hashtags/python?platform=reddit").json()
    assert (body["posts"], body["authors"], body["platforms"]) == (0, 0, {})
    assert client.get("/v1/hashtags/python?lang=fr").json()["posts"] == 0
    zeros = client.get("/v1/hashtags/python/timeseries?platform=reddit").json()["points"]
    assert zeros
    assert all(p["posts"] == 0 for p in zeros)
    assert client.get("/v1/hashtags/python/related?platform=reddit").json()["items"] == []
    for path in ("", "/timeseries", "/related"):
        r = client.get(f"/v1/hashtags/python{path}?platform=twitter")
        assert r.status_code == 400
        assert r.json()["error"]["parameter"] == "platform"
