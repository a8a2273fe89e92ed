"""How fast is ``service.trends.trending`` on a real generation?

    uv run python bench/trending_speed.py [bench/out/index-1000000] [--calls 100] [--limit 20]

Loads the generation's tables, builds the trend index once (timed apart: it
is a one-off per generation), then for each window/baseline pair calls
``trending`` ``--calls`` times, ``as_of`` stepping back 101 minutes a call
(100 calls: the last week of data; a different answer each time, nothing
cached between calls), and prints p50/p99/max in milliseconds. Also times
the platform and lang filtered variants of 24h/7d. Target: p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.tables import load_tables
from service.trends import prepare, trending

PAIRS = (
    ("24h/7d", timedelta(hours=24), timedelta(days=7)),
    ("6h/24h", timedelta(hours=6), timedelta(hours=24)),
    ("1h/24h", timedelta(hours=1), timedelta(hours=24)),
)


def percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    k = max(0, min(len(sorted_ms) - 1, round(p / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", nargs="?", default="bench/out/index-1000000")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--limit", type=int, default=20)
    args = parser.parse_args()

    t = time.perf_counter()
    tables = load_tables((Path(args.index) / "current").resolve())
    postings = sum(s.timeline.height for s in tables.splits)
    print(f"load tables: {time.perf_counter() - t:.2f} s, {postings:,} postings")
    t = time.perf_counter()
    prepare(tables, PAIRS[0][1], PAIRS[0][2])
    print(f"trend index of the newest {PAIRS[0][0]}: {time.perf_counter() - t:.2f} s")
    newest = tables.last_posting
    assert newest is not None
    cases: list[tuple[str, timedelta, timedelta, dict[str, str]]] = [
        (name, w, b, {}) for name, w, b in PAIRS
    ]
    cases += [
        ("24h/7d platform=x", PAIRS[0][1], PAIRS[0][2], {"platform": "x"}),
        ("24h/7d lang=en", PAIRS[0][1], PAIRS[0][2], {"lang": "en"}),
    ]
    print(f"{'case':<20} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  items(first call)")
    for name, window, baseline, filters in cases:
        ms: list[float] = []
        first = -1
        for i in range(args.calls + 3):
            # 101-minute steps back (100 calls: the last week), never on an hour boundary.
            as_of = newest - timedelta(minutes=101 * i + 7)
            t = time.perf_counter()
            items = trending(
                tables,
                as_of=as_of,
                window=window,
                baseline=baseline,
                limit=args.limit,
                platform=filters.get("platform"),
                lang=filters.get("lang"),
            )
            elapsed = (time.perf_counter() - t) * 1000
            first = len(items) if first < 0 else first
            if i < 3:  # warm-up calls, not timed
                continue
            ms.append(elapsed)
        ms.sort()
        print(
            f"{name:<20} {percentile(ms, 50):8.2f} {percentile(ms, 99):8.2f} {ms[-1]:8.2f}  {first}"
        )


if __name__ == "__main__":
    main()
