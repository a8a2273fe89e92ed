"""Peer: SQLite FTS5 served by Datasette (issue 6), the stack a data-API user reaches for first.

The store (``WORK/peer.db``), loaded from the canonical dump with
:func:`bench.peers.common.iter_canonical` (our validated rows and tag keys):

- ``posts``: one row per post (``uid = platform:id`` unique, the last copy wins),
  ``created_at`` in integer epoch seconds. Its rowid ``post`` is
  ``created_at << 24 | (2**24 - 1 - seq mod 2**24)``: rowid order is time order
  (ties: input order), so FTS5 answers "most recent first" by walking its
  doclists backwards and stopping at the limit, instead of sorting every match;
- ``posts_fts``: an external-content FTS5 table on ``posts.text``, tokenizer
  ``unicode61 remove_diacritics 2`` (our ``folded`` analyzer: split on what is
  not a letter or digit, lowercase, fold accents), rebuilt and optimized after
  the load;
- ``post_tags``: one row per (post, tag key), ``WITHOUT ROWID`` clustered on
  ``(tag, created_at, post)`` (a tag's history is one range), with ``account``
  (a dense integer per ``(platform, author)``: an author is that pair), and an
  index ``(created_at, tag, account)`` for time windows (trending);
- ``tags``: per tag key, the exact totals precomputed at load time as our
  indexer does (display form, posts, distinct authors, engagement, first/last
  seen, posts per platform and language as JSON), indexed by rank;
- ``accounts``: ``(platform, author)`` -> ``account``.

The load (``python -m bench.peers.sqlite_datasette load DUMP DB``) runs in a
child process (so that its peak RSS is measured alone) and is a bulk load:
``journal_mode=OFF``, ``synchronous=OFF``, a 256 MiB page cache, rows spooled
with ``executemany`` into a staging database file in input order (appends),
duplicates found by a 64-bit hash of the uid (candidates checked exactly),
then copied once, sorted by their final keys, into the served tables (so
every B-tree is built by appends), secondary indexes created after that,
FTS5 ``rebuild`` + ``optimize``, ``ANALYZE``; the staging file is deleted.

An update (``... update DAY DB``) upserts a one-day dump in one transaction:
the day deduplicated (last copy wins), older copies of its posts removed from
``posts``, ``posts_fts`` and ``post_tags``, the new rows inserted, and the
``tags`` rows of every tag touched recomputed from ``post_tags``.

Served by ``datasette serve -i peer.db`` (immutable: no locking, no change
checks) with canned queries (``sqlite_datasette_metadata.json``, written next to
the database) answered as JSON (``.json?_shape=array``) or CSV (``.csv``), and
settings raised so that nothing times out or is truncated. Every question is
answered by SQL alone; :meth:`SqliteDatasette.answer` only reshapes the JSON
or CSV into the canonical form of :mod:`bench.peers.common`.

Where it cannot be the same as ours (none of it is asked by the workload):
times are whole seconds (the generator writes whole seconds); unicode61 folds
accents but not what ASCII folding expands (``ß`` stays ``ß``, so ``straße``
does not find ``Strasse``), and splits on marks tantivy keeps in words (some
Indic vowel signs); search is our AND of words and quoted phrases only (no
typo tolerance, so only words under 5 letters or quoted give equal totals).
Trending rounds halves to even, as polars does on our side (SQLite's
``round`` rounds them away from zero).

Check that it answers as ours does (builds both, serves both, compares)::

    uv run --group bench python -m bench.peers.sqlite_datasette check --posts 20000 [--update]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from bench.peers.common import (
    KINDS,
    BuildFigures,
    Workload,
    get_json,
    iter_canonical,
    ours,
    q,
    run_measured,
    search_answer,
    wait_http,
)
from indexer.schema import tag_key

ROOT = Path(__file__).resolve().parents[2]
DB_FILE = "peer.db"
DB_NAME = "peer"
METADATA_FILE = "sqlite_datasette_metadata.json"
STAGE_FILE = "peer-stage.db"
SEQ_BITS = 24
"""Low bits of a post's rowid: its input order within its second (see the module doc)."""
SEQ_MASK = (1 << SEQ_BITS) - 1
CACHE_KIB = 256 * 1024
"""SQLite page cache of the loader and of each Datasette connection."""
BATCH_ROWS = 100_000

# Our trending defaults (service/trends.py TrendParams, docs/trending.md) and the
# questions' fixed sizes (bench/peers/common.py), restated in the SQL below.
WINDOW_S = 24 * 3600
BASELINE_S = 7 * 86400
PRIOR = 2.0
MIN_AUTHORS = 5
MIN_GROWTH = 1.5
MAX_SLOTS = 168
TREND_LIMIT = 20
AUTOCOMPLETE_LIMIT = 10
SEARCH_LIMIT = 20
SNIPPET_TOKENS = 24

# --------------------------------------------------------------------------- schema

SCHEMA = """
CREATE TABLE posts (
    post INTEGER PRIMARY KEY,
    uid TEXT NOT NULL,
    seq INTEGER NOT NULL,
    platform TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    lang TEXT NOT NULL,
    likes INTEGER NOT NULL,
    reposts INTEGER NOT NULL,
    replies INTEGER NOT NULL,
    quotes INTEGER NOT NULL,
    engagement INTEGER NOT NULL
);
CREATE TABLE post_tags (
    tag TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    post INTEGER NOT NULL,
    account INTEGER NOT NULL,
    platform TEXT NOT NULL,
    lang TEXT NOT NULL,
    engagement INTEGER NOT NULL,
    written TEXT NOT NULL,
    PRIMARY KEY (tag, created_at, post)
) WITHOUT ROWID;
CREATE TABLE accounts (
    account INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    author TEXT NOT NULL
);
CREATE TABLE tags (
    tag TEXT PRIMARY KEY,
    display TEXT NOT NULL,
    posts INTEGER NOT NULL,
    authors INTEGER NOT NULL,
    engagement INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    platforms TEXT NOT NULL,
    langs TEXT NOT NULL
) WITHOUT ROWID;
"""

INDEXES = """
CREATE UNIQUE INDEX posts_uid ON posts (uid);
CREATE INDEX post_tags_time ON post_tags (created_at, tag, account);
CREATE UNIQUE INDEX accounts_key ON accounts (platform, author);
CREATE INDEX tags_rank ON tags (posts DESC, authors DESC, tag);
CREATE VIRTUAL TABLE posts_fts USING fts5(
    text, content='posts', content_rowid='post', tokenize='unicode61 remove_diacritics 2'
);
"""

STAGE_SCHEMA = """
CREATE TABLE stage.posts_load (
    seq INTEGER PRIMARY KEY, post INTEGER, uid TEXT, platform TEXT, id TEXT,
    created_at INTEGER, author TEXT, text TEXT, lang TEXT, likes INTEGER, reposts INTEGER,
    replies INTEGER, quotes INTEGER, engagement INTEGER
);
CREATE TABLE stage.tags_load (
    seq INTEGER, tag TEXT, created_at INTEGER, post INTEGER, account INTEGER,
    platform TEXT, lang TEXT, engagement INTEGER, written TEXT
);
"""

POST_COLUMNS = (
    "post",
    "uid",
    "seq",
    "platform",
    "id",
    "created_at",
    "author",
    "text",
    "lang",
    "likes",
    "reposts",
    "replies",
    "quotes",
    "engagement",
)
TAG_COLUMNS = ("tag", "created_at", "post", "account", "platform", "lang", "engagement", "written")

REFRESH_TAGS = """
INSERT INTO tags (tag, display, posts, authors, engagement, first_seen, last_seen, platforms, langs)
SELECT
    t.tag,
    (SELECT written FROM post_tags AS w WHERE w.tag = t.tag
     GROUP BY written ORDER BY count(*) DESC, written LIMIT 1),
    t.posts, t.authors, t.engagement, t.first_seen, t.last_seen,
    (SELECT json_group_object(name, n) FROM (
        SELECT platform AS name, count(*) AS n FROM post_tags AS x WHERE x.tag = t.tag
        GROUP BY platform ORDER BY n DESC, name)),
    (SELECT json_group_object(name, n) FROM (
        SELECT lang AS name, count(*) AS n FROM post_tags AS x WHERE x.tag = t.tag
        GROUP BY lang ORDER BY n DESC, name))
FROM (
    SELECT tag, count(*) AS posts, count(DISTINCT account) AS authors,
           sum(engagement) AS engagement, min(created_at) AS first_seen,
           max(created_at) AS last_seen
    FROM post_tags {where}
    GROUP BY tag
) AS t
"""
"""Exact per-tag totals (display = most frequent spelling, ties: smallest string)."""

# --------------------------------------------------------------------------- canned queries

ISO = "'%Y-%m-%dT%H:%M:%SZ'"


def _even(expr: str, digits: int) -> str:
    """SQL rounding a non-negative ``expr`` to ``digits`` decimals as polars does (our side):
    ``x * 10**digits`` rounded half to even, divided back. SQLite's ``round`` rounds
    halves away from zero (81/16 = 5.0625 gives 5.063; ours 5.062)."""
    y = f"(({expr}) * {10**digits}.0)"
    return (
        f"(CASE WHEN {y} - CAST({y} AS INTEGER) = 0.5 "
        f"THEN CAST({y} AS INTEGER) + CAST({y} AS INTEGER) % 2 ELSE round({y}) END "
        f"/ {10**digits}.0)"
    )


TRENDING_SQL = f"""
WITH
  p AS (
    SELECT unixepoch(:as_of) AS t_end,
           CAST(coalesce(nullif(:window_s, ''), {WINDOW_S}) AS INTEGER) AS w,
           CAST(coalesce(nullif(:baseline_s, ''), {BASELINE_S}) AS INTEGER) AS b
  ),
  s AS (
    SELECT t_end, w, b, t_end - w AS mid, t_end - w - b AS base,
           min(max(1, CAST(round(b * 1.0 / w) AS INTEGER)), {MAX_SLOTS}) AS n,
           min(b, t_end - w - coalesce((SELECT min(created_at) FROM post_tags), t_end - w - b))
             AS covered
    FROM p
  ),
  win AS (
    SELECT pt.tag, count(*) AS posts, count(DISTINCT pt.account) AS authors
    FROM s, post_tags AS pt INDEXED BY post_tags_time
    WHERE pt.created_at >= s.mid AND pt.created_at < s.t_end
    GROUP BY pt.tag
    HAVING authors >= {MIN_AUTHORS}
  ),
  base AS (
    SELECT pt.tag, count(*) AS baseline_posts,
           count(DISTINCT pt.account) AS baseline_authors,
           count(DISTINCT ((pt.created_at - s.base) * s.n / s.b) * 4294967296 + pt.account)
             AS slot_authors
    FROM s, win JOIN post_tags AS pt ON pt.tag = win.tag
    WHERE pt.created_at >= s.base AND pt.created_at < s.mid
    GROUP BY pt.tag
  ),
  scored AS (
    SELECT win.tag, win.posts, win.authors,
           coalesce(base.baseline_posts, 0) AS baseline_posts,
           coalesce(base.baseline_authors, 0) AS baseline_authors,
           {
    _even(
        f"coalesce(base.slot_authors, 0) * (CASE WHEN s.covered > 0 "
        f"THEN s.w * 1.0 / s.covered ELSE 0.0 END) + {PRIOR}",
        3,
    )
}
             AS expected_authors
    FROM s, win LEFT JOIN base ON base.tag = win.tag
  ),
  graded AS (
    SELECT *, {_even("authors / expected_authors", 3)} AS growth,
           {
    _even("(authors - expected_authors) * (authors - expected_authors) / expected_authors", 3)
}
             AS score
    FROM scored
  )
SELECT tag, (SELECT display FROM tags WHERE tags.tag = graded.tag) AS display,
       posts, authors, baseline_posts, baseline_authors, expected_authors, growth, score
FROM graded
WHERE authors > expected_authors AND growth >= {MIN_GROWTH}
ORDER BY score DESC, authors DESC, tag
LIMIT CAST(coalesce(nullif(:limit, ''), {TREND_LIMIT}) AS INTEGER)
"""

DETAIL_SQL = f"""
SELECT tag, display, posts, authors, engagement,
       strftime({ISO}, first_seen, 'unixepoch') AS first_seen,
       strftime({ISO}, last_seen, 'unixepoch') AS last_seen,
       platforms, langs
FROM tags WHERE tag = :tag
"""

TIMESERIES_SQL = f"""
WITH RECURSIVE
  span AS (SELECT first_seen / 86400 * 86400 AS lo, last_seen / 86400 * 86400 AS hi
           FROM tags WHERE tag = :tag),
  days (d) AS (SELECT lo FROM span UNION ALL SELECT d + 86400 FROM days, span WHERE d < span.hi),
  per AS (
    SELECT created_at / 86400 * 86400 AS d, count(*) AS posts,
           count(DISTINCT account) AS authors, sum(engagement) AS engagement
    FROM post_tags WHERE tag = :tag GROUP BY 1
  )
SELECT strftime({ISO}, days.d, 'unixepoch') AS t, coalesce(per.posts, 0) AS posts,
       coalesce(per.authors, 0) AS authors, coalesce(per.engagement, 0) AS engagement
FROM days LEFT JOIN per ON per.d = days.d
ORDER BY days.d
"""

AUTOCOMPLETE_SQL = f"""
SELECT tag, display, posts, authors FROM tags
WHERE tag >= :prefix AND tag < :prefix || char(1114111)
ORDER BY posts DESC, tag
LIMIT CAST(coalesce(nullif(:limit, ''), {AUTOCOMPLETE_LIMIT}) AS INTEGER)
"""

_SEARCH_SQL = f"""
SELECT p.platform, p.id, strftime({ISO}, p.created_at, 'unixepoch') AS created_at, p.author,
       p.likes, p.reposts, p.replies, p.quotes,
       snippet(posts_fts, 0, '<b>', '</b>', '…', {SNIPPET_TOKENS}) AS snippet,
       (SELECT count(*) FROM posts_fts WHERE posts_fts MATCH :q) AS total
FROM posts_fts JOIN posts AS p ON p.post = posts_fts.rowid
WHERE posts_fts MATCH :q
ORDER BY {{order}}
LIMIT CAST(coalesce(nullif(:limit, ''), {SEARCH_LIMIT}) AS INTEGER)
"""
SEARCH_RECENT_SQL = _SEARCH_SQL.format(order="posts_fts.rowid DESC")
SEARCH_RELEVANCE_SQL = _SEARCH_SQL.format(order="posts_fts.rank, posts_fts.rowid DESC")

REPORT_SQL = f"""
WITH
  period AS (
    SELECT ((SELECT min(post) FROM posts) >> {SEQ_BITS}) / 86400 * 86400 AS lo,
           ((SELECT max(post) FROM posts) >> {SEQ_BITS}) / 86400 * 86400 + 86400 AS hi,
           (SELECT count(*) FROM posts) AS total
  ),
  prev AS (
    SELECT pt.tag, count(*) AS prev_posts
    FROM period, post_tags AS pt INDEXED BY post_tags_time
    WHERE pt.created_at >= period.lo - (period.hi - period.lo) AND pt.created_at < period.lo
    GROUP BY pt.tag
  )
SELECT row_number() OVER (ORDER BY t.posts DESC, t.authors DESC, t.tag) AS rank,
       t.tag, t.display, t.posts, t.authors, t.engagement,
       {_even("t.posts * 100.0 / max(period.total, 1)", 4)} AS share_pct,
       coalesce(prev.prev_posts, 0) AS prev_posts,
       CASE WHEN prev.prev_posts > 0
            THEN {_even("(t.posts - prev.prev_posts) * 100.0 / prev.prev_posts", 2)} END
         AS change_pct,
       strftime({ISO}, t.first_seen, 'unixepoch') AS first_seen,
       strftime({ISO}, t.last_seen, 'unixepoch') AS last_seen
FROM period, tags AS t INDEXED BY tags_rank LEFT JOIN prev ON prev.tag = t.tag
ORDER BY t.posts DESC, t.authors DESC, t.tag
"""
"""The Hashtag Index report of the whole generation: every whole UTC day of the posts,
ranked by posts, then authors (desc), then tag, as ours (service/reports.py)."""

CANNED = {
    "trending": TRENDING_SQL,
    "tag_detail": DETAIL_SQL,
    "timeseries": TIMESERIES_SQL,
    "autocomplete": AUTOCOMPLETE_SQL,
    "search_recent": SEARCH_RECENT_SQL,
    "search_relevance": SEARCH_RELEVANCE_SQL,
    "report": REPORT_SQL,
}

SETTINGS = {
    "sql_time_limit_ms": "600000",
    "max_returned_rows": "100000000",
    "max_csv_mb": "0",
    "num_sql_threads": "4",
    "cache_size_kb": str(CACHE_KIB),
    "allow_csv_stream": "on",
    "suggest_facets": "off",
    "default_facet_size": "0",
}
"""Datasette settings: nothing times out, nothing is truncated."""


def metadata() -> dict[str, Any]:
    """Datasette metadata: the canned queries of the peer database."""
    return {
        "databases": {
            DB_NAME: {
                "queries": {name: {"sql": sql.strip()} for name, sql in CANNED.items()},
            }
        }
    }


# --------------------------------------------------------------------------- load


def post_rowid(created_s: pl.Expr, seq: pl.Expr) -> pl.Expr:
    """Rowid of a post: time order, then input order (see the module doc)."""
    return (created_s * (1 << SEQ_BITS)) + (SEQ_MASK - (seq % (1 << SEQ_BITS)))


def _posts_frame(batch: pl.DataFrame, first_seq: int) -> pl.DataFrame:
    """A canonical batch with ``seq`` (global input order) and ``post`` (its rowid)."""
    created = pl.col("created_at").dt.epoch("s")
    return batch.with_columns(
        seq=pl.col("_seq") + first_seq,
        created_at=created,
    ).with_columns(post=post_rowid(pl.col("created_at"), pl.col("seq")))


def _postings(posts: pl.DataFrame) -> pl.DataFrame:
    """One row per (post, tag key), with the spelling as written in the post."""
    return (
        posts.select(
            "seq",
            "tags",
            "written",
            "created_at",
            "post",
            "platform",
            "lang",
            "engagement",
            "author",
        )
        .explode("tags", "written", empty_as_null=False)
        .drop_nulls("tags")
        .rename({"tags": "tag"})
    )


def _script(con: sqlite3.Connection, sql: str) -> None:
    """Run ``;``-separated statements one by one (``executescript`` would commit first)."""
    for statement in sql.split(";"):
        if statement.strip():
            con.execute(statement)


def connect(db: Path) -> sqlite3.Connection:
    con = sqlite3.connect(db, isolation_level=None)
    con.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    return con


def _prefetched(batches: Iterator[pl.DataFrame], depth: int = 2) -> Iterator[pl.DataFrame]:
    """``batches``, read ahead on a thread of their own (polars releases the GIL while it
    parses, so reading the next batch overlaps inserting this one)."""
    done = object()
    out: queue.Queue[Any] = queue.Queue(maxsize=depth)

    def produce() -> None:
        try:
            for batch in batches:
                out.put(batch)
        except BaseException as e:
            out.put(e)
        out.put(done)

    thread = threading.Thread(target=produce, name="peer-reader", daemon=True)
    thread.start()
    while (item := out.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item
    thread.join()


class _Clock:
    """Prints the seconds of each stage of a load on stderr."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def lap(self, stage: str) -> None:
        now = time.monotonic()
        print(f"  {stage}: {now - self.last:.1f} s", file=sys.stderr, flush=True)
        self.last = now


def load(dump: Path, db: Path) -> int:
    """Bulk load ``dump`` into a fresh ``db``; the number of posts stored."""
    stage = db.with_name(STAGE_FILE)
    for path in (db, stage):
        path.unlink(missing_ok=True)
    con = connect(db)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA locking_mode = EXCLUSIVE")
    con.execute("ATTACH DATABASE ? AS stage", (str(stage),))
    con.execute("PRAGMA stage.journal_mode = OFF")
    con.execute("PRAGMA stage.synchronous = OFF")
    _script(con, SCHEMA + STAGE_SCHEMA)
    clock = _Clock()

    accounts = pl.DataFrame(
        schema={"platform": pl.String(), "author": pl.String(), "account": pl.Int64()}
    )
    hashes: list[pl.DataFrame] = []
    scratch = db.parent / "peer-scratch"
    scratch.mkdir(exist_ok=True)
    con.execute("BEGIN")
    for batch in _prefetched(iter_canonical(dump, scratch, BATCH_ROWS)):
        posts = _posts_frame(batch, 0)
        hashes.append(posts.select(h=pl.col("uid").hash(seed=7), seq="seq"))
        con.executemany(
            "INSERT INTO stage.posts_load (seq, post, uid, platform, id, created_at, author, "
            "text, lang, likes, reposts, replies, quotes, engagement) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            posts.select(
                "seq",
                "post",
                "uid",
                "platform",
                "id",
                "created_at",
                "author",
                "text",
                "lang",
                "likes",
                "reposts",
                "replies",
                "quotes",
                "engagement",
            ).iter_rows(),
        )
        postings = _postings(posts)
        seen = postings.select("platform", "author").unique()
        new = seen.join(accounts, on=["platform", "author"], how="anti").with_columns(
            account=pl.int_range(accounts.height, accounts.height + pl.len(), dtype=pl.Int64())
        )
        if new.height:
            con.executemany(
                "INSERT INTO accounts (account, platform, author) VALUES (?, ?, ?)",
                new.select("account", "platform", "author").iter_rows(),
            )
            accounts = pl.concat([accounts, new])
        postings = postings.join(accounts, on=["platform", "author"], how="left")
        con.executemany(
            "INSERT INTO stage.tags_load (seq, tag, created_at, post, account, platform, lang, "
            "engagement, written) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            postings.select(
                "seq",
                "tag",
                "created_at",
                "post",
                "account",
                "platform",
                "lang",
                "engagement",
                "written",
            ).iter_rows(),
        )
    con.execute("COMMIT")
    shutil.rmtree(scratch, ignore_errors=True)
    del accounts
    clock.lap("stage")

    losers = _losers(con, hashes)
    del hashes
    con.execute("CREATE TEMP TABLE losers (seq INTEGER PRIMARY KEY)")
    con.executemany("INSERT INTO losers VALUES (?)", ((s,) for s in losers))
    con.execute("BEGIN")
    cols = ", ".join(POST_COLUMNS)
    con.execute(
        f"INSERT INTO posts ({cols}) SELECT {cols} FROM stage.posts_load "
        "WHERE seq NOT IN (SELECT seq FROM temp.losers) ORDER BY post"
    )
    cols = ", ".join(TAG_COLUMNS)
    con.execute(
        f"INSERT INTO post_tags ({cols}) SELECT {cols} FROM stage.tags_load "
        "WHERE seq NOT IN (SELECT seq FROM temp.losers) ORDER BY tag, created_at, post"
    )
    con.execute("COMMIT")
    con.execute("DETACH DATABASE stage")
    stage.unlink()
    clock.lap("dedup+copy")
    con.execute("BEGIN")
    con.execute(REFRESH_TAGS.format(where=""))
    clock.lap("tags")
    _script(con, INDEXES)
    clock.lap("indexes")
    con.execute("INSERT INTO posts_fts (posts_fts) VALUES ('rebuild')")
    clock.lap("fts rebuild")
    con.execute("INSERT INTO posts_fts (posts_fts) VALUES ('optimize')")
    con.execute("COMMIT")
    clock.lap("fts optimize")
    con.execute("ANALYZE")
    clock.lap("analyze")
    (n,) = con.execute("SELECT count(*) FROM posts").fetchone()
    con.execute("PRAGMA journal_mode = DELETE")
    con.close()
    return int(n)


def _losers(con: sqlite3.Connection, hashes: list[pl.DataFrame]) -> list[int]:
    """``seq`` of every staged post that a later copy of the same uid replaces.

    64-bit hashes of the uids find the candidates (a collision only adds one);
    their exact uids, read back by ``seq``, decide."""
    if not hashes:
        return []
    keys = pl.concat(hashes)
    candidates = keys.filter(pl.col("h").is_duplicated())["seq"].to_list()
    if not candidates:
        return []
    rows: list[tuple[int, str]] = []
    for i in range(0, len(candidates), 10_000):
        chunk = candidates[i : i + 10_000]
        marks = ",".join("?" * len(chunk))
        rows += con.execute(
            f"SELECT seq, uid FROM stage.posts_load WHERE seq IN ({marks})", chunk
        ).fetchall()
    found = pl.DataFrame(rows, schema={"seq": pl.Int64(), "uid": pl.String()}, orient="row")
    return sorted(found.filter(pl.col("seq") != pl.col("seq").max().over("uid"))["seq"].to_list())


# --------------------------------------------------------------------------- update


def update(day: Path, db: Path) -> int:
    """Upsert a (small) dump into ``db`` in one transaction; the number of rows taken."""
    con = connect(db)
    con.execute("PRAGMA synchronous = OFF")
    (last,) = con.execute("SELECT coalesce(max(seq), -1) FROM posts").fetchone()
    scratch = db.parent / "peer-scratch"
    scratch.mkdir(exist_ok=True)
    batches = [_posts_frame(b, int(last) + 1) for b in iter_canonical(day, scratch, BATCH_ROWS)]
    shutil.rmtree(scratch, ignore_errors=True)
    if not batches:
        con.close()
        return 0
    posts = pl.concat(batches).unique(subset="uid", keep="last", maintain_order=True)
    postings = _postings(posts)
    con.execute("BEGIN")
    _script(
        con,
        """
        CREATE TEMP TABLE new_posts (post INTEGER PRIMARY KEY, uid TEXT, seq INTEGER,
            platform TEXT, id TEXT, created_at INTEGER, author TEXT, text TEXT, lang TEXT,
            likes INTEGER, reposts INTEGER, replies INTEGER, quotes INTEGER, engagement INTEGER);
        CREATE TEMP TABLE new_tags (tag TEXT, created_at INTEGER, post INTEGER,
            platform TEXT, author TEXT, lang TEXT, engagement INTEGER, written TEXT);
        """,
    )
    cols = ", ".join(POST_COLUMNS)
    con.executemany(
        f"INSERT INTO temp.new_posts ({cols}) VALUES ({', '.join('?' * len(POST_COLUMNS))})",
        posts.select(POST_COLUMNS).iter_rows(),
    )
    tag_cols = ("tag", "created_at", "post", "platform", "author", "lang", "engagement", "written")
    con.executemany(
        f"INSERT INTO temp.new_tags ({', '.join(tag_cols)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        postings.select(tag_cols).iter_rows(),
    )
    _script(
        con,
        """
        CREATE TEMP TABLE gone AS
            SELECT p.post, p.created_at, p.text FROM temp.new_posts AS n
            JOIN main.posts AS p ON p.uid = n.uid;
        CREATE TEMP TABLE affected AS
            SELECT tag FROM temp.new_tags
            UNION
            SELECT pt.tag FROM temp.gone AS g
            JOIN main.post_tags AS pt ON pt.created_at = g.created_at AND pt.post = g.post;
        INSERT INTO posts_fts (posts_fts, rowid, text) SELECT 'delete', post, text FROM temp.gone;
        DELETE FROM post_tags WHERE (created_at, post) IN (SELECT created_at, post FROM temp.gone);
        DELETE FROM posts WHERE post IN (SELECT post FROM temp.gone);
        INSERT OR IGNORE INTO accounts (platform, author)
            SELECT DISTINCT platform, author FROM temp.new_tags;
        """,
    )
    con.execute(f"INSERT INTO posts ({cols}) SELECT {cols} FROM temp.new_posts ORDER BY post")
    _script(
        con,
        """
        INSERT INTO posts_fts (rowid, text) SELECT post, text FROM temp.new_posts;
        INSERT INTO post_tags (tag, created_at, post, account, platform, lang, engagement, written)
            SELECT n.tag, n.created_at, n.post, a.account, n.platform, n.lang, n.engagement,
                   n.written
            FROM temp.new_tags AS n
            JOIN accounts AS a ON a.platform = n.platform AND a.author = n.author
            ORDER BY n.tag, n.created_at, n.post;
        DELETE FROM tags WHERE tag IN (SELECT tag FROM temp.affected);
        """,
    )
    con.execute(REFRESH_TAGS.format(where="WHERE tag IN (SELECT tag FROM temp.affected)"))
    con.execute("COMMIT")
    con.close()
    return posts.height


# --------------------------------------------------------------------------- the peer


def fts_query(text: str) -> str:
    """Our query language's words and quoted phrases (AND-ed) as an FTS5 query.

    Each word or phrase becomes an FTS5 string (so no word is read as an operator);
    the tokenizer splits and folds them as it did the text."""
    pieces: list[str] = []
    for i, part in enumerate(text.split('"')):
        if i % 2:
            if part.strip():
                pieces.append(part)
        else:
            pieces += part.split()
    return " ".join('"' + p.replace('"', '""') + '"' for p in pieces)


class SqliteDatasette:
    """The peer (bench/peers/common.py's contract)."""

    name = "SQLite FTS5 + Datasette"

    def __init__(self) -> None:
        self.db: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.base = ""

    # -- store

    def build(self, dump: Path, work: Path) -> BuildFigures:
        work.mkdir(parents=True, exist_ok=True)
        self.db = work / DB_FILE
        seconds, rss = run_measured(
            [sys.executable, "-m", "bench.peers.sqlite_datasette", "load", str(dump), str(self.db)],
            cwd=ROOT,
        )
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        (posts,) = con.execute("SELECT count(*) FROM posts").fetchone()
        con.close()
        return BuildFigures(
            seconds=seconds,
            posts=int(posts),
            peak_rss_bytes=rss,
            disk_bytes=self.db.stat().st_size,
        )

    def update(self, day: Path) -> float:
        """Seconds to upsert a one-day dump (a server running is restarted around it:
        it serves the file as immutable)."""
        db = self._db()
        port = self.port
        if self.proc is not None:
            self.stop()
        seconds, _ = run_measured(
            [sys.executable, "-m", "bench.peers.sqlite_datasette", "update", str(day), str(db)],
            cwd=ROOT,
        )
        if port is not None:
            self.start(port)
        return seconds

    def _db(self) -> Path:
        if self.db is None:
            raise RuntimeError("build() first")
        return self.db

    # -- server

    def start(self, port: int) -> str:
        db = self._db()
        meta = db.parent / METADATA_FILE
        meta.write_text(json.dumps(metadata(), indent=2))
        cmd = [
            sys.executable,
            "-m",
            "datasette",
            "serve",
            "-i",
            str(db),
            "--metadata",
            str(meta),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        for key, value in SETTINGS.items():
            cmd += ["--setting", key, value]
        self.proc = subprocess.Popen(
            cmd,
            cwd=db.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        try:
            wait_http(self.base + "/-/versions.json")
        except RuntimeError:
            self.stop()
            raise
        return self.base

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        self.port = None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def pids(self) -> list[int]:
        """The server's process ids (for its RSS)."""
        return [] if self.proc is None else [self.proc.pid]

    # -- questions

    def paths(self, kind: str, w: Workload) -> list[str]:
        if kind == "trending":
            return [f"/{DB_NAME}/trending.json?_shape=array&as_of={q(a)}" for a in w.as_of]
        if kind == "detail":
            return [f"/{DB_NAME}/tag_detail.json?_shape=array&tag={q(t)}" for t in w.tags]
        if kind == "timeseries":
            return [f"/{DB_NAME}/timeseries.json?_shape=array&tag={q(t)}" for t in w.tags]
        if kind == "autocomplete":
            return [f"/{DB_NAME}/autocomplete.json?_shape=array&prefix={q(p)}" for p in w.prefixes]
        if kind == "search":
            return [
                f"/{DB_NAME}/search_relevance.json?_shape=array&q={q(fts_query(x))}"
                for x in w.words
            ] + [f"/{DB_NAME}/search_recent.json?_shape=array&q={q(fts_query(x))}" for x in w.words]
        if kind == "report":
            return [self.report_path()]
        raise ValueError(kind)

    def report_path(self) -> str:
        return f"/{DB_NAME}/report.csv?_stream=on"

    def answer(self, kind: str, params: dict[str, str]) -> Any:
        db = f"/{DB_NAME}"
        if kind == "trending":
            rows = get_json(
                self.base, f"{db}/trending.json?_shape=array&as_of={q(params['as_of'])}"
            )
            return [
                (
                    r["tag"],
                    r["posts"],
                    r["authors"],
                    r["baseline_posts"],
                    r["baseline_authors"],
                    r["expected_authors"],
                    r["score"],
                )
                for r in rows
            ]
        if kind == "detail":
            tag = tag_key(params["tag"].strip())
            rows = get_json(self.base, f"{db}/tag_detail.json?_shape=array&tag={q(tag)}")
            if not rows:
                return None
            r = rows[0]
            return {
                "posts": r["posts"],
                "authors": r["authors"],
                "engagement": r["engagement"],
                "first_seen": r["first_seen"],
                "last_seen": r["last_seen"],
                "platforms": json.loads(r["platforms"]),
                "langs": json.loads(r["langs"]),
            }
        if kind == "timeseries":
            tag = tag_key(params["tag"].strip())
            rows = get_json(self.base, f"{db}/timeseries.json?_shape=array&tag={q(tag)}")
            return [(r["t"], r["posts"], r["authors"], r["engagement"]) for r in rows]
        if kind == "autocomplete":
            prefix = tag_key(params["prefix"].strip())
            rows = get_json(self.base, f"{db}/autocomplete.json?_shape=array&prefix={q(prefix)}")
            return [(r["tag"], r["posts"], r["authors"]) for r in rows]
        if kind == "search":
            match = fts_query(params["q"])
            rows = get_json(self.base, f"{db}/search_recent.json?_shape=array&q={q(match)}")
            if not all(r["snippet"] and "<b>" in r["snippet"] for r in rows):
                raise AssertionError("an item without a marked snippet")
            total = rows[0]["total"] if rows else 0
            return search_answer(
                total, [(r["created_at"], f"{r['platform']}:{r['id']}") for r in rows]
            )
        if kind == "report":
            with urllib.request.urlopen(self.base + self.report_path(), timeout=600) as r:
                body = r.read().decode("utf-8-sig")
            reader = csv.DictReader(io.StringIO(body))
            return [
                (
                    row["tag"],
                    int(row["posts"]),
                    int(row["authors"]),
                    int(row["engagement"]),
                    row["first_seen"],
                    row["last_seen"],
                )
                for row in reader
            ]
        raise ValueError(kind)


PEER = SqliteDatasette
"""What bench/run.py instantiates."""


# --------------------------------------------------------------------------- check


class OurServer:
    """``hashtag-index serve`` of an index directory, on loopback."""

    def __init__(self, index: Path, port: int) -> None:
        self.index = index
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> OurServer:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hashtag_index",
                "serve",
                "--index",
                str(self.index),
                "--port",
                str(self.port),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_http(self.base + "/readyz")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
            self.proc = None


def pick_workload(base: str) -> Workload:
    """as_of anchors in the last 3 days, tags of varied popularity, their prefixes, words."""
    manifest = get_json(base, "/v1/index")
    last = manifest["to"][:10]
    day0 = time.mktime(time.strptime(last, "%Y-%m-%d")) - time.timezone
    as_of = [
        time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(day0 - d * 86400 + h * 3600))
        for d in range(3)
        for h in (0, 9, 18)
    ]
    as_of.append(time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(day0 + 86400)))
    ranked = [row[0] for row in ours(base, "report", {})]
    picks = [0, 1, 2, 5, 10, 30, 100, 300, 1000, 3000, len(ranked) - 1]
    tags = list(dict.fromkeys(ranked[i] for i in picks if i < len(ranked)))
    trend = ours(base, "trending", {"as_of": as_of[-1]})
    tags += [t[0] for t in trend[:2] if t[0] not in tags]
    prefixes = list(dict.fromkeys([t[:2] for t in tags] + ["a", "co", "zz", "ca"]))
    words = ["rust", "news", "game", "cafe", "café", '"good morning"', '"coffee"', '"world cup"']
    return Workload(as_of=as_of, tags=tags, prefixes=prefixes, words=words)


def questions(w: Workload) -> Iterator[tuple[str, dict[str, str]]]:
    for kind in KINDS:
        if kind == "trending":
            yield from ((kind, {"as_of": a}) for a in w.as_of)
        elif kind in ("detail", "timeseries"):
            yield from ((kind, {"tag": t}) for t in w.tags)
        elif kind == "autocomplete":
            yield from ((kind, {"prefix": p}) for p in w.prefixes)
        elif kind == "search":
            yield from ((kind, {"q": x}) for x in w.words)
        else:
            yield kind, {}


def _difference(a: Any, b: Any) -> str:
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return f"item {i}: ours {x!r} / peer {y!r}"
        return f"lengths: ours {len(a)} / peer {len(b)}"
    return f"ours {str(a)[:600]} / peer {str(b)[:600]}"


def compare(our_base: str, peer: SqliteDatasette, w: Workload) -> dict[str, tuple[int, int]]:
    """Per kind: (questions, answers equal to ours); prints each difference."""
    tally: dict[str, tuple[int, int]] = {}
    for kind, params in questions(w):
        mine, theirs = ours(our_base, kind, params), peer.answer(kind, params)
        n, ok = tally.get(kind, (0, 0))
        same = mine == theirs
        tally[kind] = (n + 1, ok + int(same))
        if not same:
            print(f"DIFFERENT {kind} {params}: {_difference(mine, theirs)}", flush=True)
    return tally


def _run(cmd: Sequence[str]) -> None:
    subprocess.run(list(cmd), cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def check(n: int, our_port: int, peer_port: int, with_update: bool) -> bool:
    """Build ours and the peer from one dump, serve both,
    compare every answer (and again after a one-day update); True if all are equal."""
    from bench.build import dump_for

    dump = dump_for(n, 1)
    work = ROOT / "bench" / "out" / f"sqlite-check-{n}"
    shutil.rmtree(work, ignore_errors=True)
    index = work / "index"
    t = time.monotonic()
    _run([sys.executable, "-m", "hashtag_index", "build", str(dump), "--index", str(index)])
    print(f"ours built in {time.monotonic() - t:.1f} s", flush=True)
    peer = SqliteDatasette()
    figures = peer.build(dump, work / "peer")
    print(
        f"peer loaded {figures.posts} posts in {figures.seconds:.1f} s, peak RSS "
        f"{figures.peak_rss_bytes / 2**20:.0f} MiB, {figures.disk_bytes / 2**20:.1f} MiB",
        flush=True,
    )
    rounds = [("build", None)]
    if with_update:
        from bench.update import day_dump

        rounds.append(("update", day_dump(dump, max(n // 30, 100), max(n // 200, 10), 2)))
    ok = True
    for label, day in rounds:
        if day is not None:
            t = time.monotonic()
            _run([sys.executable, "-m", "hashtag_index", "update", str(day), "--index", str(index)])
            print(f"ours updated in {time.monotonic() - t:.1f} s", flush=True)
            print(f"peer updated in {peer.update(day):.2f} s", flush=True)
        with OurServer(index, our_port) as server:
            peer.start(peer_port)
            try:
                w = pick_workload(server.base)
                tally = compare(server.base, peer, w)
            finally:
                peer.stop()
        for kind, (total, same) in tally.items():
            print(f"{label}: {kind:<12} {same}/{total} equal", flush=True)
            ok = ok and same == total
    return ok


# --------------------------------------------------------------------------- CLI


def main(argv: Iterable[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="command", required=True)
    p_load = sub.add_parser("load", help="bulk load a canonical NDJSON dump into a new DB")
    p_load.add_argument("dump", type=Path)
    p_load.add_argument("db", type=Path)
    p_update = sub.add_parser("update", help="upsert a canonical NDJSON dump into a DB")
    p_update.add_argument("day", type=Path)
    p_update.add_argument("db", type=Path)
    p_check = sub.add_parser("check", help="build ours and the peer, compare every answer")
    p_check.add_argument("--posts", type=int, default=20_000)
    p_check.add_argument("--our-port", type=int, default=8811)
    p_check.add_argument("--peer-port", type=int, default=8812)
    p_check.add_argument("--update", action="store_true", help="also after a one-day update")
    args = ap.parse_args(None if argv is None else list(argv))
    if args.command == "load":
        t = time.monotonic()
        n = load(args.dump, args.db)
        print(f"loaded {n} posts into {args.db} in {time.monotonic() - t:.1f} s", file=sys.stderr)
    elif args.command == "update":
        t = time.monotonic()
        n = update(args.day, args.db)
        print(f"upserted {n} posts into {args.db} in {time.monotonic() - t:.2f} s", file=sys.stderr)
    else:
        if not check(args.posts, args.our_port, args.peer_port, args.update):
            raise SystemExit("the peer's answers differ from ours")
        print("every answer equal to ours")


if __name__ == "__main__":
    main()
