"""Benchmark peer: DuckDB (embedded, columnar, vectorised), one database file.

Load (:func:`load`, in a child process, after :func:`bench.peers.embedded.write_canonical`
wrote the reader's rows as Parquet): every table is made by one ``CREATE TABLE ...
AS SELECT``, sorted the way its queries read it, because DuckDB prunes row groups
by their min/max (zonemaps); DuckDB's ART indexes only serve point lookups, so
the tag table's key is the only one:

- ``posts``: the last copy of each ``uid`` (highest ``seq``), with ``folded``
  (our folded analyzer's tokens, see :mod:`bench.peers.embedded`), sorted by
  ``created_at`` desc, ``seq``: the order of a recent-first search page;
- ``accounts``: a dense integer per (platform, author);
- ``post_tags``: one row per (post, tag key): tag, written, created_at, platform,
  account, lang, engagement, seq, sorted by ``(tag, created_at)`` (a tag's rows
  are a few row groups: detail, time series); ``post_tags_by_time``: the columns
  trending reads, sorted by ``created_at`` (a window is a few row groups), as a
  second index would be;
- ``tags`` (primary key ``tag``): per tag key, display (most frequent spelling,
  ties: smallest), posts, distinct authors, engagement, first/last seen, posts
  per platform and per language (lists, most first);
- ``meta``: first/last post, first posting, post count.

Rounding: ours rounds expected authors, growth, score (3 places) and NPMI (4)
with polars' ``round``, half to even on the scaled value, so the SQL does too
(``round_even(x * 1000, 0) / 1000``): ``round`` (half away from zero) differed on
an exact tie at 10M (a score of 27.5625).

Search: DuckDB's ``fts`` extension is not in the wheel and cannot be downloaded
offline here (``INSTALL fts`` fails), so a query is ``contains(folded, ' word ')``
per word or phrase (exact tokens, as ours; a full scan of ``folded``), the total
is ``count(*)`` of the same filter.

Update: the day's rows are appended to ``posts``, the replaced copies deleted, and
the derived tables made again from ``posts`` (no incremental upkeep is written).

Queries run on one cursor per thread of the app (``con.cursor()``); DuckDB uses
its own threads (2 here) inside each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from bench.peers.common import TREND_NAMES
from bench.peers.embedded import EmbeddedPeer, utc

FOLD = (
    r"""' ' || trim(regexp_replace(strip_accents(lower({x})), '[^\p{L}\p{N}]+', ' ', 'g')) || ' '"""
)

DERIVE_SQL = (
    "DROP TABLE IF EXISTS accounts",
    """CREATE TABLE accounts AS
       SELECT (row_number() OVER (ORDER BY platform, author))::INTEGER AS account, platform, author
       FROM (SELECT DISTINCT platform, author FROM posts)""",
    "DROP TABLE IF EXISTS post_tags",
    """CREATE TABLE post_tags AS
       SELECT t.tag, t.written, t.created_at, t.platform, a.account, t.lang, t.engagement, t.seq
       FROM (SELECT created_at, platform, author, lang, engagement, seq,
                    unnest(tags) AS tag, unnest(written) AS written FROM posts) AS t
       JOIN accounts a USING (platform, author)
       ORDER BY t.tag, t.created_at""",
    "DROP TABLE IF EXISTS post_tags_by_time",
    """CREATE TABLE post_tags_by_time AS
       SELECT created_at, tag, account FROM post_tags ORDER BY created_at""",
    "DROP TABLE IF EXISTS tags",
    """CREATE TABLE tags (
         tag VARCHAR PRIMARY KEY, display VARCHAR, posts BIGINT, authors BIGINT,
         engagement BIGINT, first_seen TIMESTAMP, last_seen TIMESTAMP,
         platforms STRUCT(name VARCHAR, n BIGINT)[], langs STRUCT(name VARCHAR, n BIGINT)[])""",
    """INSERT INTO tags
       WITH t AS (
         SELECT tag, count(*) AS posts, count(DISTINCT account) AS authors,
                sum(engagement)::BIGINT AS engagement,
                min(created_at) AS first_seen, max(created_at) AS last_seen
         FROM post_tags GROUP BY tag
       ), w AS (
         SELECT tag, first(written ORDER BY n DESC, written) AS display
         FROM (SELECT tag, written, count(*) AS n FROM post_tags GROUP BY ALL) GROUP BY tag
       ), p AS (
         SELECT tag, list({'name': platform, 'n': n} ORDER BY n DESC, platform) AS platforms
         FROM (SELECT tag, platform, count(*) AS n FROM post_tags GROUP BY ALL) GROUP BY tag
       ), l AS (
         SELECT tag, list({'name': lang, 'n': n} ORDER BY n DESC, lang) AS langs
         FROM (SELECT tag, lang, count(*) AS n FROM post_tags GROUP BY ALL) GROUP BY tag
       )
       SELECT t.tag, w.display, t.posts, t.authors, t.engagement, t.first_seen, t.last_seen,
              p.platforms, l.langs
       FROM t JOIN w USING (tag) JOIN p USING (tag) JOIN l USING (tag)
       ORDER BY t.tag""",
    "DROP TABLE IF EXISTS meta",
    """CREATE TABLE meta AS
       SELECT min(created_at) AS first_post, max(created_at) AS last_post,
              (SELECT min(created_at) FROM post_tags) AS first_posting, count(*) AS posts
       FROM posts""",
    "CHECKPOINT",
)


def _connect(db: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(db), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    return con


def next_seq(db: Path) -> int:
    with _connect(db, read_only=True) as con:
        found = con.execute("SELECT coalesce(max(seq), -1) + 1 FROM posts").fetchone()
    return int(found[0]) if found else 0


def load(db: Path, parquet: Path, stages: dict[str, float], update: bool = False) -> int:
    """Load (or, with ``update``, add) the Parquet rows; returns the posts it holds."""
    files = f"'{parquet}/*.parquet'"
    with _connect(db) as con:
        t = time.monotonic()
        folded = FOLD.replace("{x}", "text")
        posts_sql = f"""
            SELECT seq, uid, platform, id, created_at, author, text, lang, likes, reposts,
                   replies, quotes, engagement, tags, written, {folded} AS folded
            FROM {{source}}
            QUALIFY seq = max(seq) OVER (PARTITION BY uid)
        """
        if not update:
            con.execute(
                "CREATE TABLE posts AS "
                + posts_sql.replace("{source}", f"read_parquet({files})")
                + " ORDER BY created_at DESC, seq"
            )
        else:
            con.execute(
                "CREATE TEMP TABLE day AS "
                + posts_sql.replace("{source}", f"read_parquet({files})")
            )
            con.execute("DELETE FROM posts WHERE uid IN (SELECT uid FROM day)")
            con.execute("INSERT INTO posts SELECT * FROM day")
            # the sort order is what prunes: keep it (as a DuckDB user re-sorting would)
            con.execute(
                "CREATE TABLE posts2 AS SELECT * FROM posts ORDER BY created_at DESC, seq;"
                "DROP TABLE posts; ALTER TABLE posts2 RENAME TO posts"
            )
        stages["posts"] = time.monotonic() - t
        t = time.monotonic()
        for sql in DERIVE_SQL:
            con.execute(sql)
        stages["derived"] = time.monotonic() - t
        found = con.execute("SELECT posts FROM meta").fetchone()
    return int(found[0]) if found else 0


TRENDING_SQL = """
WITH win AS (
    SELECT tag, count(*) AS posts, count(DISTINCT account) AS authors
    FROM post_tags_by_time
    WHERE created_at >= $w0 AND created_at < $end
    GROUP BY tag
    HAVING count(DISTINCT account) >= $min_authors
), base AS (
    SELECT tag, count(*) AS baseline_posts, count(DISTINCT account) AS baseline_authors,
           count(DISTINCT account::BIGINT * 1024 + (epoch_us(created_at) - $b0_us) * $n // $b_us)
               AS slot_authors
    FROM post_tags_by_time
    WHERE created_at >= $b0 AND created_at < $w0 AND tag IN (SELECT tag FROM win)
    GROUP BY tag
), expected AS (
    SELECT w.tag, w.posts, w.authors,
           coalesce(b.baseline_posts, 0) AS baseline_posts,
           coalesce(b.baseline_authors, 0) AS baseline_authors,
           round_even((coalesce(b.slot_authors, 0) * $scale + $prior) * 1000.0, 0) / 1000.0 AS e
    FROM win w LEFT JOIN base b USING (tag)
), scored AS (
    SELECT *, round_even(authors / e * 1000.0, 0) / 1000.0 AS growth,
           round_even((authors - e) ^ 2 / e * 1000.0, 0) / 1000.0 AS score
    FROM expected
)
SELECT s.tag, t.display, s.posts, s.authors, s.baseline_posts, s.baseline_authors,
       s.e, s.growth, s.score
FROM scored s JOIN tags t USING (tag)
WHERE s.authors > s.e AND s.growth >= $min_growth
ORDER BY s.score DESC, s.authors DESC, s.tag
LIMIT $limit
"""
TIMESERIES_SQL = """
SELECT date_trunc('day', created_at) AS t, count(*), count(DISTINCT account),
       sum(engagement)::BIGINT
FROM post_tags WHERE tag = $1 GROUP BY 1 ORDER BY 1
"""
RELATED_SQL = """
WITH pairs AS (
    SELECT tag AS other, count(*) AS co_posts
    FROM post_tags
    WHERE seq IN (SELECT seq FROM post_tags WHERE tag = $tag) AND tag <> $tag
    GROUP BY tag HAVING count(*) >= $min_support
), scored AS (
    SELECT pairs.other, t.display, pairs.co_posts,
           pairs.co_posts / m.n AS p_ab,
           round_even(CASE WHEN pairs.co_posts / m.n >= 1 THEN 1.0
                           ELSE ln((pairs.co_posts / m.n) / ((a.posts / m.n) * (t.posts / m.n)))
                                / -ln(pairs.co_posts / m.n) END * 10000.0, 0) / 10000.0
               AS score
    FROM pairs JOIN tags t ON t.tag = pairs.other,
         (SELECT posts::DOUBLE AS n FROM meta) m,
         (SELECT posts FROM tags WHERE tag = $tag) a
)
SELECT other, display, co_posts, score FROM scored
WHERE score > 0 AND NOT isnan(score)
ORDER BY score DESC, co_posts DESC, other
LIMIT $limit
"""
REPORT_SQL = """
WITH period AS (
    SELECT date_trunc('day', first_post) AS lo,
           date_trunc('day', last_post) + INTERVAL 1 DAY AS hi, posts FROM meta
), prev AS (
    SELECT tag, count(*) AS prev_posts FROM post_tags_by_time, period
    WHERE created_at >= period.lo - (period.hi - period.lo) AND created_at < period.lo
    GROUP BY tag
)
SELECT row_number() OVER (ORDER BY t.posts DESC, t.authors DESC, t.tag) AS rank,
       t.tag, t.display, t.posts, t.authors, t.engagement,
       round(t.posts * 100.0 / greatest(period.posts, 1), 4) AS share_pct,
       coalesce(prev.prev_posts, 0) AS prev_posts,
       CASE WHEN prev.prev_posts > 0
            THEN round((t.posts - prev.prev_posts) * 100.0 / prev.prev_posts, 2) END
            AS change_pct,
       strftime(t.first_seen, '%Y-%m-%dT%H:%M:%SZ') AS first_seen,
       strftime(t.last_seen, '%Y-%m-%dT%H:%M:%SZ') AS last_seen
FROM tags t CROSS JOIN period LEFT JOIN prev USING (tag)
ORDER BY t.posts DESC, t.authors DESC, t.tag
"""


class DuckDBEngine:
    """The app's side: the database file opened read-only, one cursor per thread."""

    def __init__(self, db: Path) -> None:
        self.con = _connect(db, read_only=True)
        self._local = threading.local()

    def cur(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._local.cur = self.con.cursor()
            cur.execute("SET TimeZone = 'UTC'")
        return cur

    def meta(self) -> tuple[datetime, datetime]:
        row = self.cur().execute("SELECT first_posting, last_post FROM meta").fetchone()
        assert row is not None
        return row[0], row[1]

    def trending(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        names = [
            "w0",
            "end",
            "b0",
            "b0_us",
            "b_us",
            "n",
            "scale",
            "prior",
            "min_authors",
            "min_growth",
            "limit",
        ]
        rows = self.cur().execute(TRENDING_SQL, {k: params[k] for k in names}).fetchall()
        return [dict(zip(TREND_NAMES, r, strict=True)) for r in rows]

    def detail(self, tag: str) -> dict[str, Any] | None:
        row = (
            self.cur()
            .execute(
                "SELECT tag, display, posts, authors, engagement, first_seen, last_seen,"
                " platforms, langs FROM tags WHERE tag = $1",
                [tag],
            )
            .fetchone()
        )
        if row is None:
            return None
        names = ("tag", "display", "posts", "authors", "engagement", "first_seen", "last_seen")
        out = dict(zip(names, row[:7], strict=True))
        out["first_seen"], out["last_seen"] = utc(row[5]), utc(row[6])
        out["platforms"] = {x["name"]: x["n"] for x in row[7]}
        out["langs"] = {x["name"]: x["n"] for x in row[8]}
        return out

    def timeseries(self, tag: str) -> list[tuple[datetime, int, int, int]]:
        return self.cur().execute(TIMESERIES_SQL, [tag]).fetchall()

    def autocomplete(self, prefix: str, limit: int) -> list[dict[str, Any]]:
        rows = (
            self.cur()
            .execute(
                "SELECT tag, display, posts, authors FROM tags WHERE starts_with(tag, $1)"
                " ORDER BY posts DESC, tag LIMIT $2",
                [prefix, limit],
            )
            .fetchall()
        )
        return [dict(zip(("tag", "display", "posts", "authors"), r, strict=True)) for r in rows]

    def related(self, tag: str, limit: int, min_support: int) -> list[dict[str, Any]] | None:
        cur = self.cur()
        if cur.execute("SELECT 1 FROM tags WHERE tag = $1", [tag]).fetchone() is None:
            return None
        rows = cur.execute(
            RELATED_SQL, {"tag": tag, "min_support": min_support, "limit": limit}
        ).fetchall()
        return [dict(zip(("tag", "display", "co_posts", "score"), r, strict=True)) for r in rows]

    def search(self, pieces: list[str], limit: int) -> tuple[int, list[dict[str, Any]]]:
        where = " AND ".join(f"contains(folded, ${i + 1})" for i in range(len(pieces)))
        args: list[Any] = [f" {p} " for p in pieces]
        cur = self.cur()
        total = cur.execute(f"SELECT count(*) FROM posts WHERE {where}", args).fetchone()
        rows = cur.execute(
            "SELECT id, platform, created_at, author, text, tags, likes, reposts, replies,"
            f" quotes FROM posts WHERE {where} ORDER BY created_at DESC, seq"
            f" LIMIT {int(limit)}",
            args,
        ).fetchall()
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
        items = [dict(zip(names, r, strict=True)) for r in rows]
        for item in items:
            item["created_at"] = utc(item["created_at"])
        return (int(total[0]) if total else 0), items

    def report_chunks(self) -> Iterator[bytes]:
        frame = self.cur().sql(REPORT_SQL).pl()
        yield frame.write_csv(include_header=False).encode()


def open_engine(db: Path) -> DuckDBEngine:
    return DuckDBEngine(db)


class DuckDBPeer(EmbeddedPeer):
    key = "duckdb"
    name = "DuckDB"


PEER = DuckDBPeer
