"""``serve`` and ``report``: the commands that read the published generation through the
service."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hashtag_index.options import add_index_option, index_dir
from indexer.errors import IndexerError
from indexer.publish import IndexDir
from indexer.schema import SchemaMismatchError, checked_manifest, default_index_dir
from service.query_errors import InvalidParameter

if TYPE_CHECKING:
    import polars as pl

    from service.tables import Tables

BUNDLED_SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"

REPORT_HELP = """\
Write the Hashtag Index report of the published generation as CSV, XLSX or
Parquet (--format): one row per tag with rank, tag, display, posts, authors,
engagement, share_pct, prev_posts, change_pct, first_seen, last_seen; the same
bytes as GET /v1/reports/index.csv (.xlsx, .parquet) with the same parameters.

T is an RFC 3339 time with a zone (2026-10-01T00:00:00Z) or a date (2026-10-01,
its midnight UTC); --from is inclusive, --to exclusive.
"""

SERVE_HELP = """\
Serve the HTTP API over the published generation. When the default index
directory ($HASHTAG_INDEX_DIR or ./var/index) has no generation yet, first
build one from the bundled sample data (data/sample). Any other --index DIR
without a generation is an error naming DIR and the build command (a typo must
not serve the sample), unless --sample is given.

A second server on a port already in use fails with "address already in use";
--reuse-port lets several servers share the port (the kernel spreads the
connections over them).
"""


def add_serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("serve", help="serve the HTTP API", description=SERVE_HELP)
    add_index_option(s)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    s.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    s.add_argument(
        "--reuse-port",
        action="store_true",
        help="share --port with servers already listening on it (SO_REUSEPORT: the kernel "
        "spreads the connections over them); without it, a port in use is an error",
    )
    s.add_argument(
        "--sample",
        type=Path,
        nargs="?",
        const=BUNDLED_SAMPLE,
        default=None,
        metavar="DIR",
        help="when --index DIR has no generation, build it from these dumps first (without "
        "DIR: the bundled data/sample); without --sample, only the default index directory "
        "is built from the bundled sample, and any other empty --index is an error",
    )


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    r = sub.add_parser(
        "report",
        help="write a report offline (the same bytes as the HTTP report)",
        description=REPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("kind", choices=["index"], help="the report: index (the Hashtag Index)")
    add_index_option(r)
    r.add_argument("--from", dest="from_", metavar="T", help="inclusive start (default: first day)")
    r.add_argument("--to", metavar="T", help="exclusive end (default: the day after the last post)")
    r.add_argument("--limit", type=int, metavar="N", help="only the top N tags (default: all)")
    r.add_argument("--platform", metavar="P", help="only posts of this platform")
    r.add_argument("--lang", metavar="L", help="only posts in this language")
    r.add_argument(
        "--format",
        choices=["csv", "xlsx", "parquet"],
        default="csv",
        help="file format (default: csv); the same bytes as GET /v1/reports/index.FORMAT",
    )
    r.add_argument(
        "--out", metavar="FILE", help="write here (default: standard output); '-' for stdout"
    )


def _check_schema(generation_dir: Path) -> None:
    """A published generation of another schema version is an error that says what to do."""
    try:
        checked_manifest(generation_dir, "this version reads")
    except SchemaMismatchError as e:
        raise IndexerError(f"{generation_dir.parent.parent}: {e}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    from service.run import AddressInUseError, ensure_address_free, serve

    directory = index_dir(args.index)
    try:
        if not args.reuse_port:  # checked first, then again just before listening
            ensure_address_free(args.host, args.port)
    except AddressInUseError as e:
        raise IndexerError(str(e)) from None
    current = IndexDir(directory).current_dir()
    if current is not None:
        _check_schema(current)
    else:
        _build_sample(args, directory)
    try:
        serve(
            index_dir=directory,
            host=args.host,
            port=args.port,
            workers=args.workers,
            reuse_port=args.reuse_port,
        )
    except AddressInUseError as e:
        raise IndexerError(str(e)) from None
    return 0


def _build_sample(args: argparse.Namespace, directory: Path) -> None:
    """An empty index directory: build it from the sample, if that is what was asked."""
    default = args.index is None or args.index.resolve() == default_index_dir().resolve()
    if args.sample is None and not default:
        # A typo in --index must not serve the sample as if it were the index asked for.
        raise IndexerError(
            f"no generation published in {directory}; build one with 'hashtag-index build "
            f"INPUT... --index {directory}', or pass --sample to serve the bundled sample"
        )
    sample = args.sample or BUNDLED_SAMPLE
    print(f"hashtag-index: {directory} is empty; building it from {sample}", file=sys.stderr)
    # In a child process: the server forks its workers, and a fork after polars'
    # and tantivy's threads have started can leave a worker deadlocked.
    built = subprocess.run(
        [sys.executable, "-m", "hashtag_index", "build", str(sample), "--index", str(directory)],
        check=False,
    )
    if built.returncode != 0:
        raise IndexerError(f"could not build {directory} from {sample}")


def cmd_report(args: argparse.Namespace) -> int:
    from service.report_formats import TooManyRows, check_fits
    from service.tables import load_tables

    gen_dir = IndexDir(index_dir(args.index)).require_current()
    _check_schema(gen_dir)
    if args.limit is not None and args.limit < 1:
        raise IndexerError("--limit must be at least 1")
    tables = load_tables(gen_dir)
    frame, name = _prepare_report(args, tables)
    to_stdout = args.out in (None, "-")
    if to_stdout and args.format != "csv" and sys.stdout.isatty():
        raise IndexerError(f"--format {args.format} is binary: give --out FILE")
    try:
        check_fits(frame, args.format)
    except TooManyRows as e:
        raise IndexerError(f"--limit: {e}") from None
    _write_report(args, tables, frame, to_stdout)
    if not to_stdout:
        print(f"wrote {args.out} ({frame.height} tags; served as {name})", file=sys.stderr)
    return 0


def _prepare_report(args: argparse.Namespace, tables: Tables) -> tuple[pl.DataFrame, str]:
    from service.reports import prepare

    try:
        return prepare(
            tables,
            from_=args.from_,
            to=args.to,
            limit=args.limit,
            platform=args.platform,
            lang=args.lang,
            ext=args.format,
        )
    except InvalidParameter as e:
        raise IndexerError(f"--{e}") from None


def _write_report(
    args: argparse.Namespace, tables: Tables, frame: pl.DataFrame, to_stdout: bool
) -> None:
    from service.report_formats import created_time, spooled, write_report

    if to_stdout:  # possibly a pipe (not seekable): spooled first
        for chunk in spooled(frame, args.format, created_time(tables)):
            sys.stdout.buffer.write(chunk)
    else:
        with open(args.out, "wb") as out:
            write_report(frame, args.format, out, created_time(tables))
