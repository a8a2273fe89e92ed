"""Answers do not change with the layout: every question the service answers from its
time splits is asked again of plain polars over the generation's posts, and must get
the same answer.

The generation spans ten UTC days and was made by a build and an update that adds a
day, gives old posts new copies on other days and deletes others, so it has rewritten,
linked and patched splits. The truth is the posts themselves (the generation's record,
which tests/test_update.py checks equals a full build's), exploded by tag; questions
cross day boundaries and start and end inside days.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from indexer import splits
from indexer.build import BuildOptions, build
from indexer.globals import read_posts
from indexer.schema import SPLIT_REMOVED, read_manifest
from indexer.update import update
from service import reports, tags
from service.tables import Tables, load_tables
from service.trends import TrendParams, trending
from tests.conftest import NOW, post, write_ndjson
from tests.test_trends import as_dicts, reference

START = datetime(2026, 10, 20, tzinfo=UTC)
TAGS = ["alpha", "beta", "gamma", "delta", "Epsilon", "zeta", "eta", "theta"]


def _rows(rng: random.Random, ids: range, days: int, start: datetime) -> list[dict[str, Any]]:
    rows = []
    for i in ids:
        at = start + timedelta(seconds=rng.randrange(days * 86400))
        # a few hot tags, more of them late (so something trends), a long tail
        weights = [8, 5, 4, 3, 2, 1, 1, 1] if at < START + timedelta(days=8) else [1] * 8
        chosen = {rng.choices(TAGS, weights)[0] for _ in range(rng.randint(0, 3))}
        if at > START + timedelta(days=8, hours=12) and rng.random() < 0.5:
            chosen.add("surge")
        rows.append(
            post(
                i,
                " ".join(f"#{t}" for t in sorted(chosen)) + f" post {i}",
                created_at=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                author=f"u{rng.randrange(60)}",
                platform=rng.choice(["x", "bluesky", "mastodon"]),
                lang=rng.choice(["en", "es", "ja"]),
                likes=rng.randrange(5),
            )
        )
    return rows


@pytest.fixture(scope="module")
def generation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("differential")
    rng = random.Random(11)
    first = _rows(rng, range(2400), 8, START)
    later = _rows(rng, range(2400, 3000), 2, START + timedelta(days=8))
    # new copies of 20 old posts, on the last day (their old days lose them)
    moved = [
        {**first[i], "created_at": "2026-10-29T12:00:00Z", "text": "#moved copy"}
        for i in range(0, 400, 20)
    ]
    a = write_ndjson(root / "a.ndjson", first)
    b = write_ndjson(root / "b.ndjson", later + moved)
    index = root / "index"
    with pytest.MonkeyPatch.context() as patch:  # records of many row groups: a patch
        patch.setattr(splits, "RECORD_GROUP_ROWS", 16)  # reads only the groups it needs
        build([str(a)], BuildOptions(index_dir=index), now=NOW)
        gen = update([str(b)], BuildOptions(index_dir=index), now=NOW).generation_dir
    assert any((gen / s.path / SPLIT_REMOVED.file).exists() for s in read_manifest(gen).splits)
    return gen


@pytest.fixture(scope="module")
def tables(generation: Path) -> Tables:
    return load_tables(generation)


@pytest.fixture(scope="module")
def truth(generation: Path) -> pl.DataFrame:
    """One row per (post, tag key): the record exploded."""
    posts = read_posts(generation)
    assert posts.height == 2400 + 600
    return (
        posts.select(
            "uid",
            pl.col("tags").alias("tag"),
            "created_at",
            "author",
            "platform",
            "lang",
            "engagement",
        )
        .explode("tag")
        .drop_nulls("tag")
        .with_columns(account=pl.concat_str("platform", "author", separator=":"))
    )


RANGES = [
    (None, None),
    (START + timedelta(hours=5), START + timedelta(days=3, hours=7)),
    (START + timedelta(days=2), START + timedelta(days=2, hours=1)),
    (START + timedelta(days=7, minutes=30), START + timedelta(days=12)),
    (START - timedelta(days=3), START + timedelta(days=1)),
]


def _within(rows: pl.DataFrame, start: datetime | None, end: datetime | None) -> pl.DataFrame:
    if start is not None:
        rows = rows.filter(pl.col("created_at") >= start)
    if end is not None:
        rows = rows.filter(pl.col("created_at") < end)
    return rows


def _counts(rows: pl.DataFrame, column: str) -> list[tuple[str, int]]:
    counted = rows.group_by(column).len().sort(["len", column], descending=[True, False])
    return [(str(k), int(v)) for k, v in counted.iter_rows()]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_tag_detail(tables: Tables, truth: pl.DataFrame, start: Any, end: Any) -> None:
    for tag in [*(t.lower() for t in TAGS), "surge", "moved"]:
        rows = _within(truth.filter(pl.col("tag") == tag), start, end)
        got = tags.detail(tables, tag, start, end)
        assert got is not None
        assert (got.posts, got.authors, got.engagement) == (
            rows.height,
            rows["account"].n_unique(),
            rows["engagement"].sum(),
        ), (tag, start, end)
        assert (got.first_seen, got.last_seen) == (
            (rows["created_at"].min(), rows["created_at"].max()) if rows.height else (None, None)
        )
        assert list(got.platforms.items()) == _counts(rows, "platform")
        assert list(got.langs.items()) == _counts(rows, "lang")


@pytest.mark.parametrize("interval", ["hour", "day", "week"])
@pytest.mark.parametrize(("start", "end"), RANGES[:4])
def test_timeseries(
    tables: Tables, truth: pl.DataFrame, interval: str, start: Any, end: Any
) -> None:
    every = {"hour": "1h", "day": "1d", "week": "1w"}[interval]
    for tag in ("alpha", "epsilon", "surge", "moved"):
        span = tags.series_range(tables, tag, interval, start, end)
        assert span is not None
        points = tags.timeseries(tables, tag, interval, span)
        rows = _within(truth.filter(pl.col("tag") == tag), span.start, span.end)
        per = rows.group_by(t=pl.col("created_at").dt.truncate(every)).agg(
            posts=pl.len(),
            authors=pl.col("account").n_unique(),
            engagement=pl.col("engagement").sum(),
        )
        expected = {t: (p, a, e) for t, p, a, e in per.iter_rows()}
        got = {p.t: (p.posts, p.authors, p.engagement) for p in points if p.posts}
        assert got == expected, (tag, interval, start, end)


@pytest.mark.parametrize(("start", "end"), [*RANGES[1:], (START, START + timedelta(days=11))])
def test_report(tables: Tables, truth: pl.DataFrame, start: datetime, end: datetime) -> None:
    frame = reports.report_frame(tables, start, end)
    rows = _within(truth, start, end)
    before = _within(truth, start - (end - start), start).group_by("tag").agg(prev=pl.len())
    per = (
        rows.group_by("tag")
        .agg(
            posts=pl.len(),
            authors=pl.col("account").n_unique(),
            engagement=pl.col("engagement").sum(),
            first_seen=pl.col("created_at").min(),
            last_seen=pl.col("created_at").max(),
        )
        .join(before, on="tag", how="left")
        .with_columns(pl.col("prev").fill_null(0))
        .sort(["posts", "authors", "tag"], descending=[True, True, False])
    )
    got = frame.select(
        "tag", "posts", "authors", "engagement", "first_seen", "last_seen", prev="prev_posts"
    )
    assert got.equals(per.select(got.columns)), (start, end)
    all_posts = read_posts_between(tables, start, end)
    assert tables.posts_between(start, end) == all_posts


def read_posts_between(tables: Tables, start: datetime, end: datetime) -> int:
    """Posts (tagged or not) in the period, counted from each split's live rows the slow way."""
    total = 0
    for split in tables.splits:
        live = split.live(split.posts)
        total += live.filter((pl.col("created_at") >= start) & (pl.col("created_at") < end)).height
    return total


def test_related(tables: Tables, truth: pl.DataFrame) -> None:
    assert truth["uid"].n_unique() > 1000
    n = tables.total_posts
    for tag in ("alpha", "beta", "surge"):
        got = tags.related(tables, tag, limit=50, min_support=1)
        assert got
        for item in got:
            both = truth.filter(pl.col("tag").is_in([tag, item.tag]))
            co = both.group_by("uid").agg(n=pl.col("tag").n_unique())
            assert item.co_posts == co.filter(pl.col("n") == 2).height, (tag, item.tag)
        assert n == read_posts_between(
            tables, START - timedelta(days=1), START + timedelta(days=20)
        )


@pytest.mark.parametrize("hours_back", [0, 5, 13, 30, 50])
@pytest.mark.parametrize(
    ("window", "baseline"),
    [(timedelta(hours=24), timedelta(days=7)), (timedelta(hours=6), timedelta(hours=48))],
)
def test_trending(
    tables: Tables, truth: pl.DataFrame, hours_back: int, window: timedelta, baseline: timedelta
) -> None:
    as_of = START + timedelta(days=10) - timedelta(hours=hours_back, minutes=7)
    params = TrendParams(min_authors=3)
    ask = {"as_of": as_of, "window": window, "baseline": baseline, "limit": 20, "params": params}
    expected = reference(tables, **ask, postings=truth)
    assert as_dicts(trending(tables, **ask)) == expected
    if hours_back <= 13 and window == timedelta(hours=24):
        assert expected  # the question is not vacuous
        assert expected[0]["tag"] == "surge"
    for platform, lang in (("x", None), (None, "ja")):
        narrowed = {**ask, "platform": platform, "lang": lang}
        assert as_dicts(trending(tables, **narrowed)) == reference(
            tables, **narrowed, postings=truth
        )
