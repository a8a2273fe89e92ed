"""Benchmark ``hashtag-index build`` end to end, and tantivy indexing alone.

    uv run python bench/build.py --posts 1000000
    uv run python bench/build.py --posts 1000000,5000000 --save bench/results/build-now.json
    uv run python bench/build.py --posts 1000000 --baseline bench/results/build-baseline.json

For each size: generates (once, cached in bench/out/) a deterministic dump
with bench/gen.py, runs the build in a child process (wall time, peak RSS
from wait4), measures the generation's size on disk, then times tantivy
alone on the same documents (prepared in memory beforehand, so only
add_document + commit is timed). With --baseline, prints each figure beside
the baseline's and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))


def dump_for(n: int, seed: int) -> Path:
    path = OUT / f"posts-{n}-s{seed}.ndjson"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.ndjson")
        print(f"generating {n} posts -> {path}", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "gen.py"),
                "--posts",
                str(n),
                "--seed",
                str(seed),
                "--dup-rate",
                "0.01",
                "--bad-rate",
                "0.001",
                "--plant-trends",
                "--out",
                str(tmp),
            ],
            check=True,
        )
        tmp.rename(path)
    return path


def run_measured(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of a child process."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return time.monotonic() - started, usage.ru_maxrss * 1024


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def tantivy_alone(dump: Path, generation: Path) -> dict[str, float]:
    """Index the generation's posts again, as the very JSON documents the build feeds
    tantivy (``tantivy_json_lines``), prepared beforehand; time the engine only."""
    import polars as pl

    from indexer.globals import read_posts
    from indexer.schema import open_posts_index
    from indexer.tantivy_writer import tantivy_json_lines

    posts = read_posts(generation)
    frame = posts.join(_texts(dump), on="uid", how="left").with_columns(
        pl.col("text").fill_null(""), _seq=pl.int_range(pl.len(), dtype=pl.Int64())
    )
    docs = tantivy_json_lines(frame)
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        index = open_posts_index(Path(tmp), create=True)
        writer = index.writer(heap_size=256 << 20, num_threads=2)
        t0 = time.monotonic()
        for d in docs:
            writer.add_json(d)
        writer.commit()
        writer.wait_merging_threads()
        seconds = time.monotonic() - t0
    return {"tantivy_seconds": seconds, "tantivy_docs_per_s": len(docs) / seconds}


def _texts(dump: Path) -> Any:
    """uid -> text of the last copy of each post in the dump (as the build keeps it)."""
    import msgspec
    import polars as pl

    uids, texts = [], []
    dec = msgspec.json.Decoder()
    with open(dump, "rb") as f:
        for line in f:
            try:
                row = dec.decode(line)
                uids.append(f"{str(row.get('platform') or 'unknown').lower()}:{row['id']}")
                texts.append(row["text"])
            except Exception:
                continue
    return pl.DataFrame({"uid": uids, "text": texts}).unique("uid", keep="last")


def bench_size(n: int, seed: int, engine: bool) -> dict[str, Any]:
    dump = dump_for(n, seed)
    index = OUT / f"index-{n}"
    cmd = [
        sys.executable,
        "-m",
        "hashtag_index",
        "build",
        str(dump),
        "--index",
        str(index),
        "--quiet",
        "--keep",
        "1",
    ]
    seconds, rss = run_measured(cmd)
    generation = (index / "current").resolve()
    manifest = json.loads((generation / "manifest.json").read_text())
    size = tree_size(generation)
    files = {p.name: tree_size(p) if p.is_dir() else p.stat().st_size for p in generation.iterdir()}
    result: dict[str, Any] = {
        "rows": manifest["read"],
        "posts": manifest["posts"],
        "tags": manifest["tags"],
        "build_seconds": seconds,
        "posts_per_s": manifest["read"] / seconds,
        "peak_rss_mib": rss / 2**20,
        "bytes_per_post": size / max(manifest["posts"], 1),
        "stage_seconds": manifest.get("stage_seconds", {}),
        "stage_peak_rss_mib": manifest.get("stage_peak_rss_mib", {}),
        "files_bytes": files,
        "input_bytes": dump.stat().st_size,
    }
    if engine:
        result.update(tantivy_alone(dump, generation))
        result["pipeline_vs_engine"] = result["build_seconds"] / result["tantivy_seconds"]
    return result


KEYS = [
    ("build_seconds", "build wall time (s)", False),
    ("posts_per_s", "throughput (rows/s)", True),
    ("peak_rss_mib", "peak RSS (MiB)", False),
    ("bytes_per_post", "index size (bytes/post)", False),
    ("tantivy_seconds", "tantivy alone (s)", False),
    ("tantivy_docs_per_s", "tantivy alone (docs/s)", True),
]


def report(results: dict[str, dict[str, Any]], baseline: dict[str, dict[str, Any]] | None) -> str:
    lines = []
    for size, r in results.items():
        base = (baseline or {}).get(size)
        lines.append(f"\n## {int(size):,} rows ({r['posts']:,} posts, {r['tags']:,} tags)")
        head = "| metric | now |" + (" baseline | ratio (now/base) |" if base else "")
        lines += [head, "|---|---:|" + ("---:|---:|" if base else "")]
        for key, label, _higher_better in KEYS:
            if key not in r:
                continue
            row = f"| {label} | {r[key]:,.1f} |"
            if base and key in base:
                row += f" {base[key]:,.1f} | {r[key] / base[key]:.2f} |"
            lines.append(row)
        lines.append(f"\nstages (s): {r['stage_seconds']}")
        lines.append(f"peak RSS after each stage (MiB): {r.get('stage_peak_rss_mib')}")
        lines.append(f"files (MB): { {k: round(v / 1e6, 1) for k, v in r['files_bytes'].items()} }")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--posts", default="1000000", help="comma-separated sizes (default: 1000000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-engine", action="store_true", help="skip the tantivy-alone measurement")
    ap.add_argument("--baseline", type=Path, help="JSON saved by an earlier run, to compare with")
    ap.add_argument("--save", type=Path, help="save this run's figures as JSON")
    args = ap.parse_args()
    results = {
        str(n): bench_size(n, args.seed, not args.no_engine)
        for n in (int(x) for x in args.posts.split(","))
    }
    baseline = json.loads(args.baseline.read_text())["results"] if args.baseline else None
    print(
        f"# build benchmark ({os.cpu_count()} cores, "
        f"python {platform.python_version()}, {platform.machine()})"
    )
    print(report(results, baseline))
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps({"results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
