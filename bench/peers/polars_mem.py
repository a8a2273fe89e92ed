"""Peer: plain polars in memory, no index (issue 6), for the aggregate queries only.

What an analyst would do in a notebook instead of running our service: read the
dump into one polars DataFrame of postings and answer each question with plain
polars expressions over it, scanning the frame every time (no index, no
pre-sorted slices, no rollups). Search is not asked of this peer.

Both sides are measured **in process** (no HTTP): ours loads its generation the
way the service does (:func:`service.generation.load_generation`: the tables
plus the trend index) and calls the functions ``service/routes.py`` calls
(``trends.trending``, ``tags.detail``, ``tags.series_range`` + ``tags.timeseries``,
``tags.autocomplete``, ``reports.prepare`` + ``reports.csv_chunks``).

The frame (:func:`read_postings`): one row per (post, tag key) with ``tag,
display, created_at, platform, author, engagement, lang, uid``, from
:func:`bench.peers.common.iter_canonical` (our validated rows and tag keys),
deduplicated by ``uid`` keeping the highest ``_seq``. A post without a tag
keeps one row whose ``tag`` is null, so that post totals (the report's
``share_pct`` and default period, the trending "before the data starts" rule)
are exact; every per-tag question ignores those rows.

Load figures (:func:`load`): the load runs in a **child process** that reads
the dump, builds the frame and writes it to a Parquet file; its seconds are
timed inside the child around the load alone, its peak RSS is the child's
``ru_maxrss`` (``os.wait4``), i.e. the whole notebook process: interpreter,
polars, the frame. The parent then reads that file back to query it.

What is timed per call: the answer in the canonical form of
:mod:`bench.peers.common` (Python objects) for trending, detail, timeseries and
autocomplete; for the report, the whole CSV file as bytes (ours: exactly the
bytes ``GET /v1/reports/index.csv`` streams; polars: the same columns with
``write_csv``). Trending ``as_of`` differs on every call, so our per-generation
answer cache never hits.

Usage::

    uv run python -m bench.peers.polars_mem --dump D --index I [--check] [--seconds S]

``--check`` only checks that both sides give the same answers; without it the
check runs first and then the timings, printed as a markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from bench.peers.common import iter_canonical, run_measured

NAME = "plain polars in memory (no index)"
KINDS = ("trending", "detail", "timeseries", "autocomplete", "report")
ROOT = Path(__file__).resolve().parents[2]

# The question's fixed parameters (bench/peers/common.py) and our trending defaults
# (service/trends.py TrendParams, docs/trending.md), restated here on purpose: the
# check compares two independent computations.
WINDOW = timedelta(hours=24)
BASELINE = timedelta(days=7)
TREND_LIMIT = 20
AUTOCOMPLETE_LIMIT = 10
PRIOR = 2.0
MIN_AUTHORS = 5
MIN_GROWTH = 1.5
MAX_SLOTS = 168
ROUND_DIGITS = 3
UNKNOWN = "und"
"""The name of a missing platform or language in per-tag counts."""

REPORT_COLUMNS = (
    "rank",
    "tag",
    "display",
    "posts",
    "authors",
    "engagement",
    "share_pct",
    "prev_posts",
    "change_pct",
    "first_seen",
    "last_seen",
)
CSV_TIME = "%Y-%m-%dT%H:%M:%SZ"
BOM = "\ufeff".encode()
MICRO = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Params = dict[str, Any]


# --------------------------------------------------------------------------- the frame


def read_postings(dump: Path) -> pl.DataFrame:
    """The dump as one postings frame (see the module docstring), in memory."""
    keep = ("uid", "created_at", "platform", "author", "lang", "engagement", "_seq")
    with tempfile.TemporaryDirectory(prefix="polars-mem-") as scratch:
        batches = [
            b.select(*keep, tag="tags", display="written")
            for b in iter_canonical(dump, Path(scratch))
        ]
    posts = pl.concat(batches, rechunk=True)
    posts = posts.filter(pl.col("_seq") == pl.col("_seq").max().over("uid")).drop("_seq")
    return posts.explode("tag", "display", empty_as_null=True).select(
        "tag", "display", "created_at", "platform", "author", "engagement", "lang", "uid"
    )


def load(dump: Path) -> tuple[pl.DataFrame, float, int]:
    """The postings frame, the load's seconds and its peak RSS in bytes (child process)."""
    with tempfile.TemporaryDirectory(prefix="polars-mem-") as tmp:
        out = Path(tmp) / "postings.parquet"
        cmd = [sys.executable, "-m", "bench.peers.polars_mem", "--load-child", str(dump), str(out)]
        _, peak = run_measured(cmd, cwd=ROOT)
        seconds = float(json.loads(out.with_suffix(".json").read_text())["seconds"])
        frame = pl.read_parquet(out)  # decoded into memory, not mapped
    return frame, seconds, peak


def _load_child(dump: Path, out: Path) -> None:
    started = time.perf_counter()
    frame = read_postings(dump)
    seconds = time.perf_counter() - started
    frame.write_parquet(out, compression="lz4")
    out.with_suffix(".json").write_text(json.dumps({"seconds": seconds, "rows": frame.height}))


# --------------------------------------------------------------------------- polars answers


def _authors() -> pl.Expr:
    """Distinct authors: an author is a (platform, author) pair."""
    return pl.struct("platform", "author").n_unique()


def _tagged(frame: pl.DataFrame) -> pl.LazyFrame:
    return frame.lazy().filter(pl.col("tag").is_not_null())


def _stamp(t: datetime) -> str:
    """RFC 3339 ``Z`` as our JSON encodes a UTC time (fraction only when there is one)."""
    t = t.astimezone(UTC)
    if t.microsecond:
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def polars_trending(frame: pl.DataFrame, as_of: datetime) -> list[tuple[Any, ...]]:
    """docs/trending.md, 24h window over a 7d baseline, default parameters."""
    w, b = WINDOW // MICRO, BASELINE // MICRO
    n = min(max(1, round(b / w)), MAX_SLOTS)
    end = (as_of - EPOCH) // MICRO
    mid = end - w
    base = mid - b
    # Before the data starts the baseline is unknown, not zero: scale by the known part.
    # "The data starts" is taken as ours takes it (service/trends.py ``_spans``): at the
    # first *posting* (first post with a tag); docs/trending.md says the first post.
    first = frame.lazy().filter(pl.col("tag").is_not_null()).select(pl.col("created_at").min())
    first = first.collect().item()
    assert isinstance(first, datetime)
    covered = min(b, base + b - (first - EPOCH) // MICRO)
    scale = w / covered if covered > 0 else 0.0

    micros = pl.col("created_at").dt.epoch("us")
    observed = (
        _tagged(frame)
        .filter(micros >= mid, micros < end)
        .group_by("tag")
        .agg(posts=pl.len(), authors=_authors())
        .filter(pl.col("authors") >= MIN_AUTHORS)
        .collect()
    )
    if observed.is_empty():
        return []
    baseline = (
        frame.lazy()
        .filter(micros >= base, micros < mid, pl.col("tag").is_in(observed["tag"].implode()))
        .with_columns(slot=(micros - base) * n // b)
    )
    totals = baseline.group_by("tag").agg(baseline_posts=pl.len(), baseline_authors=_authors())
    slots = (
        baseline.group_by("tag", "slot")
        .agg(slot_authors=_authors())
        .group_by("tag")
        .agg(pl.col("slot_authors").sum())
    )
    authors = pl.col("authors").cast(pl.Float64())
    expected = pl.col("expected_authors")
    ranked = (
        observed.lazy()
        .join(totals, on="tag", how="left")
        .join(slots, on="tag", how="left")
        .fill_null(0)
        .with_columns(expected_authors=(pl.col("slot_authors") * scale + PRIOR).round(ROUND_DIGITS))
        .with_columns(
            growth=(authors / expected).round(ROUND_DIGITS),
            score=((authors - expected) ** 2 / expected).round(ROUND_DIGITS),
        )
        .filter(authors > expected, pl.col("growth") >= MIN_GROWTH)
        .sort(["score", "authors", "tag"], descending=[True, True, False])
        .head(TREND_LIMIT)
        .select(
            "tag",
            "posts",
            "authors",
            "baseline_posts",
            "baseline_authors",
            "expected_authors",
            "score",
        )
        .collect()
    )
    return [
        (t, int(p), int(a), int(bp), int(ba), float(e), float(s))
        for t, p, a, bp, ba, e, s in ranked.iter_rows()
    ]


def _named_counts(rows: pl.DataFrame, column: str) -> dict[str, int]:
    counts = (
        rows.group_by(name=pl.col(column).fill_null(UNKNOWN))
        .len()
        .sort(["len", "name"], descending=[True, False])
    )
    return {str(k): int(v) for k, v in counts.iter_rows()}


def polars_detail(frame: pl.DataFrame, tag: str) -> dict[str, Any] | None:
    rows = frame.filter(pl.col("tag") == tag)
    if rows.is_empty():
        return None
    posts, authors, engagement, first, last = rows.select(
        posts=pl.len(),
        authors=_authors(),
        engagement=pl.col("engagement").sum(),
        first=pl.col("created_at").min(),
        last=pl.col("created_at").max(),
    ).row(0)
    return {
        "posts": int(posts),
        "authors": int(authors),
        "engagement": int(engagement),
        "first_seen": _stamp(first),
        "last_seen": _stamp(last),
        "platforms": _named_counts(rows, "platform"),
        "langs": _named_counts(rows, "lang"),
    }


def polars_timeseries(frame: pl.DataFrame, tag: str) -> list[tuple[Any, ...]]:
    """Posts, authors, engagement per UTC day from the tag's first day to its last, zeros
    for days without a post."""
    per_day = (
        frame.lazy()
        .filter(pl.col("tag") == tag)
        .group_by(t=pl.col("created_at").dt.truncate("1d"))
        .agg(posts=pl.len(), authors=_authors(), engagement=pl.col("engagement").sum())
        .collect()
    )
    if per_day.is_empty():
        return []
    days = pl.datetime_range(
        per_day["t"].min(), per_day["t"].max(), "1d", time_unit="us", time_zone="UTC", eager=True
    )
    filled = (
        days.alias("t")
        .to_frame()
        .join(per_day, on="t", how="left")
        .fill_null(0)
        .with_columns(pl.col("t").dt.strftime(CSV_TIME))
    )
    return [(t, int(p), int(a), int(e)) for t, p, a, e in filled.iter_rows()]


def polars_autocomplete(frame: pl.DataFrame, prefix: str) -> list[tuple[Any, ...]]:
    rows = (
        frame.lazy()
        .filter(pl.col("tag").str.starts_with(prefix))
        .group_by("tag")
        .agg(posts=pl.len(), authors=_authors())
        .sort(["posts", "tag"], descending=[True, False])
        .head(AUTOCOMPLETE_LIMIT)
        .collect()
    )
    return [(t, int(p), int(a)) for t, p, a in rows.iter_rows()]


def polars_report_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The Hashtag Index report over every whole UTC day of the data (README): one row per
    tag, ranked by posts, then authors, then tag."""
    first, last = frame.select(
        first=pl.col("created_at").min(), last=pl.col("created_at").max()
    ).row(0)
    start = first.replace(hour=0, minute=0, second=0, microsecond=0)
    end = last.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    previous = start - (end - start)
    t = pl.col("created_at")
    lazy = frame.lazy()
    period = lazy.filter(t >= start, t < end)
    total = period.select(pl.col("uid").n_unique()).collect().item()
    prev = (
        lazy.filter(t >= previous, t < start, pl.col("tag").is_not_null())
        .group_by("tag")
        .agg(prev_posts=pl.len().cast(pl.Int64()))
    )
    tagged = _tagged(frame)
    display = (
        tagged.group_by("tag", "display")
        .agg(n=pl.len())
        .sort(["tag", "n", "display"], descending=[False, True, False])
        .group_by("tag", maintain_order=True)
        .agg(pl.col("display").first())
    )
    in_period = period.filter(pl.col("tag").is_not_null())
    per_tag = in_period.group_by("tag").agg(
        posts=pl.len().cast(pl.Int64()),
        engagement=pl.col("engagement").sum(),
        first_seen=t.min(),
        last_seen=t.max(),
    )
    # Over every tag at once, distinct rows then a count is about 2x faster than
    # n_unique of a struct per group (measured at 1M posts).
    authors = (
        in_period.select("tag", "platform", "author")
        .unique()
        .group_by("tag")
        .agg(authors=pl.len().cast(pl.Int64()))
    )
    return (
        per_tag.join(authors, on="tag")
        .join(display, on="tag", how="left")
        .join(prev, on="tag", how="left")
        .with_columns(pl.col("prev_posts").fill_null(0))
        .sort(["posts", "authors", "tag"], descending=[True, True, False])
        .with_columns(
            rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64()),
            share_pct=(pl.col("posts") * 100 / max(total, 1)).round(4),
            change_pct=pl.when(pl.col("prev_posts") > 0)
            .then(((pl.col("posts") - pl.col("prev_posts")) * 100 / pl.col("prev_posts")).round(2))
            .otherwise(None),
        )
        .select(REPORT_COLUMNS)
        .collect()
    )


def polars_report_csv(frame: pl.DataFrame) -> bytes:
    return BOM + polars_report_frame(frame).write_csv(datetime_format=CSV_TIME).encode()


def report_rows(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    """The canonical report rows of a typed report frame (times as the CSV writes them)."""
    cols = frame.select(
        "tag",
        "posts",
        "authors",
        "engagement",
        pl.col("first_seen").dt.strftime(CSV_TIME),
        pl.col("last_seen").dt.strftime(CSV_TIME),
    )
    return [(t, int(p), int(a), int(e), f, la) for t, p, a, e, f, la in cols.iter_rows()]


@dataclass
class PolarsSide:
    frame: pl.DataFrame

    def answer(self, kind: str, params: Params) -> Any:
        if kind == "trending":
            return polars_trending(self.frame, params["as_of"])
        if kind == "detail":
            return polars_detail(self.frame, params["tag"])
        if kind == "timeseries":
            return polars_timeseries(self.frame, params["tag"])
        if kind == "autocomplete":
            return polars_autocomplete(self.frame, params["prefix"])
        if kind == "report":
            return report_rows(polars_report_frame(self.frame))
        raise ValueError(kind)

    def timed(self, kind: str, params: Params) -> Any:
        """What one timed call computes (the report: the CSV file's bytes)."""
        if kind == "report":
            return polars_report_csv(self.frame)
        return self.answer(kind, params)


# --------------------------------------------------------------------------- our answers


@dataclass
class OurSide:
    """Our engine in process: the generation loaded as the service loads it."""

    generation: Any
    """A :class:`service.generation.Generation`."""

    @classmethod
    def load(cls, index: Path) -> tuple[OurSide, float]:
        # Imported here so that the polars loader's child process stays lean.
        from indexer.schema import current_generation_dir
        from service.generation import load_generation

        path = current_generation_dir(index)
        if path is None:
            raise SystemExit(f"{index}: no published generation")
        started = time.perf_counter()
        generation = load_generation(path)
        return cls(generation), time.perf_counter() - started

    def answer(self, kind: str, params: Params) -> Any:
        from indexer.schema import tag_key
        from service import reports, tags, trends

        tables = self.generation.tables
        if kind == "trending":
            items = trends.trending(
                tables, as_of=params["as_of"], window=WINDOW, baseline=BASELINE, limit=TREND_LIMIT
            )
            return [
                (
                    i.tag,
                    i.posts,
                    i.authors,
                    i.baseline_posts,
                    i.baseline_authors,
                    i.expected_authors,
                    i.score,
                )
                for i in items
            ]
        if kind == "detail":
            d = tags.detail(tables, tag_key(params["tag"]), None, None)
            if d is None:
                return None
            return {
                "posts": d.posts,
                "authors": d.authors,
                "engagement": d.engagement,
                "first_seen": _stamp(d.first_seen),
                "last_seen": _stamp(d.last_seen),
                "platforms": d.platforms,
                "langs": d.langs,
            }
        if kind == "timeseries":
            key = tag_key(params["tag"])
            span = tags.series_range(tables, key, "day", None, None)
            if span is None:
                return []
            return [
                (_stamp(p.t), p.posts, p.authors, p.engagement)
                for p in tags.timeseries(tables, key, "day", span)
            ]
        if kind == "autocomplete":
            found = tags.autocomplete(tables, tag_key(params["prefix"]), AUTOCOMPLETE_LIMIT)
            return [(s.tag, s.posts, s.authors) for s in found]
        if kind == "report":
            frame, _ = reports.prepare(tables, from_=None, to=None)
            return report_rows(frame)
        raise ValueError(kind)

    def timed(self, kind: str, params: Params) -> Any:
        if kind == "report":
            return self.report_csv()
        return self.answer(kind, params)

    def report_csv(self) -> bytes:
        """Exactly the bytes ``GET /v1/reports/index.csv`` streams."""
        from service import reports

        frame, _ = reports.prepare(self.generation.tables, from_=None, to=None)
        return b"".join(reports.csv_chunks(frame))


# --------------------------------------------------------------------------- workload


@dataclass(frozen=True)
class Plan:
    """Parameters of each kind: ``check`` (compared) and ``measure`` (timed, cycled)."""

    check: dict[str, list[Params]]
    measure: dict[str, Callable[[int], Params]]


def plan(frame: pl.DataFrame) -> Plan:
    """Anchors in the last 3 days of the data (and one in its first week, where the
    baseline starts before the data), tags of varied popularity, 2-letter prefixes."""
    first, last = frame.select(
        first=pl.col("created_at").min(), last=pl.col("created_at").max()
    ).row(0)
    ranked = (
        _tagged(frame)
        .group_by("tag")
        .agg(posts=pl.len())
        .sort(["posts", "tag"], descending=[True, False])
        .collect()["tag"]
        .to_list()
    )
    return plan_for(first, last, ranked)


def plan_for(first: datetime, last: datetime, ranked: list[str]) -> Plan:
    """:func:`plan` from the first and last post's times and the tags ranked by posts
    (most first, then by tag)."""
    now = last + MICRO  # what the API's default as_of is
    anchors = [now, now - timedelta(hours=17), now - timedelta(hours=41, minutes=30)]
    # one anchor early in the data (its baseline starts before the data): day 4, or
    # the middle of a shorter dump (a 3-day dump's day 4 is after its end: nothing trends)
    early = min(first + timedelta(days=4), first + (now - first) / 2)
    anchors += [now - timedelta(hours=66, minutes=7, seconds=3), early]
    if not ranked:
        raise SystemExit("the dump has no tags")

    def spread(k: int) -> list[str]:
        """``k`` tags from the most used to the least, log-spaced by rank."""
        ranks = {
            round(math.expm1(i * math.log1p(len(ranked) - 1) / max(1, k - 1))) for i in range(k)
        }
        return [ranked[r] for r in sorted(ranks)]

    check_tags = spread(10)
    prefixes = sorted({t[:2] for t in ranked if len(t) >= 2})
    step = max(1, len(prefixes) // 10)
    check_prefixes = [*prefixes[::step][:10], ranked[0][:2]]
    measure_tags = spread(60)
    measure_prefixes = prefixes[:: max(1, len(prefixes) // 60)]

    def measure_as_of(i: int) -> Params:
        # A distinct as_of every call, -1 included (our answer cache never hits), across
        # the last 3 days.
        return {"as_of": now - timedelta(minutes=(i * 37) % (3 * 24 * 60), seconds=11 + i // 117)}

    return Plan(
        check={
            "trending": [{"as_of": a} for a in anchors],
            "detail": [{"tag": t} for t in check_tags],
            "timeseries": [{"tag": t} for t in check_tags],
            "autocomplete": [{"prefix": p} for p in check_prefixes],
            "report": [{}],
        },
        measure={
            "trending": measure_as_of,
            "detail": lambda i: {"tag": measure_tags[i % len(measure_tags)]},
            "timeseries": lambda i: {"tag": measure_tags[i % len(measure_tags)]},
            "autocomplete": lambda i: {"prefix": measure_prefixes[i % len(measure_prefixes)]},
            "report": lambda i: {},
        },
    )


# --------------------------------------------------------------------------- check and measure


def _first_difference(a: Any, b: Any) -> str:
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return f"item {i}: ours {x!r} != polars {y!r}"
        return f"lengths: ours {len(a)} != polars {len(b)}"
    return f"ours {a!r} != polars {b!r}"


def check(ours: OurSide, peer: PolarsSide, p: Plan) -> int:
    """Assert both sides give the same answers on the check workload; the number compared.

    The report is also compared as whole CSV files (every column, byte for byte)."""
    compared = 0
    for kind in KINDS:
        for params in p.check[kind]:
            mine, theirs = ours.answer(kind, params), peer.answer(kind, params)
            assert mine == theirs, f"{kind} {params}: {_first_difference(mine, theirs)}"
            assert kind == "report" or mine, f"{kind} {params}: empty answer, a weak check"
            compared += 1
    mine_csv, theirs_csv = ours.report_csv(), polars_report_csv(peer.frame)
    assert mine_csv == theirs_csv, "report CSV: " + _first_difference(
        mine_csv.decode().splitlines(), theirs_csv.decode().splitlines()
    )
    return compared


def _percentile(sorted_ms: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    k = max(0, min(len(sorted_ms) - 1, math.ceil(p / 100 * len(sorted_ms)) - 1))
    return sorted_ms[k]


@dataclass(frozen=True)
class Timing:
    calls: int
    p50_ms: float
    p99_ms: float
    per_s: float


def time_calls(call: Callable[[int], Any], seconds: float, min_calls: int = 3) -> Timing:
    """Call ``call(0)``, ``call(1)``, ... until ``seconds`` have passed (at least
    ``min_calls`` times), after one warm-up call."""
    call(-1)
    ms: list[float] = []
    spent = 0.0
    i = 0
    while spent < seconds or i < min_calls:
        started = time.perf_counter()
        call(i)
        took = time.perf_counter() - started
        spent += took
        ms.append(took * 1000)
        i += 1
    ms.sort()
    return Timing(len(ms), _percentile(ms, 50), _percentile(ms, 99), len(ms) / spent)


def measure(ours: OurSide, peer: PolarsSide, p: Plan, seconds: float) -> list[dict[str, Any]]:
    """Per kind, ``seconds`` of calls on each side; p50/p99 ms, calls/s, polars/ours ratios."""
    rows: list[dict[str, Any]] = []
    for kind in KINDS:
        params = p.measure[kind]  # call -1 (the warm-up) gets parameters of its own
        a = time_calls(lambda i, k=kind, f=params: ours.timed(k, f(i)), seconds)
        b = time_calls(lambda i, k=kind, f=params: peer.timed(k, f(i)), seconds)
        rows.append(
            {
                "kind": kind,
                "ours_calls": a.calls,
                "ours_p50_ms": a.p50_ms,
                "ours_p99_ms": a.p99_ms,
                "ours_per_s": a.per_s,
                "polars_calls": b.calls,
                "polars_p50_ms": b.p50_ms,
                "polars_p99_ms": b.p99_ms,
                "polars_per_s": b.per_s,
                "ratio_p50": b.p50_ms / a.p50_ms,
                "ratio_p99": b.p99_ms / a.p99_ms,
            }
        )
    return rows


def _load_both(dump: Path, index: Path) -> tuple[OurSide, PolarsSide, dict[str, Any]]:
    frame, polars_seconds, polars_rss = load(dump)
    ours, ours_seconds = OurSide.load(index)
    figures = {
        "kind": "load",
        "polars_seconds": polars_seconds,
        "polars_peak_rss_bytes": polars_rss,
        "postings": int(frame["tag"].count()),
        "posts": int(frame["uid"].n_unique()),
        "ours_seconds": ours_seconds,
    }
    return ours, PolarsSide(frame), figures


def run(dump: Path, index: Path, seconds: float = 4.0) -> list[dict[str, Any]]:
    """Check, then measure. One dict per kind of :data:`KINDS` (keys ``kind``,
    ``ours_/polars_`` ``calls, p50_ms, p99_ms, per_s``, ``ratio_p50``, ``ratio_p99`` =
    polars / ours), then one ``kind == "load"`` dict: ``polars_seconds`` and
    ``polars_peak_rss_bytes`` (the dump into the frame, in a child process), ``posts``,
    ``postings``, and ``ours_seconds`` (our generation into memory, in process: a service
    start, not a build). Raises AssertionError if the answers differ."""
    ours, peer, figures = _load_both(dump, index)
    p = plan(peer.frame)
    check(ours, peer, p)
    return [*measure(ours, peer, p, seconds), figures]


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"ours vs {NAME}, in process",
        "",
        "| kind | ours p50 / p99 ms | polars p50 / p99 ms | ratio p50 / p99 "
        "| ours calls/s | polars calls/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    load_row: dict[str, Any] = {}
    for r in rows:
        if r["kind"] == "load":
            load_row = r
            continue
        lines.append(
            f"| {r['kind']} | {r['ours_p50_ms']:.2f} / {r['ours_p99_ms']:.2f} "
            f"| {r['polars_p50_ms']:.2f} / {r['polars_p99_ms']:.2f} "
            f"| {r['ratio_p50']:.1f}x / {r['ratio_p99']:.1f}x "
            f"| {r['ours_per_s']:.1f} | {r['polars_per_s']:.1f} |"
        )
    if load_row:
        lines += [
            "",
            f"polars load (dump -> frame, child process): {load_row['polars_seconds']:.1f} s, "
            f"peak RSS {load_row['polars_peak_rss_bytes'] / 2**20:.0f} MiB, "
            f"{load_row['posts']:,} posts, {load_row['postings']:,} postings; "
            f"ours (generation -> memory, in process): {load_row['ours_seconds']:.2f} s",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", type=Path, help="the canonical NDJSON dump")
    parser.add_argument("--index", type=Path, help="our index directory built from it")
    parser.add_argument("--check", action="store_true", help="only check the answers")
    parser.add_argument("--seconds", type=float, default=4.0, help="timed seconds per kind/side")
    parser.add_argument("--load-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_child:
        _load_child(*args.load_child)
        return
    if args.dump is None or args.index is None:
        parser.error("--dump and --index are required")
    if args.check:
        ours, peer, _ = _load_both(args.dump, args.index)
        compared = check(ours, peer, plan(peer.frame))
        print(f"check passed: {compared} answers identical (and the report CSV, byte for byte)")
        return
    print(markdown(run(args.dump, args.index, args.seconds)))


if __name__ == "__main__":
    sys.exit(main())
