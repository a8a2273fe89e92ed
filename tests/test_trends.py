"""The trending score (service/trends.py) on real builds of planted data.

The planted generation spans 14 days ending at ``AS_OF`` and holds, besides
background noise, one tag for each behaviour the score must get right (see
:func:`planted_rows`). Figures are checked against a brute-force reference
written straight from docs/trending.md: polars ``n_unique`` per span, then
the formula in plain Python.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import polars as pl
import pytest

from indexer.build import BuildOptions, build
from service import coordination
from service.tables import Tables, load_tables
from service.trends import ResultCache, TrendItem, TrendParams, trending
from tests.conftest import NOW, ROOT, post, write_ndjson

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 14
START = AS_OF - timedelta(days=DAYS)
LAST_DAY = AS_OF - timedelta(days=1)
DAY = timedelta(days=1)

BURST = "aurora"  # nothing, then 300 authors in the last day, all on x, in English
SPAM_ONE = "freecoins"  # one account, 600 posts in the last day
SPAM_THREE = "buynow"  # three accounts, 400 posts each in the last day
STEADY = "goodmorning"  # 200 posts a day by 200 of 1,000 authors, every day
LOYAL = "dailystandup"  # the same 60 authors once a day, every day
CLIMBING = "climbing"  # 4 new authors a day, then 40 in the last day (Spanish)
TIES = ("tiea", "tieb")  # 12 authors each in the last day: same score, same authors
CROSSPOST = "crosspost"  # three handles, each on x and on bluesky, in the last day
NEVER = (SPAM_ONE, SPAM_THREE, STEADY, LOYAL)

PAIRS = [
    (timedelta(hours=24), timedelta(days=7)),
    (timedelta(hours=6), timedelta(hours=24)),
    (timedelta(hours=1), timedelta(hours=24)),
]


def planted_rows() -> list[dict[str, Any]]:
    """The planted posts; times are evenly spaced so that no window sees a lucky wobble."""
    rng = random.Random(7)
    rows: list[dict[str, Any]] = []

    def add(tag: str, at: datetime, author: str, platform: str = "x", lang: str = "en") -> None:
        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(
            post(
                len(rows),
                f"#{tag} now",
                created_at=stamp,
                author=author,
                platform=platform,
                lang=lang,
            )
        )

    platforms = ["x", "bluesky", "mastodon"]
    for k in range(300):
        add("Aurora", LAST_DAY + timedelta(seconds=288 * k), f"skywatcher{k}")
    for k in range(600):
        add("FreeCoins", LAST_DAY + timedelta(seconds=144 * k), "coin_bot")
    for k in range(1200):
        add("BuyNow", LAST_DAY + timedelta(seconds=72 * k), f"shop_bot{k % 3}")
    pool = [f"riser{k}" for k in range(1000)]
    for d in range(DAYS):
        day = START + d * DAY
        for k, author in enumerate(rng.sample(pool, 200)):
            add("GoodMorning", day + timedelta(seconds=432 * k), author, platforms[k % 3])
        for k in range(60):
            add("DailyStandup", day + timedelta(seconds=1440 * k + 100), f"standup{k}")
        if d < DAYS - 1:
            for k in range(4):
                add(
                    "Climbing",
                    day + timedelta(hours=6 * k, seconds=50),
                    f"climber{d}_{k}",
                    lang="es",
                )
    for k in range(40):
        add("Climbing", LAST_DAY + timedelta(seconds=2160 * k + 20), f"climber_new{k}", lang="es")
    for k in range(12):
        add("TieB", LAST_DAY + timedelta(seconds=7000 * k + 30), f"tie_b{k}", "bluesky")
        add("TieA", LAST_DAY + timedelta(seconds=7000 * k + 60), f"tie_a{k}", "mastodon")
    for k in range(3):
        for platform in ("x", "bluesky"):
            add("CrossPost", LAST_DAY + timedelta(hours=5 * k + 1), f"twin{k}", platform)
    for d in range(DAYS):
        for n in range(30):
            for _ in range(rng.randint(0, 8)):
                at = START + d * DAY + timedelta(seconds=rng.randrange(86400))
                author = f"person{rng.randrange(500)}"
                add(f"Noise{n}", at, author, rng.choice(platforms), rng.choice(["en", "es", "ja"]))
    return rows


@pytest.fixture(scope="module")
def planted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("planted")
    source = write_ndjson(root / "posts.ndjson", planted_rows())
    return build([str(source)], BuildOptions(index_dir=root / "index"), now=NOW).generation_dir


@pytest.fixture(scope="module")
def planted(planted_dir: Path) -> Tables:
    return load_tables(planted_dir)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Tables:
    index = tmp_path_factory.mktemp("sample") / "index"
    result = build([str(ROOT / "data" / "sample")], BuildOptions(index_dir=index), now=NOW)
    return load_tables(result.generation_dir)


def tags_of(items: list[TrendItem]) -> list[str]:
    return [item.tag for item in items]


# ----------------------------------------------------------------- the brute-force reference


def reference(
    tables: Tables,
    *,
    as_of: datetime,
    window: timedelta,
    baseline: timedelta,
    limit: int,
    platform: str | None = None,
    lang: str | None = None,
    params: TrendParams = TrendParams(),  # noqa: B008
    postings: pl.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """docs/trending.md, computed the slow way: from ``postings`` (tag, created_at,
    account, platform, lang; e.g. the generation's record exploded by tag) if given,
    else from the service's own timeline, decoded."""
    if postings is not None:
        rows = postings
    else:
        timeline = tables.window(None, None)
        rows = timeline.select(
            "created_at",
            "account",
            tag=tables.tags["tag"].gather(timeline["tag"]),
            platform=pl.Series(tables.platforms).gather(timeline["platform"]),
            lang=pl.Series(tables.langs).gather(timeline["lang"]),
        )
    first = rows["created_at"].min()
    everything = rows
    if platform is not None:
        rows = rows.filter(pl.col("platform") == platform)
    if lang is not None:
        rows = rows.filter(pl.col("lang") == lang)

    def counts(lo: datetime, hi: datetime) -> dict[str, tuple[int, int]]:
        span = rows.filter(pl.col("created_at") >= lo, pl.col("created_at") < hi)
        per_tag = span.group_by("tag").agg(posts=pl.len(), authors=pl.col("account").n_unique())
        return {tag: (p, a) for tag, p, a in per_tag.iter_rows()}

    start, base = as_of - window, as_of - window - baseline
    n = min(max(1, round(baseline / window)), params.max_slots)
    micros = baseline // timedelta(microseconds=1)
    bounds = [base + timedelta(microseconds=-(-micros * k // n)) for k in range(n + 1)]
    slot_sum: dict[str, int] = {}
    for lo, hi in itertools.pairwise(bounds):
        for tag, (_, a) in counts(lo, hi).items():
            slot_sum[tag] = slot_sum.get(tag, 0) + a
    assert isinstance(first, datetime)
    covered = min(baseline, start - first)
    scale = window / covered if covered > timedelta(0) else 0.0
    before = counts(base, start)
    seen = set(
        everything.filter(pl.col("created_at") >= base, pl.col("created_at") < start)["account"]
    )
    items = []
    for tag, (posts, authors) in counts(start, as_of).items():
        expected = round(params.prior + slot_sum.get(tag, 0) * scale, 3)
        growth = round(authors / expected, 3)
        if authors < params.min_authors or authors <= expected or growth < params.min_growth:
            continue
        row = tables.tag_row(tag)
        assert row is not None
        b_posts, b_authors = before.get(tag, (0, 0))
        items.append(
            {
                "tag": tag,
                "display": row["display"],
                "posts": posts,
                "authors": authors,
                "baseline_posts": b_posts,
                "baseline_authors": b_authors,
                "expected_authors": expected,
                "growth": growth,
                "score": round((authors - expected) ** 2 / expected, 3),
                **reference_signals(
                    rows.filter(
                        pl.col("tag") == tag,
                        pl.col("created_at") >= start,
                        pl.col("created_at") < as_of,
                    ),
                    seen,
                    params.flag_above,
                ),
            }
        )
    items.sort(key=lambda i: (-i["score"], -i["authors"], i["tag"]))
    return [{"rank": r, **i} for r, i in enumerate(items[:limit], 1)]


def reference_signals(rows: pl.DataFrame, seen: set[int], flag_above: float) -> dict[str, Any]:
    """The coordination signals of one tag's window postings, the slow way (docstring of
    service/coordination.py): ``seen`` are the accounts with a posting in the baseline."""
    per_author = sorted(Counter(rows["account"].to_list()).values(), reverse=True)
    posts, authors = sum(per_author), len(per_author)
    k = math.ceil(authors / 10)
    top = sum(per_author[:k])
    times = rows["created_at"].to_list()
    busiest = max(sum(1 for u in times if t - timedelta(minutes=5) < u <= t) for t in times)
    new = round(sum(1 for a in set(rows["account"]) if a not in seen) / authors, 3)
    burst = round(busiest / posts, 3)
    repeat = (posts - top - (authors - k)) / posts
    score = round(repeat + (1 - repeat) * new * burst, 3)
    found = {
        "posts_per_author": round(posts / authors, 3),
        "top_author_share": round(top / posts, 3),
        "new_author_share": new,
        "burstiness": burst,
        "coordination": score,
        "flagged": score > flag_above,
    }
    found["reasons"] = coordination.reasons(found) if found["flagged"] else []
    return found


def as_dicts(items: list[TrendItem]) -> list[dict[str, Any]]:
    return [msgspec.structs.asdict(item) for item in items]


# ----------------------------------------------------------------- behaviour


def test_the_burst_ranks_first_and_the_planted_order_holds(planted: Tables) -> None:
    items = trending(
        planted, as_of=AS_OF, window=timedelta(hours=24), baseline=timedelta(days=7), limit=20
    )
    assert tags_of(items)[:5] == [BURST, CLIMBING, *TIES, CROSSPOST]
    burst = items[0]
    assert (burst.rank, burst.display, burst.posts, burst.authors) == (1, "Aurora", 300, 300)
    assert (burst.baseline_posts, burst.baseline_authors, burst.expected_authors) == (0, 0, 2.0)
    assert (burst.growth, burst.score) == (150.0, 44402.0)
    # A handle on two platforms is two authors: six, where three accounts alone never list.
    assert (items[4].posts, items[4].authors) == (6, 6)


@pytest.mark.parametrize(("window", "baseline"), PAIRS)
@pytest.mark.parametrize("hours_back", [0, 3, 11, 17])
def test_spam_and_steady_tags_never_trend(
    planted: Tables, window: timedelta, baseline: timedelta, hours_back: int
) -> None:
    as_of = AS_OF - timedelta(hours=hours_back)
    items = trending(planted, as_of=as_of, window=window, baseline=baseline, limit=1000)
    assert set(tags_of(items)).isdisjoint(NEVER)


@pytest.mark.parametrize("days_in", [1, 2, 3, 5, 8])
def test_steady_tags_do_not_trend_while_history_is_short(planted: Tables, days_in: int) -> None:
    """Early on, the baseline reaches before the first post: that part is unknown, not zero."""
    as_of = START + timedelta(days=days_in, hours=1)
    items = trending(
        planted, as_of=as_of, window=timedelta(hours=24), baseline=timedelta(days=7), limit=1000
    )
    assert set(tags_of(items)).isdisjoint(NEVER)


def test_before_the_burst_it_does_not_trend(planted: Tables) -> None:
    for back in (timedelta(days=1), timedelta(days=1, minutes=-1) - timedelta(seconds=59)):
        items = trending(
            planted,
            as_of=AS_OF - back,
            window=timedelta(hours=24),
            baseline=timedelta(days=7),
            limit=1000,
        )
        assert BURST not in tags_of(items)


def test_platform_and_lang_narrow_window_and_baseline(planted: Tables) -> None:
    def top(platform: str | None = None, lang: str | None = None) -> list[str]:
        items = trending(
            planted,
            as_of=AS_OF,
            window=timedelta(hours=24),
            baseline=timedelta(days=7),
            limit=1000,
            platform=platform,
            lang=lang,
        )
        return tags_of(items)

    assert top(platform="x")[0] == BURST
    assert BURST not in top(platform="bluesky")
    assert top(platform="bluesky")[0] == "tieb"
    assert top(platform="mastodon")[0] == "tiea"
    assert top(lang="es")[0] == CLIMBING
    assert BURST not in top(lang="es")
    assert top(platform="x", lang="en")[0] == BURST
    assert top(platform="nowhere") == []
    assert top(lang="xx") == []
    # The cross-posted handles are three authors per platform: below min_authors.
    assert CROSSPOST not in top(platform="x")


LOOSE = TrendParams(min_authors=1, prior=0.25, min_growth=1.0, max_slots=5)
"""Lists nearly every rising tag (noise included), and caps the slots below round(b/w)."""
CASES = [
    {"as_of": AS_OF},
    {"as_of": AS_OF - timedelta(hours=5, minutes=17, seconds=3)},
    {"as_of": AS_OF, "platform": "x"},
    {"as_of": AS_OF, "platform": "bluesky"},
    {"as_of": AS_OF, "lang": "es"},
    {"as_of": AS_OF - timedelta(days=3, hours=2), "platform": "mastodon", "lang": "ja"},
    {"as_of": START + timedelta(days=2, hours=7)},
    {"as_of": LAST_DAY + timedelta(hours=2, minutes=13)},
    {"as_of": AS_OF, "params": TrendParams(min_authors=2, prior=0.5, min_growth=1.0)},
    {"as_of": AS_OF - timedelta(hours=7), "params": LOOSE},
    {"as_of": AS_OF - timedelta(days=4, hours=1), "lang": "en", "params": LOOSE},
    {"as_of": START + timedelta(hours=30), "platform": "x", "params": LOOSE},
]


@pytest.mark.parametrize(("window", "baseline"), [*PAIRS, (timedelta(hours=5), timedelta(days=3))])
@pytest.mark.parametrize("case", CASES)
def test_every_item_matches_the_brute_force_reference(
    planted: Tables, window: timedelta, baseline: timedelta, case: dict[str, Any]
) -> None:
    """Exact counts, the documented formula, the same tags in the same order."""
    got = trending(planted, window=window, baseline=baseline, limit=50, **case)
    want = reference(planted, window=window, baseline=baseline, limit=50, **case)
    assert as_dicts(got) == want
    for item in got:
        e = item.expected_authors
        assert item.score == pytest.approx((item.authors - e) ** 2 / e, abs=5e-4)
        assert item.growth == pytest.approx(item.authors / e, abs=5e-4)


def test_ties_are_broken_by_authors_then_tag_and_results_repeat(planted: Tables) -> None:
    def run() -> list[TrendItem]:
        return trending(
            planted, as_of=AS_OF, window=timedelta(hours=24), baseline=timedelta(days=7), limit=1000
        )

    items = run()
    assert items == run()
    assert [i.rank for i in items] == list(range(1, len(items) + 1))
    keys = [(-i.score, -i.authors, i.tag) for i in items]
    assert keys == sorted(keys)
    a, b = (next(i for i in items if i.tag == t) for t in TIES)
    assert (a.score, a.authors) == (b.score, b.authors)
    assert a.rank + 1 == b.rank


def test_limit_and_an_empty_window(planted: Tables) -> None:
    w, b = timedelta(hours=24), timedelta(days=7)
    assert tags_of(trending(planted, as_of=AS_OF, window=w, baseline=b, limit=2)) == [
        BURST,
        CLIMBING,
    ]
    assert trending(planted, as_of=START, window=w, baseline=b, limit=5) == []
    later = AS_OF + timedelta(days=30)
    assert trending(planted, as_of=later, window=w, baseline=b, limit=5) == []


def test_as_of_in_another_zone_is_the_same_instant(planted: Tables) -> None:
    w, b = timedelta(hours=6), timedelta(hours=24)
    plus2 = AS_OF.astimezone(datetime.fromisoformat("2026-01-01T00:00:00+02:00").tzinfo)
    assert trending(planted, as_of=plus2, window=w, baseline=b, limit=20) == trending(
        planted, as_of=AS_OF, window=w, baseline=b, limit=20
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"as_of": datetime(2026, 11, 1)}, "as_of"),  # noqa: DTZ001 -- the naive value under test
        ({"window": timedelta(0)}, "window"),
        ({"baseline": -timedelta(hours=1)}, "baseline"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_arguments_raise_naming_the_parameter(
    planted: Tables, kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {
        "as_of": AS_OF,
        "window": timedelta(hours=24),
        "baseline": timedelta(days=7),
        "limit": 10,
    }
    with pytest.raises(ValueError, match=message):
        trending(planted, **{**args, **kwargs})


@pytest.mark.parametrize(
    "kwargs", [{"min_authors": 0}, {"prior": 0.0}, {"min_growth": 0.9}, {"max_slots": 0}]
)
def test_bad_params_raise(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        TrendParams(**kwargs)


def test_an_empty_generation_trends_nothing(tmp_path: Path) -> None:
    source = write_ndjson(tmp_path / "empty.ndjson", [post(1, "no tags here")])
    result = build([str(source)], BuildOptions(index_dir=tmp_path / "index"), now=NOW)
    tables = load_tables(result.generation_dir)
    items = trending(
        tables, as_of=AS_OF, window=timedelta(hours=24), baseline=timedelta(days=7), limit=10
    )
    assert items == []


# ----------------------------------------------------------------- the bundled sample


def test_sample_northern_lights_trends_first_spam_and_steady_do_not(sample: Tables) -> None:
    items = trending(
        sample, as_of=AS_OF, window=timedelta(hours=24), baseline=timedelta(days=7), limit=20
    )
    tags = tags_of(items)
    assert tags[:2] == ["northernlights", "solarstorm"]
    assert (items[0].display, items[0].posts, items[0].authors) == ("NorthernLights", 250, 235)
    assert "freetokendrop" not in tags
    assert "goodmorning" not in tags
    before = trending(
        sample,
        as_of=AS_OF - timedelta(days=1),
        window=timedelta(hours=24),
        baseline=timedelta(days=7),
        limit=20,
    )
    assert "northernlights" not in tags_of(before)


def test_answers_are_cached_per_generation(planted: Tables, sample: Tables) -> None:
    ask = {"as_of": AS_OF, "window": DAY, "baseline": 7 * DAY, "limit": 5}
    first = trending(planted, **ask)
    assert trending(planted, **ask) is first  # the same question: computed once
    assert trending(planted, **{**ask, "limit": 4}) == first[:4]
    assert trending(sample, **ask) is not first  # another generation: its own answers


def test_a_trend_index_covered_by_a_larger_one_is_dropped(planted_dir: Path) -> None:
    """The heap holds one trend index per run of days a question needs; once a longer
    question builds one that covers a shorter one's days, the shorter one goes, and the
    shorter question is answered from the longer index, identically."""
    from service.trends import _of

    tables = load_tables(planted_dir)  # its own caches
    day, week = timedelta(hours=24), timedelta(days=7)
    short = trending(tables, as_of=AS_OF, window=day, baseline=timedelta(days=2), limit=20)
    assert len(_of(tables).ranges) == 1
    trending(tables, as_of=AS_OF, window=timedelta(days=3), baseline=week, limit=20)
    ((first, last),) = _of(tables).ranges
    assert (last - first).days >= 9  # the 10 days of 3d + 7d, which hold the 3 of 24h + 2d
    _of(tables).answers = ResultCache(8)  # ask again, not from the answer cache
    again = trending(tables, as_of=AS_OF, window=day, baseline=timedelta(days=2), limit=20)
    assert short
    assert again == short
    assert len(_of(tables).ranges) == 1
