"""Where a server's time goes under wrk: py-spy on ours or an embedded peer's app.

    uv run --group bench python -m bench.peers.profile ours --index DIR --kind detail
    uv run --group bench python -m bench.peers.profile duckdb --db FILE --index DIR --kind trending
    uv run --group bench python -m bench.peers.profile chdb --db DIR --index DIR --explain

Starts the server (ours from ``--index``, or the peer's app over ``--db``), takes
the workload of bench/run.py from our generation, runs wrk at one connection on
one kind's paths for ``--seconds`` while ``py-spy record`` samples the server's
processes (``--subprocesses``, native frames off), then prints each frame's
share of the samples, inclusive, grouped by where the code lives (our engine,
the peer's engine, the HTTP stack: granian/litestar/msgspec/asyncio), and the
top frames. ``--explain`` instead prints the engine's own profile of its
trending and time series queries (DuckDB ``EXPLAIN ANALYZE``; ClickHouse
``EXPLAIN indexes = 1`` and the query log's ``ProfileEvents``).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GROUPS = (
    (
        "our engine",
        (
            "service/tags.py",
            "service/trends.py",
            "service/tables.py",
            "service/search.py",
            "service/reports.py",
            "service/generation.py",
            "indexer/schema.py",
            "indexer/globals.py",
            "polars",
            "tantivy",
        ),
    ),
    ("peer engine", ("duckdb", "chdb", "bench/peers/duckdb_peer.py", "bench/peers/chdb_peer.py")),
    ("peer app", ("bench/peers/embedded.py",)),
    (
        "our routes and middleware",
        (
            "service/routes.py",
            "service/access.py",
            "service/limits.py",
            "service/metrics.py",
            "service/params.py",
            "service/keys.py",
            "service/errors.py",
        ),
    ),
    ("JSON encoding", ("msgspec",)),
    ("HTTP stack", ("litestar", "granian", "asyncio", "anyio", "concurrent", "threading")),
)


def _group(frames: list[str]) -> str:
    """The group of the innermost frame that belongs to one (a stack runs leaf last)."""
    for f in reversed(frames):
        for name, needles in GROUPS:
            if any(x in f for x in needles):
                return name
    return "other"


def summarise(raw: Path, top: int = 20) -> str:
    """Shares of a py-spy ``--format raw`` file (collapsed stacks): by group of the
    innermost known frame, then the top frames by self time and inclusive time."""
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    groups: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for f in set(frames[1:]):
            inclusive[f] += n
        leaf[frames[-1]] += n
        groups[_group(frames)] += n
    out = [f"{total} samples (busy threads only), by the innermost frame's group:"]
    out += [f"  {name}: {100 * n / max(total, 1):.1f}%" for name, n in groups.most_common()]
    out.append("top frames, self:")
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in leaf.most_common(top)]
    out.append("top frames, inclusive:")
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(out)


def profile(base: str, pid: int, paths: list[str], seconds: int) -> str:
    from bench.serve_load import run_wrk

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "spy.txt"
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                *("record", "--pid", str(pid), "--subprocesses", "--format", "raw"),
                *("--duration", str(seconds), "--rate", "250", "--output", str(raw)),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        r = run_wrk(base, paths, seconds, 1)
        spy.wait(timeout=seconds + 60)
        return f"wrk c=1: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms\n" + summarise(raw)


def explain(key: str, db: Path, w: Any) -> str:
    from datetime import datetime

    from bench.peers import embedded

    module = embedded._engine_module(embedded.ENGINES[key])
    engine = module.open_engine(db)
    first, last = engine.meta()
    as_of = datetime.fromisoformat(w.as_of[0].replace("Z", "+00:00"))
    params = embedded.trend_params(first, last, as_of)
    tag = w.tags[0]
    out: list[str] = []
    if key == "duckdb":
        names = "w0 end b0 b0_us b_us n scale prior min_authors min_growth limit".split()  # noqa: SIM905
        for title, sql, args in (
            ("trending", module.TRENDING_SQL, {k: params[k] for k in names}),
            ("timeseries", module.TIMESERIES_SQL, [tag]),
            ("related", module.RELATED_SQL, {"tag": tag, "min_support": 3, "limit": 10}),
        ):
            rows = engine.cur().execute("EXPLAIN ANALYZE " + sql, args).fetchall()
            out += [f"== {title}", *(str(r[-1]) for r in rows)]
        return "\n".join(out)
    for title, call in (
        ("trending", lambda: engine.trending(params)),
        ("timeseries", lambda: engine.timeseries(tag)),
        ("related", lambda: engine.related(tag, 10, 3)),
        ("detail", lambda: engine.detail(tag)),
        ("autocomplete", lambda: engine.autocomplete(tag[:2], 10)),
    ):
        call()
        out.append(f"== {title}: {dict(module.LAST_STATISTICS)}")
    end = params["end"].strftime("%Y-%m-%d %H:%M:%S")
    plan = engine.rows(
        "EXPLAIN indexes = 1 SELECT tag, uniqExact(account) FROM post_tags"
        f" WHERE created_at >= toDateTime64('{end}', 6, 'UTC') - INTERVAL 1 DAY"
        f" AND created_at < toDateTime64('{end}', 6, 'UTC') GROUP BY tag"
    )
    out += ["== plan of a trending window on post_tags", *(str(r[0]) for r in plan)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    import bench.run as run

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("system", choices=["ours", "duckdb", "chdb"])
    p.add_argument("--index", type=Path, required=True, help="our index (the workload)")
    p.add_argument("--db", type=Path, help="the peer's database")
    p.add_argument("--kind", default="detail", choices=[*run.QUERY_KINDS])
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--port", type=int, default=8899)
    p.add_argument("--explain", action="store_true")
    args = p.parse_args(argv)
    ours = run.Ours(args.index.parent)
    ours.index = args.index
    w = run.pick_workload(ours.generation())
    if args.explain:
        print(explain(args.system, args.db, w))
        return 0
    if args.kind == "trending":
        w = dataclasses.replace(w, as_of=run.trend_anchors(w.as_of[0], 600))
    from bench.peers.common import our_paths

    paths = our_paths(args.kind, w)
    if args.system == "ours":
        base = ours.start(args.port)
        pid = ours.pids()[0]
        try:
            print(profile(base, pid, paths, args.seconds))
        finally:
            ours.stop()
        return 0
    peer = run.load_peer(args.system)
    peer.db = args.db
    peer.work = args.db.parent
    base = peer.start(args.port)
    try:
        print(profile(base, peer.pids()[0], paths, args.seconds))
    finally:
        peer.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
