"""``info``: what the published generation holds."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import msgspec

from hashtag_index.options import add_index_option, index_dir
from indexer.progress import plural
from indexer.publish import IndexDir
from indexer.schema import (
    ACCOUNTS_NEW_TABLE,
    COOC_DELTA_TABLE,
    SPLIT_REMOVED,
    Manifest,
    map_ipc,
    read_manifest,
)

INFO_HELP = (
    "Print the published generation's manifest: posts, tags, rows read, duplicates, "
    "rejected, deletes, native records skipped (not posts), and per source its format, "
    "rows, rejects, delete events, skipped records and adjusted rows by reason."
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    i = sub.add_parser(
        "info", help="show the published generation's manifest", description=INFO_HELP
    )
    add_index_option(i)
    i.add_argument("--json", action="store_true", help="print the manifest as JSON")


def cmd_info(args: argparse.Namespace) -> int:
    gen_dir = IndexDir(index_dir(args.index)).require_current()
    manifest = read_manifest(gen_dir)
    if args.json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(manifest), indent=2).decode())
        sys.stdout.write("\n")
        return 0
    _print_totals(gen_dir, manifest)
    _print_sources(manifest)
    return 0


def _print_totals(gen_dir: Path, manifest: Manifest) -> None:
    span = f"{_fmt(manifest.from_)} .. {_fmt(manifest.to)}"
    print(f"generation   {manifest.generation}  ({gen_dir})")
    print(f"built_at     {_fmt(manifest.built_at)} in {manifest.seconds:.1f} s")
    if manifest.parent is not None:
        print(f"updated from {manifest.parent}")
    print(f"posts        {manifest.posts}")
    print(f"tags         {manifest.tags}")
    print(f"read         {plural(manifest.read, 'row')}")
    print(f"duplicates   {manifest.duplicates}")
    print(f"rejected     {manifest.rejected}  (see {gen_dir / 'rejects.ndjson'})")
    if manifest.deleted or manifest.deletes_unmatched:
        unmatched = plural(manifest.deletes_unmatched, "delete")
        print(f"deleted      {manifest.deleted}  ({unmatched} unmatched)")
    if manifest.skipped:
        print(f"skipped      {plural(manifest.skipped, 'record')} (not posts; by source below)")
    print(f"time span    {span}")
    print(f"splits       {_splits_line(gen_dir, manifest)}")
    pending = _pending_line(gen_dir)
    if pending:
        print(f"pending      {pending}")


def _print_sources(manifest: Manifest) -> None:
    print(f"sources      {len(manifest.sources)}")
    for s in manifest.sources:
        print(
            f"  {s.path}  {s.format}  {plural(s.rows, 'row')}  {s.rejected} rejected  "
            f"{s.sha256[:12]}"
        )
        if s.deletes:
            print(f"      {plural(s.deletes, 'delete event')}")
        for reason, n in s.skipped.items():
            print(f"      skipped {n}: {reason}")
        for note, n in s.notes.items():
            print(f"      adjusted {n}: {note}")


def _splits_line(gen_dir: Path, manifest: Manifest) -> str:
    """How many days, their span, and how many an update patched (compact rewrites those)."""
    splits = manifest.splits
    if not splits:
        return "none"
    line = f"{plural(len(splits), 'day')} ({splits[0].day} .. {splits[-1].day})"
    patched = sum((gen_dir / s.path / SPLIT_REMOVED.file).exists() for s in splits)
    if patched:
        line += f", {patched} patched ('hashtag-index compact' rewrites them)"
    return line


def _pending_line(gen_dir: Path) -> str:
    """The changes updates keep beside the pair and account tables ('' if none)."""
    counts = []
    for spec, what in ((COOC_DELTA_TABLE, "tag-pair change"), (ACCOUNTS_NEW_TABLE, "new account")):
        rows = map_ipc(gen_dir / spec.file).height if (gen_dir / spec.file).exists() else 0
        if rows:
            counts.append(plural(rows, what))
    if not counts:
        return ""
    return f"{', '.join(counts)} beside the tables (folded past a tenth, or by 'compact')"


def _fmt(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if t is not None else "-"
