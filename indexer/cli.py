"""The ``hashtag-index`` command line."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from indexer.errors import IndexerError
from indexer.publish import IndexDir, default_index_dir
from indexer.schema import Manifest, read_manifest

DESCRIPTION = """\
Hashtag Index: build a searchable index of hashtags from social-media dumps
and serve trends, tag statistics and reports over HTTP.

Typical use:
  hashtag-index build dumps/            index every dump under dumps/
  hashtag-index info                    what the published index holds
  hashtag-index serve                   serve the HTTP API on port 8000

The index directory is --index, else $HASHTAG_INDEX_DIR, else ./var/index.
"""

BUILD_HELP = """\
Build a new generation from INPUT alone and publish it atomically.

INPUT is a file, a directory (read recursively) or a glob ('dumps/*.ndjson.gz').
Canonical dumps are NDJSON, CSV or Parquet, optionally .gz or .zst compressed,
one post per row with: id, created_at (RFC 3339 with a zone, or epoch seconds),
author, text (required); platform, lang, likes, reposts, replies, quotes,
hashtags (optional). A post's identity is (platform, id): a later copy, in the
same file or a later INPUT, replaces an earlier one.

Rows that cannot be read are not indexed but written, with file, line and
reason, to the generation's rejects.ndjson, and counted. A file that cannot
be opened fails the build; the published generation is then left as it was.
"""

INFO_HELP = "Print the published generation's manifest (posts, tags, duplicates, sources...)."

SERVE_HELP = """\
Serve the HTTP API over the published generation. With an empty index
directory, first build one from the bundled sample data (data/).
"""


def _add_index_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--index",
        type=Path,
        default=None,
        metavar="DIR",
        help="index directory (default: $HASHTAG_INDEX_DIR or ./var/index)",
    )


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hashtag-index",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser(
        "build",
        help="build and publish a new generation from dumps",
        description=BUILD_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("inputs", nargs="+", metavar="INPUT", help="file, directory or glob")
    _add_index_option(b)
    b.add_argument(
        "--format",
        choices=["ndjson", "csv", "parquet"],
        default=None,
        help="read every input in this format instead of detecting it per file",
    )
    b.add_argument(
        "--platform",
        default="unknown",
        metavar="P",
        help="platform of rows that do not name one (default: unknown)",
    )
    b.add_argument(
        "--keep",
        type=int,
        default=3,
        metavar="N",
        help="generations to keep on disk, the new one included (default: 3)",
    )
    b.add_argument(
        "--quiet", action="store_true", help="no progress display, only the summary line"
    )

    i = sub.add_parser(
        "info", help="show the published generation's manifest", description=INFO_HELP
    )
    _add_index_option(i)
    i.add_argument("--json", action="store_true", help="print the manifest as JSON")

    s = sub.add_parser("serve", help="serve the HTTP API", description=SERVE_HELP)
    _add_index_option(s)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    s.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    s.add_argument(
        "--sample",
        type=Path,
        default=None,
        metavar="DIR",
        help="dumps to build from when the index is empty (default: the bundled data/sample)",
    )
    return parser


def _index_dir(arg: Path | None) -> Path:
    return arg if arg is not None else default_index_dir()


def cmd_build(args: argparse.Namespace) -> int:
    from indexer.build import BuildOptions, build
    from indexer.progress import Progress

    if args.keep < 1:
        raise IndexerError("--keep must be at least 1")
    options = BuildOptions(
        index_dir=_index_dir(args.index),
        format=args.format,
        platform=args.platform,
        keep=args.keep,
    )
    progress = Progress(enabled=False if args.quiet else None)
    result = build(args.inputs, options, now=datetime.now(UTC), progress=progress)
    print(summary_line(result.manifest))
    return 0


def summary_line(m: Manifest) -> str:
    indexed = m.read - m.rejected
    return (
        f"generation {m.generation}: read {m.read} rows, indexed {m.posts} posts "
        f"({indexed} accepted, {m.duplicates} duplicates, {m.rejected} rejected), "
        f"{m.tags} tags, {m.seconds:.1f} s"
    )


def cmd_info(args: argparse.Namespace) -> int:
    gen_dir = IndexDir(_index_dir(args.index)).require_current()
    manifest = read_manifest(gen_dir)
    if args.json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(manifest), indent=2).decode())
        sys.stdout.write("\n")
        return 0
    span = f"{_fmt(manifest.from_)} .. {_fmt(manifest.to)}"
    print(f"generation   {manifest.generation}  ({gen_dir})")
    print(f"built_at     {_fmt(manifest.built_at)} in {manifest.seconds:.1f} s")
    print(f"posts        {manifest.posts}")
    print(f"tags         {manifest.tags}")
    print(f"read         {manifest.read} rows")
    print(f"duplicates   {manifest.duplicates}")
    print(f"rejected     {manifest.rejected}  (see {gen_dir / 'rejects.ndjson'})")
    print(f"time span    {span}")
    print(f"sources      {len(manifest.sources)}")
    for s in manifest.sources:
        print(f"  {s.path}  {s.format}  {s.rows} rows  {s.rejected} rejected  {s.sha256[:12]}")
    return 0


def _fmt(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if t is not None else "-"


BUNDLED_SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def cmd_serve(args: argparse.Namespace) -> int:
    from service.run import serve

    index_dir = _index_dir(args.index)
    if IndexDir(index_dir).current_dir() is None:
        sample = args.sample or BUNDLED_SAMPLE
        print(f"hashtag-index: {index_dir} is empty; building it from {sample}", file=sys.stderr)
        from indexer.build import BuildOptions, build
        from indexer.progress import Progress

        result = build(
            [str(sample)],
            BuildOptions(index_dir=index_dir),
            now=datetime.now(UTC),
            progress=Progress(),
        )
        print(summary_line(result.manifest), file=sys.stderr)
    serve(
        index_dir=index_dir,
        host=args.host,
        port=args.port,
        workers=args.workers,
    )
    return 0


COMMANDS = {"build": cmd_build, "info": cmd_info, "serve": cmd_serve}


def main(argv: list[str] | None = None) -> None:
    args = make_parser().parse_args(argv)
    try:
        code = COMMANDS[args.command](args)
    except IndexerError as e:
        print(f"hashtag-index: error: {e}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print("hashtag-index: interrupted; nothing was published", file=sys.stderr)
        code = 130
    sys.stdout.flush()
    sys.exit(code)
