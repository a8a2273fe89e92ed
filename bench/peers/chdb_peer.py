"""Benchmark peer: chDB, embedded ClickHouse, MergeTree tables in one data directory.

Load (:func:`load`, in a child process, after :func:`bench.peers.embedded.write_canonical`
wrote the reader's rows as Parquet), tables ordered as a ClickHouse user would:

- ``posts`` ``ORDER BY (created_at, seq)``: the last copy of each ``uid``, with
  ``folded`` (our folded analyzer's tokens, see :mod:`bench.peers.embedded`)
  under a **text index** (``TYPE text(tokenizer = splitByNonAlpha)``, which
  ``hasToken`` uses: searches read the index's posting lists, and a count can be
  answered from the index alone);
- ``accounts``: a dense integer per (platform, author);
- ``post_tags`` ``ORDER BY (tag, created_at)``, one row per (post, tag key), with a
  **projection** ordered by ``created_at`` (tag, account): a trending window reads a
  time range of it;
- ``tags`` ``ORDER BY tag``: per tag key the precomputed display, posts, distinct
  authors (``uniqExact``), engagement, first/last seen, posts per platform and per
  language; ``meta``: first/last post, first posting, post count.

Rounding as ours (polars ``round``: half to even on the scaled value):
``roundBankers(x * 1000) / 1000``.

Queries: trending in one pass over ``[baseline start, as_of)`` with ``-If``
combinators (ClickHouse inlines a CTE at each use, so a window CTE read twice
would be computed twice), ``uniqExact`` for every distinct-author count; tag
detail and autocomplete from ``tags``; a time series from ``post_tags``' primary
key; search ``hasToken`` per word (and ``position`` on the padded text for a
phrase), ``ORDER BY created_at DESC`` (read in order); the report as ``FORMAT CSV``.

Update: the day's rows are appended, replaced copies deleted (lightweight
``DELETE``), and the derived tables made again (no incremental upkeep is written).

One chDB connection per process; its queries are serialised by chDB's lock, and
each query uses ClickHouse's own threads (``max_threads`` = 2 here).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import chdb

from bench.peers.common import TREND_NAMES
from bench.peers.embedded import EmbeddedPeer

FOLD = (
    r"concat(' ', trimBoth(replaceRegexpAll(replaceRegexpAll(normalizeUTF8NFD(lowerUTF8({x})),"
    r" '\\p{Mn}', ''), '[^\\p{L}\\p{N}]+', ' ')), ' ')"
)
STAMP = "formatDateTime({x}, '%Y-%m-%dT%H:%i:%SZ')"

POSTS_DDL = """
CREATE TABLE {name} (
    seq Int64, uid String, platform LowCardinality(String), id String,
    created_at DateTime64(6, 'UTC'), author String, text String, lang LowCardinality(String),
    likes Int64, reposts Int64, replies Int64, quotes Int64, engagement Int64,
    tags Array(String), written Array(String), folded String,
    INDEX folded_text folded TYPE text(tokenizer = splitByNonAlpha)
) ENGINE = MergeTree ORDER BY (created_at, seq)
"""
POSTS_SELECT = """
SELECT seq, uid, platform, id, created_at, author, text, lang, likes, reposts, replies,
       quotes, engagement, tags, written, {fold} AS folded
FROM file('{files}', Parquet)
WHERE (uid, seq) IN (SELECT uid, max(seq) FROM file('{files}', Parquet) GROUP BY uid)
"""
DERIVE_SQL = (
    "DROP TABLE IF EXISTS accounts",
    """CREATE TABLE accounts ENGINE = MergeTree ORDER BY (platform, author) AS
       SELECT toString(platform) AS platform, author,
              toUInt32(row_number() OVER (ORDER BY platform, author)) AS account
       FROM (SELECT DISTINCT toString(platform) AS platform, author FROM posts)""",
    "DROP TABLE IF EXISTS post_tags",
    """CREATE TABLE post_tags (
         tag String, written String, created_at DateTime64(6, 'UTC'),
         platform LowCardinality(String), account UInt32, lang LowCardinality(String),
         engagement Int64, seq Int64,
         PROJECTION by_time (SELECT created_at, tag, account ORDER BY created_at)
       ) ENGINE = MergeTree ORDER BY (tag, created_at)""",
    """INSERT INTO post_tags
       SELECT p.tag, p.w, p.created_at, p.platform, a.account, p.lang, p.engagement, p.seq
       FROM (SELECT tag, w, created_at, toString(platform) AS platform, author, lang,
                    engagement, seq
             FROM posts ARRAY JOIN tags AS tag, written AS w) AS p
       JOIN accounts AS a ON a.platform = p.platform AND a.author = p.author""",
    "OPTIMIZE TABLE post_tags FINAL",
    "DROP TABLE IF EXISTS tags",
    """CREATE TABLE tags ENGINE = MergeTree ORDER BY tag AS
       SELECT t.tag AS tag, w.display AS display, t.posts AS posts, t.authors AS authors,
              t.engagement AS engagement, t.first_seen AS first_seen, t.last_seen AS last_seen,
              p.platforms AS platforms, l.langs AS langs
       FROM (SELECT tag, toInt64(count()) AS posts, toInt64(uniqExact(account)) AS authors,
                    sum(engagement) AS engagement, min(created_at) AS first_seen,
                    max(created_at) AS last_seen
             FROM post_tags GROUP BY tag) AS t
       JOIN (SELECT tag, argMin(written, (-n, written)) AS display
             FROM (SELECT tag, written, toInt64(count()) AS n FROM post_tags
                   GROUP BY tag, written)
             GROUP BY tag) AS w ON w.tag = t.tag
       JOIN (SELECT tag, arraySort(x -> (-x.2, x.1), groupArray((platform, n))) AS platforms
             FROM (SELECT tag, toString(platform) AS platform, toInt64(count()) AS n
                   FROM post_tags GROUP BY tag, platform)
             GROUP BY tag) AS p ON p.tag = t.tag
       JOIN (SELECT tag, arraySort(x -> (-x.2, x.1), groupArray((lang, n))) AS langs
             FROM (SELECT tag, toString(lang) AS lang, toInt64(count()) AS n
                   FROM post_tags GROUP BY tag, lang)
             GROUP BY tag) AS l ON l.tag = t.tag""",
    "DROP TABLE IF EXISTS meta",
    """CREATE TABLE meta ENGINE = MergeTree ORDER BY tuple() AS
       SELECT min(created_at) AS first_post, max(created_at) AS last_post,
              (SELECT min(created_at) FROM post_tags) AS first_posting,
              toInt64(count()) AS posts
       FROM posts""",
)


def _connect(db: Path) -> Any:
    return chdb.connect(str(db))


LAST_STATISTICS: dict[str, Any] = {}
"""ClickHouse's statistics of the last query (elapsed, rows_read, bytes_read)."""


def _rows(con: Any, sql: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    result = con.query(sql, "JSONCompact", params=params or {})
    body = json.loads(result.bytes())
    LAST_STATISTICS.clear()
    LAST_STATISTICS.update(body.get("statistics", {}))
    data: list[list[Any]] = body["data"]
    return data


def next_seq(db: Path) -> int:
    con = _connect(db)
    try:
        return int(_rows(con, "SELECT coalesce(max(seq), -1) + 1 FROM posts")[0][0])
    finally:
        con.close()


def load(db: Path, parquet: Path, stages: dict[str, float], update: bool = False) -> int:
    """Load (or, with ``update``, add) the Parquet rows; returns the posts it holds."""
    con = _connect(db)
    try:
        t = time.monotonic()
        select = POSTS_SELECT.replace("{fold}", FOLD.replace("{x}", "text")).replace(
            "{files}", f"{parquet}/*.parquet"
        )
        if not update:
            con.query(POSTS_DDL.format(name="posts"))
            con.query("INSERT INTO posts " + select)
        else:
            con.query("DROP TABLE IF EXISTS day")
            con.query(POSTS_DDL.format(name="day"))
            con.query("INSERT INTO day " + select)
            con.query("DELETE FROM posts WHERE uid IN (SELECT uid FROM day)")
            con.query("INSERT INTO posts SELECT * FROM day")
            con.query("DROP TABLE day")
        con.query("OPTIMIZE TABLE posts FINAL")
        stages["posts"] = time.monotonic() - t
        t = time.monotonic()
        for sql in DERIVE_SQL:
            con.query(sql)
        stages["derived"] = time.monotonic() - t
        return int(_rows(con, "SELECT posts FROM meta")[0][0])
    finally:
        con.close()


TRENDING_SQL = """
SELECT tag, display, posts, authors, baseline_posts, baseline_authors, e, growth, score
FROM (
    SELECT tag, posts, authors, baseline_posts, baseline_authors, e,
           roundBankers(authors / e * 1000) / 1000 AS growth,
           roundBankers(pow(authors - e, 2) / e * 1000) / 1000 AS score
    FROM (
        SELECT tag, posts, authors, baseline_posts, baseline_authors,
               roundBankers((slot_authors * {scale:Float64} + {prior:Float64}) * 1000) / 1000 AS e
        FROM (
            SELECT tag,
                   countIf(created_at >= w0) AS posts,
                   uniqExactIf(account, created_at >= w0) AS authors,
                   countIf(created_at < w0) AS baseline_posts,
                   uniqExactIf(account, created_at < w0) AS baseline_authors,
                   uniqExactIf(account,
                               intDiv((toUnixTimestamp64Micro(created_at) - {b0_us:Int64})
                                      * {n:Int64}, {b_us:Int64}),
                               created_at < w0) AS slot_authors
            FROM post_tags
            WHERE created_at >= fromUnixTimestamp64Micro({b0_us:Int64}, 'UTC')
              AND created_at < fromUnixTimestamp64Micro({end_us:Int64}, 'UTC')
            GROUP BY tag
            HAVING authors >= {min_authors:UInt64}
        )
    )
) AS s
JOIN tags USING (tag)
WHERE authors > e AND growth >= {min_growth:Float64}
ORDER BY score DESC, authors DESC, tag
LIMIT {limit:UInt64}
SETTINGS join_algorithm = 'direct,hash'
"""
TIMESERIES_SQL = """
SELECT toUnixTimestamp(toStartOfDay(created_at)) AS t, count(), uniqExact(account),
       sum(engagement)
FROM post_tags WHERE tag = {tag:String} GROUP BY t ORDER BY t
"""
RELATED_SQL = """
SELECT other, display, co_posts, score FROM (
    SELECT pairs.other AS other, t.display AS display, pairs.co_posts AS co_posts,
           pairs.co_posts / n AS p_ab,
           roundBankers(if(p_ab >= 1, 1.0, log(p_ab / ((a / n) * (t.posts / n))) / -log(p_ab))
                        * 10000) / 10000 AS score
    FROM (SELECT tag AS other, toInt64(count()) AS co_posts
          FROM post_tags
          WHERE seq IN (SELECT seq FROM post_tags WHERE tag = {tag:String})
            AND tag != {tag:String}
          GROUP BY tag HAVING co_posts >= {min_support:UInt64}) AS pairs
    JOIN tags AS t ON t.tag = pairs.other
    CROSS JOIN (SELECT toFloat64(posts) AS n FROM meta) AS m
    CROSS JOIN (SELECT toFloat64(posts) AS a FROM tags WHERE tag = {tag:String}) AS x
)
WHERE score > 0 AND NOT isNaN(score)
ORDER BY score DESC, co_posts DESC, other
LIMIT {limit:UInt64}
"""
REPORT_SQL = f"""
WITH (SELECT toStartOfDay(first_post) FROM meta) AS lo,
     (SELECT toStartOfDay(last_post) + INTERVAL 1 DAY FROM meta) AS hi,
     (SELECT posts FROM meta) AS total
SELECT row_number() OVER (ORDER BY t.posts DESC, t.authors DESC, t.tag) AS rank,
       t.tag, t.display, t.posts, t.authors, t.engagement,
       round(t.posts * 100.0 / greatest(total, 1), 4) AS share_pct,
       prev.prev_posts AS prev_posts,
       if(prev.prev_posts > 0,
          toNullable(round((t.posts - prev.prev_posts) * 100.0 / prev.prev_posts, 2)),
          NULL) AS change_pct,
       {STAMP.format(x="t.first_seen")}, {STAMP.format(x="t.last_seen")}
FROM tags AS t
LEFT JOIN (SELECT tag, toInt64(count()) AS prev_posts FROM post_tags
           WHERE created_at >= lo - (hi - lo) AND created_at < lo GROUP BY tag) AS prev
  ON prev.tag = t.tag
ORDER BY t.posts DESC, t.authors DESC, t.tag
SETTINGS format_csv_null_representation = ''
"""


class ChdbEngine:
    """The app's side: one connection on the data directory."""

    def __init__(self, db: Path) -> None:
        self.con = _connect(db)
        # A connection's query parameters are its state: two threads setting theirs at
        # once mix them up ("Substitution `scale` is not set"). chDB runs one query at
        # a time per process anyway (measured: 4 threads, or a connection per thread,
        # answer no faster than 1), so one lock costs nothing.
        self._lock = threading.Lock()

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        with self._lock:
            return _rows(self.con, sql, params)

    def meta(self) -> tuple[datetime, datetime]:
        ((first, last),) = self.rows(
            "SELECT toUnixTimestamp64Micro(first_posting), toUnixTimestamp64Micro(last_post)"
            " FROM meta"
        )
        return _from_micros(int(first)), _from_micros(int(last))

    def trending(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        sql = TRENDING_SQL.replace(
            "created_at >= w0", "created_at >= fromUnixTimestamp64Micro({w0_us:Int64}, 'UTC')"
        ).replace("created_at < w0", "created_at < fromUnixTimestamp64Micro({w0_us:Int64}, 'UTC')")
        end_us = params["b0_us"] + params["b_us"] + 24 * 3600 * 10**6
        args = {
            "scale": params["scale"],
            "prior": params["prior"],
            "b0_us": params["b0_us"],
            "b_us": params["b_us"],
            "n": params["n"],
            "end_us": end_us,
            "w0_us": end_us - 24 * 3600 * 10**6,
            "min_authors": params["min_authors"],
            "min_growth": params["min_growth"],
            "limit": params["limit"],
        }
        return [dict(zip(TREND_NAMES, r, strict=True)) for r in self.rows(sql, args)]

    def detail(self, tag: str) -> dict[str, Any] | None:
        found = self.rows(
            "SELECT tag, display, posts, authors, engagement,"
            f" {STAMP.format(x='first_seen')}, {STAMP.format(x='last_seen')}, platforms, langs"
            " FROM tags WHERE tag = {tag:String}",
            {"tag": tag},
        )
        if not found:
            return None
        row = found[0]
        names = ("tag", "display", "posts", "authors", "engagement", "first_seen", "last_seen")
        out = dict(zip(names, row[:7], strict=True))
        out["platforms"] = {k: v for k, v in row[7]}
        out["langs"] = {k: v for k, v in row[8]}
        return out

    def timeseries(self, tag: str) -> list[tuple[datetime, int, int, int]]:
        return [
            (datetime.fromtimestamp(int(t), UTC), int(p), int(a), int(e))
            for t, p, a, e in self.rows(TIMESERIES_SQL, {"tag": tag})
        ]

    def autocomplete(self, prefix: str, limit: int) -> list[dict[str, Any]]:
        rows = self.rows(
            "SELECT tag, display, posts, authors FROM tags WHERE startsWith(tag, {p:String})"
            " ORDER BY posts DESC, tag LIMIT {limit:UInt64}",
            {"p": prefix, "limit": limit},
        )
        return [dict(zip(("tag", "display", "posts", "authors"), r, strict=True)) for r in rows]

    def related(self, tag: str, limit: int, min_support: int) -> list[dict[str, Any]] | None:
        if not self.rows("SELECT 1 FROM tags WHERE tag = {tag:String}", {"tag": tag}):
            return None
        rows = self.rows(RELATED_SQL, {"tag": tag, "min_support": min_support, "limit": limit})
        return [dict(zip(("tag", "display", "co_posts", "score"), r, strict=True)) for r in rows]

    def search(self, pieces: list[str], limit: int) -> tuple[int, list[dict[str, Any]]]:
        conds: list[str] = []
        args: dict[str, Any] = {}
        for i, piece in enumerate(pieces):
            words = piece.split(" ")
            for j, w in enumerate(words):
                args[f"w{i}_{j}"] = w
                conds.append(f"hasToken(folded, {{w{i}_{j}:String}})")
            if len(words) > 1:
                args[f"p{i}"] = f" {piece} "
                conds.append(f"position(folded, {{p{i}:String}}) > 0")
        where = " AND ".join(conds)
        total = int(self.rows(f"SELECT count() FROM posts WHERE {where}", args)[0][0])
        rows = self.rows(
            f"SELECT id, toString(platform), {STAMP.format(x='created_at')}, author, text, tags,"
            f" likes, reposts, replies, quotes FROM posts WHERE {where}"
            f" ORDER BY created_at DESC, seq LIMIT {int(limit)}",
            args,
        )
        names = (
            "id",
            "platform",
            "created_at",
            "author",
            "text",
            "hashtags",
            "likes",
            "reposts",
            "replies",
            "quotes",
        )
        return total, [dict(zip(names, r, strict=True)) for r in rows]

    def report_chunks(self) -> Iterator[bytes]:
        with self._lock:
            body = self.con.query(REPORT_SQL, "CSV").bytes()
        yield body


def _from_micros(us: int) -> datetime:
    return datetime.fromtimestamp(us // 10**6, UTC).replace(microsecond=us % 10**6)


def open_engine(db: Path) -> ChdbEngine:
    return ChdbEngine(db)


class ChdbPeer(EmbeddedPeer):
    key = "chdb"
    name = "ClickHouse (chDB)"


PEER = ChdbPeer
