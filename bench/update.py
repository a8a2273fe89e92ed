"""Benchmark ``hashtag-index update`` of a day against a full rebuild.

    uv run python bench/update.py                    # a month of 1M posts + one day
    uv run python bench/update.py --posts 200000 --day-posts 7000 --replace 1000
    uv run python bench/update.py --save bench/results/update-now.json

1. the month: bench/out/posts-<N>-s1.ndjson (bench/gen.py, cached; 28 days
   ending 2026-11-01), built into a fresh index;
2. the day: ``--day-posts`` fresh rows of 2026-11-01 (bench/gen.py with
   another seed, ``--days 1 --end 2026-11-02``), then ``--replace`` rows of the
   month given a new copy (more likes, an edited text, for a third of them a
   new tag list, so that some tags gain and some lose posts);
3. ``update`` of the month's index with the day, and a ``build`` of the month
   and the day from scratch, each in a child process (wall time, peak RSS);
4. checks that both generations are the same: manifest counts, every table
   as data, tantivy's document count; prints the figures and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
WORK = OUT / "update-bench"
sys.path.insert(0, str(ROOT))

MONTH_END = "2026-11-01T00:00:00Z"
DAY_END = "2026-11-02T00:00:00Z"
COUNTS = ("posts", "tags", "read", "duplicates", "rejected", "from", "to")


def day_dump(month: Path, n_fresh: int, n_replace: int, seed: int) -> Path:
    """The day's dump: fresh posts of the day after the month, then new copies of
    ``n_replace`` posts of the month (cached in bench/out/)."""
    path = OUT / f"day-{n_fresh}-r{n_replace}-s{seed}-of-{month.stem}.ndjson"
    if path.exists():
        return path
    fresh = OUT / f"day-{n_fresh}-s{seed}.fresh.ndjson"
    subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench" / "gen.py")),
            *("--posts", str(n_fresh), "--seed", str(seed), "--days", "1", "--end", DAY_END),
            *("--dup-rate", "0.01", "--bad-rate", "0.001", "--quiet", "--out", str(fresh)),
        ],
        check=True,
    )
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        out.write(fresh.read_bytes())
        for line in _replacements(month, n_replace):
            out.write(line + b"\n")
    fresh.unlink()
    tmp.rename(path)
    return path


def _replacements(month: Path, n: int) -> list[bytes]:
    """New copies of ``n`` well-formed rows spread over the month's dump."""
    import msgspec

    total = _rows(month)
    step = max(total // max(n, 1), 1)
    decode, encode = msgspec.json.decode, msgspec.json.encode
    picked: list[bytes] = []
    with open(month, "rb") as f:
        for i, line in enumerate(f):
            if i % step or len(picked) >= n:
                continue
            try:
                row = decode(line)
            except msgspec.DecodeError:
                continue
            if not isinstance(row, dict) or not row.get("author") or "id" not in row:
                continue
            likes = row.get("likes")
            row["likes"] = (likes if isinstance(likes, int) else 0) + 1
            row["text"] = f"{row.get('text') or ''} (edited)"
            if len(picked) % 3 == 0:
                row["hashtags"] = ["Edited", "DayAfter"]
            picked.append(encode(row))
    return picked


def run_measured(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (bytes) and output (its one summary line) of a child process."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}")
    assert proc.stdout is not None
    return seconds, usage.ru_maxrss * 1024, proc.stdout.read().strip()


def indexer(*args: str) -> list[str]:
    return [sys.executable, "-m", "hashtag_index", *args, "--quiet", "--keep", "2"]


def manifest_of(index: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((index / "current" / "manifest.json").read_text())
    return result


def same_generation(a: Path, b: Path) -> list[str]:
    """The differences between two generations' counts, tables and tantivy document counts."""

    from indexer.globals import read_cooc, read_posts, read_tags
    from indexer.schema import open_posts_index

    ga, gb = (a / "current").resolve(), (b / "current").resolve()
    ma, mb = manifest_of(a), manifest_of(b)
    diffs = [f"manifest {k}: {ma[k]} != {mb[k]}" for k in COUNTS if ma[k] != mb[k]]
    readers = {"posts": (read_posts, ["uid"]), "tags": (read_tags, ["tag"])}
    readers["cooc"] = (read_cooc, ["tag", "other"])
    for name, (read, by) in readers.items():
        x, y = read(ga), read(gb)
        if not x.sort(by).equals(y.sort(by).select(x.columns)):
            diffs.append(f"{name} differs")
    docs = [open_posts_index(g).searcher().num_docs for g in (ga, gb)]
    if docs[0] != docs[1]:
        diffs.append(f"tantivy documents: {docs[0]} != {docs[1]}")
    return diffs


def bench(n: int, n_day: int, n_replace: int, seed: int) -> dict[str, Any]:
    from bench.build import dump_for

    month = dump_for(n, 1)
    day = day_dump(month, n_day, n_replace, seed)
    shutil.rmtree(WORK, ignore_errors=True)
    updated, rebuilt = WORK / "updated", WORK / "rebuilt"

    build_s, build_rss, _ = run_measured(indexer("build", str(month), "--index", str(updated)))
    update_s, update_rss, summary = run_measured(
        indexer("update", str(day), "--index", str(updated))
    )
    rebuild_s, rebuild_rss, _ = run_measured(
        indexer("build", str(month), str(day), "--index", str(rebuilt))
    )
    m = manifest_of(updated)
    return {
        "month_rows": _rows(month),
        "day_rows": _rows(day),
        "update_summary": summary,
        "posts": m["posts"],
        "tags": m["tags"],
        "duplicates": m["duplicates"],
        "build_month_seconds": build_s,
        "update_day_seconds": update_s,
        "rebuild_seconds": rebuild_s,
        "update_over_rebuild": update_s / rebuild_s,
        "update_stage_seconds": m["stage_seconds"],
        "update_in_process_seconds": m["seconds"],
        "peak_rss_mib": {
            "build": build_rss / 2**20,
            "update": update_rss / 2**20,
            "rebuild": rebuild_rss / 2**20,
        },
        "differences": same_generation(updated, rebuilt),
    }


def _rows(path: Path) -> int:
    """Non-blank lines of a file."""
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def report(r: dict[str, Any]) -> str:
    rss = r["peak_rss_mib"]
    verdict = "identical" if not r["differences"] else "DIFFERENT: " + "; ".join(r["differences"])
    return "\n".join(
        [
            f"month: {r['month_rows']:,} rows; day: {r['day_rows']:,} rows",
            f"update said: {r['update_summary']}",
            f"result: {r['posts']:,} posts, {r['tags']:,} tags, {r['duplicates']:,} duplicates",
            "",
            "| run | wall (s) | peak RSS (MiB) |",
            "|---|---:|---:|",
            f"| build month | {r['build_month_seconds']:.2f} | {rss['build']:.0f} |",
            f"| update day | {r['update_day_seconds']:.2f} | {rss['update']:.0f} |",
            f"| rebuild month + day | {r['rebuild_seconds']:.2f} | {rss['rebuild']:.0f} |",
            "",
            f"update / rebuild: {r['update_over_rebuild']:.3f}",
            f"update stages (s): {r['update_stage_seconds']} "
            f"(in process {r['update_in_process_seconds']:.2f} s)",
            f"update vs rebuild: {verdict}",
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--posts", type=int, default=1_000_000, help="rows of the month")
    ap.add_argument("--day-posts", type=int, default=30_000, help="fresh rows of the day")
    ap.add_argument("--replace", type=int, default=5_000, help="day rows replacing month posts")
    ap.add_argument("--seed", type=int, default=2, help="seed of the day's fresh rows")
    ap.add_argument("--save", type=Path, help="save the figures as JSON")
    args = ap.parse_args()
    result = bench(args.posts, args.day_posts, args.replace, args.seed)
    print(
        f"# update benchmark ({os.cpu_count()} cores, "
        f"python {platform.python_version()}, {platform.machine()})"
    )
    print(report(result))
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(result, indent=2, default=str) + "\n")
    if result["differences"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
