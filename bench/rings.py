#!/usr/bin/env python3
"""Planted coordination cases for the trending signals (docs/trending.md).

Canonical posts, deterministic for a seed, over the ``days`` before ``end``; the
last day is the trending window. On top of any other dump (``bench/gen.py``'s:
the accounts and tags here are their own), or alone with a background of
regulars. Every case is a tag key in :data:`CASES`:

- ``moonpumpnow``: a ring of 12 brand-new accounts posting it 360 times in the last
  day (never seen before): must be flagged;
- ``votezed2026``: a ring of 10 accounts with a history of ordinary tags, posting it
  330 times in the last day while they go on with ordinary tags (``lunareclipse``
  among them): must be flagged, and the ordinary tags they touch must not;
- ``lunareclipse``: an organic burst, 200 accounts (regulars) posting it once each
  over a few hours of the last day: must not be flagged;
- ``finalmatch``: an organic burst of 200 accounts once each plus 6 very active fans
  (accounts that post every day) posting it 40 times each during the match: must not
  be flagged.

``scale`` multiplies the regulars and the organic crowds (not the rings): at scale 10
the bursts have 2,000 authors and the rings are as small as before.

    uv run python bench/rings.py --out /tmp/rings.ndjson --end 2026-11-01 --scale 5
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FLAGGED = ("moonpumpnow", "votezed2026")
"""The planted rings' tags: coordination must flag them."""
ORGANIC = ("lunareclipse", "finalmatch")
"""The planted organic bursts: never flagged."""
CASES = (*FLAGGED, *ORGANIC)
EVERYDAY = ("coffee", "reading", "weekend", "running", "music", "cats", "work", "travel")
"""Ordinary tags the regulars (and the mixed ring) use every day."""


def coordination_rows(
    end: datetime, *, days: int = 14, seed: int = 19, scale: int = 1, platform: str = "x"
) -> list[dict[str, Any]]:
    """The planted posts (canonical rows, ids ``ring19-N``), in no particular order."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    last_day = end - timedelta(days=1)

    def add(author: str, at: datetime, *tags: str) -> None:
        rows.append(
            {
                "id": f"ring19-{len(rows)}",
                "created_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "author": author,
                "text": " ".join(f"#{t}" for t in tags) + " today",
                "platform": platform,
                "lang": "en",
            }
        )

    def some_time(start: datetime, seconds: float) -> datetime:
        return start + timedelta(seconds=rng.uniform(0, seconds))

    # regulars: every day, a tenth of them post an everyday tag (history for the bursts)
    regulars = [f"regular19_{k}" for k in range(400 * scale)]
    for d in range(days):
        day = end - timedelta(days=days - d)
        for author in rng.sample(regulars, len(regulars) // 10 * 3):
            add(author, some_time(day, 86400), rng.choice(EVERYDAY))
    # the mixed ring: a history of ordinary tags, then the campaign among ordinary tags
    mixed = [f"civic_voice{k}" for k in range(10)]
    for d in range(days):
        day = end - timedelta(days=days - d)
        for author in mixed:
            for _ in range(rng.randint(1, 3)):
                add(author, some_time(day, 86400), rng.choice(EVERYDAY))
    for k in range(330):
        add(mixed[k % 10], some_time(last_day, 86400), "VoteZed2026")
    for author in mixed:
        for _ in range(4):
            add(author, some_time(last_day, 86400), rng.choice(EVERYDAY))
        add(author, some_time(last_day + timedelta(hours=14), 4 * 3600), "LunarEclipse")
    # the new ring: fresh accounts, the campaign tag only
    fresh = [f"moon_pump_{k}" for k in range(12)]
    for k in range(360):
        add(fresh[k % 12], some_time(last_day, 86400), "MoonPumpNow")
    # organic burst: regulars, once each, over four hours
    for author in rng.sample(regulars, 200 * scale):
        add(author, some_time(last_day + timedelta(hours=14), 4 * 3600), "LunarEclipse")
    # organic burst with fans: once each over a match, a few fans all day long
    for author in rng.sample(regulars, 200 * scale):
        add(author, some_time(last_day + timedelta(hours=18), 2 * 3600), "FinalMatch")
    fans = [f"superfan{k}" for k in range(6)]
    for d in range(days):  # known accounts: they post every day
        for author in fans:
            add(author, some_time(end - timedelta(days=days - d), 86400), rng.choice(EVERYDAY))
    for author in fans:  # ... and the match, all through it
        for _ in range(40):
            add(author, some_time(last_day + timedelta(hours=18), 2 * 3600), "FinalMatch")
    return rows


def write(rows: list[dict[str, Any]], out: Path) -> None:
    with open(out, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def _parse_end(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--end", default="2026-11-01T00:00:00Z")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args(argv)
    rows = coordination_rows(_parse_end(args.end), days=args.days, seed=args.seed, scale=args.scale)
    write(rows, args.out)
    print(json.dumps({"rows": len(rows), "flagged": FLAGGED, "organic": ORGANIC}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
