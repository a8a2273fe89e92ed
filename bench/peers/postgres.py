"""Benchmark peer: PostgreSQL 15 (Debian's server binaries), tsvector + GIN, tag tables.

The bench starts its own server (``initdb`` in a temp data directory, loopback
only, a free port among 55432-55439), tuned for a bulk-load benchmark
(:data:`PG_SETTINGS`: no fsync, no synchronous commit, no full-page writes,
``wal_level=minimal``, 1 GB of shared buffers and of maintenance memory,
parallel workers for 2 cores, JIT off for short queries). As root, every server
binary runs as ``nobody`` (``initdb`` refuses root).

Schema (all text sorts in code-point order: ``initdb --lc-collate=C``, with
``--lc-ctype=C.UTF-8`` so that ``lower`` and regex classes know Unicode):

- ``posts``: ``seq`` (the row's number in the dump: the highest copy of a
  ``uid`` wins, as in our indexer), ``uid`` (unique), platform, id,
  ``created_at`` timestamptz, author, text, lang (``und`` if none), the four
  counts, engagement, ``tags`` (keys) and ``written`` (their spellings), both
  text[], and ``tsv``, a stored generated ``tsvector`` of
  ``to_tsvector('simple', hx_fold(text))``: ``hx_fold`` is ``unaccent`` +
  ``lower`` + every run of non-alphanumerics turned into one space, which is our
  "folded" analyzer (tantivy's simple tokenizer splits on non-alphanumerics, then
  lowercase, then ASCII folding); without it PostgreSQL's parser would read
  ``example.com/rust-in-production`` as one URL token, not as words. GIN on
  ``tsv``, btree on ``(created_at DESC, seq)``.
- ``accounts``: a dense integer per (platform, author), as our service keeps,
  so that distinct-author counts hash one integer.
- ``post_tags``: one row per (post, tag key): tag, written, created_at,
  platform, account, lang, engagement, seq; btree on ``(tag, created_at)`` and on
  ``created_at``, both covering (``INCLUDE``) the columns their queries read, so
  that a tag's time series and a trending window are index-only scans.
- ``tags``: per tag key, precomputed at load (our indexer precomputes its tag
  table too): display (most frequent spelling, ties: smallest), posts, distinct
  authors, engagement, first/last seen, posts per platform and per language
  (JSON, most posts first). Primary key on the tag: with C collation a plain
  btree serves ``LIKE 'pr%'`` (no ``text_pattern_ops`` needed).
- ``tag_names`` (postings per tag and spelling / platform / language) and
  ``tag_accounts`` (postings per tag and account): exact counts an update
  adjusts, so that it costs about the day, not a recount of every touched tag
  (a day touches the popular tags, i.e. most postings).
- ``meta``: one row: first/last post, first posting, post count.

Build (:meth:`PostgresPeer.build`): ``initdb`` + start (timed apart), then the
loader runs as a child process (``python -m bench.peers.postgres load``): one
transaction creates the tables and ``COPY``s the posts (CSV made by polars, sent
by a writer thread while the next batch is read) of every row
:func:`iter_canonical` yields (with ``wal_level=minimal``, tables created in the
loading transaction skip the WAL), deletes the copies a later one replaces,
derives ``accounts`` and ``post_tags`` in SQL, builds the indexes, the side
tables and ``tags``, then ``VACUUM ANALYZE`` (the visibility map is what makes
the index-only scans). Figures: the loader's wall time; peak RSS = the loader's
own peak (``wait4``) + the peak, sampled every 0.2 s, of the sum of ``VmHWM``
over the live server processes (postmaster, backends, parallel workers); this
counts shared buffers once per process that touched them, so it overstates; the
proportional figure (``Pss`` summed) is in ``last_build``. Disk:
``pg_database_size`` (the data directory, WAL included, is in ``last_build``).

Update (:meth:`PostgresPeer.update`, :data:`UPDATE_STEPS`), one transaction: the
day's canonical rows into a temp table, deduplicated (last copy wins), the
replaced posts' postings deleted, posts upserted (``INSERT ... ON CONFLICT (uid)
DO UPDATE``), the new postings inserted, the side tables adjusted by the
postings in and out (upserts), and the touched tags' rows rebuilt from them
(first/last seen by index lookups); then ``VACUUM ANALYZE post_tags``.

Serving: ``bench/peers/postgres_app.py``, a Litestar app under granian (1 worker,
like ours), answering our API's paths with the same JSON shapes.

Check that it answers as ours does (add ``--update`` to apply a generated day to
both first), and load a dump on its own::

    uv run --group bench python -m bench.peers.postgres check --posts 20000
    uv run --group bench python -m bench.peers.postgres build DUMP --work DIR [--day DAY]
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.peers.common import (  # noqa: E402
    KINDS,
    POSTS_COLUMNS,
    BuildFigures,
    Workload,
    iter_canonical,
    our_paths,
    ours,
    wait_http,
)
from indexer.schema import UNKNOWN_LANG  # noqa: E402

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
"""Where initdb, pg_ctl and postgres are (Debian's postgresql-15 package)."""

RUN_AS = "nobody"
"""The unprivileged user the server runs as when the bench runs as root."""

DB = "hx"
PG_PORTS = range(55432, 55440)

PG_SETTINGS: dict[str, str] = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "20",
    "timezone": "'UTC'",
    # bulk load: nothing waits for the disk, no WAL for tables made in the loading transaction
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "16GB",
    "checkpoint_timeout": "30min",
    "autovacuum": "off",  # the loader and the update VACUUM/ANALYZE themselves
    # memory
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "1GB",
    "effective_cache_size": "4GB",
    "dynamic_shared_memory_type": "posix",
    # 2 cores
    "max_worker_processes": "4",
    "max_parallel_workers": "2",
    "max_parallel_workers_per_gather": "2",
    "max_parallel_maintenance_workers": "2",
    # short queries on a warm cache
    "random_page_cost": "1.1",
    "jit": "off",
    "logging_collector": "off",
}

POST_TAGS_COLUMNS = (
    "tag",
    "written",
    "created_at",
    "platform",
    "account",
    "lang",
    "engagement",
    "seq",
)

SCHEMA_SQL = """
CREATE EXTENSION IF NOT EXISTS unaccent;
-- Our "folded" analyzer: accents off, lowercase, non-alphanumerics separate words.
-- unaccent() is STABLE (it reads a dictionary); naming the dictionary makes it safe
-- to declare the wrapper IMMUTABLE, as a generated column needs.
CREATE OR REPLACE FUNCTION hx_fold(text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
$$ SELECT regexp_replace(lower(public.unaccent('public.unaccent'::regdictionary, $1)),
                         '[^[:alnum:]]+', ' ', 'g') $$;
-- For ts_headline, which parses the original text: unaccent before the simple dictionary.
CREATE TEXT SEARCH CONFIGURATION hx (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION hx
    ALTER MAPPING FOR asciiword, word, numword, asciihword, hword, numhword,
                      hword_asciipart, hword_part, hword_numpart
    WITH unaccent, simple;
CREATE TABLE posts (
    seq bigint NOT NULL,
    uid text NOT NULL,
    platform text NOT NULL,
    id text NOT NULL,
    created_at timestamptz NOT NULL,
    author text NOT NULL,
    text text NOT NULL,
    lang text NOT NULL,
    likes bigint NOT NULL,
    reposts bigint NOT NULL,
    replies bigint NOT NULL,
    quotes bigint NOT NULL,
    engagement bigint NOT NULL,
    tags text[] NOT NULL,
    written text[] NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, hx_fold(text))) STORED
);
-- An author is a (platform, author) pair; a dense integer names it (as our service does),
-- so that distinct-author counts hash one int, not two strings.
CREATE TABLE accounts (
    account serial NOT NULL,
    platform text NOT NULL,
    author text NOT NULL
);
CREATE TABLE post_tags (
    tag text NOT NULL,
    written text NOT NULL,
    created_at timestamptz NOT NULL,
    platform text NOT NULL,
    account integer NOT NULL,
    lang text NOT NULL,
    engagement bigint NOT NULL,
    seq bigint NOT NULL
);
CREATE TABLE tags (
    tag text PRIMARY KEY,
    display text NOT NULL,
    posts bigint NOT NULL,
    authors bigint NOT NULL,
    engagement bigint NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    platforms json NOT NULL,
    langs json NOT NULL
);
-- Exact per-tag counts that an update adjusts instead of recounting the tag's postings:
-- postings per spelling (kind 'w'), platform ('p') and language ('l'), and per account.
CREATE TABLE tag_names (
    tag text NOT NULL,
    kind "char" NOT NULL,
    name text NOT NULL,
    n bigint NOT NULL
);
CREATE TABLE tag_accounts (
    tag text NOT NULL,
    account integer NOT NULL,
    n bigint NOT NULL
);
CREATE TABLE meta (
    first_post timestamptz,
    last_post timestamptz,
    first_posting timestamptz,
    posts bigint NOT NULL
);
"""

INDEX_SQL = (
    "ALTER TABLE posts ADD CONSTRAINT posts_uid UNIQUE (uid)",
    "CREATE INDEX posts_tsv ON posts USING gin (tsv)",
    "CREATE INDEX posts_recent ON posts (created_at DESC, seq)",
    "CREATE INDEX post_tags_tag_time ON post_tags (tag, created_at)"
    " INCLUDE (account, engagement, seq)",
    "CREATE INDEX post_tags_time ON post_tags (created_at) INCLUDE (tag, account)",
)


TAG_NAMES_SQL = """
INSERT INTO tag_names (tag, kind, name, n)
SELECT tag, 'w', written, sum(sign) FROM {source} GROUP BY tag, written
UNION ALL SELECT tag, 'p', platform, sum(sign) FROM {source} GROUP BY tag, platform
UNION ALL SELECT tag, 'l', lang, sum(sign) FROM {source} GROUP BY tag, lang
{upsert}
"""
TAG_ACCOUNTS_SQL = """
INSERT INTO tag_accounts (tag, account, n)
SELECT tag, account, sum(sign) FROM {source} GROUP BY tag, account
{upsert}
"""
LOAD_TOTALS = """
SELECT tag, count(*) AS posts, sum(engagement)::bigint AS engagement,
       min(created_at) AS first_seen, max(created_at) AS last_seen
FROM post_tags GROUP BY tag
"""
UPDATE_TOTALS = """
SELECT x.tag, coalesce(o.posts, 0) + x.posts AS posts,
       coalesce(o.engagement, 0) + x.engagement AS engagement,
       (SELECT min(created_at) FROM post_tags p WHERE p.tag = x.tag) AS first_seen,
       (SELECT max(created_at) FROM post_tags p WHERE p.tag = x.tag) AS last_seen
FROM (SELECT tag, sum(sign)::bigint AS posts, sum(sign * engagement)::bigint AS engagement
      FROM changes GROUP BY tag) x
LEFT JOIN old_tags o USING (tag)
WHERE coalesce(o.posts, 0) + x.posts > 0
"""


def tags_sql(totals: str, where: str = "") -> str:
    """INSERT the tags rows: ``totals`` gives tag, posts, engagement, first/last seen;
    authors, display, platforms and langs come from the side tables (``where`` narrows)."""
    return f"""
INSERT INTO tags (tag, display, posts, authors, engagement, first_seen, last_seen,
                  platforms, langs)
SELECT t.tag, d.display, t.posts, a.authors, t.engagement, t.first_seen, t.last_seen,
       p.platforms, l.langs
FROM ({totals}) t
JOIN (SELECT tag, count(*) AS authors FROM tag_accounts {where} GROUP BY tag) a USING (tag)
JOIN (SELECT DISTINCT ON (tag) tag, name AS display
      FROM tag_names WHERE kind = 'w' {where.replace("WHERE", "AND")}
      ORDER BY tag, n DESC, name) d USING (tag)
JOIN (SELECT tag, json_object_agg(name, n ORDER BY n DESC, name) AS platforms
      FROM tag_names WHERE kind = 'p' {where.replace("WHERE", "AND")}
      GROUP BY tag) p USING (tag)
JOIN (SELECT tag, json_object_agg(name, n ORDER BY n DESC, name) AS langs
      FROM tag_names WHERE kind = 'l' {where.replace("WHERE", "AND")}
      GROUP BY tag) l USING (tag)
"""


META_SQL = """
DELETE FROM meta;
INSERT INTO meta (first_post, last_post, first_posting, posts)
SELECT min(created_at), max(created_at), (SELECT min(created_at) FROM post_tags), count(*)
FROM posts;
"""


# --------------------------------------------------------------------------- server


def free_port(candidates: range) -> int:
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {candidates.start}-{candidates.stop - 1}")


class PgServer:
    """A throwaway PostgreSQL server: its own data directory, loopback, one port."""

    def __init__(self, data: Path, port: int) -> None:
        self.data = data
        self.port = port

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={DB} user=postgres"

    def _as_user(self, cmd: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return cmd
        return ["runuser", "-u", RUN_AS, "--", *cmd]

    def init(self) -> None:
        if self.data.exists():
            shutil.rmtree(self.data)
        self.data.mkdir(parents=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam(RUN_AS)
            os.chown(self.data, user.pw_uid, user.pw_gid)
        subprocess.run(
            self._as_user(
                [
                    str(PG_BIN / "initdb"),
                    *("-D", str(self.data), "-U", "postgres", "-E", "UTF8"),
                    *("--lc-collate=C", "--lc-ctype=C.UTF-8", "--auth=trust"),
                ]
            ),
            check=True,
            capture_output=True,
        )
        settings = {
            **PG_SETTINGS,
            "port": str(self.port),
            "unix_socket_directories": f"'{self.data}'",
        }
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n# bench/peers/postgres.py\n")
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())

    def start(self) -> None:
        subprocess.run(
            self._as_user(
                [
                    str(PG_BIN / "pg_ctl"),
                    *("-D", str(self.data), "-l", str(self.data / "server.log")),
                    *("-w", "-t", "60", "start"),
                ]
            ),
            check=True,
            capture_output=True,
        )
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} dbname=postgres user=postgres", autocommit=True
        ) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
                conn.execute(f"CREATE DATABASE {DB}")

    def stop(self) -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        subprocess.run(
            self._as_user(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
            ),
            check=False,
            capture_output=True,
        )

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def pids(self) -> list[int]:
        """The postmaster and its children (backends, auxiliary processes, parallel workers)."""
        main = self.postmaster_pid()
        if main is None:
            return []
        found = [main]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            if ppid == main:
                found.append(int(entry.name))
        return found


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryWatch:
    """Samples a server's processes every ``period`` s: the peak of the sum of their
    VmHWM (each process's own peak RSS) and of their Pss (shared pages split)."""

    def __init__(self, server: PgServer, period: float = 0.2) -> None:
        self.server = server
        self.period = period
        self.peak_hwm = 0
        self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def sample(self) -> None:
        pids = self.server.pids()
        self.peak_hwm = max(self.peak_hwm, 1024 * sum(_status_kib(p, "VmHWM:") for p in pids))
        self.peak_pss = max(self.peak_pss, 1024 * sum(_pss_kib(p) for p in pids))

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.sample()


# --------------------------------------------------------------------------- loading


def _pg_array(column: str) -> pl.Expr:
    """A list of strings as a PostgreSQL array literal (every element quoted)."""
    escaped = pl.col(column).list.eval(
        pl.element()
        .str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all('"', '\\"', literal=True)
    )
    return (
        pl.when(pl.col(column).list.len() == 0)
        .then(pl.lit("{}"))
        .otherwise(pl.concat_str(pl.lit('{"'), escaped.list.join('","'), pl.lit('"}')))
    )


_TIME = "%Y-%m-%d %H:%M:%S%.6f+00"


def posts_csv(batch: pl.DataFrame, seq_offset: int = 0) -> bytes:
    """One canonical batch as CSV for ``COPY posts`` (:data:`POSTS_COLUMNS`)."""
    posts = batch.select(
        seq=pl.col("_seq") + seq_offset,
        uid="uid",
        platform="platform",
        id="id",
        created_at=pl.col("created_at").dt.strftime(_TIME),
        author="author",
        text=pl.col("text").str.replace_all("\x00", "", literal=True),
        lang=pl.col("lang").fill_null(UNKNOWN_LANG),
        likes="likes",
        reposts="reposts",
        replies="replies",
        quotes="quotes",
        engagement="engagement",
        tags=_pg_array("tags"),
        written=_pg_array("written"),
    )
    return posts.write_csv(include_header=False).encode()


def _copy_posts(cur: Any, table: str, batches: Iterator[pl.DataFrame], seq_offset: int = 0) -> int:
    """One COPY of every batch into ``table``; a writer thread sends the data while the
    next batch is read and turned into CSV (polars releases the GIL), so the loader's
    core and the backend's work at once. Returns the rows sent."""
    from psycopg.copy import QueuedLibpqWriter

    rows = 0
    sql = f"COPY {table} ({', '.join(POSTS_COLUMNS)}) FROM STDIN (FORMAT csv)"
    with cur.copy(sql, writer=QueuedLibpqWriter(cur)) as copy:
        for batch in batches:
            copy.write(posts_csv(batch, seq_offset))
            rows += batch.height
    return rows


def postings_sql(source: str, target: str = "post_tags") -> str:
    """INSERT the postings of the posts of ``source`` (one row per tag key)."""
    return f"""
INSERT INTO {target} ({", ".join(POST_TAGS_COLUMNS)})
SELECT t.tag, t.written, p.created_at, p.platform, a.account, p.lang, p.engagement, p.seq
FROM {source} p
JOIN accounts a ON a.platform = p.platform AND a.author = p.author
CROSS JOIN LATERAL unnest(p.tags, p.written) AS t(tag, written)
"""


def load(dsn: str, dump: Path, scratch: Path) -> dict[str, Any]:
    """The bulk load (run in a child process by :meth:`PostgresPeer.build`)."""
    import psycopg

    stages: dict[str, float] = {}
    started = time.monotonic()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(SCHEMA_SQL)
        rows = _copy_posts(cur, "posts", iter_canonical(dump, scratch))
        stages["copy"] = time.monotonic() - started
        t = time.monotonic()
        cur.execute(
            """
            CREATE TEMP TABLE losers AS
            SELECT p.seq FROM posts p
            JOIN (SELECT uid, max(seq) AS last FROM posts GROUP BY uid HAVING count(*) > 1) d
              ON p.uid = d.uid AND p.seq < d.last
            """
        )
        cur.execute("DELETE FROM posts USING losers WHERE posts.seq = losers.seq")
        stages["dedup"] = time.monotonic() - t
        t = time.monotonic()
        cur.execute(
            "INSERT INTO accounts (platform, author) SELECT DISTINCT platform, author FROM posts"
        )
        cur.execute("ALTER TABLE accounts ADD CONSTRAINT accounts_key UNIQUE (platform, author)")
        cur.execute(postings_sql("posts"))
        stages["postings"] = time.monotonic() - t
        t = time.monotonic()
        for sql in INDEX_SQL:
            cur.execute(sql)
        stages["indexes"] = time.monotonic() - t
        t = time.monotonic()
        source = "(SELECT *, 1 AS sign FROM post_tags) pt"
        cur.execute(TAG_NAMES_SQL.format(source=source, upsert=""))
        cur.execute(TAG_ACCOUNTS_SQL.format(source=source, upsert=""))
        cur.execute("ALTER TABLE tag_names ADD PRIMARY KEY (tag, kind, name)")
        cur.execute("ALTER TABLE tag_accounts ADD PRIMARY KEY (tag, account)")
        cur.execute(tags_sql(LOAD_TOTALS))
        cur.execute(META_SQL)
        stages["tags"] = time.monotonic() - t
        conn.commit()
        t = time.monotonic()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
        stages["vacuum_analyze"] = time.monotonic() - t
        posts = cur.execute("SELECT posts FROM meta").fetchone()[0]  # type: ignore[index]
    return {"rows": rows, "posts": posts, "stages": stages}


UPDATE_STEPS: tuple[tuple[str, str], ...] = (
    (
        "dedup",
        """
        DELETE FROM new_posts n USING
          (SELECT uid, max(seq) AS last FROM new_posts GROUP BY uid HAVING count(*) > 1) d
        WHERE n.uid = d.uid AND n.seq < d.last
        """,
    ),
    (
        "accounts",
        "INSERT INTO accounts (platform, author) SELECT DISTINCT platform, author"
        " FROM new_posts ON CONFLICT DO NOTHING",
    ),
    ("postings", postings_sql("new_posts", "new_tags")),
    (
        "replaced",
        """
        CREATE TEMP TABLE old_posts ON COMMIT DROP AS
          SELECT p.seq, p.created_at, p.tags FROM posts p JOIN new_posts n USING (uid);
        ANALYZE old_posts, new_posts, new_tags;
        """,
    ),
    (
        "delete_postings",
        """
        CREATE TEMP TABLE gone (LIKE post_tags) ON COMMIT DROP;
        WITH d AS (
            DELETE FROM post_tags pt
              USING (SELECT seq, created_at, unnest(tags) AS tag FROM old_posts) o
            WHERE pt.tag = o.tag AND pt.created_at = o.created_at AND pt.seq = o.seq
            RETURNING pt.*
        )
        INSERT INTO gone SELECT * FROM d
        """,
    ),
    (
        "upsert_posts",
        """
        INSERT INTO posts (seq, uid, platform, id, created_at, author, text, lang, likes,
                           reposts, replies, quotes, engagement, tags, written)
        SELECT seq, uid, platform, id, created_at, author, text, lang, likes,
               reposts, replies, quotes, engagement, tags, written FROM new_posts
        ON CONFLICT (uid) DO UPDATE SET
          seq = EXCLUDED.seq, platform = EXCLUDED.platform, id = EXCLUDED.id,
          created_at = EXCLUDED.created_at, author = EXCLUDED.author,
          text = EXCLUDED.text, lang = EXCLUDED.lang, likes = EXCLUDED.likes,
          reposts = EXCLUDED.reposts, replies = EXCLUDED.replies,
          quotes = EXCLUDED.quotes, engagement = EXCLUDED.engagement, tags = EXCLUDED.tags,
          written = EXCLUDED.written
        """,
    ),
    ("insert_postings", "INSERT INTO post_tags SELECT * FROM new_tags"),
    (
        "side_tables",
        """
        CREATE TEMP TABLE changes ON COMMIT DROP AS
          SELECT *, 1 AS sign FROM new_tags UNION ALL SELECT *, -1 AS sign FROM gone;
        CREATE TEMP TABLE touched ON COMMIT DROP AS SELECT DISTINCT tag FROM changes;
        ANALYZE changes, touched;
        """
        + TAG_NAMES_SQL.format(
            source="changes",
            upsert="ON CONFLICT (tag, kind, name) DO UPDATE SET n = tag_names.n + EXCLUDED.n",
        )
        + ";"
        + TAG_ACCOUNTS_SQL.format(
            source="changes",
            upsert="ON CONFLICT (tag, account) DO UPDATE SET n = tag_accounts.n + EXCLUDED.n",
        )
        + """;
        DELETE FROM tag_names WHERE n = 0 AND tag IN (SELECT tag FROM touched);
        DELETE FROM tag_accounts ta USING (SELECT DISTINCT tag, account FROM gone) g
        WHERE ta.tag = g.tag AND ta.account = g.account AND ta.n = 0;
        """,
    ),
    (
        "tags",
        """
        CREATE TEMP TABLE old_tags (tag text, posts bigint, engagement bigint) ON COMMIT DROP;
        WITH d AS (
            DELETE FROM tags WHERE tag IN (SELECT tag FROM touched)
            RETURNING tag, posts, engagement
        )
        INSERT INTO old_tags SELECT * FROM d;
        """
        + tags_sql(UPDATE_TOTALS, "WHERE tag IN (SELECT tag FROM touched)")
        + ";"
        + META_SQL,
    ),
)
"""The update's statements, in one transaction, after the day's rows are in ``new_posts``."""


def update_day(dsn: str, day: Path, scratch: Path) -> dict[str, Any]:
    """Upsert a day's canonical dump; the last copy of a uid wins (see the module doc).

    Ends with ``VACUUM ANALYZE`` of ``post_tags`` and ``tag_accounts`` (what
    autovacuum would do soon after): without it the changed pages drop out of the
    visibility map and the index-only scans of trending and time series fetch heap
    pages again; the other tables are only analyzed."""
    import psycopg

    stages: dict[str, float] = {}
    t = time.monotonic()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        offset = cur.execute("SELECT coalesce(max(seq), -1) + 1 FROM posts").fetchone()[0]  # type: ignore[index]
        cur.execute(
            """
            CREATE TEMP TABLE new_posts (LIKE posts INCLUDING DEFAULTS) ON COMMIT DROP;
            ALTER TABLE new_posts DROP COLUMN tsv;
            CREATE TEMP TABLE new_tags (LIKE post_tags) ON COMMIT DROP;
            """
        )
        rows = _copy_posts(cur, "new_posts", iter_canonical(day, scratch), offset)
        stages["copy"] = time.monotonic() - t
        for name, sql in UPDATE_STEPS:
            t = time.monotonic()
            cur.execute(sql)
            stages[name] = time.monotonic() - t
        t = time.monotonic()
        conn.commit()
        stages["commit"] = time.monotonic() - t
        conn.autocommit = True
        t = time.monotonic()
        # post_tags and tag_accounts are read by index-only scans, which need the
        # visibility map; posts is read through the GIN and btree indexes and the heap
        cur.execute("VACUUM ANALYZE post_tags, tag_accounts")
        cur.execute("ANALYZE posts, tags, tag_names, accounts")
        stages["vacuum_analyze"] = time.monotonic() - t
    return {"rows": rows, "stages": stages}


# --------------------------------------------------------------------------- the peer


class PostgresPeer:
    """PostgreSQL 15 with tsvector + GIN and tag tables, behind a granian/Litestar handler."""

    name = "PostgreSQL 15 (tsvector + GIN)"

    def __init__(self, pg_port: int | None = None, connections: int = 2) -> None:
        self.pg_port = pg_port
        self.connections = connections
        self.server: PgServer | None = None
        self.http: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.work: Path | None = None
        self.last_build: dict[str, Any] = {}
        self.last_update: dict[str, Any] = {}

    def pids(self) -> list[int]:
        """The HTTP handler's processes and the server's (for peak RSS)."""
        from bench.serve_load import _children

        http = [] if self.http is None else [self.http.pid, *_children(self.http.pid)]
        return http + ([] if self.server is None else self.server.pids())

    def build(self, dump: Path, work: Path) -> BuildFigures:
        self.stop()
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        port = self.pg_port or free_port(PG_PORTS)
        server = self.server = PgServer(work / "pgdata", port)
        t = time.monotonic()
        server.init()
        server.start()
        setup = time.monotonic() - t
        scratch = work / "scratch"
        scratch.mkdir(exist_ok=True)
        report = work / "load.json"
        cmd = [
            sys.executable,
            "-m",
            "bench.peers.postgres",
            "load",
            *("--dsn", server.dsn, "--dump", str(dump)),
            *("--scratch", str(scratch), "--report", str(report)),
        ]
        started = time.monotonic()
        with MemoryWatch(server) as watch:
            proc = subprocess.Popen(cmd, cwd=ROOT)
            _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"the PostgreSQL loader failed: {' '.join(cmd)}")
        loaded = json.loads(report.read_text())
        loader_rss = usage.ru_maxrss * 1024
        import psycopg

        with psycopg.connect(server.dsn) as conn:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
        self.last_build = {
            **loaded,
            "setup_seconds": setup,
            "load_seconds": seconds,
            "loader_peak_rss": loader_rss,
            "server_peak_hwm_sum": watch.peak_hwm,
            "server_peak_pss_sum": watch.peak_pss,
            "database_bytes": size,
            "data_dir_bytes": _du(server.data),
        }
        return BuildFigures(
            seconds=seconds,
            posts=int(loaded["posts"]),
            peak_rss_bytes=loader_rss + watch.peak_hwm,
            disk_bytes=int(size),
        )

    def update(self, day: Path) -> float:
        if self.server is None or self.work is None:
            raise RuntimeError("build first")
        scratch = self.work / "scratch"
        scratch.mkdir(exist_ok=True)
        started = time.monotonic()
        self.last_update = update_day(self.server.dsn, day, scratch)
        return time.monotonic() - started

    def start(self, port: int) -> str:
        assert self.server is not None, "build first"
        self.stop_http()
        if self.server.postmaster_pid() is None:  # stopped by stop(): start it again
            self.server.start()
        env = {
            **os.environ,
            "PG_PEER_DSN": self.server.dsn,
            "PG_PEER_CONNECTIONS": str(self.connections),
        }
        self.http = subprocess.Popen(
            [sys.executable, "-m", "bench.peers.postgres_app", "--port", str(port)],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{port}"
        wait_http(self.base + "/healthz")
        return self.base

    def stop_http(self) -> None:
        if self.http is not None:
            _stop_group(self.http)
            self.http = None

    def stop(self) -> None:
        self.stop_http()
        if self.server is not None:
            self.server.stop()

    def paths(self, kind: str, w: Workload) -> list[str]:
        # The handler answers our API's paths (same parameters, same JSON shapes).
        return our_paths(kind, w)

    def answer(self, kind: str, params: dict[str, str]) -> Any:
        if kind == "search":
            check_snippets(self.base, params["q"])
        return ours(self.base, kind, params)

    def report_path(self) -> str:
        return "/v1/reports/index.csv"


def check_snippets(base: str, q: str) -> None:
    """Every item of a search page carries a snippet with a match in ``<b>``."""
    from bench.peers.common import get_json
    from bench.peers.common import q as quote

    body = get_json(base, f"/v1/posts?q={quote(q)}&sort=recent&limit=20")
    for item in body["items"]:
        assert "<b>" in item["snippet"], f"no highlight for {q!r}: {item['snippet']!r}"


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group this process leads (granian and its worker)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- check


def _gen_dump(n: int, out: Path) -> Path:
    path = out / f"posts-{n}-s1.ndjson"
    if not path.exists():
        tmp = path.with_suffix(".tmp.ndjson")
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "gen.py"),
                *("--posts", str(n), "--seed", "1", "--dup-rate", "0.01"),
                *("--bad-rate", "0.001", "--plant-trends", "--quiet", "--out", str(tmp)),
            ],
            check=True,
        )
        tmp.rename(path)
    return path


def _day_dump(month: Path, out: Path, n_fresh: int = 2000, n_replace: int = 300) -> Path:
    """A day after the month (bench/gen.py, seed 2) plus new copies of ``n_replace``
    rows of the month: more likes, and for a third of them another tag list."""
    path = out / f"day-{n_fresh}-r{n_replace}.ndjson"
    if path.exists():
        return path
    fresh = out / "day-fresh.ndjson"
    subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench" / "gen.py"), "--posts", str(n_fresh)),
            *("--seed", "2", "--days", "1", "--end", "2026-11-02T00:00:00Z"),
            *("--dup-rate", "0.01", "--bad-rate", "0.001", "--quiet", "--out", str(fresh)),
        ],
        check=True,
    )
    lines = month.read_bytes().splitlines()
    step = max(len(lines) // n_replace, 1)
    replaced: list[bytes] = []
    for i in range(0, len(lines), step):
        try:
            row = json.loads(lines[i])
        except ValueError:
            continue
        if not isinstance(row, dict) or not isinstance(row.get("likes"), int):
            continue
        row["likes"] += 7
        if len(replaced) % 3 == 0:
            row["hashtags"] = ["PgUpdated", "python"]
            row["text"] = str(row.get("text", "")) + " edited #PgUpdated #python"
        replaced.append(json.dumps(row, ensure_ascii=False).encode())
    path.write_bytes(fresh.read_bytes() + b"\n".join(replaced) + b"\n")
    fresh.unlink()
    return path


def workload(base: str, report: list[tuple[Any, ...]]) -> Workload:
    """Anchors in the last 3 days, tags of varied popularity, their 2-letter prefixes."""
    from bench.peers.common import get_json

    last = get_json(base, "/v1/index")["to"][:10]
    day = pl.Series([last]).str.to_date().item()
    from datetime import timedelta

    as_of = [f"{day - timedelta(days=d)}T{h:02d}:00:00Z" for d in range(3) for h in (0, 9, 18)] + [
        f"{day + timedelta(days=1)}T00:00:00Z"
    ]
    n = len(report)
    picks = sorted({0, 1, 2, 5, 10, 30, 100, 300, 1000, n // 2, n - 1} & set(range(n)))
    tags = [report[i][0] for i in picks]
    prefixes = sorted({t[:2] for t in tags} | {"go", "ne", "ai"})
    return Workload(
        as_of=as_of,
        tags=tags,
        prefixes=prefixes,
        words=["rust", "news", "game", '"good morning"'],
    )


def _params(kind: str, w: Workload) -> list[dict[str, str]]:
    if kind == "trending":
        return [{"as_of": a} for a in w.as_of]
    if kind in ("detail", "timeseries"):
        return [{"tag": t} for t in w.tags]
    if kind == "autocomplete":
        return [{"prefix": p} for p in w.prefixes]
    if kind == "search":
        return [{"q": x} for x in w.words]
    return [{}]


def check(n: int, with_update: bool) -> int:
    """Build ours and the peer from the same small dump; compare every kind's answers."""
    out = ROOT / "bench" / "out" / f"pg-check-{n}"
    out.mkdir(parents=True, exist_ok=True)
    dump = _gen_dump(n, out)
    index = out / "index"
    if index.exists():
        shutil.rmtree(index)
    subprocess.run(
        [
            *(sys.executable, "-m", "hashtag_index", "build", str(dump)),
            *("--index", str(index), "--quiet", "--keep", "1"),
        ],
        check=True,
        cwd=ROOT,
    )
    peer = PostgresPeer()
    ours_proc: subprocess.Popen[bytes] | None = None
    failures = 0
    try:
        figures = peer.build(dump, out / "pg")
        print(f"peer build: {figures}", file=sys.stderr)
        print(json.dumps(peer.last_build, indent=1), file=sys.stderr)
        if with_update:
            day = _day_dump(dump, out)
            subprocess.run(
                [sys.executable, "-m", "hashtag_index", "update", str(day), "--index", str(index)],
                check=True,
                cwd=ROOT,
            )
            print(f"peer update: {peer.update(day):.2f} s {peer.last_update}", file=sys.stderr)
        ours_proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hashtag_index",
                "serve",
                "--index",
                str(index),
                "--port",
                "8821",
            ],
            cwd=ROOT,
            start_new_session=True,
        )
        base = "http://127.0.0.1:8821"
        wait_http(base + "/readyz")
        peer.start(8822)
        report = ours(base, "report", {})
        w = workload(base, report)
        print(f"workload: {w}", file=sys.stderr)
        for kind in KINDS:
            ok = 0
            cases = _params(kind, w)
            for params in cases:
                mine, theirs = peer.answer(kind, params), ours(base, kind, params)
                if mine == theirs:
                    ok += 1
                else:
                    failures += 1
                    print(f"MISMATCH {kind} {params}:", file=sys.stderr)
                    _diff(mine, theirs)
            print(f"{kind}: {ok}/{len(cases)} equal")
    finally:
        if ours_proc is not None:
            _stop_group(ours_proc)
        peer.stop()
    print("check passed" if failures == 0 else f"check FAILED: {failures} mismatches")
    return 1 if failures else 0


def _diff(mine: Any, theirs: Any) -> None:
    if isinstance(mine, list) and isinstance(theirs, list):
        print(f"  lengths peer {len(mine)} ours {len(theirs)}", file=sys.stderr)
        shown = 0
        for i in range(max(len(mine), len(theirs))):
            a = mine[i] if i < len(mine) else None
            b = theirs[i] if i < len(theirs) else None
            if a != b and shown < 5:
                print(f"  [{i}] peer {a}\n  [{i}] ours {b}", file=sys.stderr)
                shown += 1
    else:
        print(f"  peer {mine}\n  ours {theirs}", file=sys.stderr)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.peers.postgres", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="answers equal ours on a small generated dump")
    c.add_argument("--posts", type=int, default=20_000)
    c.add_argument(
        "--update",
        action="store_true",
        help="also update both with a generated day (fresh posts and replaced ones), then compare",
    )
    ld = sub.add_parser("load", help="(internal) the bulk loader, run as a child process")
    ld.add_argument("--dsn", required=True)
    ld.add_argument("--dump", type=Path, required=True)
    ld.add_argument("--scratch", type=Path, required=True)
    ld.add_argument("--report", type=Path, required=True)
    b = sub.add_parser("build", help="load a dump into a fresh server and print the figures")
    b.add_argument("dump", type=Path)
    b.add_argument("--work", type=Path, required=True)
    b.add_argument("--day", type=Path, help="then time an update with this one-day dump")
    args = p.parse_args(argv)
    if args.command == "check":
        return check(args.posts, args.update)
    if args.command == "load":
        args.report.write_text(json.dumps(load(args.dsn, args.dump, args.scratch)))
        return 0
    peer = PostgresPeer()
    try:
        figures = peer.build(args.dump, args.work)
        print(figures)
        print(json.dumps(peer.last_build, indent=1))
        if args.day is not None:
            print(f"update: {peer.update(args.day):.2f} s {peer.last_update}")
    finally:
        peer.stop()
    return 0


PEER = PostgresPeer

if __name__ == "__main__":
    sys.exit(main())
