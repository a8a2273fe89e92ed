"""Trending tags: which tag keys rise most above their own recent past.

The score is a smoothed version of Mastodon's (``app/models/trends/tags.rb``),
driven by **distinct authors** only; docs/trending.md has the math, the
reasoning behind every parameter and a worked example. In short, for one
tag, with ``w`` the window and ``b`` the baseline::

    window    [as_of - w, as_of)               a = distinct authors of the tag in it
    baseline  [as_of - w - b, as_of - w)       cut into n = min(max(1, round(b/w)), max_slots)
                                               equal slots, each about as long as the window
    S         sum over the slots of the distinct authors in each slot
    expected  E = prior + S * w / b            (prior + mean per slot, scaled to length w)
    growth    a / E
    score     (a - E)^2 / E                    listed only if a >= min_authors, a > E
                                               and growth >= min_growth

Every listed tag also carries coordination signals (service/coordination.py), computed
from its window postings; a tag whose ``coordination`` is above ``flag_above`` is
flagged, and :func:`trend_list` keeps it apart from the ranking.

An author is a ``(platform, author)`` pair. Posts are reported, never scored,
so one account (or three) posting hundreds of times moves nothing but
``posts``. Every figure an item carries is exact: counts come straight from
the postings, never from rollups.

Speed: the indexer writes the time-sorted postings with small integer columns
(indexer/serving.py; :class:`TrendIndex` is a view of them): the tag's row and,
per posting, the position of the previous posting of the same (tag, platform,
author), and of the same (tag, platform, author, lang).
"Distinct authors of a tag in the rows ``[lo, hi)``" is then "rows in
``[lo, hi)`` whose previous posting is before ``lo``": one vectorised pass,
no hashing of strings, no sets. Before the generation's first posting the
baseline is unknown, not empty: ``S * w / b`` becomes ``S * w / c`` with ``c``
the part of the baseline after it. Nothing here reads the clock.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import msgspec
import polars as pl

from indexer.schema import EPOCH, SPLIT_TIMELINE
from service import coordination
from service.tables import Split, Tables

ROUND_DIGITS = 3
"""Decimals kept in ``expected_authors``, ``growth`` and ``score``."""


@dataclass(frozen=True)
class TrendParams:
    """The named knobs of the trending score (see docs/trending.md for the why)."""

    min_authors: int = 5
    """A tag needs at least this many distinct authors in the window to be scored
    (Mastodon's ``threshold``); below it, a handful of accounts could trend a tag."""

    prior: float = 2.0
    """Pseudo-authors added to every tag's expected count: a new tag (expected 0)
    gets a finite score and growth, and a tiny tag's noise cannot explode."""

    min_growth: float = 1.5
    """A tag is listed only if ``authors / expected_authors`` reaches this: a big
    tag's ordinary day-to-day wobble (+10%) is statistically visible but not a trend."""

    max_slots: int = 168
    """At most this many baseline slots (one week of hours); beyond it, slots get
    longer than the window and their mean is scaled down to the window's length."""

    flag_above: float = 0.6
    """A tag whose ``coordination`` is above this is flagged (kept out of the ranking
    unless asked for, never dropped): see service/coordination.py and docs/trending.md."""

    def __post_init__(self) -> None:
        if not 0 <= self.flag_above <= 1:
            raise ValueError("flag_above must be in [0, 1]")
        if self.min_authors < 1:
            raise ValueError("min_authors must be >= 1")
        if not self.prior > 0:
            raise ValueError("prior must be > 0")
        if not self.min_growth >= 1:
            raise ValueError("min_growth must be >= 1")
        if self.max_slots < 1:
            raise ValueError("max_slots must be >= 1")


class TrendItem(msgspec.Struct, frozen=True):
    """One trending tag and the figures its score came from (the contract's item)."""

    rank: int
    tag: str
    display: str
    posts: int
    """Postings of the tag in the window (reported, not scored)."""
    authors: int
    """Distinct authors of the tag in the window: the observed value."""
    baseline_posts: int
    """Postings in the whole baseline span."""
    baseline_authors: int
    """Distinct authors over the whole baseline span."""
    expected_authors: float
    """prior + mean distinct authors per baseline slot, scaled to the window's length."""
    growth: float
    """authors / expected_authors."""
    score: float
    """(authors - expected_authors)^2 / expected_authors."""
    posts_per_author: float = 0.0
    """posts / authors."""
    top_author_share: float = 0.0
    """Share of the posts made by the most active 10% of the authors."""
    new_author_share: float = 0.0
    """Share of the authors with no tagged post in the baseline span."""
    burstiness: float = 0.0
    """Largest share of the posts within any 5 minutes."""
    coordination: float = 0.0
    """The signals combined (service/coordination.py); flagged above ``flag_above``."""
    flagged: bool = False
    """coordination > flag_above: listed in ``flagged`` unless include_flagged."""
    reasons: list[str] = msgspec.field(default_factory=list)
    """Why it is flagged, in words (empty when it is not)."""


class TrendList(msgspec.Struct, frozen=True):
    """A ranking and the coordinated tags kept out of it."""

    items: list[TrendItem]
    flagged: list[TrendItem]


# --------------------------------------------------------------------------- index


RESULT_CACHE_SIZE = 512
"""Trending answers kept per generation (least recently used dropped)."""


class ResultCache:
    """A small thread-safe LRU map from a question to its (immutable) answer."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@dataclass(frozen=True)
class TrendIndex:
    """Integer columns over the postings of a run of whole splits, by time.

    ``rows`` columns: ``tag`` (id), ``prev`` / ``prev_lang`` (position in ``rows``
    of the previous posting of the same (tag, account) / (tag, account, lang); -1
    if none in these splits), ``platform`` and ``lang`` codes (see ``platforms`` /
    ``langs``), ``account`` and ``prev_account`` (the previous posting of the same
    account, any tag: the coordination signals' "new author"). ``micros`` is
    ``created_at`` as integer microseconds; ``first`` the generation's first posting
    (microseconds), whatever the splits.
    A question whose window and baseline lie in these splits reads only them: a
    previous posting before the first split is before the baseline, which is all
    that the counts ask of it. About 30 bytes a posting, in the heap: the splits
    of one question (e.g. 8 days for 24h/7d), never the history.
    """

    micros: pl.Series
    rows: pl.DataFrame
    first: int | None
    keys: pl.Series
    display: pl.Series
    platforms: dict[str, int]
    langs: dict[str, int]

    @classmethod
    def build(cls, tables: Tables, splits: list[Split]) -> TrendIndex:
        """One sort-based pass over the splits' postings (about 1 s per million)."""
        frame = pl.concat([SPLIT_TIMELINE.frame(), *(s.live(s.timeline) for s in splits)])
        frame = frame.select("tag", "account", "platform", "lang", "created_at").rechunk()
        first = tables.first_posting
        position = pl.Int32() if frame.height < 2**31 else pl.Int64()
        return cls(
            micros=frame["created_at"].to_physical(),
            rows=frame.select(
                "tag",
                prev=_previous(frame, ["tag", "account"]).cast(position),
                prev_lang=_previous(frame, ["tag", "account", "lang"]).cast(position),
                prev_account=_previous(frame, ["account"]).cast(position),
                account="account",
                platform=pl.col("platform").cast(_code_type(len(tables.platforms))),
                lang=pl.col("lang").cast(_code_type(len(tables.langs))),
            ).rechunk(),
            first=None if first is None else _micros(first),
            keys=tables.tags["tag"],
            display=tables.tags["display"],
            platforms={name: code for code, name in enumerate(tables.platforms)},
            langs={name: code for code, name in enumerate(tables.langs)},
        )

    def positions(self, times: list[int]) -> list[int]:
        """Position of the first posting at or after each time (microseconds)."""
        found = self.micros.search_sorted(pl.Series(times, dtype=pl.Int64()), side="left")
        return [int(p) for p in found]


def _code_type(n: int) -> pl.DataType:
    """The narrowest unsigned type for ``n`` codes (the index lives in the heap)."""
    return pl.UInt8() if n <= 2**8 else pl.UInt16() if n <= 2**16 else pl.UInt32()


def _previous(frame: pl.DataFrame, key: list[str]) -> pl.Series:
    """Per row, the position of the previous row with the same ``key`` (-1 if none)."""
    ordered = frame.select(*key).with_row_index("pos").sort([*key, "pos"])
    same = pl.all_horizontal([pl.col(k) == pl.col(k).shift(1) for k in key])
    prev = pl.when(same).then(pl.col("pos").shift(1).cast(pl.Int64())).otherwise(-1)
    return ordered.select("pos", prev=prev).sort("pos")["prev"]


RANGES_KEPT = 2
"""Trend indexes kept per generation: the latest days (built at load) and one more; an
index whose days another one covers is dropped."""


class _PerGeneration:
    """A generation's trend indexes (by first and last day) and recent answers."""

    def __init__(self) -> None:
        self.ranges: OrderedDict[tuple[date, date], TrendIndex] = OrderedDict()
        self.answers = ResultCache(RESULT_CACHE_SIZE)
        self.lock = threading.Lock()

    def index(self, tables: Tables, splits: list[Split]) -> TrendIndex:
        key = (splits[0].day, splits[-1].day) if splits else (date.min, date.min)
        with self.lock:
            found = self.ranges.get(key)
            if found is None:  # an index of more days around them answers as well
                for (first, last), index in self.ranges.items():
                    if first <= key[0] and key[1] <= last:
                        key, found = (first, last), index
                        break
            if found is None:
                found = TrendIndex.build(tables, splits)
                # an index of days within these answers nothing this one cannot: it goes
                # (24h/7d's 8 days at 10M posts: about 90 MB at 22 bytes a posting)
                for inner in [k for k in self.ranges if key[0] <= k[0] and k[1] <= key[1]]:
                    del self.ranges[inner]
                self.ranges[key] = found
                while len(self.ranges) > RANGES_KEPT:
                    self.ranges.popitem(last=False)
            self.ranges.move_to_end(key)
            return found


_CACHE: dict[int, _PerGeneration] = {}
_CACHE_LOCK = threading.Lock()


def _of(tables: Tables) -> _PerGeneration:
    key = id(tables)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is None:
            found = _CACHE[key] = _PerGeneration()
            weakref.finalize(tables, _CACHE.pop, key, None)
        return found


def prepare(tables: Tables, window: timedelta, baseline: timedelta) -> None:
    """Build the trend index of the newest window and baseline (before a swap, so the
    first request does not wait for it)."""
    last = tables.last_posting
    if last is not None:  # from a day before, so any as_of of the newest day finds it
        as_of = last + _MICRO
        _of(tables).index(tables, tables.covering(as_of - window - baseline - _DAY, as_of))


# --------------------------------------------------------------------------- query

_MICRO = timedelta(microseconds=1)
_DAY = timedelta(days=1)


def _micros(t: datetime) -> int:
    return (t - EPOCH) // _MICRO


@dataclass(frozen=True)
class _Spans:
    """One query's spans: baseline ``[lo, mid)``, window ``[mid, end)`` (timeline positions).

    The baseline is cut into ``slots`` equal slots; slot ``k`` starts at
    ``base + ceil(k * baseline / slots)`` microseconds, so a posting at time
    ``t`` is in slot ``(t - base) * slots // baseline``.
    """

    lo: int
    mid: int
    end: int
    base: int
    """Baseline start, microseconds."""
    baseline: int
    """Baseline length, microseconds."""
    slots: int
    slot_starts: list[int]
    """Timeline position of each slot's start, oldest first (``slot_starts[0] == lo``)."""
    scale: float
    """window / the part of the baseline after the generation's first posting (0 if none):
    turns the sum of per-slot distinct authors into the expected count of one window."""


def _spans(
    index: TrendIndex, as_of: datetime, window: timedelta, baseline: timedelta, max_slots: int
) -> _Spans:
    end = _micros(as_of)
    w, b = window // _MICRO, baseline // _MICRO
    n = min(max(1, round(b / w)), max_slots)
    base = end - w - b
    bounds = [base - (-b * k // n) for k in range(n + 1)]  # base + ceil(b*k/n)
    first = index.first if index.first is not None else base
    covered = min(b, base + b - first)  # no data before the first posting: not zeros, unknown
    found = index.positions([*bounds[:-1], end - w, end])
    return _Spans(
        lo=found[0],
        mid=found[-2],
        end=found[-1],
        base=base,
        baseline=b,
        slots=n,
        slot_starts=found[:-2],
        scale=w / covered if covered > 0 else 0.0,
    )


def _match(index: TrendIndex, platform: str | None, lang: str | None) -> pl.Expr:
    """The row filter of the query (``lit(True)`` if none; ``lit(False)`` for an unseen value)."""
    conds: list[pl.Expr] = [pl.lit(True)]
    if platform is not None:
        code = index.platforms.get(platform)
        conds.append(pl.lit(False) if code is None else pl.col("platform") == code)
    if lang is not None:
        code = index.langs.get(lang)
        conds.append(pl.lit(False) if code is None else pl.col("lang") == code)
    return pl.all_horizontal(conds)


def _window_counts(
    index: TrendIndex, spans: _Spans, match: pl.Expr, prev: str, min_authors: int
) -> pl.DataFrame:
    """tag, posts, authors of the window's tags with at least ``min_authors``.

    A posting is its author's first in the window iff its previous posting
    (same tag, author and filter) is before the window.
    """
    return (
        index.rows.slice(spans.mid, spans.end - spans.mid)
        .lazy()
        .filter(match)
        .group_by("tag")
        .agg(posts=pl.len(), authors=(pl.col(prev) < spans.mid).sum())
        .filter(pl.col("authors") >= min_authors)
        .collect()
    )


def _baseline_counts(
    index: TrendIndex, spans: _Spans, match: pl.Expr, prev: str, tags: pl.Series
) -> pl.DataFrame:
    """tag, baseline_posts, baseline_authors, slot_authors (summed over slots) of ``tags``.

    A posting is its author's first in its slot iff its previous posting is
    before the slot's start; first in the baseline iff before the baseline's.
    """
    n = spans.mid - spans.lo
    starts = pl.Series(spans.slot_starts, dtype=index.rows["prev"].dtype)
    slot = (pl.lit(index.micros.slice(spans.lo, n)) - spans.base) * spans.slots // spans.baseline
    return (
        index.rows.slice(spans.lo, n)
        .lazy()
        .with_columns(slot_start=pl.lit(starts).gather(slot))
        .filter(pl.col("tag").is_in(tags.implode()), match)
        .group_by("tag")
        .agg(
            baseline_posts=pl.len(),
            baseline_authors=(pl.col(prev) < spans.lo).sum(),
            slot_authors=(pl.col(prev) < pl.col("slot_start")).sum(),
        )
        .collect()
    )


def _check(as_of: datetime, window: timedelta, baseline: timedelta, limit: int) -> None:
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if window <= timedelta(0):
        raise ValueError("window must be positive")
    if baseline <= timedelta(0):
        raise ValueError("baseline must be positive")
    if limit < 1:
        raise ValueError("limit must be >= 1")


@dataclass(frozen=True)
class _Scored:
    """One question's rising tags, scored and ranked (no signals yet)."""

    index: TrendIndex
    spans: _Spans
    match: pl.Expr
    ranked: pl.DataFrame
    """The items' columns and ``code`` (the tag's id), best first."""


def _scored(
    tables: Tables,
    as_of: datetime,
    window: timedelta,
    baseline: timedelta,
    platform: str | None,
    lang: str | None,
    params: TrendParams,
) -> _Scored | None:
    """The rising tags of a question (None if there are none). Not cached: it holds the
    trend index, which must go when the generation's index cache drops it."""
    index = _of(tables).index(tables, tables.covering(as_of - window - baseline, as_of))
    spans = _spans(index, as_of, window, baseline, params.max_slots)
    match = _match(index, platform, lang)
    prev = "prev" if lang is None else "prev_lang"
    observed = _window_counts(index, spans, match, prev, params.min_authors)
    if observed.is_empty():
        return None
    base = _baseline_counts(index, spans, match, prev, observed["tag"])
    return _Scored(index, spans, match, _rank(observed, base, spans, params, index))


def _items(scored: _Scored | None, n: int, params: TrendParams) -> list[TrendItem]:
    """The first ``n`` ranked tags as items, with their coordination signals (computed for
    these tags only: the cost follows ``n``, not the number of rising tags)."""
    if scored is None:
        return []
    ranked = scored.ranked.head(n)
    signals = _signals(scored.index, scored.spans, scored.match, ranked["code"])
    ranked = ranked.join(signals, left_on="code", right_on="tag", how="left", maintain_order="left")
    items = []
    for rank, row in enumerate(ranked.drop("code").iter_rows(named=True), 1):
        flagged = row["coordination"] > params.flag_above
        why = coordination.reasons(row) if flagged else []
        items.append(TrendItem(rank=rank, flagged=flagged, reasons=why, **row))
    return items


def ranking(
    tables: Tables,
    *,
    as_of: datetime,
    window: timedelta,
    baseline: timedelta,
    platform: str | None = None,
    lang: str | None = None,
    params: TrendParams = TrendParams(),
) -> list[TrendItem]:
    """Every tag rising above its baseline at ``as_of``, best first, flagged ones included
    (and marked), each with its coordination signals.

    Window ``[as_of - window, as_of)``, baseline the ``baseline`` span just
    before it; ``platform`` / ``lang`` (``"und"``: no language) narrow both.
    Ranked by score (desc), then authors (desc), then tag key, all as
    rounded in the items, so the order is deterministic and visible.
    Raises ValueError for a naive ``as_of`` or a non-positive span.
    """
    _check(as_of, window, baseline, 1)
    scored = _scored(tables, as_of, window, baseline, platform, lang, params)
    return _items(scored, 0 if scored is None else scored.ranked.height, params)


def trending(
    tables: Tables,
    *,
    as_of: datetime,
    window: timedelta,
    baseline: timedelta,
    limit: int,
    platform: str | None = None,
    lang: str | None = None,
    params: TrendParams = TrendParams(),
) -> list[TrendItem]:
    """The first ``limit`` items of :func:`ranking` (flagged ones included and marked),
    cached per generation. Raises ValueError for a naive ``as_of`` or a non-positive span
    or limit."""
    _check(as_of, window, baseline, limit)
    key = ("top", as_of, window, baseline, limit, platform, lang, params)
    cache = _of(tables)
    cached: list[TrendItem] | None = cache.answers.get(key)
    if cached is None:
        scored = _scored(tables, as_of, window, baseline, platform, lang, params)
        cached = _items(scored, limit, params)
        cache.answers.put(key, cached)
    return cached


def trend_list(
    tables: Tables,
    *,
    as_of: datetime,
    window: timedelta,
    baseline: timedelta,
    limit: int,
    platform: str | None = None,
    lang: str | None = None,
    params: TrendParams = TrendParams(),
    include_flagged: bool = False,
) -> TrendList:
    """What ``GET /v1/trending`` lists: the ``limit`` best tags that are not flagged,
    ranked 1, 2, ... among themselves, and apart, the flagged tags ranked above the last
    of them (the ones the list would have shown; at most ``limit``, best first), each
    keeping its rank in :func:`ranking`. With ``include_flagged``: the first ``limit`` of
    :func:`ranking`, flagged ones marked, and nothing apart. Signals are computed for
    the tags it shows, and for more only as flagged ones are taken out (the scoring is
    then done again: answers are cached, scored tags are not, as they hold the trend
    index)."""
    everything = trending(
        tables,
        as_of=as_of,
        window=window,
        baseline=baseline,
        limit=limit,
        platform=platform,
        lang=lang,
        params=params,
    )
    if include_flagged or not any(item.flagged for item in everything):
        return TrendList(everything, [])
    key = ("list", as_of, window, baseline, limit, platform, lang, params)
    cache = _of(tables)
    found: TrendList | None = cache.answers.get(key)
    if found is not None:
        return found
    scored = _scored(tables, as_of, window, baseline, platform, lang, params)
    total = 0 if scored is None else scored.ranked.height
    n, items = limit, everything
    while True:
        kept = [item for item in items if not item.flagged]
        if len(kept) >= limit or n >= total:
            break
        n = min(total, n + 2 * (limit - len(kept)) + 8)  # room for a few more flagged
        items = _items(scored, n, params)
    kept = kept[:limit]
    last = kept[-1].rank if len(kept) == limit else total
    found = TrendList(
        [msgspec.structs.replace(item, rank=rank) for rank, item in enumerate(kept, 1)],
        [item for item in items if item.flagged and item.rank <= last][:limit],
    )
    cache.answers.put(key, found)
    return found


def _signals(index: TrendIndex, spans: _Spans, match: pl.Expr, tags: pl.Series) -> pl.DataFrame:
    """The coordination signals of ``tags`` (codes) over the window's postings."""
    n = spans.end - spans.mid
    window = index.rows.slice(spans.mid, n).with_columns(micros=index.micros.slice(spans.mid, n))
    rows = (
        window.lazy()
        .filter(pl.col("tag").is_in(tags.implode()), match)
        .select("tag", "account", "micros")
        .collect()
    )
    # an account's first posting in the window (any tag, any filter) says whether it
    # posted in the baseline: its previous posting is at or after the baseline's start
    new_accounts = (
        window.lazy()
        .filter(pl.col("prev_account") < spans.mid)
        .select("account", new=pl.col("prev_account") < spans.lo)
        .collect()
    )
    return coordination.signals(rows, new_accounts)


def _rank(
    observed: pl.DataFrame,
    base: pl.DataFrame,
    spans: _Spans,
    params: TrendParams,
    index: TrendIndex,
) -> pl.DataFrame:
    """Score, filter and order the candidates; the items' columns, best first."""
    expected = (pl.col("slot_authors") * spans.scale + params.prior).round(ROUND_DIGITS)
    authors = pl.col("authors").cast(pl.Float64())
    scored = (
        observed.join(base, on="tag", how="left")
        .fill_null(0)
        .with_columns(expected_authors=expected)
        .with_columns(
            growth=(authors / pl.col("expected_authors")).round(ROUND_DIGITS),
            score=((authors - pl.col("expected_authors")) ** 2 / pl.col("expected_authors")).round(
                ROUND_DIGITS
            ),
        )
        .filter(
            authors > pl.col("expected_authors"),
            pl.col("growth") >= params.min_growth,
        )
    )
    codes = scored["tag"]
    return (
        scored.with_columns(
            code="tag", tag=index.keys.gather(codes), display=index.display.gather(codes)
        )
        .select(
            pl.col("code", "tag", "display"),
            pl.col("posts", "authors", "baseline_posts", "baseline_authors").cast(pl.Int64()),
            pl.col("expected_authors", "growth", "score"),
        )
        .sort(["score", "authors", "tag"], descending=[True, True, False])
    )
