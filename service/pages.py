"""The dashboard: server-rendered HTML pages over the same logic as the JSON API.

``/`` trending now, ``/tags/{tag}`` one tag, ``/search`` post search and ``/report`` the
Hashtag Index as a page. Each handler calls the API's Python functions (never HTTP), fills a
Jinja2 template in ``service/templates/`` and returns the page; charts are inline SVG
(:mod:`service.charts`); assets live in ``service/static/`` and are served by this app.
A bad parameter is a 400 page naming it, an unknown tag a 404 page with near misses.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import polars as pl
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response, Router, get
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import PathParameter, QueryParameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from indexer.schema import EPOCH
from service import changes, charts, reports, search, tags
from service.errors import ApiError
from service.generation import Generation, GenerationStore
from service.keys import CursorKey
from service.params import (
    MIN_TIME,
    parse_duration,
    parse_filter,
    parse_platform,
    parse_range,
    parse_tag,
    saturating_add,
)
from service.query_errors import InvalidParameter
from service.routes import (
    SUGGESTIONS,
    generation_of,
    posts_answer,
    since_instant,
    trending_answer,
)
from service.tables import Tables

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

Req = Request[Any, Any, Any]
Text = Annotated[str | None, QueryParameter(max_length=1000)]

WINDOWS = ("1h", "6h", "24h", "7d")
BASELINES = ("24h", "7d", "28d")
TRENDING_ROWS = 20
SPARK_MAX_POINTS = 240
"""A sparkline covers the baseline and the window in hours, or days when that is too many."""
CHART_MAX_POINTS = 2000
"""Most buckets a tag page charts (the API allows more): beyond, a 400 page asks for a
larger interval or a shorter range."""
REPORT_ROWS = 100
"""Rows of the report table shown on the page (the downloads hold every row)."""
MOVERS = 10
RELATED = 10
RELATED_MIN_SUPPORT = 2
"""Posts two tags must share to be listed as related on a tag page (the API's default is 3;
a page is more useful with the rarer pairs too)."""
POSTS_SHOWN = 5
SEARCH_PAGE = 20
MAX_BACK = 50
"""Earlier cursors a search page carries for its "previous" link."""
MIX_SHOWN = 8


# --------------------------------------------------------------------------- templates


def _num(n: float | None) -> str:
    return "" if n is None else charts.exact(n)


def _count(n: int, word: str) -> str:
    """``1 like``, ``2 likes``, ``1,234 replies``."""
    if n == 1:
        return f"1 {word}"
    plural = word[:-1] + "ies" if word.endswith("y") else word + "s"
    return f"{charts.exact(n)} {plural}"


def _when(t: datetime | None) -> str:
    return "" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iso(t: datetime | None) -> str:
    return "" if t is None else t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ago(t: datetime | None, now: datetime) -> str:
    if t is None:
        return "never"
    s = int((now - t).total_seconds())
    if s < 0:
        return "in the future"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if s >= size:
            n = s // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=_num, human=charts.human, when=_when, iso=_iso, count=_count)
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment()))


def _page(request: Req, name: str, context: dict[str, Any], status: int = 200) -> Template:
    store: GenerationStore = request.app.state.store
    gen = store.current
    now = datetime.now(UTC)
    base = {
        "manifest": gen.manifest if gen else None,
        "built_ago": _ago(gen.manifest.built_at, now) if gen else "",
        "newest_ago": _ago(gen.manifest.to, now) if gen else "",
        "path": request.url.path,
    }
    return Template(
        template_name=name,
        context={**base, **context},
        status_code=status,
        headers={"Cache-Control": "no-cache"},
    )


def html_error(request: Req, exc: HTTPException) -> Response[Any]:
    """A page's errors as a page: the status, the message and the parameter at fault."""
    parameter = getattr(exc, "parameter", None)
    message = exc.detail
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        first = exc.extra[0]
        if isinstance(first, dict):
            parameter = first.get("key")
            message = f"{parameter}: {first.get('message', exc.detail)}"
    return _error_page(request, exc.status_code, message, parameter)


def html_invalid_parameter(request: Req, exc: InvalidParameter) -> Response[Any]:
    """The domain's bad parameter as a 400 page."""
    return _error_page(request, 400, str(exc), exc.parameter)


def _error_page(request: Req, status: int, message: str, parameter: str | None) -> Response[Any]:
    titles = {400: "Bad request", 404: "Not found", 503: "Not ready"}
    return _page(
        request,
        "error.html",
        {
            "status": status,
            "title": titles.get(status, "Error"),
            "message": message,
            "parameter": parameter,
        },
        status,
    )


def _query(params: Mapping[str, Any], **changes: Any) -> str:
    """A query string of ``params`` with ``changes`` (None drops a key); lists repeat."""
    merged = {**params, **changes}
    pairs: list[tuple[str, str]] = []
    for k, v in merged.items():
        if v is None or v == "":
            continue
        for item in v if isinstance(v, list) else [v]:
            pairs.append((k, str(item)))
    return urlencode(pairs)


# --------------------------------------------------------------------------- trending


@dataclass(frozen=True)
class Move:
    arrow: str
    """▲, ▼, ★ (new) or = (the same rank)."""
    text: str
    """What the arrow means, for screen readers and the tooltip."""
    label: str
    """The visible figure next to the arrow (places moved, or "new")."""


@dataclass(frozen=True)
class TrendRow:
    item: Any
    spark: Markup
    move: Move | None = None
    """Its move since the previous generation (None: nothing to compare with)."""


def _moves(
    gen: Generation,
    answer: Any,
    window: timedelta,
    baseline: timedelta,
    only: tuple[str | None, str | None],
) -> changes.Changes | None:
    """The list's changes since the generation before this one (None if there is none, or
    if the page asks about a time before it)."""
    try:
        since = since_instant(gen, None)
    except ApiError:
        return None
    if since > answer.as_of or since - MIN_TIME < window + baseline:
        return None
    return changes.changes(
        gen.tables,
        old_as_of=since,
        as_of=answer.as_of,
        window=window,
        baseline=baseline,
        limit=TRENDING_ROWS,
        window_text=answer.window,
        baseline_text=answer.baseline,
        platform=only[0],
        lang=only[1],
    )


def _move(moved: changes.Changes | None, tag: str, rank: int) -> Move | None:
    if moved is None:
        return None
    old = {c.tag: c.old_rank for c in (*moved.risers, *moved.fallers, *moved.entered)}
    if tag not in old:
        return Move("=", "the same rank as before", "")
    before = old[tag]
    if before is None:
        return Move("★", "new in the list", "new")
    if before > rank:
        return Move("▲", f"up {before - rank} from {before}", str(before - rank))
    return Move("▼", f"down {rank - before} from {before}", str(rank - before))


def _spark_span(as_of: datetime, window: timedelta, baseline: timedelta) -> tuple[str, int]:
    """The sparkline's interval and the number of its buckets inside the window."""
    for interval, step in tags.INTERVAL_STEP.items():
        if (window + baseline) / step <= SPARK_MAX_POINTS:
            return interval, max(1, -(-window // step))
    return "week", max(1, -(-window // tags.INTERVAL_STEP["week"]))


@get("/", name="page_trending", sync_to_thread=True, include_in_schema=False)
def trending_page(
    request: Req,
    window: Annotated[str, QueryParameter(max_length=16)] = "24h",
    baseline: Annotated[str, QueryParameter(max_length=16)] = "7d",
    platform: Text = None,
    lang: Text = None,
    as_of: Text = None,
) -> Template:
    gen = generation_of(request)
    answer = trending_answer(
        gen, window, baseline, as_of or None, TRENDING_ROWS, platform or None, lang or None
    )
    w, b = parse_duration(window, "window"), parse_duration(baseline, "baseline")
    interval, in_window = _spark_span(answer.as_of, w, b)
    step = tags.INTERVAL_STEP[interval]
    end = tags.truncate(answer.as_of - timedelta(microseconds=1), interval) + step
    start = end - step * (-(-(w + b) // step))
    span = tags.SeriesRange(start, end)
    only = parse_platform(platform, gen.tables.platforms), parse_filter(lang)
    rows = []
    series = sparklines(gen.tables, [item.tag for item in answer.items], interval, span, *only)
    moved = _moves(gen, answer, w, b, only)
    for item in answer.items:
        values = series[item.tag]
        label = f"#{item.display}: distinct authors per {interval}, the window shaded"
        spark = charts.sparkline(values, highlight_from=len(values) - in_window, label=label)
        rows.append(TrendRow(item, Markup(spark), _move(moved, item.tag, item.rank)))
    return _page(
        request,
        "trending.html",
        {
            "answer": answer,
            "rows": rows,
            "window": window.strip(),
            "baseline": baseline.strip(),
            "windows": _with(WINDOWS, window.strip()),
            "baselines": _with(BASELINES, baseline.strip()),
            "platform": parse_filter(platform) or "",
            "lang": parse_filter(lang) or "",
            "platforms": gen.tables.platforms,
            "langs": gen.tables.langs,
            "spark_interval": interval,
            "exited": moved.exited if moved else [],
            "since": moved.old_as_of if moved else None,
            "query": _query(
                {"window": window, "baseline": baseline, "platform": platform, "lang": lang}
            ),
        },
    )


def sparklines(
    tables: Tables,
    keys: Sequence[str],
    interval: str,
    span: tags.SeriesRange,
    platform: str | None = None,
    lang: str | None = None,
) -> dict[str, list[int]]:
    """Distinct authors per bucket of each tag in ``keys`` (as :func:`tags.timeseries` counts
    them), in one pass over the span's timeline instead of one query per tag."""
    n = tags.bucket_count(span, interval)
    found = {key: [0] * n for key in keys}
    ids = {tables.key_index(key): key for key in keys}
    ids.pop(None, None)
    rows = tables.narrow(tables.window(span.start, span.end), platform, lang)
    if rows is None or not ids:
        return found
    step_us = tags.INTERVAL_STEP[interval] // timedelta(microseconds=1)
    start_us = (span.start - EPOCH) // timedelta(microseconds=1)
    per = (
        rows.filter(pl.col("tag").is_in(list(ids)))
        .group_by("tag", b=(pl.col("created_at").dt.epoch("us") - start_us) // step_us)
        .agg(authors=pl.col("account").n_unique())
    )
    for tag_id, bucket, authors in per.iter_rows():
        found[ids[tag_id]][bucket] = authors
    return found


def _with(options: Sequence[str], value: str) -> list[str]:
    return list(options) if value in options else [*options, value]


# --------------------------------------------------------------------------- tag page


def highlight_tag(snippet: str, display: str) -> Markup:
    """The (already escaped) snippet with ``#display`` (any case) in ``<mark>``."""
    word = re.escape(escape(display, quote=False))
    marked = re.sub(rf"([#＃]{word})(?![\w])", r"<mark>\1</mark>", snippet, flags=re.IGNORECASE)
    return Markup(marked)


@get("/tags/{tag:str}", name="page_tag", sync_to_thread=True, include_in_schema=False)
def tag_page(
    request: Req,
    tag: Annotated[str, PathParameter(max_length=1000)],
    interval: Annotated[Literal["hour", "day", "week"] | None, QueryParameter()] = None,
    from_: Annotated[str | None, QueryParameter(name="from", max_length=64)] = None,
    to: Annotated[str | None, QueryParameter(max_length=64)] = None,
) -> Template:
    gen = generation_of(request)
    key = parse_tag(tag)
    start, end = parse_range(from_ or None, to or None)
    found = tags.detail(gen.tables, key, start, end)
    if found is None:
        near = tags.near_misses(gen.tables, gen.index, gen.searcher, key, SUGGESTIONS)
        return _page(request, "unknown_tag.html", {"tag": key, "near": near}, 404)
    interval = interval or auto_interval(found, start, end)
    chart = _tag_chart(gen.tables, key, found, interval, start, end)
    key_: CursorKey = request.app.state.cursor_key
    posts = {
        sort: [
            (p, highlight_tag(p.snippet, found.display))
            for p in _tag_posts(gen, key_, key, sort, from_, to).items
        ]
        for sort in ("recent", "engagement")
    }
    return _page(
        request,
        "tag.html",
        {
            "tag": found,
            "interval": interval,
            "from": from_ or "",
            "to": to or "",
            **chart,
            "platforms": _shares(found.platforms, found.posts),
            "langs": _shares(found.langs, found.posts),
            "related": tags.related(gen.tables, key, RELATED, RELATED_MIN_SUPPORT),
            "recent": posts["recent"],
            "top": posts["engagement"],
            "query": _query({"from": from_, "to": to}),
        },
    )


def _tag_chart(
    tables: Tables,
    key: str,
    found: tags.TagDetail,
    interval: Literal["hour", "day", "week"],
    start: datetime | None,
    end: datetime | None,
) -> dict[str, Any]:
    """The tag page's chart (posts and distinct authors per ``interval``), its legend and
    its points; a 400 if it would have more than :data:`CHART_MAX_POINTS` points."""
    span = tags.series_range(tables, key, interval, start, end)
    assert span is not None  # the tag is known
    n = tags.bucket_count(span, interval)
    if n > CHART_MAX_POINTS:
        raise ApiError(
            400,
            f"interval: {n:,} {interval}s between from and to; a chart shows at most "
            f"{CHART_MAX_POINTS:,} (choose a larger interval or a shorter range)",
            "interval",
        )
    points = tags.timeseries(tables, key, interval, span)
    series = [
        charts.Series("posts", [p.posts for p in points]),
        charts.Series("authors", [p.authors for p in points]),
    ]
    chart = charts.line_chart(
        [p.t for p in points],
        series,
        step=tags.INTERVAL_STEP[interval],
        label=f"#{found.display}: posts and distinct authors per {interval} (UTC)",
    )
    return {
        "chart": Markup(chart),
        "legend": charts.legend([s.name for s in series]),
        "points": points if n <= charts.MARKED_POINTS else [],
        "npoints": n,
    }


def auto_interval(
    found: tags.TagDetail, start: datetime | None, end: datetime | None
) -> Literal["hour", "day", "week"]:
    """The chart's interval when none is asked for: hours over up to 4 days, days up to
    :data:`CHART_MAX_POINTS`, else weeks."""
    first, last = start or found.first_seen, end or found.last_seen
    if first is None or last is None:
        return "day"
    span = last - first
    if span <= timedelta(days=4):
        return "hour"
    return "day" if span <= timedelta(days=CHART_MAX_POINTS - 1) else "week"


def _tag_posts(
    gen: Generation, key: CursorKey, tag: str, sort: search.Sort, from_: str | None, to: str | None
) -> search.PostsPage:
    return posts_answer(
        gen,
        key,
        q=None,
        tag=tag,
        author=None,
        platform=None,
        lang=None,
        community=None,
        from_=from_ or None,
        to=to or None,
        sort=sort,
        limit=POSTS_SHOWN,
        cursor=None,
    )


def _shares(counts: Mapping[str, int], total: int) -> list[tuple[str, int, float]]:
    """``(name, count, percent of total)``, most first (as given), the rest summed."""
    items = list(counts.items())
    shown = items[:MIX_SHOWN]
    rest = sum(n for _, n in items[MIX_SHOWN:])
    if rest:
        shown.append((f"{len(items) - MIX_SHOWN} others", rest))
    return [(name, n, 100 * n / total if total else 0.0) for name, n in shown]


# --------------------------------------------------------------------------- search


SEARCH_FIELDS = ("q", "tag", "author", "platform", "lang", "community", "from", "to", "sort")


@get("/search", name="page_search", sync_to_thread=True, include_in_schema=False)
def search_page(
    request: Req,
    q: Text = None,
    tag: Text = None,
    author: Text = None,
    platform: Text = None,
    lang: Text = None,
    community: Text = None,
    from_: Annotated[str | None, QueryParameter(name="from", max_length=64)] = None,
    to: Annotated[str | None, QueryParameter(max_length=64)] = None,
    sort: Annotated[Literal["relevance", "recent", "engagement"], QueryParameter()] = "relevance",
    cursor: Annotated[str | None, QueryParameter(max_length=256)] = None,
    back: Annotated[list[str] | None, QueryParameter(max_length=MAX_BACK)] = None,
) -> Template:
    gen = generation_of(request)
    values = {
        "q": q or "",
        "tag": tag or "",
        "author": author or "",
        "platform": platform or "",
        "lang": lang or "",
        "community": community or "",
        "from": from_ or "",
        "to": to or "",
        "sort": sort,
    }
    page = None
    if any(values[k] for k in SEARCH_FIELDS if k != "sort"):
        page = _search(gen, request.app.state.cursor_key, values, sort, cursor)
    trail = list(back or [])
    next_link, prev_link = _search_links(values, page, cursor, trail)
    number = len(trail) + 1
    return _page(
        request,
        "search.html",
        {
            "values": values,
            "page": page,
            "items": [(p, Markup(p.snippet)) for p in page.items] if page else [],
            "first": (number - 1) * SEARCH_PAGE + 1,
            "number": number,
            "next_link": next_link,
            "prev_link": prev_link,
            "platforms": gen.tables.platforms,
            "api": _query({k: v for k, v in values.items()}, cursor=cursor),
        },
    )


def _search(
    gen: Generation, key: CursorKey, values: dict[str, str], sort: search.Sort, cursor: str | None
) -> search.PostsPage:
    """One page of the search form's ``values`` (empty fields are no filter)."""
    return posts_answer(
        gen,
        key,
        q=values["q"] or None,
        tag=values["tag"] or None,
        author=values["author"] or None,
        platform=values["platform"] or None,
        lang=values["lang"] or None,
        community=values["community"] or None,
        from_=values["from"] or None,
        to=values["to"] or None,
        sort=sort,
        limit=SEARCH_PAGE,
        cursor=cursor or None,
    )


def _search_links(
    values: dict[str, str], page: search.PostsPage | None, cursor: str | None, trail: list[str]
) -> tuple[str | None, str | None]:
    """The next and previous pages' query strings: ``back`` is the trail of cursors that
    led here ("-" for the first page)."""
    next_link = prev_link = None
    if page is not None and page.next_cursor:
        next_link = _query(values, cursor=page.next_cursor, back=[*trail, cursor or "-"])
    if cursor:
        prev = trail[-1] if trail else "-"
        prev_link = _query(values, cursor=None if prev == "-" else prev, back=trail[:-1])
    return next_link, prev_link


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Mix:
    posts: int
    platforms: dict[str, int]
    langs: dict[str, int]


def mix(
    tables: Tables, start: datetime, end: datetime, platform: str | None, lang: str | None
) -> Mix:
    """Posts in ``[start, end)``, and per platform and language, most first (then name).
    A whole day's counts are kept (a split never changes): a long period costs a sum."""
    parts = []
    for split in tables.covering(start, end):
        whole = start <= split.start and split.start + timedelta(days=1) <= end
        parts.append(split.day_mix if whole else split.mix(start, end))
    if not parts:
        return Mix(0, {}, {})
    both = pl.concat(parts)
    if platform is not None or lang is not None:
        codes = [
            (column, tables.platform_code(name) if column == "platform" else tables.lang_code(name))
            for column, name in (("platform", platform), ("lang", lang))
            if name is not None
        ]
        if any(code is None for _, code in codes):
            return Mix(0, {}, {})
        for column, code in codes:
            both = both.filter(pl.col(column) == code)

    def by(column: str, names: list[str]) -> dict[str, int]:
        counts = both.group_by(column).agg(pl.col("len").sum())
        named = [(names[code], int(n)) for code, n in counts.iter_rows() if n]
        return dict(sorted(named, key=lambda kv: (-kv[1], kv[0])))

    platforms = by("platform", tables.platforms)
    return Mix(sum(platforms.values()), platforms, by("lang", tables.langs))


def movers(
    tables: Tables, frame: pl.DataFrame, prev: pl.DataFrame
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Risers and fallers against the previous period of the same length (``prev``, the
    report's :func:`reports.previous_posts`): the most posts gained and lost, tags gone
    from the period included among the fallers."""
    now = frame.select("tag", "display", "posts", prev="prev_posts")
    if prev.height:
        gone = (
            pl.DataFrame(
                {
                    "tag": tables.tags["tag"].gather(prev["row"]),
                    "display": tables.tags["display"].gather(prev["row"]),
                    "posts": pl.Series([0] * prev.height, dtype=pl.Int64()),
                    "prev": prev["prev_posts"],
                }
            )
            .pipe(reports.escape_formulas)
            .join(now, on="tag", how="anti")
        )
        now = pl.concat([now, gone.select(now.columns)], how="vertical_relaxed")
    both = now.with_columns(delta=pl.col("posts") - pl.col("prev"))
    risers = both.filter(pl.col("delta") > 0).sort(["delta", "tag"], descending=[True, False])
    fallers = both.filter(pl.col("delta") < 0).sort(["delta", "tag"])
    return risers.head(MOVERS).to_dicts(), fallers.head(MOVERS).to_dicts()


class PageCache:
    """The last ``size`` pages' contexts by key, least recently used dropped (thread-safe).
    Keys start with the generation's id: a generation never changes, so neither does a
    page of it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> dict[str, Any] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: dict[str, Any]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


REPORT_CACHE = PageCache(32)
"""Report pages: the costliest page (a report over the period and its previous one)."""


@get("/report", name="page_report", sync_to_thread=True, include_in_schema=False)
def report_page(
    request: Req,
    from_: Annotated[str | None, QueryParameter(name="from", max_length=64)] = None,
    to: Annotated[str | None, QueryParameter(max_length=64)] = None,
    platform: Text = None,
    lang: Text = None,
) -> Template:
    gen = generation_of(request)
    tables = gen.tables
    only_platform = parse_platform(platform, tables.platforms)
    only_lang = parse_filter(lang)
    start, end = reports.resolve_period(tables, *parse_range(from_ or None, to or None))
    key = (gen.id, start, end, only_platform, only_lang)
    context = REPORT_CACHE.get(key)
    if context is None:
        context = report_context(tables, start, end, only_platform, only_lang)
        REPORT_CACHE.put(key, context)
    return _page(request, "report.html", context)


def report_context(
    tables: Tables,
    start: datetime,
    end: datetime,
    only_platform: str | None,
    only_lang: str | None,
) -> dict[str, Any]:
    """Everything the report page shows about ``[start, end)``."""
    prev = reports.previous_posts(tables, start, end, only_platform, only_lang)
    frame = reports.report_frame(
        tables, start, end, platform=only_platform, lang=only_lang, prev=prev
    )
    shares = mix(tables, start, end, only_platform, only_lang)
    total = shares.posts
    prev_total = tables.posts_between(
        saturating_add(start, start - end), start, only_platform, only_lang
    )  # not prev's sum: a post with no tag counts too
    risers, fallers = movers(tables, frame, prev)
    interval: Literal["day", "week"] = (
        "day" if (end - start) / timedelta(days=1) <= CHART_MAX_POINTS else "week"
    )
    chart, legend = _top_tags_chart(tables, frame, start, end, interval, only_platform, only_lang)
    params = {"from": _iso(start), "to": _iso(end), "platform": only_platform, "lang": only_lang}
    return {
        "start": start,
        "end": end,
        "days": (end - start) / timedelta(days=1),
        "from": _iso(start),
        "to": _iso(end),
        "platform": only_platform or "",
        "lang": only_lang or "",
        "platforms": tables.platforms,
        "total": total,
        "prev_total": prev_total,
        "change": (total - prev_total) * 100 / prev_total if prev_total else None,
        "ntags": frame.height,
        "rows": frame.head(REPORT_ROWS).to_dicts(),
        "columns": reports.COLUMNS,
        "risers": risers,
        "fallers": fallers,
        "chart": chart,
        "legend": legend,
        "interval": interval,
        "platform_mix": _shares(shares.platforms, total),
        "lang_mix": _shares(shares.langs, total),
        "query": _query(params),
    }


def _top_tags_chart(
    tables: Tables,
    frame: pl.DataFrame,
    start: datetime,
    end: datetime,
    interval: Literal["day", "week"],
    only_platform: str | None,
    only_lang: str | None,
) -> tuple[Markup | None, list[tuple[str, str]] | None]:
    """The report's chart of its top 5 tags' posts per ``interval``, and its legend (None
    and None for an empty report)."""
    top = list(frame.head(5).select("tag", "display").iter_rows())
    if not top:
        return None, None
    step = tags.INTERVAL_STEP[interval]
    span = tags.SeriesRange(
        tags.truncate(start, interval),
        tags.truncate(end - timedelta(microseconds=1), interval) + step,
    )
    lines = [
        charts.Series(
            f"#{display}",
            [p.posts for p in tags.timeseries(tables, t, interval, span, only_platform, only_lang)],
        )
        for t, display in top
    ]
    times = [span.start + i * step for i in range(tags.bucket_count(span, interval))]
    label = f"posts per {interval} of the top {len(top)} tags (UTC)"
    chart = Markup(charts.line_chart(times, lines, step=step, label=label))
    return chart, charts.legend([s.name for s in lines])


# --------------------------------------------------------------------------- router


def pages_router() -> Router:
    return Router(
        "/",
        route_handlers=[trending_page, tag_page, search_page, report_page],
        exception_handlers={HTTPException: html_error, InvalidParameter: html_invalid_parameter},
        include_in_schema=False,
    )


def static_router() -> Router:
    return create_static_files_router("/static", [STATIC], name="static", include_in_schema=False)
