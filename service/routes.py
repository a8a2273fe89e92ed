"""HTTP routes. Handlers parse and check parameters, then call the logic modules
(tags, trends, search, reports) on the generation pinned to the request."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat
from litestar.params import PathParameter, QueryParameter
from litestar.response import Stream

from indexer.schema import Manifest
from service import admin, changes, metrics, report_formats, reports, search, tags, trends
from service.errors import ApiError, ErrorResponse
from service.generation import Generation, GenerationStore, kept_manifest, previous_manifest
from service.keys import CursorKey
from service.limits import FailedAttempts
from service.params import (
    MAX_TAG,
    MAX_TAG_SEARCH,
    MIN_TIME,
    MIN_TIME_TEXT,
    TIME_RANGE,
    parse_community,
    parse_duration,
    parse_filter,
    parse_platform,
    parse_range,
    parse_tag,
    parse_time,
    saturating_add,
)
from service.settings import Settings

Req = Request[Any, Any, Any]
ERRORS = {
    400: ResponseSpec(ErrorResponse, description="a parameter is invalid (named in the body)"),
    503: ResponseSpec(ErrorResponse, description="no index generation is loaded yet"),
}
TAG_ERRORS = {**ERRORS, 404: ResponseSpec(ErrorResponse, description="unknown tag")}

MAX_TAGS = 2**32 - 1
"""The most tags a generation can hold (tag ids are 32-bit): a report's largest ``limit``."""
MAX_COUNT = 2**53
"""``min_support``'s largest value: more than any count a table holds in practice, and the
largest integer that every JSON reader of the OpenAPI document holds exactly."""
Limit = Annotated[int, QueryParameter(ge=1, le=1000, description="number of items (1-1000)")]
_TIME = f"RFC 3339 with a zone, or a date (its midnight UTC), from {TIME_RANGE}"
From = Annotated[
    str | None,
    QueryParameter(
        name="from", description=f"inclusive start: {_TIME}", format=OpenAPIFormat.DATE_TIME
    ),
]
To = Annotated[
    str | None,
    QueryParameter(description=f"exclusive end: {_TIME}", format=OpenAPIFormat.DATE_TIME),
]
MAX_NAME = 64
"""Longest ``platform``, ``lang`` or ``community``."""
MAX_AUTHOR = 512
"""Longest ``author`` (a Bluesky handle is a domain name: up to 253 characters)."""
MAX_CURSOR = 256
"""Longest ``cursor`` (ours are under 100 characters)."""
MAX_DURATION_CHARS = 16
"""Longest ``window`` or ``baseline`` text."""
DURATION_PATTERN = r"^\s*[0-9]{1,9}\s*[mhdw]\s*$"
"""A ``window`` or ``baseline``: a number and a unit (minutes, hours, days, weeks)."""
Platform = Annotated[
    str | None,
    QueryParameter(
        max_length=MAX_NAME, description="only posts of this platform (x, bluesky, ...)"
    ),
]
Lang = Annotated[
    str | None,
    QueryParameter(max_length=MAX_NAME, description="only posts in this language (en, ja, ...)"),
]
TagPath = Annotated[
    str,
    PathParameter(
        max_length=MAX_TAG,
        description="a tag in any spelling: Python, #python, %23PYTHON, Straße "
        f"(at most {MAX_TAG} characters)",
    ),
]


class Health(msgspec.Struct, omit_defaults=True):
    status: str
    generation: str | None = None


def generation_of(request: Req) -> Generation:
    """The generation pinned to this request by the middleware."""
    gen: Generation | None = request.scope.get("state", {}).get("generation")
    if gen is None:
        store: GenerationStore = request.app.state.store
        raise ApiError(503, store.last_error or "no index generation is loaded yet")
    return gen


SUGGESTIONS = 5
"""Near misses an unknown tag's 404 suggests."""


def _unknown(gen: Generation, tag: str) -> ApiError:
    """The 404 of an unknown tag, naming the near misses the index has (a search of the
    index: call it in a worker thread)."""
    near = tags.near_misses(gen.tables, gen.index, gen.searcher, tag, SUGGESTIONS)
    hint = f"; did you mean {', '.join(t.tag for t in near)}?" if near else ""
    return ApiError(404, f"unknown tag: {tag}{hint}", "tag")


@get("/healthz", summary="Liveness: the process answers", sync_to_thread=False)
def healthz() -> Health:
    return Health(status="ok")


@get(
    "/readyz",
    summary="Readiness: an index generation is loaded (503 until then)",
    sync_to_thread=False,
    responses={503: ERRORS[503]},
)
def readyz(request: Req) -> Health:
    return Health(status="ready", generation=generation_of(request).id)


@get(
    "/v1/index",
    summary="The served generation's manifest",
    sync_to_thread=False,
    responses={503: ERRORS[503]},
)
def index_manifest(request: Req) -> Manifest:
    return public_manifest(generation_of(request).manifest)


def public_manifest(manifest: Manifest) -> Manifest:
    """The manifest without the server's directories: each source's path relative to the
    deepest directory holding them all (a single source: its file name). Kept for the last
    manifests asked for (a generation's manifest never changes)."""
    cached = _PUBLIC.get(id(manifest))
    if cached is not None and cached[0] is manifest:
        return cached[1]
    paths = [PurePosixPath(s.path) for s in manifest.sources]
    try:
        base = PurePosixPath(os.path.commonpath([str(p.parent) for p in paths]))
        relative = [str(p.relative_to(base)) for p in paths]
    except ValueError:  # no sources, or absolute and relative paths mixed: file names
        relative = [p.name for p in paths]
    sources = [
        msgspec.structs.replace(s, path=path)
        for s, path in zip(manifest.sources, relative, strict=True)
    ]
    found = msgspec.structs.replace(manifest, sources=sources)
    if len(_PUBLIC) >= 4:
        _PUBLIC.clear()
    _PUBLIC[id(manifest)] = (manifest, found)
    return found


_PUBLIC: dict[int, tuple[Manifest, Manifest]] = {}


@get(
    "/v1/hashtags",
    summary="Autocomplete tags by key prefix, or find near misses (typos)",
    description="With `prefix`: tags whose key starts with it, most posts first. With `q`: "
    "tags within one edit of it (two for 6+ characters), closest first. Give one of them.",
    responses=ERRORS,
)
async def list_hashtags(
    request: Req,
    prefix: Annotated[
        str | None,
        QueryParameter(
            max_length=MAX_TAG_SEARCH,
            description=f"start of a tag, any spelling (at most {MAX_TAG_SEARCH} characters)",
        ),
    ] = None,
    q: Annotated[
        str | None,
        QueryParameter(
            max_length=MAX_TAG_SEARCH,
            description=f"a tag that may be misspelled (at most {MAX_TAG_SEARCH} characters)",
        ),
    ] = None,
    limit: Limit = 10,
) -> tags.TagList:
    gen = generation_of(request)
    if q and prefix:
        raise ApiError(400, "q: give q (near misses) or prefix (autocomplete), not both", "q")
    if q:
        key = parse_tag(q, "q", MAX_TAG_SEARCH)
        # a search of the index: in a worker thread, never on the event loop
        found = await asyncio.to_thread(
            tags.near_misses, gen.tables, gen.index, gen.searcher, key, limit
        )
        return tags.TagList(found)
    key = parse_tag(prefix, "prefix", MAX_TAG_SEARCH) if prefix else ""
    if tags.autocomplete_is_cheap(gen.tables, key):  # microseconds: no thread hop
        return tags.TagList(tags.autocomplete(gen.tables, key, limit))
    return tags.TagList(await asyncio.to_thread(tags.autocomplete, gen.tables, key, limit))


@get(
    "/v1/hashtags/{tag:str}",
    summary="Exact totals of one tag",
    description="Posts, distinct authors, engagement, first and last use, posts per platform "
    "and per language; over the whole generation or [from, to), of all posts or of one "
    "platform and/or language.",
    responses=TAG_ERRORS,
)
async def hashtag_detail(
    request: Req,
    tag: TagPath,
    from_: From = None,
    to: To = None,
    platform: Platform = None,
    lang: Lang = None,
) -> tags.TagDetail:
    gen = generation_of(request)
    key = parse_tag(tag)
    start, end = parse_range(from_, to)
    only = parse_platform(platform, gen.tables.platforms), parse_filter(lang)
    if start is None and end is None and only == (None, None):
        found = tags.detail(gen.tables, key, None, None)  # the build's totals: no thread hop
    else:  # counted from the postings: in a worker thread, never on the event loop
        found = await asyncio.to_thread(tags.detail, gen.tables, key, start, end, *only)
    if found is None:
        raise await asyncio.to_thread(_unknown, gen, key)
    return found


@get(
    "/v1/hashtags/{tag:str}/timeseries",
    summary="Posts, distinct authors and engagement of one tag per UTC bucket",
    description="Buckets are hours, days or weeks (starting Monday), UTC; empty buckets are "
    "zeros. Without from/to: from the tag's first use to its last. `platform` and `lang` "
    "count only the posts of that platform and/or language.",
    sync_to_thread=True,
    responses=TAG_ERRORS,
)
def hashtag_timeseries(
    request: Req,
    tag: TagPath,
    interval: Annotated[
        Literal["hour", "day", "week"], QueryParameter(description="bucket size")
    ] = "day",
    from_: From = None,
    to: To = None,
    platform: Platform = None,
    lang: Lang = None,
) -> tags.TimeSeries:
    gen = generation_of(request)
    key = parse_tag(tag)
    start, end = parse_range(from_, to)
    only = parse_platform(platform, gen.tables.platforms), parse_filter(lang)
    span = tags.series_range(gen.tables, key, interval, start, end)
    if span is None:
        raise _unknown(gen, key)
    buckets = tags.bucket_count(span, interval)
    if buckets > tags.MAX_POINTS:
        raise ApiError(
            400,
            f"interval: {buckets} {interval}s between from and to; at most "
            f"{tags.MAX_POINTS} buckets (use a larger interval or a shorter range)",
            "interval",
        )
    points = tags.timeseries(gen.tables, key, interval, span, *only)
    return tags.TimeSeries(key, interval, points)


@get(
    "/v1/hashtags/{tag:str}/related",
    summary="Tags used together with one tag",
    description="Ranked by normalised pointwise mutual information (NPMI) over posts, among "
    "tags seen together on at least `min_support` posts, so that giant generic tags do not "
    "top every list; `co_posts` is the exact number of posts carrying both. With `platform` "
    "and/or `lang`, every figure counts only the posts of that platform and language.",
    sync_to_thread=True,
    responses=TAG_ERRORS,
)
def hashtag_related(
    request: Req,
    tag: TagPath,
    limit: Limit = 10,
    min_support: Annotated[
        int,
        QueryParameter(
            ge=1, le=MAX_COUNT, description="least posts the two tags share (default 3)"
        ),
    ] = 3,
    platform: Platform = None,
    lang: Lang = None,
) -> tags.RelatedList:
    gen = generation_of(request)
    key = parse_tag(tag)
    only = parse_platform(platform, gen.tables.platforms), parse_filter(lang)
    if gen.tables.tag_row(key) is None:
        raise _unknown(gen, key)
    return tags.RelatedList(key, tags.related(gen.tables, key, limit, min_support, *only))


ReportLimit = Annotated[
    int | None,
    QueryParameter(ge=1, le=MAX_TAGS, description=f"top N tags (1-{MAX_TAGS}); default all"),
]


def _report(
    request: Req,
    fmt: report_formats.Format,
    from_: str | None,
    to: str | None,
    limit: int | None,
    platform: str | None,
    lang: str | None,
) -> Stream:
    """The report download in ``fmt``: the same rows for every format."""
    tables = generation_of(request).tables
    frame, name = reports.prepare(
        tables,
        from_=from_,
        to=to,
        limit=limit,
        platform=parse_platform(platform, tables.platforms),
        lang=lang,
        ext=fmt,
    )
    try:
        chunks = report_formats.spooled(frame, fmt, report_formats.created_time(tables))
    except report_formats.TooManyRows as e:
        raise ApiError(400, f"limit: {e}", "limit") from None
    return Stream(
        chunks,
        media_type=report_formats.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@get(
    "/v1/reports/index.csv",
    summary="The Hashtag Index report (CSV download)",
    description=reports.__doc__ or "",
    sync_to_thread=True,
    responses=ERRORS,
    media_type="text/csv",
)
def report_index(
    request: Req,
    from_: From = None,
    to: To = None,
    limit: ReportLimit = None,
    platform: Platform = None,
    lang: Lang = None,
) -> Stream:
    return _report(request, "csv", from_, to, limit, platform, lang)


@get(
    "/v1/reports/index.xlsx",
    summary="The Hashtag Index report (XLSX spreadsheet download)",
    description="The CSV report's rows and columns as a spreadsheet: a header row, number "
    "cells, UTC date cells, text always as text (never a formula). At most "
    f"{report_formats.XLSX_MAX_ROWS:,} tags (400 beyond: give `limit`).",
    sync_to_thread=True,
    responses=ERRORS,
    media_type=report_formats.MEDIA_TYPES["xlsx"],
)
def report_index_xlsx(
    request: Req,
    from_: From = None,
    to: To = None,
    limit: ReportLimit = None,
    platform: Platform = None,
    lang: Lang = None,
) -> Stream:
    return _report(request, "xlsx", from_, to, limit, platform, lang)


@get(
    "/v1/reports/index.parquet",
    summary="The Hashtag Index report (Parquet download)",
    description="The CSV report's rows and columns as Parquet (zstd): Int64 counts, Float64 "
    "percentages, UTC timestamps.",
    sync_to_thread=True,
    responses=ERRORS,
    media_type=report_formats.MEDIA_TYPES["parquet"],
)
def report_index_parquet(
    request: Req,
    from_: From = None,
    to: To = None,
    limit: ReportLimit = None,
    platform: Platform = None,
    lang: Lang = None,
) -> Stream:
    return _report(request, "parquet", from_, to, limit, platform, lang)


class Trending(msgspec.Struct):
    as_of: datetime
    window: str
    baseline: str
    items: list[trends.TrendItem]
    flagged: list[trends.TrendItem]
    """Tags whose coordination is above flag_above, kept out of ``items`` (empty with
    include_flagged=true, when they stay in ``items``, marked)."""


Window = Annotated[
    str,
    QueryParameter(
        max_length=MAX_DURATION_CHARS,
        pattern=DURATION_PATTERN,
        description="window length: 1h, 6h, 24h, 7d, 30m, 2w; at most 520w",
    ),
]
Baseline = Annotated[
    str,
    QueryParameter(
        max_length=MAX_DURATION_CHARS,
        pattern=DURATION_PATTERN,
        description="baseline length just before the window, e.g. 7d; at most 520w",
    ),
]
AsOf = Annotated[
    str | None,
    QueryParameter(
        description=f"end of the window: {_TIME}; as_of - window - baseline must not be "
        "earlier than its lower bound. Default: just after the newest post",
        format=OpenAPIFormat.DATE_TIME,
    ),
]
TrendLimit = Annotated[int, QueryParameter(ge=1, le=200, description="items (1-200)")]
IncludeFlagged = Annotated[
    bool,
    QueryParameter(
        description="keep tags flagged as coordinated in the ranking (marked flagged: true) "
        "instead of listing them apart in `flagged`"
    ),
]
FlagAbove = Annotated[
    float,
    QueryParameter(
        ge=0,
        le=1,
        description="a tag whose coordination score is above this (0-1) is flagged; "
        f"default {trends.TrendParams.flag_above}",
    ),
]


@get(
    "/v1/trending",
    summary="Tags rising most above their own recent past, by distinct authors",
    description=(
        "Window `[as_of - window, as_of)` against the baseline span just before it. "
        "expected_authors = prior + mean distinct authors per window-length slot of the "
        "baseline; growth = authors / expected_authors; score = (authors - expected)^2 / "
        "expected; listed only with at least min_authors distinct authors, growth >= "
        "min_growth. One account posting many times moves posts, never the score. "
        "`as_of` defaults to the newest post of the generation. Each item also carries "
        "coordination signals (posts_per_author, top_author_share, new_author_share, "
        "burstiness) and their `coordination` score; tags scoring above `flag_above` are "
        "listed apart in `flagged` with their reasons (`include_flagged=true` keeps them in "
        "the ranking, marked). See docs/trending.md."
    ),
    sync_to_thread=True,
    responses=ERRORS,
)
def trending(
    request: Req,
    window: Window = "24h",
    baseline: Baseline = "7d",
    as_of: AsOf = None,
    limit: TrendLimit = 20,
    platform: Platform = None,
    lang: Lang = None,
    include_flagged: IncludeFlagged = False,
    flag_above: FlagAbove = trends.TrendParams.flag_above,
) -> Trending:
    return trending_answer(
        generation_of(request),
        window,
        baseline,
        as_of,
        limit,
        platform,
        lang,
        include_flagged=include_flagged,
        flag_above=flag_above,
    )


@dataclass(frozen=True)
class TrendQuestion:
    """A trending question's parameters, checked (400s name the parameter)."""

    as_of: datetime
    window: timedelta
    baseline: timedelta
    window_text: str
    baseline_text: str
    platform: str | None
    lang: str | None
    params: trends.TrendParams


def trend_question(
    gen: Generation,
    window: str,
    baseline: str,
    as_of: str | None,
    platform: str | None,
    lang: str | None,
    flag_above: float = trends.TrendParams.flag_above,
) -> TrendQuestion:
    w = parse_duration(window, "window")
    b = parse_duration(baseline, "baseline")
    end = parse_time(as_of, "as_of") or _newest(gen)
    check_span(end, w, b, "as_of")
    if not 0 <= flag_above <= 1:
        raise ApiError(400, "flag_above: must be from 0 to 1", "flag_above")
    return TrendQuestion(
        as_of=end,
        window=w,
        baseline=b,
        window_text=window.strip(),
        baseline_text=baseline.strip(),
        platform=parse_platform(platform, gen.tables.platforms),
        lang=parse_filter(lang),
        params=trends.TrendParams(flag_above=flag_above),
    )


def check_span(end: datetime, window: timedelta, baseline: timedelta, parameter: str) -> None:
    """A 400 naming ``parameter`` if the baseline before ``end`` starts before MIN_TIME."""
    if end - MIN_TIME < window + baseline:
        raise ApiError(
            400,
            f"{parameter}: the baseline would start before {MIN_TIME_TEXT} ({parameter} - "
            "window - baseline); give a later time or shorter spans",
            parameter,
        )


def trending_answer(
    gen: Generation,
    window: str,
    baseline: str,
    as_of: str | None,
    limit: int,
    platform: str | None,
    lang: str | None,
    *,
    include_flagged: bool = False,
    flag_above: float = trends.TrendParams.flag_above,
) -> Trending:
    """``GET /v1/trending``'s answer for raw parameters (400s name the parameter); the
    dashboard calls it too."""
    q = trend_question(gen, window, baseline, as_of, platform, lang, flag_above)
    found = trends.trend_list(
        gen.tables,
        as_of=q.as_of,
        window=q.window,
        baseline=q.baseline,
        limit=limit,
        platform=q.platform,
        lang=q.lang,
        params=q.params,
        include_flagged=include_flagged,
    )
    return Trending(q.as_of, q.window_text, q.baseline_text, found.items, found.flagged)


_GENERATION_ID = re.compile(r"^\d{8}T\d{6}Z-\d{4,}$")


@get(
    "/v1/trending/changes",
    summary="What changed in the trending list since a generation or a time",
    description=(
        "New entries, exits, risers and fallers (with old and new ranks) between the "
        "trending list at `since` and at `as_of`, both computed from the served "
        "generation with the same window, baseline, limit and filters. `since` is a "
        "generation id (the instant just after its newest post) or a time; by default "
        "the generation published before this one. See docs/trending.md."
    ),
    sync_to_thread=True,
    responses=ERRORS,
)
def trending_changes(
    request: Req,
    since: Annotated[
        str | None,
        QueryParameter(
            max_length=64,
            description="a generation id (e.g. 20261126T101500Z-0001) or a time "
            f"({_TIME}); default: the previous generation",
        ),
    ] = None,
    window: Window = "24h",
    baseline: Baseline = "7d",
    as_of: AsOf = None,
    limit: TrendLimit = 20,
    platform: Platform = None,
    lang: Lang = None,
    include_flagged: IncludeFlagged = False,
    flag_above: FlagAbove = trends.TrendParams.flag_above,
) -> changes.Changes:
    gen = generation_of(request)
    q = trend_question(gen, window, baseline, as_of, platform, lang, flag_above)
    old = since_instant(gen, since)
    check_span(old, q.window, q.baseline, "since")
    if old > q.as_of:
        raise ApiError(400, "since: must not be after as_of", "since")
    return changes.changes(
        gen.tables,
        old_as_of=old,
        as_of=q.as_of,
        window=q.window,
        baseline=q.baseline,
        limit=limit,
        window_text=q.window_text,
        baseline_text=q.baseline_text,
        platform=q.platform,
        lang=q.lang,
        params=q.params,
        include_flagged=include_flagged,
    )


def since_instant(gen: Generation, since: str | None) -> datetime:
    """``since`` as an instant: a generation's is just after its newest post."""
    if since is None or _GENERATION_ID.match(since.strip()):
        manifest = previous_manifest(gen) if since is None else kept_manifest(gen, since.strip())
        if manifest is None:
            what = (
                "no generation was published before this one"
                if since is None
                else (f"generation {since.strip()} is not kept (or never was)")
            )
            raise ApiError(400, f"since: {what}; give a time", "since")
        if manifest.to is None:
            raise ApiError(400, f"since: generation {manifest.generation} is empty", "since")
        return saturating_add(manifest.to, timedelta(microseconds=1))
    found = parse_time(since, "since")
    assert found is not None
    return found


def _newest(gen: Generation) -> datetime:
    """Just after the newest post, so that the window includes it."""
    newest = gen.manifest.to
    if newest is None:
        raise ApiError(400, "as_of: the index is empty; give as_of", "as_of")
    return saturating_add(newest, timedelta(microseconds=1))


@get(
    "/v1/posts",
    summary="Full-text search of posts, with snippets and cursor pagination",
    description=(
        '`q`: words (all must match), "phrases", -exclusions, OR between groups; words of '
        "5+ characters also match one typo (8+: two), exact matches first; accents and case "
        "folded (cafe finds café). Filters narrow without changing the score. `total` is exact. "
        "Follow `next_cursor` (same query) for the next page; null on the last one."
    ),
    sync_to_thread=True,
    responses=ERRORS,
)
def posts(
    request: Req,
    q: Annotated[
        str | None,
        QueryParameter(
            max_length=search.MAX_Q_CHARS,
            description=f"search words and phrases (at most {search.MAX_Q_CHARS} characters, "
            f"{search.MAX_WORDS} words)",
        ),
    ] = None,
    tag: Annotated[
        str | None, QueryParameter(max_length=MAX_TAG, description="only posts with this tag")
    ] = None,
    author: Annotated[
        str | None,
        QueryParameter(max_length=MAX_AUTHOR, description="only posts by this author"),
    ] = None,
    platform: Platform = None,
    lang: Lang = None,
    community: Annotated[
        str | None,
        QueryParameter(
            max_length=MAX_NAME,
            description="only posts made in this community (Reddit: the subreddit, python "
            "or r/python), case-insensitive",
        ),
    ] = None,
    from_: From = None,
    to: To = None,
    sort: Annotated[
        Literal["relevance", "recent", "engagement"], QueryParameter(description="order")
    ] = "relevance",
    limit: Annotated[
        int, QueryParameter(ge=1, le=search.MAX_LIMIT, description="posts per page (1-100)")
    ] = 20,
    cursor: Annotated[
        str | None,
        QueryParameter(max_length=MAX_CURSOR, description="next_cursor of the previous page"),
    ] = None,
) -> search.PostsPage:
    key: CursorKey = request.app.state.cursor_key
    return posts_answer(
        generation_of(request),
        key,
        q=q,
        tag=tag,
        author=author,
        platform=platform,
        lang=lang,
        community=community,
        from_=from_,
        to=to,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )


def posts_answer(
    gen: Generation,
    key: CursorKey,
    *,
    q: str | None,
    tag: str | None,
    author: str | None,
    platform: str | None,
    lang: str | None,
    community: str | None,
    from_: str | None,
    to: str | None,
    sort: search.Sort,
    limit: int,
    cursor: str | None,
) -> search.PostsPage:
    """``GET /v1/posts``' answer for raw parameters (400s name the parameter); the search
    page calls it too."""
    start, end = parse_range(from_, to)
    params = search.SearchParams(
        q=q,
        tag=parse_tag(tag) if tag else None,
        author=author.strip() if author else None,
        platform=parse_platform(platform, gen.tables.platforms),
        lang=parse_filter(lang),
        community=parse_community(community),
        from_=start,
        to=end,
        sort=sort,
        limit=limit,
        cursor=cursor or None,
    )
    return search.search_posts(gen.index, gen.searcher, params, key.get())


@get(
    "/metrics",
    summary="Prometheus metrics (text format): requests, latency, the served generation",
    description=(metrics.__doc__ or "").split("\n\n", 1)[-1],
    sync_to_thread=True,
    media_type=metrics.CONTENT_TYPE,
)
def prometheus_metrics(request: Req) -> Response[bytes]:
    found: metrics.Metrics = request.app.state.metrics
    return Response(found.render(), media_type=metrics.CONTENT_TYPE)


def _admin(request: Req) -> admin.Jobs:
    """The jobs registry, once the request has shown the admin key."""
    settings: Settings = request.app.state.settings
    if settings.api_key is None:
        raise ApiError(404, "the admin API is disabled: set HASHTAG_INDEX_API_KEY to enable it")
    failures: FailedAttempts = request.app.state.admin_failures
    client = request.client.host if request.client else "unknown"
    failures.check(client)
    given = request.headers.get("x-api-key")
    if not given:
        failures.failed(client)
        raise ApiError(401, "send the admin key in the X-API-Key header", "X-API-Key")
    if not secrets.compare_digest(given.encode(), settings.api_key.encode()):
        failures.failed(client)
        raise ApiError(403, "wrong admin key", "X-API-Key")
    jobs: admin.Jobs = request.app.state.jobs
    return jobs


ADMIN_ERRORS = {
    401: ResponseSpec(ErrorResponse, description="no X-API-Key header"),
    403: ResponseSpec(ErrorResponse, description="wrong X-API-Key"),
    404: ResponseSpec(ErrorResponse, description="admin API disabled, or unknown job"),
    429: ResponseSpec(ErrorResponse, description="too many failed key attempts from this client"),
}


@post(
    "/v1/admin/reindex",
    summary="Start an update of the index from the configured inbox (admin)",
    description="Runs `hashtag-index update INBOX` in the background and answers 202 with "
    "the job's id at once. Only one job runs at a time: while one is queued or running, "
    "this answers 409 naming that job (and `Location` pointing at it). Requires the "
    "X-API-Key header.",
    status_code=202,
    sync_to_thread=True,
    responses={
        **ADMIN_ERRORS,
        409: ResponseSpec(ErrorResponse, description="a job is already queued or running"),
    },
)
def admin_reindex(request: Req) -> admin.JobAccepted:
    job, started = _admin(request).start()
    if not started:
        raise ApiError(
            409,
            f"reindex job {job.id} is already {job.state}; one job runs at a time",
            headers={"Location": f"/v1/admin/jobs/{job.id}"},
        )
    return admin.JobAccepted(job_id=job.id, state=job.state)


@get(
    "/v1/admin/jobs/{job_id:str}",
    summary="State of a reindex job (admin)",
    description="queued, running, succeeded or failed, with the generation it published, "
    "its posts and any error. Requires the X-API-Key header.",
    sync_to_thread=True,
    responses=ADMIN_ERRORS,
)
def admin_job(request: Req, job_id: Annotated[str, PathParameter()]) -> admin.Job:
    job = _admin(request).get(job_id)
    if job is None:
        raise ApiError(404, f"unknown job: {job_id}", "job_id")
    return job


ROUTES = [
    prometheus_metrics,
    admin_reindex,
    admin_job,
    healthz,
    posts,
    readyz,
    index_manifest,
    trending,
    trending_changes,
    list_hashtags,
    hashtag_detail,
    hashtag_timeseries,
    hashtag_related,
    report_index,
    report_index_xlsx,
    report_index_parquet,
]
