"""What the two embedded columnar peers (DuckDB, chDB) share: the loader's first
step, the HTTP app, snippets, the peer class and the in-process comparison.

An embedded engine lives inside the process that asks it, so each peer is one
Python module (:mod:`bench.peers.duckdb_peer`, :mod:`bench.peers.chdb_peer`)
giving an :class:`Engine`: it loads (in a child process, timed, its peak RSS
taken by ``wait4``), and answers our API's questions with SQL. The same
Litestar app (:func:`create_app`) serves either under granian with one worker,
as ours and the PostgreSQL peer's are; handlers are synchronous and run in
Litestar's worker threads (both engines release the GIL while they compute).

Load, for both (:func:`write_canonical`): :func:`bench.peers.common.iter_canonical`
(our reader and validator, so every system indexes the same posts) writes the
dump's valid rows as Parquet files in a scratch directory (``seq`` = the row's
number: the highest copy of a ``uid`` wins, as in our indexer); the engine then
reads those files and does the rest in SQL: drops the replaced copies, numbers
the accounts (a dense integer per (platform, author), as ours and the PostgreSQL
peer do), unnests the postings (one row per post and tag key), precomputes the
per-tag table (as ours and the PostgreSQL peer do) and the meta row. The
Parquet step is counted in the load's time.

Search: neither engine has a BM25 text index here (DuckDB's ``fts`` extension is
not in the wheel and cannot be downloaded offline; ClickHouse's text index
filters, it does not rank), so both match tokens exactly on a ``folded`` column
(lowercase, accents stripped, every run of non-letters/digits one space, padded
with a space at each end: our "folded" analyzer's tokens) and ``sort=relevance``
is answered in ``recent`` order (there is no score to sort by). Snippets are cut
and marked in Python (:func:`snippet`): neither engine has a highlighter.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import polars as pl
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Stream

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.peers.common import (  # noqa: E402
    BuildFigures,
    Workload,
    iter_canonical,
    our_paths,
    ours,
    run_measured,
    tree_size,
    trend_row,
    wait_http,
)
from indexer.schema import EPOCH, UNKNOWN_LANG  # noqa: E402

# Our trending defaults (service/trends.py TrendParams, docs/trending.md), restated.
PRIOR = 2.0
MIN_AUTHORS = 5
MIN_GROWTH = 1.5
MAX_SLOTS = 168
MICRO = timedelta(microseconds=1)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
REPORT_HEADER = (
    "\ufeffrank,tag,display,posts,authors,engagement,share_pct,prev_posts,change_pct,"
    "first_seen,last_seen\n"
)
_PIECE = re.compile(r'"[^"]*(?:"|$)|[^\s"]+')
_NOT_WORD = re.compile(r"[\W_]+")


# --------------------------------------------------------------------------- loading


def write_canonical(dump: Path, out: Path, seq_offset: int = 0) -> int:
    """The dump's valid rows as Parquet files ``out/part-*.parquet`` (columns
    :data:`~bench.peers.common.POSTS_COLUMNS`, times naive UTC, a missing language
    ``und``); the rows."""
    out.mkdir(parents=True, exist_ok=True)
    rows = 0
    with tempfile.TemporaryDirectory(dir=out) as scratch:
        for i, batch in enumerate(iter_canonical(dump, Path(scratch))):
            part = batch.select(
                seq=pl.col("_seq") + seq_offset,
                uid="uid",
                platform="platform",
                id="id",
                created_at=pl.col("created_at").dt.replace_time_zone(None),
                author="author",
                text="text",
                lang=pl.col("lang").fill_null(UNKNOWN_LANG),
                likes="likes",
                reposts="reposts",
                replies="replies",
                quotes="quotes",
                engagement="engagement",
                tags="tags",
                written="written",
            )
            part.write_parquet(out / f"part-{i:05d}.parquet", compression="lz4", statistics=False)
            rows += part.height
    return rows


# --------------------------------------------------------------------------- engines


class Engine(Protocol):
    """One embedded database, opened read-only by the app (answers are JSON-ready)."""

    def meta(self) -> tuple[datetime, datetime]:
        """(first posting, last post), UTC."""
        ...

    def trending(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Rows of our trending formula, see :func:`trend_params` for ``params``."""
        ...

    def detail(self, tag: str) -> dict[str, Any] | None: ...

    def timeseries(self, tag: str) -> list[tuple[datetime, int, int, int]]:
        """(day, posts, authors, engagement) of the days with postings, in order."""
        ...

    def autocomplete(self, prefix: str, limit: int) -> list[dict[str, Any]]: ...

    def related(self, tag: str, limit: int, min_support: int) -> list[dict[str, Any]] | None:
        """Tags on the same posts, by NPMI over posts (rounded to 4 places, > 0), then
        co_posts desc, then tag; None for an unknown tag."""
        ...

    def search(self, pieces: list[str], limit: int) -> tuple[int, list[dict[str, Any]]]:
        """Total and the newest ``limit`` posts (``created_at`` desc, then ``seq``) with
        every folded piece as a token sequence."""
        ...

    def report_chunks(self) -> Iterator[bytes]:
        """The report's CSV rows (no header), in rank order."""
        ...


def utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def micros(t: datetime) -> int:
    return (utc(t) - EPOCH) // MICRO


def trend_params(
    first_posting: datetime, last_post: datetime, as_of: datetime | None
) -> dict[str, Any]:
    """Our trending formula's numbers for a 24h window over a 7d baseline: window
    ``[w0, end)``, baseline ``[b0, w0)`` cut in ``n`` slots (slot of a time t in µs:
    ``(t - b0) * n // b``), ``scale`` (window / known baseline: before the first
    posting the baseline is unknown, not zero), as naive UTC datetimes and µs."""
    w, b = timedelta(hours=24), timedelta(days=7)
    end = utc(as_of) if as_of is not None else utc(last_post) + MICRO
    end_us, w_us, b_us = micros(end), w // MICRO, b // MICRO
    n = min(max(1, round(b_us / w_us)), MAX_SLOTS)
    base_us = end_us - w_us - b_us
    covered = min(b_us, base_us + b_us - micros(first_posting))
    naive = end.replace(tzinfo=None)
    return {
        "end": naive,
        "w0": naive - w,
        "b0": naive - w - b,
        "b0_us": base_us,
        "b_us": b_us,
        "n": n,
        "scale": w_us / covered if covered > 0 else 0.0,
        "prior": PRIOR,
        "min_authors": MIN_AUTHORS,
        "min_growth": MIN_GROWTH,
        "limit": 20,
    }


def fold(text: str) -> str:
    """Our folded analyzer's tokens joined by one space (lowercase, accents off)."""
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c)
    )
    return " ".join(t for t in _NOT_WORD.split(stripped) if t)


def pieces_of(q: str) -> list[str]:
    """Words and "quoted phrases" of ``q``, folded (a word that folds to several
    tokens is a phrase, as in ours)."""
    found = [fold(p.strip('"')) for p in _PIECE.findall(q)]
    return [p for p in found if p]


def snippet(text: str, pieces: list[str], width: int = 150) -> str:
    """About ``width`` characters of ``text`` around its first match, every match
    marked with ``<b>``, HTML-escaped: the match is found on a 1:1 folded copy of the
    text (one character each, accents off, non-word characters as spaces)."""
    folded = "".join(
        (unicodedata.normalize("NFD", c)[:1] or " ").lower() if c.isalnum() else " " for c in text
    )
    spans: list[tuple[int, int]] = []
    for piece in pieces:
        words = piece.split(" ")
        pattern = r"(?<!\w)" + r"[\W_]+".join(re.escape(w) for w in words) + r"(?!\w)"
        spans += [m.span() for m in re.finditer(pattern, folded)]
    spans.sort()
    if not spans:
        return html.escape(text[:width])
    lo = max(0, spans[0][0] - width // 3)
    hi = min(len(text), lo + width)
    out, at = [], lo
    for s, e in spans:
        if s < at or e > hi:
            continue
        out += [html.escape(text[at:s]), "<b>", html.escape(text[s:e]), "</b>"]
        at = e
    out.append(html.escape(text[at:hi]))
    return "".join(out)


# --------------------------------------------------------------------------- answers


class Answers:
    """Our API's JSON bodies from an engine (what the app returns, and what the
    in-process comparison turns into the canonical form)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._meta: tuple[datetime, datetime] | None = None

    def meta(self) -> tuple[datetime, datetime]:
        if self._meta is None:
            self._meta = self.engine.meta()
        return self._meta

    def trending(self, as_of: datetime | None, limit: int = 20) -> dict[str, Any]:
        first, last = self.meta()
        params = trend_params(first, last, as_of)
        params["limit"] = limit
        items = [{"rank": i, **r} for i, r in enumerate(self.engine.trending(params), 1)]
        return {"as_of": utc(params["end"]), "window": "24h", "baseline": "7d", "items": items}

    def detail(self, tag: str) -> dict[str, Any] | None:
        return self.engine.detail(tag)

    def timeseries(self, tag: str) -> dict[str, Any] | None:
        rows = self.engine.timeseries(tag)
        if not rows:
            return None
        by_day = {utc(t): (p, a, e) for t, p, a, e in rows}
        day, last = utc(rows[0][0]), utc(rows[-1][0])
        points = []
        while day <= last:
            p, a, e = by_day.get(day, (0, 0, 0))
            points.append({"t": day, "posts": p, "authors": a, "engagement": e})
            day += timedelta(days=1)
        return {"tag": tag, "interval": "day", "points": points}

    def autocomplete(self, prefix: str, limit: int = 10) -> dict[str, Any]:
        return {"items": self.engine.autocomplete(prefix, limit)}

    def related(self, tag: str, limit: int = 10, min_support: int = 3) -> dict[str, Any] | None:
        found = self.engine.related(tag, limit, min_support)
        return None if found is None else {"tag": tag, "items": found}

    def search(self, q: str, limit: int = 20) -> dict[str, Any] | None:
        pieces = pieces_of(q)
        if not pieces:
            return None
        total, items = self.engine.search(pieces, limit)
        for item in items:
            item["snippet"] = snippet(item["text"], pieces)
        return {"total": total, "items": items, "next_cursor": None}

    def report(self) -> Iterator[bytes]:
        yield REPORT_HEADER.encode()
        yield from self.engine.report_chunks()


def canonical(answers: Answers, kind: str, params: dict[str, Any]) -> Any:
    """The canonical answer (bench/peers/common.py) straight from the engine."""
    from indexer.schema import tag_key

    if kind == "trending":
        as_of = params["as_of"]
        if isinstance(as_of, str):
            as_of = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        return [trend_row(i) for i in answers.trending(as_of)["items"]]
    if kind == "detail":
        d = answers.detail(tag_key(params["tag"]))
        if d is None:
            return None
        return {
            "posts": d["posts"],
            "authors": d["authors"],
            "engagement": d["engagement"],
            "first_seen": _stamp(d["first_seen"]),
            "last_seen": _stamp(d["last_seen"]),
            "platforms": d["platforms"],
            "langs": d["langs"],
        }
    if kind == "timeseries":
        s = answers.timeseries(tag_key(params["tag"]))
        if s is None:
            return []
        return [(_stamp(p["t"]), p["posts"], p["authors"], p["engagement"]) for p in s["points"]]
    if kind == "autocomplete":
        found = answers.autocomplete(tag_key(params["prefix"]))["items"]
        return [(i["tag"], i["posts"], i["authors"]) for i in found]
    if kind == "related":
        r = answers.related(tag_key(params["tag"]), 10, params.get("min_support", 3))
        return [] if r is None else [(i["tag"], i["co_posts"], i["score"]) for i in r["items"]]
    if kind == "report":
        frame = pl.read_csv(b"".join(answers.report()), infer_schema=False)
        return [
            (t, int(p), int(a), int(e), f, la)
            for t, p, a, e, f, la in frame.select(
                "tag", "posts", "authors", "engagement", "first_seen", "last_seen"
            ).iter_rows()
        ]
    raise ValueError(kind)


def _stamp(t: datetime | str) -> str:
    if isinstance(t, str):
        return t
    t = utc(t)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if t.microsecond else TIME_FORMAT)


# --------------------------------------------------------------------------- the app


def _answers(request: Request[Any, Any, Any]) -> Answers:
    found: Answers = request.app.state.answers
    return found


def _key(value: str, name: str) -> str:
    from indexer.schema import tag_key

    k = tag_key(value.strip())
    if not k:
        raise HTTPException(status_code=400, detail=f"{name}: empty tag")
    return k


@get("/v1/trending", sync_to_thread=True)
def trending(
    request: Request[Any, Any, Any],
    window: str = "24h",
    baseline: str = "7d",
    as_of: str | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    from service.params import parse_time

    if window != "24h" or baseline != "7d":
        raise HTTPException(status_code=400, detail="only window=24h, baseline=7d here")
    return _answers(request).trending(parse_time(as_of, "as_of"), limit)


@get("/v1/hashtags", sync_to_thread=True)
def hashtags(request: Request[Any, Any, Any], prefix: str = "", limit: int = 10) -> dict[str, Any]:
    return _answers(request).autocomplete(_key(prefix, "prefix") if prefix else "", limit)


@get("/v1/hashtags/{tag:str}", sync_to_thread=True)
def hashtag_detail(request: Request[Any, Any, Any], tag: str) -> dict[str, Any]:
    found = _answers(request).detail(_key(tag, "tag"))
    if found is None:
        raise NotFoundException(f"unknown tag: {tag}")
    return found


@get("/v1/hashtags/{tag:str}/timeseries", sync_to_thread=True)
def hashtag_timeseries(
    request: Request[Any, Any, Any], tag: str, interval: str = "day"
) -> dict[str, Any]:
    if interval != "day":
        raise HTTPException(status_code=400, detail="interval: only day here")
    found = _answers(request).timeseries(_key(tag, "tag"))
    if found is None:
        raise NotFoundException(f"unknown tag: {tag}")
    return found


@get("/v1/hashtags/{tag:str}/related", sync_to_thread=True)
def hashtag_related(
    request: Request[Any, Any, Any], tag: str, limit: int = 10, min_support: int = 3
) -> dict[str, Any]:
    found = _answers(request).related(_key(tag, "tag"), limit, min_support)
    if found is None:
        raise NotFoundException(f"unknown tag: {tag}")
    return found


@get("/v1/posts", sync_to_thread=True)
def posts(
    request: Request[Any, Any, Any], q: str, sort: str = "relevance", limit: int = 20
) -> dict[str, Any]:
    if sort not in ("recent", "relevance") or not 1 <= limit <= 100:
        raise HTTPException(status_code=400, detail="sort or limit")
    found = _answers(request).search(q, limit)
    if found is None:
        raise HTTPException(status_code=400, detail="q has nothing to search for")
    return found


@get("/v1/reports/index.csv", sync_to_thread=True)
def report(request: Request[Any, Any, Any]) -> Stream:
    return Stream(
        _answers(request).report(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="hashtag-index.csv"'},
    )


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _bad_request(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return Response({"error": str(exc)}, status_code=400)


def create_app(open_engine: Callable[[], Engine]) -> Litestar:
    """Our API's read paths (the benchmark's questions) over one engine."""
    from service.errors import ApiError
    from service.query_errors import InvalidParameter

    return Litestar(
        [
            trending,
            hashtags,
            hashtag_detail,
            hashtag_timeseries,
            hashtag_related,
            posts,
            report,
            healthz,
        ],
        exception_handlers={ApiError: _bad_request, InvalidParameter: _bad_request},
        state=State({"answers": Answers(open_engine())}),
        openapi_config=None,
    )


def app_from_env() -> Any:
    """The app for ``EMBEDDED_PEER_ENGINE`` (duckdb|chdb) over ``EMBEDDED_PEER_DB``."""
    module = ENGINES[os.environ["EMBEDDED_PEER_ENGINE"]]
    db = Path(os.environ["EMBEDDED_PEER_DB"])
    return create_app(lambda: _engine_module(module).open_engine(db))


ENGINES = {"duckdb": "bench.peers.duckdb_peer", "chdb": "bench.peers.chdb_peer"}


def _engine_module(name: str) -> Any:
    import importlib

    return importlib.import_module(name)


def serve(engine: str, db: Path, port: int) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    os.environ["EMBEDDED_PEER_ENGINE"] = engine
    os.environ["EMBEDDED_PEER_DB"] = str(db)
    Granian(
        "bench.peers.embedded:app_from_env",
        factory=True,
        interface=Interfaces.ASGI,
        address="127.0.0.1",
        port=port,
        workers=1,
    ).serve()


# --------------------------------------------------------------------------- the peer


class EmbeddedPeer:
    """A peer of bench/run.py over one embedded engine (see the module docstring)."""

    embedded = True
    key = ""
    name = ""

    def __init__(self) -> None:
        self.http: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.db: Path | None = None
        self.work: Path | None = None
        self.last_build: dict[str, Any] = {}
        self.last_update: dict[str, Any] = {}

    def _load(self, dump: Path, update: bool) -> tuple[float, int, dict[str, Any]]:
        assert self.work is not None
        assert self.db is not None
        report = self.work / ("update.json" if update else "load.json")
        cmd = [
            sys.executable,
            "-m",
            "bench.peers.embedded",
            "load",
            *("--engine", self.key, "--dump", str(dump), "--db", str(self.db)),
            *("--scratch", str(self.work / "scratch"), "--report", str(report)),
        ]
        if update:
            cmd.append("--update")
        seconds, rss = run_measured(cmd, ROOT)
        return seconds, rss, json.loads(report.read_text())

    def build(self, dump: Path, work: Path) -> BuildFigures:
        self.stop()
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        self.work = work
        self.db = work / "db"
        seconds, rss, loaded = self._load(dump, update=False)
        self.last_build = loaded
        return BuildFigures(seconds, int(loaded["posts"]), rss, self.disk())

    def disk(self) -> int:
        assert self.db is not None
        return self.db.stat().st_size if self.db.is_file() else tree_size(self.db)

    def update(self, day: Path) -> float:
        self.stop()  # one process at a time opens an embedded database to write
        seconds, _, self.last_update = self._load(day, update=True)
        return seconds

    def start(self, port: int) -> str:
        assert self.db is not None, "build first"
        self.stop()
        self.http = subprocess.Popen(
            [
                *(sys.executable, "-m", "bench.peers.embedded", "serve"),
                *("--engine", self.key, "--db", str(self.db), "--port", str(port)),
            ],
            cwd=ROOT,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while True:
            try:
                wait_http(self.base + "/healthz", timeout=2)
                return self.base
            except RuntimeError:
                if self.http.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name}: the app did not start") from None

    def pids(self) -> list[int]:
        from bench.serve_load import _children

        return [] if self.http is None else [self.http.pid, *_children(self.http.pid)]

    def stop(self) -> None:
        if self.http is not None:
            try:
                os.killpg(self.http.pid, signal.SIGTERM)
                self.http.wait(timeout=15)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.http.pid, signal.SIGKILL)
                self.http.wait()
            self.http = None

    def paths(self, kind: str, w: Workload) -> list[str]:
        return our_paths(kind, w)

    def answer(self, kind: str, params: dict[str, str]) -> Any:
        if kind == "search":
            from bench.peers.postgres import check_snippets

            check_snippets(self.base, params["q"])
        return ours(self.base, kind, params)

    def report_path(self) -> str:
        return "/v1/reports/index.csv"

    def open_answers(self) -> Answers:
        assert self.db is not None
        return Answers(_engine_module(ENGINES[self.key]).open_engine(self.db))


# --------------------------------------------------------------------------- in process


@dataclass
class EngineSide:
    """An embedded engine in this process, for :mod:`bench.peers.polars_mem`'s timing."""

    answers: Answers

    def answer(self, kind: str, params: dict[str, Any]) -> Any:
        return canonical(self.answers, kind, params)

    def timed(self, kind: str, params: dict[str, Any]) -> Any:
        if kind == "report":
            return b"".join(self.answers.report())
        return self.answer(kind, params)


IN_PROCESS_KINDS = ("trending", "detail", "timeseries", "autocomplete", "related", "report")


def _ours_related(side: Any, params: dict[str, Any]) -> Any:
    from indexer.schema import tag_key
    from service import tags

    found = tags.related(side.generation.tables, tag_key(params["tag"]), 10, 3)
    return [(r.tag, r.co_posts, r.score) for r in found]


def in_process(peer: EmbeddedPeer, index: Path, seconds: float) -> list[dict[str, Any]]:
    """Our engine's functions against ``peer``'s engine, both in this process: every
    answer of polars_mem's check workload compared first (and related of the same
    tags), then each kind timed for ``seconds`` on each side (its measure workload).
    Rows: ``kind``, ``ours_``/``peer_`` ``calls, p50_ms, p99_ms, per_s``, ``ratio_p50``,
    ``ratio_p99`` (peer / ours), ``load1`` (load average before the kind)."""
    from bench.peers import polars_mem

    ours_side, _ = polars_mem.OurSide.load(index)
    side = EngineSide(peer.open_answers())
    p = plan_from_ours(ours_side)
    check = {**p.check, "related": p.check["detail"]}
    measure = {**p.measure, "related": p.measure["detail"]}

    def ours_answer(kind: str, params: dict[str, Any]) -> Any:
        return (
            _ours_related(ours_side, params)
            if kind == "related"
            else ours_side.answer(kind, params)
        )

    def ours_timed(kind: str, params: dict[str, Any]) -> Any:
        return (
            _ours_related(ours_side, params) if kind == "related" else ours_side.timed(kind, params)
        )

    compared = 0
    for kind in IN_PROCESS_KINDS:
        for params in check[kind]:
            mine, theirs = ours_answer(kind, params), side.answer(kind, params)
            if mine != theirs:
                raise SystemExit(
                    f"{peer.name} (in process) answers {kind} {params} differently: "
                    + polars_mem._first_difference(mine, theirs)
                )
            compared += 1
    rows: list[dict[str, Any]] = []
    for kind in IN_PROCESS_KINDS:
        f = measure[kind]
        load1 = os.getloadavg()[0]
        a = polars_mem.time_calls(lambda i, k=kind, f=f: ours_timed(k, f(i)), seconds)
        b = polars_mem.time_calls(lambda i, k=kind, f=f: side.timed(k, f(i)), seconds)
        rows.append(
            {
                "kind": kind,
                "load1": load1,
                **{f"ours_{k}": v for k, v in vars(a).items()},
                **{f"peer_{k}": v for k, v in vars(b).items()},
                "ratio_p50": b.p50_ms / a.p50_ms,
                "ratio_p99": b.p99_ms / a.p99_ms,
            }
        )
    return [*rows, {"kind": "check", "compared": compared}]


def in_process_markdown(name: str, rows: list[dict[str, Any]]) -> str:
    compared = next((r["compared"] for r in rows if r["kind"] == "check"), 0)
    lines = [
        f"ours vs {name}, in process ({compared} answers compared first, all equal)",
        "",
        "| kind | ours p50 / p99 ms | peer p50 / p99 ms | ratio p50 / p99 "
        "| ours calls/s | peer calls/s | load avg |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        if r["kind"] == "check":
            continue
        lines.append(
            f"| {r['kind']} | {r['ours_p50_ms']:.2f} / {r['ours_p99_ms']:.2f} "
            f"| {r['peer_p50_ms']:.2f} / {r['peer_p99_ms']:.2f} "
            f"| {r['ratio_p50']:.1f}x / {r['ratio_p99']:.1f}x "
            f"| {r['ours_per_s']:.1f} | {r['peer_per_s']:.1f} | {r['load1']:.2f} |"
        )
    return "\n".join(lines)


def plan_from_ours(side: Any) -> Any:
    """polars_mem's workload, picked from our generation (manifest and tag table)."""
    from bench.peers import polars_mem
    from indexer.globals import read_tags

    path = side.generation.path
    manifest = json.loads((path / "manifest.json").read_text())
    first = datetime.fromisoformat(manifest["from"].replace("Z", "+00:00"))
    last = datetime.fromisoformat(manifest["to"].replace("Z", "+00:00"))
    ranked = read_tags(path).sort(["posts", "tag"], descending=[True, False])["tag"].to_list()
    return polars_mem.plan_for(first, last, ranked)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.peers.embedded", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    ld = sub.add_parser("load", help="(internal) the bulk load or update, in a child process")
    ld.add_argument("--engine", choices=sorted(ENGINES), required=True)
    ld.add_argument("--dump", type=Path, required=True)
    ld.add_argument("--db", type=Path, required=True)
    ld.add_argument("--scratch", type=Path, required=True)
    ld.add_argument("--report", type=Path, required=True)
    ld.add_argument("--update", action="store_true")
    sv = sub.add_parser("serve", help="serve an engine's database over HTTP")
    sv.add_argument("--engine", choices=sorted(ENGINES), required=True)
    sv.add_argument("--db", type=Path, required=True)
    sv.add_argument("--port", type=int, default=8823)
    args = p.parse_args(argv)
    if args.command == "serve":
        serve(args.engine, args.db, args.port)
        return 0
    module = _engine_module(ENGINES[args.engine])
    started = time.monotonic()
    shutil.rmtree(args.scratch, ignore_errors=True)
    stages: dict[str, float] = {}
    offset = module.next_seq(args.db) if args.update else 0
    rows = write_canonical(args.dump, args.scratch, offset)
    stages["read+parquet"] = time.monotonic() - started
    posts = module.load(args.db, args.scratch, stages, update=args.update)
    shutil.rmtree(args.scratch, ignore_errors=True)
    args.report.write_text(
        json.dumps({"rows": rows, "posts": posts, "stages": stages, "threads": _threads()})
    )
    return 0


def _threads() -> int:
    return threading.active_count()


if __name__ == "__main__":
    sys.exit(main())
