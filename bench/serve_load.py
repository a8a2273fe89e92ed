"""Load-test the HTTP API on loopback with wrk, on a built generation.

    uv run python bench/build.py --posts 1000000          # once: builds bench/out/index-1000000
    uv run python bench/serve_load.py --index bench/out/index-1000000

Starts ``hashtag-index serve`` (granian, ``--workers``, default 1) on 127.0.0.1, then for each
endpoint type runs wrk (Debian package ``wrk``) for a fixed time at fixed
concurrency over a list of varied URLs (a Lua script cycles through them),
and prints p50/p99 latency and requests/s. Then downloads the full CSV report
and prints rows/s and the server's peak RSS. Only loopback is targeted, and
every run is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.globals import read_tags  # noqa: E402

LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = (i %% #paths) + 1
  return wrk.format("GET", paths[i])
end
"""


def url_sets(generation: Path, n: int = 200) -> dict[str, list[str]]:
    tags = read_tags(generation).select("tag", "posts").head(2000)
    manifest = json.loads((generation / "manifest.json").read_text())
    last = manifest["to"][:10]
    picks = tags["tag"].to_list()
    sample = [picks[(i * 7919) % len(picks)] for i in range(n)]
    quoted = [urllib.request.quote(t) for t in sample]
    words = [
        "coffee",
        "match",
        "rust",
        "python",
        "music",
        "news",
        "game",
        "street",
        '"good morning"',
        "footbal",
    ]
    days = [
        f"{last[:8]}{int(last[8:10]) - d:02d}T{h:02d}:00:00Z"
        for d in range(3)
        for h in (0, 6, 12, 18)
    ]
    return {
        "trending 24h/7d": [f"/v1/trending?window=24h&baseline=7d&as_of={d}" for d in days],
        "trending 6h/24h": [f"/v1/trending?window=6h&baseline=24h&as_of={d}" for d in days],
        "tag detail": [f"/v1/hashtags/{t}" for t in quoted],
        "timeseries (day)": [f"/v1/hashtags/{t}/timeseries?interval=day" for t in quoted],
        "related": [f"/v1/hashtags/{t}/related" for t in quoted],
        "autocomplete": [f"/v1/hashtags?prefix={t[:2]}" for t in quoted],
        "search": [f"/v1/posts?q={urllib.request.quote(w)}" for w in words]
        + [f"/v1/posts?q={urllib.request.quote(w)}&sort=recent" for w in words]
        + [f"/v1/posts?tag={t}&sort=engagement" for t in quoted[:20]],
    }


def wait_ready(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not become ready")


def run_wrk(base: str, paths: list[str], seconds: int, connections: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n")
        script = Path(tmp) / "cycle.lua"
        script.write_text(LUA % listing)
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        ).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "rps": rps,
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def rss_of(pid: int) -> int:
    """Peak RSS (bytes) of a process and its children (granian runs a worker)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    kids = [int(x) for x in out.split()]
    return kids + [g for k in kids for g in _children(k)]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--index", type=Path, default=ROOT / "bench" / "out" / "index-1000000")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument(
        "--connections", default="1,8", help="comma-separated concurrency levels (default 1,8)"
    )
    ap.add_argument("--only", help="run only endpoint types containing this text")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    generation = (args.index / "current").resolve()
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hashtag_index",
            "serve",
            "--index",
            str(args.index),
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_ready(base)
        levels = [int(c) for c in args.connections.split(",")]
        print(
            f"# HTTP benchmark: {generation.name}, wrk -t1 -d{args.seconds}s, "
            f"granian {args.workers} worker(s), {os.cpu_count()} cores\n"
        )
        print("| endpoint | connections | p50 ms | p99 ms | req/s | non-2xx |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, paths in url_sets(generation).items():
            if args.only and args.only not in name:
                continue
            for c in levels:
                r = run_wrk(base, paths, args.seconds, c)
                print(
                    f"| {name} | {c} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                    f"{r['rps']:,.0f} | {int(r['non_2xx'])} |",
                    flush=True,
                )
        rss_before = rss_of(server.pid)
        t = time.monotonic()
        rows = size = 0
        with urllib.request.urlopen(base + "/v1/reports/index.csv", timeout=300) as r:
            while chunk := r.read(1 << 16):
                size += len(chunk)
                rows += chunk.count(b"\n")
        seconds = time.monotonic() - t
        rows -= 1  # header
        print(
            f"\nfull CSV report: {rows:,} rows, {size / 1e6:.1f} MB in {seconds:.2f} s = "
            f"{rows / seconds:,.0f} rows/s; server peak RSS {rss_before / 2**20:.0f} MiB before, "
            f"{rss_of(server.pid) / 2**20:.0f} MiB after"
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
