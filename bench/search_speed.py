"""How fast is ``GET /v1/posts`` search, in process, on a built generation?

    uv run python bench/search_speed.py [bench/out/index-1000000] [--repeat 5]

Draws ~250 queries from the index's own texts (fixed seed): single words, two
words, phrases, typos, words with filters, date ranges, listings without
``q``, and 10th pages reached by cursor, spread over the three sorts. Each is
run once to warm up, then ``--repeat`` times, timing ``search_posts`` with
limit 20 (snippets included) plus the JSON encoding of the page. Prints
p50/p99/max milliseconds per query type and per sort.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import tantivy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.schema import (  # noqa: E402
    F_CREATED_AT,
    F_LANG,
    F_PLATFORM,
    F_TAGS,
    F_TEXT,
    open_posts_index,
)
from service.search import SearchParams, Sort, analyze, search_posts  # noqa: E402

SORTS: tuple[Sort, ...] = ("relevance", "recent", "engagement")
PER_TYPE = 24
LIMIT = 20


class Corpus:
    """Words, phrases, tags and filter values seen in a sample of the index's posts."""

    def __init__(self, searcher: tantivy.Searcher, rng: random.Random, sample: int = 600) -> None:
        docs = [searcher.doc(a) for a in self._addresses(searcher, rng, sample)]
        self.texts = [analyze(str(d.get_first(F_TEXT) or "")) for d in docs]
        self.words = [w for t in self.texts for w in t if w.isalpha() and len(w) >= 3]
        self.long_words = [w for w in self.words if len(w) >= 5]
        self.tags = [str(t) for d in docs for t in d.get_all(F_TAGS)]
        self.platforms = [str(d.get_first(F_PLATFORM)) for d in docs]
        self.langs = [str(d.get_first(F_LANG)) for d in docs]
        self.times = [d.get_first(F_CREATED_AT) for d in docs]

    @staticmethod
    def _addresses(
        searcher: tantivy.Searcher, rng: random.Random, n: int
    ) -> list[tantivy.DocAddress]:
        offsets = sorted(rng.sample(range(searcher.num_docs - 1), 6))
        each = n // len(offsets)
        hits = []
        for offset in offsets:
            hits += searcher.search(tantivy.Query.all_query(), each, offset=offset).hits
        return [a for _, a in hits]

    def phrase(self, rng: random.Random) -> str:
        text = rng.choice([t for t in self.texts if len(t) >= 3])
        i = rng.randrange(len(text) - 1)
        return f'"{text[i]} {text[i + 1]}"'


def typo(word: str, rng: random.Random) -> str:
    """One edit (two for words of 8+ letters): a transposition, deletion or substitution."""
    for _ in range(2 if len(word) >= 8 else 1):
        i = rng.randrange(1, len(word) - 1)
        kind = rng.choice(("swap", "drop", "sub"))
        if kind == "swap":
            word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        elif kind == "drop":
            word = word[:i] + word[i + 1 :]
        else:
            word = word[:i] + rng.choice("aeioustr") + word[i + 1 :]
    return word


def queries(c: Corpus, rng: random.Random) -> Iterator[tuple[str, SearchParams]]:
    """(type, params) pairs; sorts rotate within each type."""

    def sort(i: int) -> Sort:
        return SORTS[i % len(SORTS)]

    for i in range(PER_TYPE):
        s = sort(i)
        yield "word", SearchParams(q=rng.choice(c.words), sort=s, limit=LIMIT)
        two = f"{rng.choice(c.words)} {rng.choice(c.words)}"
        yield "two words", SearchParams(q=two, sort=s, limit=LIMIT)
        yield "phrase", SearchParams(q=c.phrase(rng), sort=s, limit=LIMIT)
        yield "typo", SearchParams(q=typo(rng.choice(c.long_words), rng), sort=s, limit=LIMIT)
        filtered = SearchParams(
            q=rng.choice(c.words),
            platform=rng.choice(c.platforms),
            lang=rng.choice(c.langs) if i % 2 else None,
            sort=s,
            limit=LIMIT,
        )
        yield "word+filters", filtered
        yield (
            "word+tag",
            SearchParams(q=rng.choice(c.words), tag=rng.choice(c.tags), sort=s, limit=LIMIT),
        )
        start = rng.choice(c.times)
        yield (
            "word+date range",
            SearchParams(
                q=rng.choice(c.words),
                from_=start,
                to=start + timedelta(days=2),
                sort=s,
                limit=LIMIT,
            ),
        )
        yield "list by tag (no q)", SearchParams(tag=rng.choice(c.tags), sort=s, limit=LIMIT)
        if i < 6:
            yield "list all (no q)", SearchParams(sort=s, limit=LIMIT)
            day = datetime(2026, 10, 4 + i, tzinfo=UTC)
            yield (
                "list one day (no q)",
                SearchParams(from_=day, to=day + timedelta(days=1), sort=s, limit=LIMIT),
            )


def tenth_page(index: tantivy.Index, searcher: tantivy.Searcher, p: SearchParams) -> SearchParams:
    """The params of the 10th page of ``p`` (the cursor found by paging)."""
    for _ in range(9):
        cursor = search_posts(index, searcher, p).next_cursor
        if cursor is None:
            break
        p = replace(p, cursor=cursor)
    return p


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("index_dir", nargs="?", default=str(ROOT / "bench/out/index-1000000"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    index = open_posts_index((Path(args.index_dir) / "current").resolve())
    searcher = index.searcher()
    rng = random.Random(args.seed)
    corpus = Corpus(searcher, rng)
    work = list(queries(corpus, rng))
    deep = [("10th page (cursor)", p) for t, p in work if t in ("word", "list by tag (no q)")]
    work += [(t, tenth_page(index, searcher, p)) for t, p in deep[:PER_TYPE]]
    listing = [p for t, p in work if t == "list all (no q)"]
    work += [("list all, 10th page", tenth_page(index, searcher, p)) for p in listing]

    by_type: dict[str, list[float]] = defaultdict(list)
    by_sort: dict[str, list[float]] = defaultdict(list)
    totals: list[int] = []
    for _, p in work:  # warm up
        search_posts(index, searcher, p)
    for _ in range(args.repeat):
        for kind, p in work:
            t0 = time.perf_counter()
            page = search_posts(index, searcher, p)
            msgspec.json.encode(page)
            ms = (time.perf_counter() - t0) * 1000
            by_type[kind].append(ms)
            by_sort[p.sort if p.q else f"{p.sort} (no q)"].append(ms)
            totals.append(page.total)

    print(f"{searcher.num_docs:,} posts, {len(work)} queries x {args.repeat}, limit {LIMIT}")
    print(f"median total matches {statistics.median(totals):,.0f}\n")
    header = f"{'query type':24s} {'runs':>5s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}"
    for title, groups in (("by query type", by_type), ("by sort", by_sort)):
        print(f"{title}\n{header}")
        for name, times in groups.items():
            print(
                f"{name:24s} {len(times):5d} {pct(times, 0.5):8.2f} "
                f"{pct(times, 0.99):8.2f} {max(times):8.2f}"
            )
        print()
    everything = [ms for times in by_type.values() for ms in times]
    print(f"all queries: p50 {pct(everything, 0.5):.2f} ms, p99 {pct(everything, 0.99):.2f} ms")


if __name__ == "__main__":
    main()
