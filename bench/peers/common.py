"""What every peer of ``bench/run.py`` shares: the workload, the answers' canonical
form, the loader of the canonical dump, and the measuring helpers.

A peer is a class with::

    name: str                                         # "SQLite FTS5 + Datasette"
    def build(self, dump: Path, work: Path) -> BuildFigures   # fresh bulk load of the dump
    def update(self, day: Path) -> float              # seconds to add a one-day dump (upsert)
    def start(self, port: int) -> str                 # serve on 127.0.0.1:port; returns base URL
    def stop(self) -> None
    def paths(self, kind: str, w: Workload) -> list[str]   # GET paths for wrk, one kind
    def answer(self, kind: str, params: dict[str, str]) -> Any   # over its own HTTP, canonical
    def report_path(self) -> str                      # the full report as CSV, one GET

``kind`` is one of :data:`KINDS`. The canonical answers (what ``answer`` returns,
and what :func:`ours` returns for our API) are:

* ``trending`` (params ``as_of``, window 24h, baseline 7d, limit 20):
  ``[(tag, posts, authors, baseline_posts, baseline_authors, expected_authors, score)]``
  in rank order (the formula: docs/trending.md, defaults of service/trends.py);
* ``detail`` (``tag``): ``{posts, authors, engagement, first_seen, last_seen,
  platforms: {name: posts}, langs: {code: posts}}`` (times RFC 3339 ``Z``, seconds);
* ``timeseries`` (``tag``, interval day): ``[(t, posts, authors, engagement)]``,
  zero-filled, as ours is;
* ``autocomplete`` (``prefix``, limit 10): ``[(tag, posts, authors)]`` ranked;
* ``related`` (``tag``, limit 10, min_support 3): ``[(tag, co_posts, score)]`` ranked
  (NPMI over posts, rounded to 4 places; asked of the peers that have it);
* ``search`` (``q``, sort recent, limit 20): :func:`search_answer` of the page's
  ``(created_at, uid)`` items, uid being ``platform:id`` (ties within a second are
  broken differently by each engine); every item must carry a snippet with the
  match marked;
* ``report`` (whole generation): ``[(tag, posts, authors, engagement, first_seen,
  last_seen)]`` in rank order (posts desc, then authors desc, then tag asc).

Search words are chosen so our typo tolerance does not apply (words under 5
letters, or quoted phrases), so exact engines can give the same totals.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from indexer.ingest import ReadOptions, read_batches
from indexer.reading import check_batch, tag_posts
from indexer.schema import UNKNOWN_PLATFORM

POSTS_COLUMNS = (
    "seq",
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
    "tags",
    "written",
)
"""The peers' posts table, one row per copy read: :func:`iter_canonical`'s rows."""
TREND_NAMES = (
    "tag",
    "display",
    "posts",
    "authors",
    "baseline_posts",
    "baseline_authors",
    "expected_authors",
    "growth",
    "score",
)
"""A trending item's fields as the peers' SQL returns them, in order."""
KINDS = ("trending", "detail", "timeseries", "autocomplete", "search", "report")
RELATED_SUPPORT = 3
"""``min_support`` of the related question (our default)."""


@dataclass(frozen=True)
class BuildFigures:
    seconds: float
    posts: int
    """Posts in the loaded store (after rejects and duplicates)."""
    peak_rss_bytes: int
    """Peak RSS of the loader plus any server it loaded into."""
    disk_bytes: int


@dataclass(frozen=True)
class Workload:
    """The queries every system answers, picked once from our generation."""

    as_of: list[str]
    """Trending anchors, RFC 3339 ``Z``."""
    tags: list[str]
    """Tag keys (lowercase), of varied popularity."""
    prefixes: list[str]
    words: list[str]
    """Search queries: short words and quoted phrases (no typo tolerance applies)."""


def iter_canonical(dump: Path, scratch: Path, batch_rows: int = 100_000) -> Iterator[pl.DataFrame]:
    """The dump's valid rows, in input order, exactly as our indexer reads them:
    columns ``uid, id, platform, created_at, author, text, lang, likes, reposts,
    replies, quotes, engagement, _seq, tags (keys), written (display spellings)``.

    Duplicates (same ``uid``) are NOT removed: the copy with the highest ``_seq``
    (the last one read) is the one that counts. Rejected rows are dropped.
    """
    seq = 0
    for batch in read_batches(dump, "ndjson", scratch, ReadOptions(batch_rows=batch_rows)):
        posts = check_batch(batch, UNKNOWN_PLATFORM)[0]
        if posts.height:
            yield tag_posts(posts, seq)
            seq += posts.height


def run_measured(cmd: list[str], cwd: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of a child process (raises if it fails)."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"command failed ({code}): {' '.join(cmd)}")
    return time.monotonic() - started, usage.ru_maxrss * 1024


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def get_json(base: str, path: str, timeout: float = 60) -> Any:
    with urllib.request.urlopen(base + path, timeout=timeout) as r:
        return json.loads(r.read())


def wait_http(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def search_answer(total: int, items: list[tuple[str, str]]) -> tuple[int, int, list[Any]]:
    """The canonical search answer from ``(created_at, uid)`` items, newest first.

    Posts of the same second are ties, which each engine breaks its own way (ours by
    document address), so a page is compared as: the total, the page's length, and
    the set of posts newer than the page's oldest second, per second (the oldest
    second's group may be cut anywhere by the page's end)."""
    oldest = min((t for t, _ in items), default="")
    return (total, len(items), sorted((t, u) for t, u in items if t > oldest))


def our_paths(kind: str, w: Workload) -> list[str]:
    """Our API's GET paths for one kind of query (the same questions the peers get)."""
    if kind == "trending":
        return [f"/v1/trending?window=24h&baseline=7d&as_of={a}" for a in w.as_of]
    if kind == "detail":
        return [f"/v1/hashtags/{q(t)}" for t in w.tags]
    if kind == "timeseries":
        return [f"/v1/hashtags/{q(t)}/timeseries?interval=day" for t in w.tags]
    if kind == "autocomplete":
        return [f"/v1/hashtags?prefix={q(p)}" for p in w.prefixes]
    if kind == "related":
        return [f"/v1/hashtags/{q(t)}/related?min_support={RELATED_SUPPORT}" for t in w.tags]
    if kind == "search":
        return [f"/v1/posts?q={q(x)}" for x in w.words] + [
            f"/v1/posts?q={q(x)}&sort=recent" for x in w.words
        ]
    if kind == "report":
        return ["/v1/reports/index.csv"]
    raise ValueError(kind)


def trend_row(item: dict[str, Any]) -> tuple[Any, ...]:
    """A trending item in the canonical form the answers are compared in."""
    return (
        item["tag"],
        item["posts"],
        item["authors"],
        item["baseline_posts"],
        item["baseline_authors"],
        item["expected_authors"],
        item["score"],
    )


def ours(base: str, kind: str, params: dict[str, str]) -> Any:
    """Our API's answer in the canonical form (see the module docstring)."""
    if kind == "trending":
        body = get_json(
            base, f"/v1/trending?window=24h&baseline=7d&limit=20&as_of={params['as_of']}"
        )
        return [trend_row(i) for i in body["items"]]
    if kind == "detail":
        body = get_json(base, f"/v1/hashtags/{q(params['tag'])}")
        return {
            k: body[k]
            for k in (
                "posts",
                "authors",
                "engagement",
                "first_seen",
                "last_seen",
                "platforms",
                "langs",
            )
        }
    if kind == "timeseries":
        body = get_json(base, f"/v1/hashtags/{q(params['tag'])}/timeseries?interval=day")
        return [(p["t"], p["posts"], p["authors"], p["engagement"]) for p in body["points"]]
    if kind == "autocomplete":
        body = get_json(base, f"/v1/hashtags?prefix={q(params['prefix'])}&limit=10")
        return [(i["tag"], i["posts"], i["authors"]) for i in body["items"]]
    if kind == "related":
        body = get_json(
            base,
            f"/v1/hashtags/{q(params['tag'])}/related?limit=10&min_support={RELATED_SUPPORT}",
        )
        return [(i["tag"], i["co_posts"], i["score"]) for i in body["items"]]
    if kind == "search":
        body = get_json(base, f"/v1/posts?q={q(params['q'])}&sort=recent&limit=20")
        assert all(i["snippet"] for i in body["items"]), "an item without a snippet"
        return search_answer(
            body["total"], [(i["created_at"], f"{i['platform']}:{i['id']}") for i in body["items"]]
        )
    if kind == "report":
        with urllib.request.urlopen(base + "/v1/reports/index.csv", timeout=600) as r:
            frame = pl.read_csv(r.read(), infer_schema=False)
        return [
            (t, int(p), int(a), int(e), f, la)
            for t, p, a, e, f, la in frame.select(
                "tag", "posts", "authors", "engagement", "first_seen", "last_seen"
            ).iter_rows()
        ]
    raise ValueError(kind)
