"""The PostgreSQL peer's HTTP handler: our API's read paths, answered by SQL.

A Litestar app served by granian with 1 worker, as ours is (service/run.py), in
front of ``PG_PEER_CONNECTIONS`` (default 2, one per core) psycopg async
connections held in a queue (a pool of four lines: no extra dependency). Each
request takes a connection, runs its SQL (psycopg prepares a statement after
its 5th use) and gives it back. Same paths, parameters and JSON shapes as
ours, for the questions of bench/peers/common.py:

- ``/v1/trending``: our formula (docs/trending.md) in one SQL statement;
- ``/v1/hashtags?prefix=``, ``/v1/hashtags/{tag}``: the precomputed ``tags`` table;
- ``/v1/hashtags/{tag}/timeseries?interval=day``: ``post_tags`` grouped by day,
  zero-filled with ``generate_series``;
- ``/v1/posts?q=&sort=recent|relevance``: ``tsv @@ tsquery`` (GIN), exact
  ``count(*)``, ``ts_headline`` snippets for the page; relevance is ``ts_rank``;
  recent is ``created_at`` desc then ``seq`` (input order; ours breaks ties of
  the same second by tantivy document address);
- ``/v1/reports/index.csv``: ``COPY (SELECT ...) TO STDOUT`` streamed as it comes.

``q`` takes words (all must match) and "quoted phrases"; each piece goes through
``hx_fold`` (our analyzer) and ``phraseto_tsquery``, so a word that splits in
several (``e-mail``) is a phrase, as in ours. No typo tolerance, no OR/-exclusion
(the benchmark's words need neither).

    PG_PEER_DSN='host=127.0.0.1 port=55432 dbname=hx user=postgres' \\
        uv run --group bench python -m bench.peers.postgres_app --port 8822
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from litestar import Litestar, Request, Response, get  # noqa: E402
from litestar.datastructures import State  # noqa: E402
from litestar.exceptions import HTTPException, NotFoundException  # noqa: E402
from litestar.response import Stream  # noqa: E402

from bench.peers.common import TREND_NAMES  # noqa: E402
from indexer.schema import tag_key  # noqa: E402
from service.errors import ApiError  # noqa: E402
from service.params import parse_duration, parse_time  # noqa: E402
from service.query_errors import InvalidParameter  # noqa: E402

PRIOR = 2.0
MIN_AUTHORS = 5
MIN_GROWTH = 1.5
MAX_SLOTS = 168
SNIPPET_OPTIONS = "StartSel=<b>, StopSel=</b>, MaxWords=30, MinWords=12, MaxFragments=1"
REPORT_COLUMNS = (
    "rank,tag,display,posts,authors,engagement,share_pct,prev_posts,change_pct,first_seen,last_seen"
)
_MICRO = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PIECE = re.compile(r'"[^"]*(?:"|$)|[^\s"]+')


class Pool:
    """``size`` connections in a queue: a request takes one and gives it back."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn = dsn
        self.size = size
        self._free: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        self._all: list[psycopg.AsyncConnection[Any]] = []

    async def open(self) -> None:
        for _ in range(self.size):
            conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
            self._all.append(conn)
            self._free.put_nowait(conn)

    async def close(self) -> None:
        for conn in self._all:
            await conn.close()

    async def fetch(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        conn = await self._free.get()
        try:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()
        finally:
            self._free.put_nowait(conn)

    async def copy_out(self, sql: str, params: Any = None) -> AsyncIterator[bytes]:
        conn = await self._free.get()
        try:
            async with conn.cursor() as cur, cur.copy(sql, params) as copy:
                async for chunk in copy:
                    yield bytes(chunk)
        finally:
            self._free.put_nowait(conn)


def pool(request: Request[Any, Any, Any]) -> Pool:
    found: Pool = request.app.state.pool
    return found


def _micros(t: datetime) -> int:
    return (t - _EPOCH) // _MICRO


def _key(value: str, parameter: str) -> str:
    key = tag_key(value.strip())
    if not key:
        raise HTTPException(status_code=400, detail=f"{parameter}: empty tag")
    return key


# --------------------------------------------------------------------------- trending

TRENDING_SQL = """
WITH win AS (
    -- per tag: postings and distinct (platform, author) in the window
    SELECT tag, sum(n) AS posts, count(*) AS authors
    FROM (SELECT tag, account, count(*) AS n
          FROM post_tags
          WHERE created_at >= %(w0)s AND created_at < %(end)s
          GROUP BY tag, account) x
    GROUP BY tag
    HAVING count(*) >= %(min_authors)s
), base AS (
    -- the candidates' baseline postings per (tag, author, slot); slot k is
    -- [bounds[k], bounds[k+1]), bounds = base + ceil(k * baseline / n) as ours
    SELECT p.tag, p.account, width_bucket(p.created_at, %(bounds)s) AS slot, count(*) AS n
    FROM post_tags p JOIN win USING (tag)
    WHERE p.created_at >= %(b0)s AND p.created_at < %(w0)s
    GROUP BY 1, 2, 3
), slots AS (
    SELECT tag, sum(n) AS baseline_posts, count(*) AS slot_authors FROM base GROUP BY tag
), spans AS (
    SELECT tag, count(*) AS baseline_authors
    FROM (SELECT tag, account FROM base GROUP BY 1, 2) x GROUP BY tag
), expected AS (
    SELECT w.tag, w.posts, w.authors,
           coalesce(sl.baseline_posts, 0) AS baseline_posts,
           coalesce(sp.baseline_authors, 0) AS baseline_authors,
           round((coalesce(sl.slot_authors, 0) * %(scale)s::float8 + %(prior)s::float8)
                 * 1000::float8) / 1000::float8 AS e
    FROM win w LEFT JOIN slots sl USING (tag) LEFT JOIN spans sp USING (tag)
), scored AS (
    SELECT tag, posts, authors, baseline_posts, baseline_authors, e,
           round(authors / e * 1000::float8) / 1000::float8 AS growth,
           round((authors - e) ^ 2 / e * 1000::float8) / 1000::float8 AS score
    FROM expected
)
SELECT s.tag, t.display, s.posts::bigint, s.authors, s.baseline_posts::bigint,
       s.baseline_authors, s.e, s.growth, s.score
FROM scored s JOIN tags t USING (tag)
WHERE s.authors > s.e AND s.growth >= %(min_growth)s
ORDER BY s.score DESC, s.authors DESC, s.tag
LIMIT %(limit)s
"""


@get("/v1/trending")
async def trending(
    request: Request[Any, Any, Any],
    window: str = "24h",
    baseline: str = "7d",
    as_of: str | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    db = pool(request)
    w, b = parse_duration(window, "window"), parse_duration(baseline, "baseline")
    first_posting, last_post = (await db.fetch("SELECT first_posting, last_post FROM meta"))[0]
    end = parse_time(as_of, "as_of") or last_post + _MICRO
    end_us, w_us, b_us = _micros(end), w // _MICRO, b // _MICRO
    n = min(max(1, round(b_us / w_us)), MAX_SLOTS)
    base_us = end_us - w_us - b_us
    first = _micros(first_posting) if first_posting is not None else base_us
    covered = min(b_us, base_us + b_us - first)  # before the first posting: unknown, not zero
    bounds = [
        _EPOCH + (base_us - (-b_us * k // n)) * _MICRO for k in range(n + 1)
    ]  # base + ceil(b*k/n)
    rows = await db.fetch(
        TRENDING_SQL,
        {
            "bounds": bounds,
            "end": end,
            "w0": end - w,
            "b0": end - w - b,
            "scale": w_us / covered if covered > 0 else 0.0,
            "prior": PRIOR,
            "min_authors": MIN_AUTHORS,
            "min_growth": MIN_GROWTH,
            "limit": limit,
        },
    )
    items = [{"rank": i, **dict(zip(TREND_NAMES, r, strict=True))} for i, r in enumerate(rows, 1)]
    return {"as_of": end, "window": window, "baseline": baseline, "items": items}


# --------------------------------------------------------------------------- tags


@get("/v1/hashtags")
async def hashtags(request: Request[Any, Any, Any], prefix: str = "", limit: int = 10) -> Any:
    key = _key(prefix, "prefix") if prefix else ""
    pattern = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = await pool(request).fetch(
        "SELECT tag, display, posts, authors FROM tags WHERE tag LIKE %s"
        " ORDER BY posts DESC, tag LIMIT %s",
        (pattern, limit),
    )
    names = ("tag", "display", "posts", "authors")
    return {"items": [dict(zip(names, r, strict=True)) for r in rows]}


@get("/v1/hashtags/{tag:str}")
async def hashtag_detail(request: Request[Any, Any, Any], tag: str) -> Any:
    key = _key(tag, "tag")
    rows = await pool(request).fetch(
        "SELECT tag, display, posts, authors, engagement, first_seen, last_seen,"
        " platforms, langs FROM tags WHERE tag = %s",
        (key,),
    )
    if not rows:
        raise NotFoundException(f"unknown tag: {key}")
    names = (
        "tag",
        "display",
        "posts",
        "authors",
        "engagement",
        "first_seen",
        "last_seen",
        "platforms",
        "langs",
    )
    return dict(zip(names, rows[0], strict=True))


TIMESERIES_SQL = """
SELECT g.t, coalesce(c.posts, 0)::bigint, coalesce(c.authors, 0), coalesce(c.engagement, 0)::bigint
FROM tags,
     generate_series(date_trunc('day', tags.first_seen), date_trunc('day', tags.last_seen),
                     interval '1 day') AS g(t)
LEFT JOIN (
    SELECT t, sum(n) AS posts, count(*) AS authors, sum(e) AS engagement
    FROM (SELECT date_trunc('day', created_at) AS t, account,
                 count(*) AS n, sum(engagement) AS e
          FROM post_tags WHERE tag = %(tag)s
          GROUP BY 1, 2) x
    GROUP BY t
) c USING (t)
WHERE tags.tag = %(tag)s
ORDER BY g.t
"""


@get("/v1/hashtags/{tag:str}/timeseries")
async def hashtag_timeseries(
    request: Request[Any, Any, Any], tag: str, interval: str = "day"
) -> Any:
    if interval != "day":
        raise HTTPException(status_code=400, detail="interval: only day here")
    key = _key(tag, "tag")
    rows = await pool(request).fetch(TIMESERIES_SQL, {"tag": key})
    if not rows:
        raise NotFoundException(f"unknown tag: {key}")
    points = [{"t": t, "posts": p, "authors": a, "engagement": e} for t, p, a, e in rows]
    return {"tag": key, "interval": interval, "points": points}


# --------------------------------------------------------------------------- search

# ts_headline parses the original text with PostgreSQL's parser, which reads
# "example.com/rust-in-production" as a URL, not as words, so a match found there by
# the folded tsvector would not be marked: a zero-width space (U+200B, not
# alphanumeric) after every punctuation character makes the parser see the words,
# and is taken out of the headline again. The ``hx`` configuration unaccents before
# the simple dictionary, so "Café" is marked for "cafe". Snippets are not
# HTML-escaped (ts_headline does not escape; ours does).
SEARCH_SQL = """
WITH query AS (SELECT {tsquery} AS q),
page AS (
    SELECT p.seq, p.id, p.platform, p.created_at, p.author, p.text, p.tags,
           p.likes, p.reposts, p.replies, p.quotes{rank}
    FROM posts p, query
    WHERE p.tsv @@ query.q
    ORDER BY {order}
    LIMIT %(limit)s
)
SELECT id, platform, created_at, author, text,
       replace(ts_headline('hx', regexp_replace(text, '([^[:alnum:][:space:]])',
                                                 '\\1' || chr(8203), 'g'),
                           query.q, %(options)s),
               chr(8203), ''),
       tags,
       likes, reposts, replies, quotes
FROM page, query
ORDER BY {order}
"""
COUNT_SQL = "SELECT count(*) FROM posts WHERE tsv @@ ({tsquery})"
ORDERS = {
    "recent": ("", "created_at DESC, seq"),
    "relevance": (", ts_rank(p.tsv, query.q) AS rank", "rank DESC, seq"),
}


def tsquery(q: str) -> tuple[str, dict[str, str]]:
    """``q`` as a tsquery expression: each word or quoted phrase folded, all ANDed."""
    pieces = [p.strip('"') for p in _PIECE.findall(q)]
    pieces = [p for p in pieces if p.strip()]
    if not pieces:
        raise HTTPException(status_code=400, detail="q has nothing to search for")
    params = {f"w{i}": p for i, p in enumerate(pieces)}
    expr = " && ".join(f"phraseto_tsquery('simple', hx_fold(%(w{i})s))" for i in range(len(pieces)))
    return expr, params


@get("/v1/posts")
async def posts(
    request: Request[Any, Any, Any], q: str, sort: str = "relevance", limit: int = 20
) -> Any:
    if sort not in ORDERS or not 1 <= limit <= 100:
        raise HTTPException(status_code=400, detail="sort or limit")
    db = pool(request)
    expr, params = tsquery(q)
    rank, order = ORDERS[sort]
    rows = await db.fetch(
        SEARCH_SQL.format(tsquery=expr, rank=rank, order=order),
        {**params, "limit": limit, "options": SNIPPET_OPTIONS},
    )
    total = (await db.fetch(COUNT_SQL.format(tsquery=expr), params))[0][0]
    names = (
        "id",
        "platform",
        "created_at",
        "author",
        "text",
        "snippet",
        "hashtags",
        "likes",
        "reposts",
        "replies",
        "quotes",
    )
    items = [dict(zip(names, r, strict=True)) for r in rows]
    return {"total": total, "items": items, "next_cursor": None}


# --------------------------------------------------------------------------- report

REPORT_SQL = """
COPY (
    WITH period AS (
        SELECT date_trunc('day', first_post) AS lo,
               date_trunc('day', last_post) + interval '1 day' AS hi, posts
        FROM meta
    ), prev AS (
        SELECT tag, count(*) AS prev_posts
        FROM post_tags, period
        WHERE created_at >= period.lo - (period.hi - period.lo) AND created_at < period.lo
        GROUP BY tag
    )
    SELECT row_number() OVER (ORDER BY t.posts DESC, t.authors DESC, t.tag) AS rank,
           t.tag, t.display, t.posts, t.authors, t.engagement,
           round(t.posts * 100.0 / greatest(period.posts, 1), 4) AS share_pct,
           coalesce(prev.prev_posts, 0) AS prev_posts,
           CASE WHEN prev.prev_posts > 0
                THEN round((t.posts - prev.prev_posts) * 100.0 / prev.prev_posts, 2) END,
           to_char(t.first_seen, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           to_char(t.last_seen, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    FROM tags t CROSS JOIN period LEFT JOIN prev USING (tag)
    ORDER BY t.posts DESC, t.authors DESC, t.tag
) TO STDOUT (FORMAT csv)
"""


@get("/v1/reports/index.csv")
async def report(request: Request[Any, Any, Any]) -> Stream:
    """The whole generation's report (every whole UTC day of the data), streamed."""
    db = pool(request)

    async def chunks() -> AsyncIterator[bytes]:
        yield ("\ufeff" + REPORT_COLUMNS + "\n").encode()
        async for chunk in db.copy_out(REPORT_SQL):
            yield chunk

    return Stream(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="hashtag-index.csv"'},
    )


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _api_error(_: Request[Any, Any, Any], exc: ApiError | InvalidParameter) -> Response[Any]:
    return Response({"error": str(exc)}, status_code=400)


def create_app(dsn: str, connections: int) -> Litestar:
    db = Pool(dsn, connections)
    return Litestar(
        [trending, hashtags, hashtag_detail, hashtag_timeseries, posts, report, healthz],
        on_startup=[db.open],
        on_shutdown=[db.close],
        exception_handlers={ApiError: _api_error, InvalidParameter: _api_error},
        state=State({"pool": db}),
        openapi_config=None,
    )


def app_from_env() -> Litestar:
    return create_app(os.environ["PG_PEER_DSN"], int(os.environ.get("PG_PEER_CONNECTIONS", "2")))


def main() -> None:
    from granian import Granian
    from granian.constants import Interfaces

    p = argparse.ArgumentParser(description="serve the PostgreSQL peer (env PG_PEER_DSN)")
    p.add_argument("--port", type=int, default=8822)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args()
    Granian(
        "bench.peers.postgres_app:app_from_env",
        factory=True,
        interface=Interfaces.ASGI,
        address="127.0.0.1",
        port=args.port,
        workers=args.workers,
    ).serve()


if __name__ == "__main__":
    main()
