"""How costs grow with history at a fixed, firehose-like daily rate (~330k posts/day).

    uv run python bench/scale.py                              # 1M (3 days) and 10M (30 days)
    uv run python bench/scale.py --sizes 1000000 --requests 100
    uv run --project /work/main python /work/main/bench/scale.py --root /work/baseline \\
        --sizes 1000000 --label baseline-1M                   # measure another worktree
    uv run python bench/scale.py --sizes 1000000 \\
        --baseline bench/results/scale-2026-12-04-baseline-1M.json   # new / old ratios

For each size N in ``--sizes`` (history of round(N / 330,000) days ending
2026-11-01, bench/gen.py seed 1, 1% duplicates, 0.1% bad rows, planted trends):

1. dumps, cached in ``--workdir``: the history ``scale-<N>.ndjson``; the "hour"
   ``hour-14000-s3.ndjson`` and the "day" ``day-330000-s2.ndjson``. gen.py only
   spans whole days (``--days`` >= 1), so the "hour" is an hour's worth of rows
   (14,000) spread over the day after the history (2026-11-01), seed 3; the day
   is 330,000 rows of that same day, seed 2.
2. ``build`` of the history in a child process: wall seconds, peak RSS
   (``ru_maxrss`` from wait4), input rows per second, size on disk.
3. ``update`` with the hour and, on another ``cp -a`` copy of the built index,
   with the day: wall seconds and peak RSS; ``build`` of the day alone, for the
   ratio update-of-a-day / build-of-that-day. gen.py numbers Reddit ids from the
   row, so these dumps hold new copies of old posts on every day of the history;
   the same again with ``*-fresh.ndjson`` copies whose Reddit ids are moved away
   (:func:`fresh_dump`): only new posts, as a firehose brings.
4. ``compact`` when ``hashtag-index compact --help`` exits 0 (else null).
5. ``serve`` with 1 and 4 workers: seconds from process start to GET /readyz
   200; then, after every endpoint has been requested once, RssAnon summed over
   the server and all its descendants (from /proc), in total and per process.
6. publish-to-serving: with 1 worker serving a copy of the index, ``update``
   with the hour; seconds from the update's exit until GET /v1/index answers
   with another ``X-Index-Generation`` (polled every 50 ms); RssAnon right
   after the swap and once settled (a swap must not keep two generations).
7. latency over HTTP (http.client, one keep-alive connection on loopback,
   ``--requests`` per endpoint; p50/p99 ms): trending 24h/7d and 7d/28d at
   distinct ``as_of`` instants of the history's last day (no answer-cache hit),
   tag detail, daily timeseries, autocomplete, search. Tags come from the API
   (``/v1/reports/index.csv?limit=2000``), never from index files.

Commands run the ``hashtag-index`` of ``--root`` (default: this checkout), from
the environment ``uv run --project ROOT`` syncs. Results go to ``--save``
(default bench/results/scale-<date>-<label>.json, label = the root's git short
hash); a markdown table is printed, with ``--baseline`` beside a saved run's
figures and the ratio new/old. Timings on a shared machine are noisy; memory
figures are the ones to compare. ``--show PATH`` prints a saved run's table again
(with ``--baseline``, beside another's).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
GEN = HERE / "bench" / "gen.py"
DAILY = 330_000
HISTORY_END = datetime(2026, 11, 1, tzinfo=UTC)
NEXT_DAY_END = "2026-11-02T00:00:00Z"
HOUR_ROWS, HOUR_SEED = 14_000, 3
DAY_ROWS, DAY_SEED = DAILY, 2
WORKER_COUNTS = (1, 4)
WORDS = ["coffee", "match", "rust", "python", "music", "news", "game", "street"]
WORDS += ['"good morning"', "footbal"]
MIB = 2**20


# --- processes -------------------------------------------------------------


@dataclass
class Measured:
    seconds: float
    peak_rss_mib: float
    output: str


def child_env() -> dict[str, str]:
    """The environment for commands of another project: no inherited virtualenv."""
    return {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}


def resolve_indexer(root: Path) -> list[str]:
    """``hashtag-index`` of ROOT's environment (synced by ``uv run``), run directly so that
    no launcher process adds to timings or memory."""
    out = subprocess.run(
        ["uv", "run", "--project", str(root), "--frozen", "python", "-c", _SCRIPTS_DIR],
        cwd=root,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    exe = Path(out) / "hashtag-index"
    if not exe.exists():
        raise SystemExit(f"no hashtag-index in {out}")
    return [str(exe)]


_SCRIPTS_DIR = "import sysconfig; print(sysconfig.get_path('scripts'))"


def run_measured(cmd: list[str], cwd: Path) -> Measured:
    """Wall seconds, peak RSS and stdout of a child process; fails loudly on a non-zero exit."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=child_env(), stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{stderr}")
    return Measured(seconds, usage.ru_maxrss * 1024 / MIB, stdout.strip())


def measured_dict(m: Measured, rows: int | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"seconds": m.seconds, "peak_rss_mib": m.peak_rss_mib, "output": m.output}
    if rows is not None:
        d["rows"] = rows
        d["posts_per_s"] = rows / m.seconds
    return d


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- dumps -----------------------------------------------------------------


def ensure_dump(path: Path, args: list[str]) -> dict[str, Any]:
    """Generate ``path`` with bench/gen.py unless it exists; gen's summary is kept beside it."""
    summary = path.with_name(path.name + ".gen.json")
    if not path.exists():
        log(f"generating {path.name}: gen.py {' '.join(args)}")
        tmp = path.with_name(path.name + ".tmp.ndjson")
        with open(summary, "w") as err:
            subprocess.run(
                [sys.executable, str(GEN), *args, "--out", str(tmp)], stderr=err, check=True
            )
        tmp.rename(path)
    info: dict[str, Any] = {"path": str(path), "args": args}
    with suppress(OSError, ValueError):
        info["gen"] = json.loads(summary.read_text().strip().splitlines()[-1])
    return info


def days_for(size: int) -> int:
    return max(1, round(size / DAILY))


def history_dump(workdir: Path, size: int) -> tuple[Path, dict[str, Any]]:
    path = workdir / f"scale-{size}.ndjson"
    args = ["--posts", str(size), "--days", str(days_for(size))]
    args += ["--end", "2026-11-01T00:00:00Z", "--seed", "1"]
    args += ["--dup-rate", "0.01", "--bad-rate", "0.001", "--plant-trends"]
    return path, ensure_dump(path, args)


def next_day_dump(workdir: Path, name: str, rows: int, seed: int) -> tuple[Path, dict[str, Any]]:
    path = workdir / f"{name}-{rows}-s{seed}.ndjson"
    args = ["--posts", str(rows), "--days", "1", "--end", NEXT_DAY_END, "--seed", str(seed)]
    args += ["--dup-rate", "0.01", "--bad-rate", "0.001"]
    return path, ensure_dump(path, args)


def fresh_dump(dump: Path) -> Path:
    """``dump`` with its Reddit ids moved out of the history's way: gen.py numbers Reddit
    ids from the row number, so every dump's collide with the history's (new copies of
    old posts on every day). The copy is "only new posts", as a firehose brings."""
    path = dump.with_name(dump.stem + "-fresh.ndjson")
    if not path.exists():
        with dump.open() as src, path.open("w") as out:
            for line in src:
                if '"platform":"reddit"' in line:
                    line = line.replace('"id":"i', '"id":"z', 1)
                out.write(line)
    return path


# --- indexes ---------------------------------------------------------------


@dataclass
class Indexer:
    cmd: list[str]
    root: Path

    def build(self, index: Path, *inputs: Path) -> Measured:
        shutil.rmtree(index, ignore_errors=True)
        return self.run("build", "--index", str(index), *map(str, inputs), "--quiet")

    def update(self, index: Path, *inputs: Path) -> Measured:
        return self.run("update", "--index", str(index), *map(str, inputs), "--quiet")

    def run(self, *args: str) -> Measured:
        return run_measured([*self.cmd, *args], self.root)

    def has_command(self, name: str) -> bool:
        proc = subprocess.run(
            [*self.cmd, name, "--help"], cwd=self.root, env=child_env(), capture_output=True
        )
        return proc.returncode == 0

    def serve_cmd(self, index: Path, port: int, workers: int) -> list[str]:
        port_args = ["--port", str(port), "--workers", str(workers)]
        return [*self.cmd, "serve", "--index", str(index), *port_args]


def copy_index(src: Path, dst: Path) -> None:
    shutil.rmtree(dst, ignore_errors=True)
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)


def disk_mib(path: Path) -> float:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0]) / 1024


# --- /proc memory ----------------------------------------------------------


def _ppids() -> dict[int, int]:
    """pid -> parent pid of every process."""
    result: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            # the command name may hold spaces and parentheses: fields follow the last ')'
            result[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    return result


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for child, parent in _ppids().items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for kid in children.get(todo.pop(), []):
            found.append(kid)
            todo.append(kid)
    return sorted(found)


def status_mib(pid: int, field: str = "RssAnon") -> float | None:
    """A kB field of /proc/PID/status (RssAnon, VmHWM, ...) in MiB."""
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return None


def tree_memory(pid: int) -> dict[str, Any]:
    """RssAnon of the server process and each descendant; the descendants are the workers."""
    procs = [pid, *descendants(pid)]
    main = status_mib(pid) or 0.0
    workers = [m for m in map(status_mib, procs[1:]) if m is not None]
    return {
        "total_mib": main + sum(workers),
        "main_mib": main,
        "workers_mib": workers,
        "per_worker_mib": sum(workers) / len(workers) if workers else main,
        "peak_rss_total_mib": sum(status_mib(p, "VmHWM") or 0.0 for p in procs),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 once it is gone)."""
    with suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def settled_memory(pid: int, workers: int = 0, timeout: float = 900.0) -> dict[str, Any]:
    """tree_memory once the server is quiet: at least ``workers`` descendants, none of its
    processes used more than 0.05 CPU seconds in the last second (every worker has loaded
    its generation) and the total moved by less than 1% (or at the timeout, flagged)."""
    deadline = time.monotonic() + timeout
    last, cpu = tree_memory(pid), {p: cpu_seconds(p) for p in [pid, *descendants(pid)]}
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now, procs = tree_memory(pid), [pid, *descendants(pid)]
        busy = [p for p in procs if cpu_seconds(p) - cpu.get(p, 0.0) > 0.05]
        steady = abs(now["total_mib"] - last["total_mib"]) <= 0.01 * last["total_mib"]
        if len(procs) > workers and not busy and steady:
            return now
        last, cpu = now, {p: cpu_seconds(p) for p in procs}
    return last | {"not_settled": True}


# --- HTTP ------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection to the server on loopback."""

    def __init__(self, port: int, timeout: float = 300.0) -> None:
        self.port, self.timeout = port, timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        for attempt in (0, 1):
            try:
                self.conn.request("GET", path)
                resp = self.conn.getresponse()
                body = resp.read()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
            except (http.client.HTTPException, OSError):
                self.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def generation(self) -> str | None:
        status, headers, _ = self.get("/v1/index")
        return headers.get("x-index-generation") if status == 200 else None

    def close(self) -> None:
        self.conn.close()


def port_free(port: int) -> bool:
    """Nothing answers on the port and it can be bound (granian uses SO_REUSEPORT, so a
    stale server would otherwise share the port with ours)."""
    with socket.socket() as s:
        s.settimeout(0.5)
        if s.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(start: int) -> int:
    for port in range(start, start + 200):
        if port_free(port):
            return port
    raise SystemExit(f"no free port in {start}..{start + 199}")


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    started: float
    ready_seconds: float


@contextmanager
def serving(ix: Indexer, index: Path, workers: int, port: int) -> Iterator[Server]:
    """``hashtag-index serve`` in its own process group; stopped (the group) on exit."""
    port = free_port(port)
    started = time.monotonic()
    proc = subprocess.Popen(
        ix.serve_cmd(index, port, workers),
        cwd=ix.root,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_oom_first,
    )
    try:
        ready = wait_ready(proc, port, started)
        yield Server(proc, port, started, ready)
    finally:
        stop(proc)


def _oom_first() -> None:
    """In the server's process (inherited by its workers): if memory runs out, the kernel
    kills these first, not other work on the machine."""
    Path("/proc/self/oom_score_adj").write_text("1000")


def wait_ready(proc: subprocess.Popen[bytes], port: int, started: float) -> float:
    """Seconds from ``started`` until GET /readyz answers 200 (polled every 50 ms)."""
    deadline = started + 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before it was ready")
        with suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    return time.monotonic() - started
            finally:
                conn.close()
        time.sleep(0.05)
    raise SystemExit("server did not become ready in 900 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's own process group, SIGKILL after 30 s."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


# --- the workload ----------------------------------------------------------


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def as_of_instants(n: int, step: int, offset: int) -> list[str]:
    """``n`` distinct instants in the history's last day: end - (offset + k * step) s."""
    return [iso(HISTORY_END - timedelta(seconds=offset + k * step)) for k in range(n)]


def tags_from_api(client: Client, limit: int = 2000) -> list[str]:
    """Tag keys by posts, from the report CSV; autocomplete over a few letters otherwise."""
    status, _, body = client.get(f"/v1/reports/index.csv?limit={limit}")
    if status == 200:
        rows = csv.DictReader(io.StringIO(body.decode("utf-8-sig")))
        tags = [r["tag"] for r in rows if r.get("tag")]
        if tags:
            return tags
    tags = []
    for letter in "abcdefghijklmnoprstuvw":
        status, _, body = client.get(f"/v1/hashtags?prefix={letter}&limit=100")
        if status == 200:
            tags += [item["tag"] for item in _items(json.loads(body))]
    if not tags:
        raise SystemExit("the API gave no tags")
    return tags


def _items(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, list):
        return doc
    for value in doc.values() if isinstance(doc, dict) else ():
        if isinstance(value, list):
            return value
    return []


def url_sets(tags: list[str], n_tags: int = 200) -> dict[str, list[str]]:
    """The timed endpoints' URLs, each list cycled through."""
    sample = [tags[(i * 7919) % len(tags)] for i in range(min(n_tags, len(tags)))]
    quoted = [urllib.parse.quote(t, safe="") for t in sample]
    prefixes = [urllib.parse.quote(t[: 2 + i % 2], safe="") for i, t in enumerate(sample)]
    words = [urllib.parse.quote(w) for w in WORDS]
    return {
        "trending 24h/7d": [
            f"/v1/trending?window=24h&baseline=7d&as_of={t}" for t in as_of_instants(600, 97, 0)
        ],
        "trending 7d/28d": [
            f"/v1/trending?window=7d&baseline=28d&as_of={t}" for t in as_of_instants(600, 97, 48)
        ],
        "tag detail": [f"/v1/hashtags/{t}" for t in quoted],
        "timeseries (day)": [f"/v1/hashtags/{t}/timeseries?interval=day" for t in quoted],
        "autocomplete": [f"/v1/hashtags?prefix={p}" for p in prefixes],
        "search": [f"/v1/posts?q={w}" for w in words]
        + [f"/v1/posts?q={w}&sort=recent" for w in words],
    }


def warm_paths(tags: list[str]) -> list[str]:
    """Every endpoint once, at instants and tags the timed runs do not start with."""
    t = urllib.parse.quote(tags[len(tags) // 2], safe="")
    at = iso(HISTORY_END - timedelta(seconds=13))
    return [
        "/readyz",
        "/v1/index",
        f"/v1/trending?window=24h&baseline=7d&as_of={at}",
        f"/v1/trending?window=7d&baseline=28d&as_of={at}",
        f"/v1/trending?window=6h&baseline=24h&as_of={at}",
        f"/v1/hashtags/{t}",
        f"/v1/hashtags/{t}/timeseries?interval=day",
        f"/v1/hashtags/{t}/timeseries?interval=hour",
        f"/v1/hashtags/{t}/related",
        f"/v1/hashtags?prefix={t[:2]}",
        f"/v1/hashtags?q={t}x",
        "/v1/posts?q=weather",
        f"/v1/posts?tag={t}&sort=engagement",
        "/v1/reports/index.csv?limit=100",
    ]


def warm(port: int, paths: list[str], connections: int) -> int:
    """Request every path on ``connections`` fresh connections (so that each worker is
    likely to see them); the number of non-200 answers."""
    bad = 0
    for _ in range(connections):
        client = Client(port)
        try:
            bad += sum(client.get(p)[0] != 200 for p in paths)
        finally:
            client.close()
    return bad


def percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return sorted_ms[max(0, math.ceil(p * len(sorted_ms)) - 1)]


def time_endpoint(client: Client, paths: list[str], n: int) -> dict[str, Any]:
    ms: list[float] = []
    errors = 0
    for i in range(n):
        t = time.perf_counter()
        status, _, _ = client.get(paths[i % len(paths)])
        ms.append((time.perf_counter() - t) * 1000)
        errors += status != 200
    ms.sort()
    return {
        "p50_ms": percentile(ms, 0.50),
        "p99_ms": percentile(ms, 0.99),
        "mean_ms": sum(ms) / n,
        "requests": n,
        "distinct_urls": min(n, len(paths)),
        "non_200": errors,
    }


# --- steps -----------------------------------------------------------------


@dataclass
class Config:
    ix: Indexer
    workdir: Path
    requests: int
    port: int
    skip_build: bool


def index_steps(cfg: Config, size: int, history: Path, hour: Path, day: Path) -> dict[str, Any]:
    """Build, updates on copies, the day alone, compact."""
    ix, base = cfg.ix, cfg.workdir / f"index-{size}" / "base"
    r: dict[str, Any] = {}
    if cfg.skip_build:
        if not (base / "current").exists():
            raise SystemExit(f"--skip-build: no built index at {base}")
        r["build"] = None
    else:
        log(f"{size}: build {history.name}")
        r["build"] = measured_dict(ix.build(base, history), rows=size)
    r["index_disk_mib"] = disk_mib(base)
    steps = [("hour", hour, HOUR_ROWS), ("day", day, DAY_ROWS)]
    steps += [("hour_fresh", fresh_dump(hour), HOUR_ROWS), ("day_fresh", fresh_dump(day), DAY_ROWS)]
    for name, dump, rows in steps:
        copy = base.parent / f"update-{name}"
        copy_index(base, copy)
        log(f"{size}: update with the {name} ({rows} rows)")
        r[f"update_{name}"] = measured_dict(ix.update(copy, dump), rows=rows)
        if name == "day":
            r["compact"] = compact(cfg, size, copy)
        shutil.rmtree(copy)
    log(f"{size}: build of the day alone")
    alone = base.parent / "day-alone"
    r["build_day_alone"] = measured_dict(ix.build(alone, day), rows=DAY_ROWS)
    shutil.rmtree(alone)
    alone_s = r["build_day_alone"]["seconds"]
    r["update_day_over_build_day"] = r["update_day"]["seconds"] / alone_s
    r["update_day_fresh_over_build_day"] = r["update_day_fresh"]["seconds"] / alone_s
    return r


def compact(cfg: Config, size: int, index: Path) -> dict[str, Any] | None:
    """``compact`` of an updated index, when the checkout has the command."""
    if not cfg.ix.has_command("compact"):
        return None
    log(f"{size}: compact")
    return measured_dict(cfg.ix.run("compact", "--index", str(index)))


def serve_steps(cfg: Config, size: int) -> dict[str, Any]:
    """1 worker on a copy of the index (memory, latency, then publish into it); then each
    larger worker count on the untouched index (memory), unless it would not fit."""
    base = cfg.workdir / f"index-{size}" / "base"
    served = base.parent / "served"
    copy_index(base, served)
    r: dict[str, Any] = {"serve": {}}
    try:
        log(f"{size}: serve, 1 worker")
        with serving(cfg.ix, served, 1, cfg.port) as srv:
            r["serve"]["1"], tags = serve_memory(srv, 1)
            r["latency"] = latency(srv, tags, cfg.requests)
            r["rss_anon_after_latency"] = tree_memory(srv.proc.pid)
            r["publish"] = publish(cfg, srv, served, size)
    finally:
        shutil.rmtree(served, ignore_errors=True)
    # a worker's anonymous memory as it starts serving (the server runs with
    # oom_score_adj 1000: should it still run out, its workers are the ones killed)
    per_worker = max(r["serve"]["1"]["at_ready"]["workers_mib"])
    for workers in (w for w in WORKER_COUNTS if w != 1):
        need, available = workers * per_worker, mem_available_mib()
        if need > 0.9 * available:
            reason = f"needs ~{need:.0f} MiB ({workers} x 1 worker's), {available:.0f} available"
            log(f"{size}: {workers} workers skipped: {reason}")
            r["serve"][str(workers)] = {"skipped": reason}
            continue
        log(f"{size}: serve, {workers} workers")
        with serving(cfg.ix, base, workers, cfg.port) as srv:
            r["serve"][str(workers)], _ = serve_memory(srv, workers)
    return r


def serve_memory(srv: Server, workers: int) -> tuple[dict[str, Any], list[str]]:
    """Seconds to ready, RssAnon at ready and after every endpoint was requested (on 4
    fresh connections per worker) once it settles; and the tags the API listed."""
    at_ready = tree_memory(srv.proc.pid)
    client = Client(srv.port)
    tags = tags_from_api(client)
    client.close()
    bad = warm(srv.port, warm_paths(tags), connections=4 * workers)
    settled_memory(srv.proc.pid, workers)
    all_loaded = time.monotonic() - srv.started
    # again, now that every worker is accepting connections
    bad += warm(srv.port, warm_paths(tags), connections=4 * workers)
    mem = settled_memory(srv.proc.pid, workers)
    info = {
        "ready_seconds": srv.ready_seconds,
        "all_loaded_seconds": all_loaded,
        "warm_non_200": bad,
        "at_ready": at_ready,
    }
    return info | mem, tags


def mem_available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


def latency(srv: Server, tags: list[str], n: int) -> dict[str, Any]:
    client = Client(srv.port)
    try:
        out = {}
        for name, paths in url_sets(tags).items():
            log(f"  latency: {name}")
            out[name] = time_endpoint(client, paths, n)
        return out
    finally:
        client.close()


def publish(cfg: Config, srv: Server, index: Path, size: int) -> dict[str, Any]:
    """``update`` with the hour on the served index; time until the server answers from it."""
    hour = cfg.workdir / f"hour-{HOUR_ROWS}-s{HOUR_SEED}.ndjson"
    client = Client(srv.port)
    try:
        old = client.generation()
        before = tree_memory(srv.proc.pid)
        log(f"{size}: publish: update with the hour while serving {old}")
        upd = cfg.ix.update(index, hour)
        exited = time.monotonic()
        new = old
        while new == old and time.monotonic() - exited < 120:
            time.sleep(0.05)
            new = client.generation()
        swap = time.monotonic() - exited if new != old else None
        after = tree_memory(srv.proc.pid)
        warm(srv.port, warm_paths(tags_from_api(client)), connections=2)
        settled = settled_memory(srv.proc.pid, 1)
    finally:
        client.close()
    return {
        "update": measured_dict(upd, rows=HOUR_ROWS),
        "old_generation": old,
        "new_generation": new,
        "swap_seconds": swap,
        "rss_anon_before": before,
        "rss_anon_after_swap": after,
        "rss_anon_after_swap_settled": settled,
    }


def measure_size(cfg: Config, size: int) -> dict[str, Any]:
    started = time.monotonic()
    history, h_info = history_dump(cfg.workdir, size)
    hour, hour_info = next_day_dump(cfg.workdir, "hour", HOUR_ROWS, HOUR_SEED)
    day, day_info = next_day_dump(cfg.workdir, "day", DAY_ROWS, DAY_SEED)
    r: dict[str, Any] = {"size": size, "days": days_for(size)}
    r["dumps"] = {"history": h_info, "hour": hour_info, "day": day_info}
    r |= index_steps(cfg, size, history, hour, day)
    r |= serve_steps(cfg, size)
    r["run_seconds"] = time.monotonic() - started
    return r


# --- reporting -------------------------------------------------------------


def _get(d: Any, *keys: str) -> float | None:
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return None
        d = d[k]
    return float(d) if isinstance(d, int | float) else None


def figures(r: dict[str, Any]) -> list[tuple[str, float | None, str]]:
    """(label, value, format) of every reported figure of one size."""
    rows: list[tuple[str, float | None, str]] = [
        ("build: seconds", _get(r, "build", "seconds"), ".1f"),
        ("build: peak RSS MiB", _get(r, "build", "peak_rss_mib"), ".0f"),
        ("build: posts/s", _get(r, "build", "posts_per_s"), ",.0f"),
        ("index on disk MiB", _get(r, "index_disk_mib"), ".0f"),
        ("update hour: seconds", _get(r, "update_hour", "seconds"), ".2f"),
        ("update hour: peak RSS MiB", _get(r, "update_hour", "peak_rss_mib"), ".0f"),
        ("update day: seconds", _get(r, "update_day", "seconds"), ".2f"),
        ("update day: peak RSS MiB", _get(r, "update_day", "peak_rss_mib"), ".0f"),
        ("build day alone: seconds", _get(r, "build_day_alone", "seconds"), ".2f"),
        ("build day alone: peak RSS MiB", _get(r, "build_day_alone", "peak_rss_mib"), ".0f"),
        ("update day / build day alone", _get(r, "update_day_over_build_day"), ".2f"),
        ("update hour, only new posts: s", _get(r, "update_hour_fresh", "seconds"), ".2f"),
        (
            "update day, only new posts / build day",
            _get(r, "update_day_fresh_over_build_day"),
            ".2f",
        ),
        ("compact: seconds", _get(r, "compact", "seconds"), ".2f"),
        ("compact: peak RSS MiB", _get(r, "compact", "peak_rss_mib"), ".0f"),
    ]
    for w in map(str, WORKER_COUNTS):
        s = r.get("serve", {}).get(w)
        rows += [
            (f"serve {w}w: seconds to ready", _get(s, "ready_seconds"), ".2f"),
            (f"serve {w}w: seconds until all workers idle", _get(s, "all_loaded_seconds"), ".2f"),
            (f"serve {w}w: RssAnon total MiB", _get(s, "total_mib"), ".0f"),
            (f"serve {w}w: RssAnon per worker MiB", _get(s, "per_worker_mib"), ".0f"),
            (f"serve {w}w: RssAnon at ready MiB", _get(s, "at_ready", "total_mib"), ".0f"),
        ]
    p = r.get("publish")
    rows += [
        ("publish: update hour (served) s", _get(p, "update", "seconds"), ".2f"),
        ("publish: update exit -> served s", _get(p, "swap_seconds"), ".2f"),
        ("publish: RssAnon before MiB", _get(p, "rss_anon_before", "total_mib"), ".0f"),
        ("publish: RssAnon after swap MiB", _get(p, "rss_anon_after_swap", "total_mib"), ".0f"),
        (
            "publish: RssAnon settled MiB",
            _get(p, "rss_anon_after_swap_settled", "total_mib"),
            ".0f",
        ),
        (
            "publish: peak RSS (VmHWM) MiB",
            _get(p, "rss_anon_after_swap_settled", "peak_rss_total_mib"),
            ".0f",
        ),
    ]
    for name, lat in r.get("latency", {}).items():
        rows += [
            (f"{name}: p50 ms", _get(lat, "p50_ms"), ".2f"),
            (f"{name}: p99 ms", _get(lat, "p99_ms"), ".2f"),
        ]
    return rows


def fmt(v: float | None, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


def table(r: dict[str, Any], base: dict[str, Any] | None) -> str:
    head = f"### {r['size']:,} posts ({r['days']} days of ~{DAILY:,}/day)\n\n"
    if base is None:
        lines = ["| figure | value |", "|---|---:|"]
        lines += [f"| {label} | {fmt(v, spec)} |" for label, v, spec in figures(r)]
        return head + "\n".join(lines)
    old = {label: v for label, v, _ in figures(base)}
    lines = ["| figure | new | baseline | new/old |", "|---|---:|---:|---:|"]
    for label, v, spec in figures(r):
        o = old.get(label)
        ratio = f"{v / o:.2f}" if v is not None and o else "n/a"
        lines.append(f"| {label} | {fmt(v, spec)} | {fmt(o, spec)} | {ratio} |")
    return head + "\n".join(lines)


def report(result: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    meta = result["meta"]
    out = [
        f"## scale: {meta['label']} ({meta['root']} @ {meta['git']}), {meta['date']}, "
        f"{meta['cpus']} cores, {meta['requests']} requests/endpoint",
    ]
    if baseline:
        bm = baseline["meta"]
        out.append(f"baseline: {bm['label']} ({bm['root']} @ {bm['git']}), {bm['date']}")
    old_sizes = (baseline or {}).get("sizes", {})
    for key, r in result["sizes"].items():
        out += ["", table(r, old_sizes.get(key) if baseline else None)]
    return "\n".join(out)


# --- main ------------------------------------------------------------------


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def git_label(root: Path) -> str:
    short = git(root, "rev-parse", "--short", "HEAD") or "nogit"
    dirty = git(root, "status", "--porcelain", "--untracked-files=no")
    return short + ("-dirty" if dirty else "")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--root", type=Path, default=HERE, help="checkout whose hashtag-index runs")
    ap.add_argument("--sizes", default="1000000,10000000", help="history sizes, comma-separated")
    ap.add_argument("--requests", type=int, default=300, help="timed requests per endpoint")
    ap.add_argument("--skip-build", action="store_true", help="reuse WORKDIR/index-<N>/base")
    ap.add_argument("--workdir", type=Path, default=HERE / "bench" / "out" / "scale")
    ap.add_argument("--label", help="name of this run (default: the root's git short hash)")
    ap.add_argument("--save", type=Path, help="results JSON (default bench/results/scale-...)")
    ap.add_argument("--baseline", type=Path, help="a saved results JSON to compare with")
    ap.add_argument("--port", type=int, default=8790, help="first port to try for the server")
    ap.add_argument("--show", type=Path, help="only print the table of a saved results JSON")
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    root = args.root.resolve()
    label = args.label or git_label(root)
    now = datetime.now(UTC)
    save = args.save or HERE / "bench" / "results" / f"scale-{now:%Y-%m-%d}-{label}.json"
    baseline = json.loads(args.baseline.read_text()) if args.baseline else None
    if args.show:
        print(report(json.loads(args.show.read_text()), baseline))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    cfg = Config(
        Indexer(resolve_indexer(root), root),
        args.workdir,
        args.requests,
        args.port,
        args.skip_build,
    )
    result: dict[str, Any] = {
        "meta": {
            "label": label,
            "root": str(root),
            "git": git(root, "rev-parse", "HEAD"),
            "git_label": git_label(root),
            "date": now.isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "requests": args.requests,
            "indexer": cfg.ix.cmd,
            "hour_dump_note": "gen.py spans whole days only: the 'hour' is 14,000 rows "
            "spread over 2026-11-01 (the day after the history), seed 3",
        },
        "sizes": {},
    }
    for size in (int(s) for s in args.sizes.split(",")):
        result["sizes"][str(size)] = measure_size(cfg, size)
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(json.dumps(result, indent=2) + "\n")
        log(f"{size}: done in {result['sizes'][str(size)]['run_seconds']:.0f} s; saved {save}")
    print(report(result, baseline))


if __name__ == "__main__":
    main()
