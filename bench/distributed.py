"""Benchmark ``build --ray``: the same dump built locally and on a Ray of 1 and 2 workers.

    uv run python bench/distributed.py                       # the 1M bench dump
    uv run python bench/distributed.py --dump FILE --save bench/results/distributed-1M.json

Each build runs in a child process (a fresh interpreter, as the CLI would). The Ray
builds join a Ray started for them with ``ray start --head --num-cpus N`` (``--ray
auto``: the cluster path), so the workers are counted apart from the driver: while a
build runs, the resident memory of every process is sampled (``/proc``) and the peak
of each is reported, the driver's and the largest Ray worker's. The figures: posts/s,
the wall time of each stage, the Ray builds' throughput as a ratio of the local
build's (the issue's target: 2 workers at least 0.8x, paying Ray's overhead on the
same two cores), and each kind of task's count, total and longest seconds
(``indexer.distributed.TASK_SECONDS``), the basis of docs/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DUMP = ROOT / "bench" / "out" / "scale" / "scale-1000000.ndjson"
sys.path.insert(0, str(ROOT))

CHILD = """
import json, resource, sys
from datetime import UTC, datetime
from pathlib import Path
from indexer.build import BuildOptions, build
from indexer import distributed
dump, index, ray = sys.argv[1], Path(sys.argv[2]), sys.argv[3] or None
result = build([dump], BuildOptions(index_dir=index, ray=ray), now=datetime.now(UTC))
m = result.manifest
print(json.dumps({
    "posts": m.posts, "seconds": m.seconds, "stages": m.stage_seconds,
    "tasks": distributed.TASK_SECONDS,
    "driver_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
}))
"""


class Sampler:
    """Peak resident memory (MiB) per process, by kind: Ray workers (``ray::`` in their
    command line) and Ray's own daemons, sampled every 0.2 s."""

    def __init__(self) -> None:
        self.peaks: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for proc in Path("/proc").iterdir():
                if not proc.name.isdigit():
                    continue
                try:
                    cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    status = (proc / "status").read_text()
                except OSError:
                    continue
                kind = "worker" if "ray::" in cmdline else ("ray" if "/ray/" in cmdline else "")
                if not kind:
                    continue
                rss = next(
                    (
                        int(line.split()[1]) // 1024
                        for line in status.splitlines()
                        if line.startswith("VmRSS:")
                    ),
                    0,
                )
                pid = int(proc.name)
                self.peaks[pid] = (kind, max(rss, self.peaks.get(pid, (kind, 0))[1]))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, kind: str) -> int:
        return max((rss for k, rss in self.peaks.values() if k == kind), default=0)

    def total(self) -> int:
        return sum(rss for _, rss in self.peaks.values())


def ray_cli() -> str:
    return str(Path(sys.executable).parent / "ray")


def run(dump: Path, workers: int | None) -> dict[str, Any]:
    """One build: local (``workers`` None) or on a fresh Ray of ``workers`` CPUs."""
    env = {**os.environ, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    with tempfile.TemporaryDirectory(prefix="bench-distributed-", dir="/tmp") as tmp:
        if workers is not None:
            subprocess.run(
                [
                    ray_cli(),
                    "start",
                    "--head",
                    f"--num-cpus={workers}",
                    "--include-dashboard=false",
                    "--disable-usage-stats",
                ],
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        try:
            with Sampler() as sampler:
                started = time.monotonic()
                out = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        CHILD,
                        str(dump),
                        str(Path(tmp) / "index"),
                        "" if workers is None else "auto",
                    ],
                    check=True,
                    env=env,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
                wall = time.monotonic() - started
        finally:
            if workers is not None:
                subprocess.run([ray_cli(), "stop", "--force"], env=env, capture_output=True)
        figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        figures["wall_seconds"] = round(wall, 2)
        figures["posts_per_s"] = round(figures["posts"] / wall)
        figures["worker_peak_mib"] = sampler.peak("worker")
        figures["ray_daemons_peak_mib"] = sampler.peak("ray")
        shutil.rmtree(Path(tmp) / "index", ignore_errors=True)
    return figures


def tasks_line(tasks: dict[str, list[float]]) -> str:
    return "; ".join(
        f"{kind} {len(s)} tasks, {sum(s):.1f} s in all, longest {max(s):.2f} s"
        for kind, s in tasks.items()
        if s
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dump", type=Path, default=DEFAULT_DUMP)
    parser.add_argument("--workers", default="1,2", help="Ray worker counts (default: 1,2)")
    parser.add_argument("--save", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    if not args.dump.exists():
        sys.exit(f"{args.dump}: no such dump (make it with bench/scale.py or bench/gen.py)")
    load = os.getloadavg()
    results: dict[str, Any] = {"local": run(args.dump, None)}
    for n in (int(w) for w in args.workers.split(",")):
        results[f"ray-{n}"] = run(args.dump, n)
    base = results["local"]["posts_per_s"]
    print(
        f"{args.dump.name}: {results['local']['posts']} posts; load average before "
        f"{load[0]:.1f}, after {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'':8} {'wall s':>7} {'posts/s':>8} {'x local':>7} {'driver MiB':>10} "
        f"{'worker MiB':>10}  stages (s)"
    )
    for name, r in results.items():
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
        print(
            f"{name:8} {r['wall_seconds']:7.1f} {r['posts_per_s']:8d} "
            f"{r['posts_per_s'] / base:7.2f} {r['driver_peak_mib']:10d} "
            f"{r['worker_peak_mib']:10d}  {stages}"
        )
        if r["tasks"]:
            print(f"{'':8} {tasks_line(r['tasks'])}")
            work = sum(sum(seconds) for seconds in r["tasks"].values())
            workers = int(name.split("-")[1])
            r["task_seconds"] = round(work, 2)
            r["outside_tasks_seconds"] = round(r["wall_seconds"] - work / workers, 2)
            print(
                f"{'':8} tasks {work:.1f} s of work: {work / r['posts'] * 1e6:.1f} us a post "
                f"on one worker; the wall time less that work over {workers} worker(s): "
                f"{r['outside_tasks_seconds']:.1f} s (Ray's start, the driver's own work)"
            )
    if args.save:
        meta = {
            "machine": platform.node(),
            "cpus": os.cpu_count(),
            "dump": str(args.dump),
            "load_before": load[0],
            "load_after": os.getloadavg()[0],
        }
        args.save.write_text(json.dumps({"meta": meta, **results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
