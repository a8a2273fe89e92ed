#!/usr/bin/env python3
"""Hashtag Index against the tools a user would pick instead, in one run.

    python bench/run.py                 # 1M posts (about 10-15 min on 2 cores)
    python bench/run.py --10m           # 10M posts
    python bench/run.py --posts 100000 --peers sqlite --seconds 2   # a quick look

One command: it re-runs itself under ``uv run --group bench`` when the bench
dependencies (datasette, psycopg) are missing, and installs wrk with apt-get when
it can. In one run, on the same machine and the same deterministic dump
(bench/gen.py, cached in bench/out/):

1. **build**: ours (``hashtag-index build``) and each peer's bulk load, each in a
   child process: wall time, posts/s, peak RSS, size on disk;
2. **answers**: every peer is asked the same questions as ours (trending, tag
   detail, timeseries, autocomplete, search, the full report) and must give the
   same answers before it is timed; a peer that differs stops the run;
3. **queries** over HTTP on loopback with wrk (fixed time, fixed concurrency):
   p50, p99, req/s per query type and system;
4. **report**: the full Hashtag Index CSV, rows/s and server peak RSS;
5. **update**: a one-day dump on top of the rest, against a full rebuild;
6. **in memory**: plain polars (no index) against our engine, in-process, on the
   aggregate queries.

Peers (bench/peers/): SQLite FTS5 served by Datasette, PostgreSQL 15 (Debian's
server started on loopback) behind a minimal granian app, plain polars.
Results: a markdown table in bench/results/<date>-<size>.md (``--out`` to
change), with the machine and library versions.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import importlib.util
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

PEERS = {
    "duckdb": "bench.peers.duckdb_peer",
    "chdb": "bench.peers.chdb_peer",
    "sqlite": "bench.peers.sqlite_datasette",
    "postgres": "bench.peers.postgres",
}
QUERY_KINDS = ("trending", "detail", "timeseries", "autocomplete", "related", "search")
PEER_KINDS = {"related": ("duckdb", "chdb")}
"""Kinds asked only of some peers (the others do not have the question)."""
KIND_LABEL = {
    "trending": "trending 24h vs 7d (computed)",
    "detail": "tag detail",
    "timeseries": "timeseries (day)",
    "autocomplete": "autocomplete",
    "related": "related tags (NPMI)",
    "search": "post search + snippets",
}
SEARCH_WORDS = ["rust", "news", "game", "cafe", "tea", '"good morning"', '"right now"', "art"]


def _ensure_environment() -> None:
    """Re-run under ``uv run --group bench`` if the bench dependencies are missing."""
    missing = [m for m in ("polars", "datasette", "psycopg") if importlib.util.find_spec(m) is None]
    if missing and not os.environ.get("HASHTAG_BENCH_REEXEC"):
        uv = shutil.which("uv")
        if uv is None:
            raise SystemExit("bench/run.py needs uv (pip install uv) for its dependencies")
        os.environ["HASHTAG_BENCH_REEXEC"] = "1"
        os.execv(uv, [uv, "run", "--group", "bench", "python", *sys.argv])
    if missing:
        raise SystemExit(f"missing bench dependencies: {', '.join(missing)}")
    if shutil.which("wrk") is None and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(
            "apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk)",
            shell=True,
            check=False,
            stdout=subprocess.DEVNULL,
        )
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")


@dataclass
class Row:
    """One system's figures for one measurement."""

    system: str
    figures: dict[str, float]
    note: str = ""


@dataclass
class Results:
    posts: int
    started: float = field(default_factory=time.monotonic)
    build: list[Row] = field(default_factory=list)
    queries: dict[str, list[Row]] = field(default_factory=dict)
    report: list[Row] = field(default_factory=list)
    update: list[Row] = field(default_factory=list)
    in_memory: list[dict[str, Any]] = field(default_factory=list)
    in_process: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    load: dict[str, float] = field(default_factory=dict)
    """1-minute load average at named moments (other work on the machine)."""
    checks: dict[str, str] = field(default_factory=dict)
    dump: str = ""
    versions: dict[str, str] = field(default_factory=dict)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def indexer(*args: str) -> list[str]:
    return [sys.executable, "-m", "hashtag_index", *args]


class Ours:
    """Our side: ``hashtag-index build/update/serve`` in child processes."""

    name = "Hashtag Index"

    def __init__(self, work: Path) -> None:
        self.index = work / "index"
        self.server: subprocess.Popen[bytes] | None = None

    def build(self, dump: Path) -> Any:
        from bench.peers.common import BuildFigures, run_measured, tree_size

        shutil.rmtree(self.index, ignore_errors=True)
        seconds, rss = run_measured(
            indexer("build", str(dump), "--index", str(self.index), "--quiet"), ROOT
        )
        manifest = self.manifest()
        return BuildFigures(seconds, manifest["posts"], rss, tree_size(self.generation()))

    def generation(self) -> Path:
        return (self.index / "current").resolve()

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.generation() / "manifest.json").read_text())

    def start(self, port: int) -> str:
        from bench.peers.common import wait_http

        self.server = subprocess.Popen(
            indexer("serve", "--index", str(self.index), "--port", str(port)),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/readyz")
        return base

    def pids(self) -> list[int]:
        return [] if self.server is None else [self.server.pid]

    def stop(self) -> None:
        if self.server is not None:
            os.killpg(self.server.pid, signal.SIGTERM)
            self.server.wait(timeout=30)
            self.server = None


def pick_workload(generation: Path) -> Any:
    """Questions of varied difficulty, from our generation's tag table."""

    from bench.peers.common import Workload
    from indexer.globals import read_tags

    tags = (
        read_tags(generation)
        .select("tag", "posts")
        .sort(["posts", "tag"], descending=[True, False])
    )
    keys = tags["tag"].to_list()
    n = len(keys)
    # top tags, the middle and the tail (rank r = n * f)
    picks = [keys[min(n - 1, int(n * f))] for f in (0, 0.001, 0.005, 0.01, 0.05, 0.1, 0.3, 0.6)]
    picks += keys[1:4]
    manifest = json.loads((generation / "manifest.json").read_text())
    last = dt.datetime.fromisoformat(manifest["to"].replace("Z", "+00:00"))
    day = last.replace(hour=0, minute=0, second=0, microsecond=0)
    as_of = [
        (day - dt.timedelta(days=d) + dt.timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for d in range(3)
        for h in (0, 12)
    ]
    prefixes = sorted({k[:2] for k in picks if len(k) >= 2})
    return Workload(
        as_of=as_of, tags=list(dict.fromkeys(picks)), prefixes=prefixes, words=SEARCH_WORDS
    )


def trend_anchors(last: str, n: int) -> list[str]:
    """``n`` instants a minute apart, ending at ``last`` (RFC 3339 ``Z``)."""
    end = dt.datetime.fromisoformat(last.replace("Z", "+00:00"))
    return [(end - dt.timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(n)]


def asks(key: str, kind: str) -> bool:
    """Whether peer ``key`` is asked (and timed on) questions of ``kind``."""
    return key in PEER_KINDS.get(kind, (key,))


def check_answers(name: str, peer: Any, base: str, w: Any, key: str = "") -> str:
    """Compare the peer's answers with ours on every question of the workload."""
    from bench.peers.common import ours

    asked: list[tuple[str, dict[str, str]]] = [("trending", {"as_of": a}) for a in w.as_of]
    asked += [(k, {"tag": t}) for t in w.tags for k in ("detail", "timeseries")]
    asked += [("autocomplete", {"prefix": p}) for p in w.prefixes]
    if asks(key, "related"):
        asked += [("related", {"tag": t}) for t in w.tags]
    asked += [("search", {"q": x}) for x in w.words]
    asked += [("report", {})]
    for kind, params in asked:
        mine, theirs = ours(base, kind, params), peer.answer(kind, params)
        if mine != theirs:
            raise SystemExit(
                f"{name} answers {kind} {params} differently from ours:\n"
                f"  ours:   {str(mine)[:600]}\n  theirs: {str(theirs)[:600]}"
            )
    return f"{len(asked)} questions, same answers"


def rss_tree(pids: list[int]) -> int:
    from bench.serve_load import rss_of

    return sum(rss_of(p) for p in pids)


def time_report(base: str, path: str, pids: list[int], runs: int = 3) -> dict[str, float]:
    """The full report downloaded once to warm up, then ``runs`` times: the median run."""

    def download() -> tuple[int, float]:
        """Rows and seconds of one download, by curl (a Python client reading the
        chunked stream was the bottleneck: 0.12 s where curl takes 0.06 s)."""
        if shutil.which("curl") is None:
            t = time.monotonic()
            rows = 0
            with urllib.request.urlopen(base + path, timeout=1800) as r:
                while chunk := r.read(1 << 16):
                    rows += chunk.count(b"\n")
            return rows - 1, time.monotonic() - t
        with tempfile.NamedTemporaryFile() as out:
            done = subprocess.run(
                ["curl", "-sf", "-o", out.name, "-w", "%{time_total}", base + path],
                capture_output=True,
                text=True,
                check=True,
            )
            with open(out.name, "rb") as f:
                rows = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        return rows - 1, float(done.stdout)

    first_rows, first_seconds = download()
    timed = sorted(download()[1] for _ in range(runs))
    seconds = timed[len(timed) // 2]
    return {
        "rows": first_rows,
        "seconds": seconds,
        "first_seconds": first_seconds,
        "rows_s": first_rows / seconds,
        "rss": rss_tree(pids),
    }


def load_peer(key: str) -> Any:
    module = importlib.import_module(PEERS[key])
    return module.PEER()


def versions() -> dict[str, str]:
    import sqlite3
    from importlib.metadata import version

    out = {
        "python": platform.python_version(),
        "cpu": f"{os.cpu_count()} cores, {platform.machine()}",
        "ram": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "sqlite": sqlite3.sqlite_version,
    }
    for pkg in (
        "tantivy",
        "polars",
        "litestar",
        "granian",
        "msgspec",
        "datasette",
        "psycopg",
        "duckdb",
        "chdb",
    ):
        try:
            out[pkg] = version(pkg)
        except Exception:
            out[pkg] = "-"
    pg = shutil.which("postgres") or "/usr/lib/postgresql/15/bin/postgres"
    try:
        out["postgresql"] = subprocess.run(
            [pg, "--version"], capture_output=True, text=True
        ).stdout.split()[2]
    except OSError:
        out["postgresql"] = "-"
    try:
        out["wrk"] = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
    except (OSError, IndexError):
        out["wrk"] = "-"
    return out


def main() -> None:
    _ensure_environment()
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--posts", type=int, default=1_000_000, help="dump size (default 1,000,000)")
    ap.add_argument("--10m", dest="ten_m", action="store_true", help="10,000,000 posts")
    ap.add_argument(
        "--peers",
        default="sqlite,postgres,duckdb,chdb,polars",
        help="comma-separated (default all: sqlite,postgres,duckdb,chdb,polars)",
    )
    ap.add_argument(
        "--dump",
        type=Path,
        help="an existing canonical dump to use (e.g. /work/scale-new/scale-1000000.ndjson;"
        " default: bench/gen.py's, generated once into bench/out/)",
    )
    ap.add_argument(
        "--no-update",
        action="store_true",
        help="skip the update comparison (at 10M our update and rebuild take ~15 min here)",
    )
    ap.add_argument(
        "--no-in-process",
        action="store_true",
        help="skip the embedded peers' in-process comparison",
    )
    ap.add_argument("--seconds", type=int, default=4, help="wrk duration per query type and level")
    ap.add_argument("--connections", default="1,8", help="wrk concurrency levels (default 1,8)")
    ap.add_argument(
        "--day-posts", type=int, default=0, help="rows of the update's day (default posts/30)"
    )
    ap.add_argument(
        "--out", type=Path, help="results file (default bench/results/<date>-<size>.md)"
    )
    ap.add_argument("--port", type=int, default=8790)
    args = ap.parse_args()
    n = 10_000_000 if args.ten_m else args.posts
    chosen = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in chosen if p not in (*PEERS, "polars")]
    if unknown:
        raise SystemExit(
            f"--peers: unknown {', '.join(unknown)} (known: {', '.join([*PEERS, 'polars'])})"
        )
    levels = [int(c) for c in args.connections.split(",")]

    from bench.build import dump_for
    from bench.peers.common import our_paths
    from bench.serve_load import run_wrk
    from bench.update import day_dump

    res = Results(posts=n, versions=versions())
    work = OUT / f"run-{n}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log(f"dump of {n:,} posts")
    dump = args.dump.resolve() if args.dump else dump_for(n, 1)
    res.dump = str(dump)
    res.load["start"] = os.getloadavg()[0]
    n_day = args.day_posts or max(1000, n // 30)
    day = day_dump(dump, n_day, max(100, n_day // 7), 2)

    out = args.out or RESULTS / f"{_today()}-{_size(n)}.md"
    try:
        ours = Ours(work / "ours")
        log("build: ours")
        build_load = {"ours": os.getloadavg()[0]}
        figures = {"ours": ours.build(dump)}
        peers = {key: load_peer(key) for key in chosen if key in PEERS}
        for key, peer in peers.items():
            log(f"build: {peer.name}")
            build_load[key] = os.getloadavg()[0]
            figures[key] = peer.build(dump, work / key)
        names = {"ours": ours.name, **{k: p.name for k, p in peers.items()}}
        for key, f in figures.items():
            res.build.append(
                Row(
                    names[key],
                    {
                        "seconds": f.seconds,
                        "posts_s": f.posts / f.seconds,
                        "rss": f.peak_rss_bytes,
                        "disk": f.disk_bytes,
                        "posts": f.posts,
                        "load1": build_load[key],
                    },
                )
            )
        if len({f.posts for f in figures.values()}) != 1:
            raise SystemExit(
                "the systems loaded different post counts: "
                + ", ".join(f"{k} {f.posts}" for k, f in figures.items())
            )

        workload = pick_workload(ours.generation())
        bases = {"ours": ours.start(args.port)}
        peer_updates: dict[str, float] = {}
        ports = {"ours": args.port, **{k: args.port + i for i, k in enumerate(peers, start=1)}}
        try:
            for key, peer in peers.items():
                log(f"serve + check answers: {peer.name}")
                bases[key] = peer.start(ports[key])
                res.checks[peer.name] = check_answers(peer.name, peer, bases["ours"], workload, key)
                log(f"  {res.checks[peer.name]}")
                peer.stop()  # each system is timed alone: no other server's background work
            # Trending is timed on more distinct questions than our answer cache holds
            # (service/trends.py RESULT_CACHE_SIZE), so every request of ours computes.
            timed = dataclasses.replace(workload, as_of=trend_anchors(workload.as_of[0], 600))
            for key in ["ours", *peers]:
                if key != "ours":
                    bases[key] = peers[key].start(ports[key])
                base = bases[key]
                for kind in QUERY_KINDS:
                    if key != "ours" and not asks(key, kind):
                        continue
                    asked = timed if kind == "trending" else workload
                    paths = (
                        our_paths(kind, asked) if key == "ours" else peers[key].paths(kind, asked)
                    )
                    for warm in paths[:5]:  # first touches (cold caches) are not timed
                        urllib.request.urlopen(base + warm, timeout=600).read()
                    for c in levels:
                        log(f"wrk: {kind} {names[key]} c={c}")
                        load1 = os.getloadavg()[0]
                        r = run_wrk(base, paths, args.seconds, c)
                        r["load1"] = load1
                        if not r["rps"] or not r["p50_ms"] or math.isnan(r["p50_ms"]):
                            # no request answered within wrk's 2 s timeout: latencies unknown
                            r["timeout"] = 1.0
                            r["p50_ms"] = r["p99_ms"] = float("nan")
                        if r["non_2xx"]:
                            raise SystemExit(
                                f"{names[key]}: {int(r['non_2xx'])} failed {kind} requests"
                            )
                        res.queries.setdefault(kind, []).append(Row(names[key], {"c": c, **r}))
                log(f"report: {names[key]}")
                path = "/v1/reports/index.csv" if key == "ours" else peers[key].report_path()
                pids = ours.pids() if key == "ours" else list(getattr(peers[key], "pids", list)())
                load1 = os.getloadavg()[0]
                report = time_report(base, path, pids)
                res.report.append(Row(names[key], {**report, "load1": load1}))
                if key == "ours":
                    ours.stop()
                elif getattr(peers[key], "embedded", False):
                    peers[key].stop()
                    if not args.no_in_process:
                        log(f"in process: {names[key]} against our engine")
                        from bench.peers.embedded import in_process

                        res.in_process[names[key]] = in_process(
                            peers[key], ours.index, float(args.seconds)
                        )
                    if not args.no_update:
                        log(f"update: {names[key]}")
                        peer_updates[key] = peers[key].update(day)
                else:
                    if not args.no_update:
                        log(f"update: {names[key]}")
                        peer_updates[key] = peers[key].update(day)  # while its server runs
                    peers[key].stop()
        finally:
            ours.stop()
            for peer in peers.values():
                peer.stop()

        if "polars" in chosen:
            log("in memory: plain polars against our engine, in-process")
            from bench.peers import polars_mem

            res.load["polars"] = os.getloadavg()[0]
            res.in_memory = polars_mem.run(dump, ours.index, float(args.seconds))

        if not args.no_update:
            log("update: ours")
            from bench.peers.common import run_measured

            upd_s, upd_rss = run_measured(
                indexer("update", str(day), "--index", str(ours.index), "--quiet"), ROOT
            )
            rebuild = work / "ours-rebuild"
            reb_s, _ = run_measured(
                indexer("build", str(dump), str(day), "--index", str(rebuild), "--quiet"), ROOT
            )
            shutil.rmtree(rebuild, ignore_errors=True)
            res.update.append(Row(ours.name, {"update": upd_s, "rebuild": reb_s, "rss": upd_rss}))
            for key, peer in peers.items():
                res.update.append(
                    Row(peer.name, {"update": peer_updates[key], "rebuild": figures[key].seconds})
                )

    except BaseException as exc:
        # What was measured is kept: a failure late in a long run loses nothing.
        res.checks["run"] = f"STOPPED: {type(exc).__name__}: {exc}"
        partial = out.with_name(out.stem + "-incomplete.md")
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(render(res, n, n_day))
        partial.with_suffix(".json").write_text(json.dumps(dataclasses.asdict(res), indent=1))
        log(f"stopped; what was measured is in {partial}")
        raise
    text = render(res, n, n_day)
    out.with_suffix(".json").write_text(json.dumps(dataclasses.asdict(res), indent=1))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    log(f"wrote {out} in {(time.monotonic() - res.started) / 60:.1f} min")


def _today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


TIMED_OUT = 2000.0
"""wrk's request timeout (ms): a peer none of whose requests it answered is slower."""


def _ms(f: dict[str, float], key: str) -> str:
    return "> 2000 (none answered)" if f.get("timeout") else f"{f[key]:.2f}"


def _ratio(ours: float, theirs: float, higher_is_better: bool) -> str:
    if theirs != theirs and not higher_is_better:  # nan: timed out
        return f"> {TIMED_OUT / ours:.0f}x" if ours else "-"
    if not ours or not theirs:
        return "-"
    r = ours / theirs if higher_is_better else theirs / ours
    return f"{r:.1f}x"


def render(res: Results, n: int, n_day: int) -> str:
    mib = 2**20
    lines = [
        f"# Hashtag Index against its peers, {n:,} posts",
        "",
        f"`{' '.join(['python bench/run.py', *sys.argv[1:]])}`"
        f" on {_today()}; the whole run took "
        f"{(time.monotonic() - res.started) / 60:.1f} min.",
        "",
        "Machine and versions: " + ", ".join(f"{k} {v}" for k, v in res.versions.items()) + ".",
        "",
        "Ratios are ours against the peer: above 1x we are faster (or smaller).",
        "",
        f"Dump: `{res.dump}`. The machine is shared (2 cores): the 1-minute load average"
        f" was {res.load.get('start', 0):.2f} at the start and {os.getloadavg()[0]:.2f} at"
        " the end; each figure below has the load average read just before it was taken"
        " (`load`). Figures taken at a load above 1.5 were taken while other work ran.",
        "",
        "## Build (bulk load of the same dump)",
        "",
        "| system | posts | seconds | posts/s | peak RSS MiB | disk MiB | our speed-up | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ours_b = res.build[0].figures if res.build else {}
    for row in res.build:
        f = row.figures
        lines.append(
            f"| {row.system} | {int(f['posts']):,} | {f['seconds']:.1f} | {f['posts_s']:,.0f} | "
            f"{f['rss'] / mib:,.0f} | {f['disk'] / mib:,.0f} | "
            f"{_ratio(ours_b['seconds'], f['seconds'], False)} | {f.get('load1', 0):.2f} |"
        )
    lines += ["", "## Answers checked before timing", ""]
    lines += [f"- {name}: {what}" for name, what in res.checks.items()] or ["- (no peers)"]
    lines += [
        "",
        "## Queries over HTTP (wrk on loopback, one server process each)",
        "",
        "Trending cycles through 600 instants a minute apart, more than our per-generation"
        " answer cache holds, so each of our answers is computed; a repeated question is"
        " served from that cache.",
        "",
        "| query | connections | system | p50 ms | p99 ms | req/s | p50 ratio | p99 ratio | load |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, rows in res.queries.items():
        ours_rows = {r.figures["c"]: r.figures for r in rows if r.system == "Hashtag Index"}
        for row in sorted(rows, key=lambda r: (r.figures["c"], r.system != "Hashtag Index")):
            f = row.figures
            o = ours_rows[f["c"]]
            lines.append(
                f"| {KIND_LABEL[kind]} | {int(f['c'])} | {row.system} | {_ms(f, 'p50_ms')} | "
                f"{_ms(f, 'p99_ms')} | {f['rps']:,.0f} | "
                f"{_ratio(o['p50_ms'], f['p50_ms'], False)} | "
                f"{_ratio(o['p99_ms'], f['p99_ms'], False)} | {f.get('load1', 0):.2f} |"
            )
    lines += [
        "",
        "## Full Hashtag Index report (CSV, every tag)",
        "",
        "| system | rows | first download s | seconds (median of 3 more) | rows/s "
        "| server peak RSS MiB | our speed-up | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ours_r = res.report[0].figures if res.report else {}
    for row in res.report:
        f = row.figures
        lines.append(
            f"| {row.system} | {int(f['rows']):,} | {f['first_seconds']:.2f} | "
            f"{f['seconds']:.2f} | {f['rows_s']:,.0f} | "
            f"{f['rss'] / mib:,.0f} | {_ratio(ours_r['rows_s'], f['rows_s'], True)} | "
            f"{f.get('load1', 0):.2f} |"
        )
    lines += [
        "",
        f"## Update: a one-day dump ({n_day:,} new rows plus new copies of older posts)"
        " on top of the rest",
        "",
        "| system | update s | full rebuild s | update / rebuild | our speed-up (update) |",
        "|---|---:|---:|---:|---:|",
    ]
    ours_u = res.update[0].figures if res.update else {}
    for row in res.update:
        f = row.figures
        lines.append(
            f"| {row.system} | {f['update']:.1f} | {f['rebuild']:.1f} | "
            f"{f['update'] / f['rebuild']:.2f} | "
            f"{_ratio(ours_u['update'], f['update'], False)} |"
        )
    lines += targets(res)
    for name, rows in res.in_process.items():
        from bench.peers.embedded import in_process_markdown

        lines += ["", f"## In-process: {name} against our engine", ""]
        lines += in_process_markdown(name, rows).splitlines()
    if res.in_memory:
        from bench.peers import polars_mem

        lines += ["", "## In-process: plain polars in memory (no index) against our engine", ""]
        lines += polars_mem.markdown(res.in_memory).splitlines()
        lines.append(f"(load average before: {res.load.get('polars', 0):.2f})")
    return "\n".join(lines) + "\n"


EMBEDDED = ("DuckDB", "ClickHouse (chDB)")
TARGETS = {"search": 2.0, "report": 2.0}
"""Issue 17's targets against the faster embedded engine: 5x unless named here."""


def targets(res: Results) -> list[str]:
    """Ours against the faster of DuckDB and chDB on each figure (issue 17's targets)."""
    if not any(r.system in EMBEDDED for rows in res.queries.values() for r in rows):
        return []
    lines = [
        "",
        "## Against the faster embedded engine (DuckDB or chDB), issue 17's targets",
        "",
        "Speed-up = the faster peer's figure / ours (p50 and p99 separately; the faster"
        " peer may differ between them).",
        "",
        "| query | connections | ours p50 / p99 ms | best peer p50 / p99 ms | speed-up p50 / p99"
        " | target | met |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for kind, rows in res.queries.items():
        for c in sorted({int(r.figures["c"]) for r in rows}):
            at = [r for r in rows if int(r.figures["c"]) == c]
            ours_f = next(r.figures for r in at if r.system == "Hashtag Index")
            peer = [r.figures for r in at if r.system in EMBEDDED]
            if not peer:
                continue
            b50 = min(TIMED_OUT if f.get("timeout") else f["p50_ms"] for f in peer)
            b99 = min(TIMED_OUT if f.get("timeout") else f["p99_ms"] for f in peer)
            # a peer that answered nothing within wrk's timeout counts as 2000 ms: a floor
            r50, r99 = b50 / ours_f["p50_ms"], b99 / ours_f["p99_ms"]
            goal = TARGETS.get(kind, 5.0)
            lines.append(
                f"| {KIND_LABEL[kind]} | {c} | {ours_f['p50_ms']:.2f} / {ours_f['p99_ms']:.2f} | "
                f"{b50:.2f} / {b99:.2f} | {r50:.1f}x / {r99:.1f}x | {goal:.0f}x | "
                f"{'yes' if min(r50, r99) >= goal else 'no'} |"
            )
    ours_r = next((r.figures for r in res.report if r.system == "Hashtag Index"), None)
    peer_r = [r.figures for r in res.report if r.system in EMBEDDED]
    if ours_r and peer_r:
        best = max(f["rows_s"] for f in peer_r)
        lines.append(
            f"| full report (rows/s) | 1 | {ours_r['rows_s']:,.0f} rows/s | {best:,.0f} rows/s | "
            f"{ours_r['rows_s'] / best:.1f}x | 2x | "
            f"{'yes' if ours_r['rows_s'] / best >= 2 else 'no'} |"
        )
    ours_b = next((r.figures for r in res.build if r.system == "Hashtag Index"), None)
    peer_b = [r.figures for r in res.build if r.system in EMBEDDED]
    if ours_b and peer_b:
        best_s = min(f["seconds"] for f in peer_b)
        lines.append(
            f"| build (s) | - | {ours_b['seconds']:.1f} s | {best_s:.1f} s | "
            f"{best_s / ours_b['seconds']:.2f}x | 1x | "
            f"{'yes' if best_s >= ours_b['seconds'] else 'no'} |"
        )
    return lines


if __name__ == "__main__":
    main()
