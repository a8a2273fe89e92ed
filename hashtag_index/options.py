"""Options several commands share, and what ``build`` and ``update`` make of them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.errors import IndexerError
from indexer.formats import registry
from indexer.publish import DEFAULT_KEEP
from indexer.schema import UNKNOWN_PLATFORM, default_index_dir

if TYPE_CHECKING:
    from indexer.options import BuildOptions

FORMATS = list(registry.names())
"""Values of --format: every format of indexer.formats.registry (which loads no reader,
so that --help stays fast)."""


def add_index_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--index",
        type=Path,
        default=None,
        metavar="DIR",
        help="index directory (default: $HASHTAG_INDEX_DIR or ./var/index)",
    )


def add_keep_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keep",
        type=int,
        default=DEFAULT_KEEP,
        metavar="N",
        help=f"generations to keep on disk, the new one included (default: {DEFAULT_KEEP})",
    )


def add_ray_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        default=None,
        help="run the work as tasks on Ray (needs the 'ray' extra): 'local' starts a Ray of "
        "this machine's cores, 'auto' joins the cluster 'ray start' made, ray://HOST:PORT a "
        "remote one. build: each input file (or each range of a big uncompressed JSON-lines "
        "file) is read by a task, the posts deduplicated by a task per bucket of ids, indexed "
        "by a task per run of days, and each day's split written by one; update: each new "
        "input is read by a task; compact: each patched day is rewritten by one. "
        "The index directory must be storage every node sees. The generation is the same "
        "as without it",
    )


def add_ingest_options(p: argparse.ArgumentParser) -> None:
    """The arguments of ``build`` and ``update``."""
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="file, directory or glob")
    add_index_option(p)
    p.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="read every input in this format instead of detecting it per file: "
        + registry.format_help(),
    )
    _add_mapping_options(p)
    _add_reading_options(p)
    add_ray_option(p)
    p.add_argument(
        "--quiet", action="store_true", help="no progress display, only the summary line"
    )


def _add_mapping_options(p: argparse.ArgumentParser) -> None:
    """How to read CSV/Parquet exports of other tools."""
    p.add_argument(
        "--map",
        dest="column_map",
        metavar="FIELD=COLUMN,...",
        default=None,
        help="read CSV/Parquet exports of other tools: which column holds each canonical "
        "field, e.g. created_at=Date,text=Message,author=Author,id=PostID (overrides "
        "--map-file per field)",
    )
    p.add_argument(
        "--map-file",
        type=Path,
        default=None,
        metavar="FILE",
        help='the same as a JSON file: {"created_at": "Date", "text": "Message", ...}, '
        'optionally with "timezone" and "created_at_format"',
    )
    p.add_argument(
        "--map-tz",
        default=None,
        metavar="ZONE",
        help="with a map: the zone of created_at values that have none (an IANA name such "
        "as Europe/Berlin, UTC, or +02:00); values with a zone or epoch seconds are kept",
    )
    p.add_argument(
        "--map-time-format",
        default=None,
        metavar="FMT",
        help="with a map: created_at as strftime FMT, e.g. '%%m/%%d/%%Y %%H:%%M' (needs "
        "--map-tz unless FMT has %%z); values not in FMT are read as RFC 3339 or epoch",
    )
    p.add_argument(
        "--csv-delimiter",
        default=None,
        metavar="CHAR",
        help="the field delimiter of CSV inputs: one character, or 'tab' (default: detected "
        "per file from its header: the one of , ; tab | that splits it into the most columns)",
    )


def _add_reading_options(p: argparse.ArgumentParser) -> None:
    """What rows count as, generations kept, and which files of a directory are read."""
    p.add_argument(
        "--reposts",
        choices=["count", "exclude"],
        default="count",
        help="native reposts, retweets and boosts: count them as the reposter's use of the "
        "tags (default), or exclude them (skipped, not indexed)",
    )
    p.add_argument(
        "--platform",
        default=UNKNOWN_PLATFORM,
        metavar="P",
        help=f"platform of rows that do not name one (default: {UNKNOWN_PLATFORM})",
    )
    add_keep_option(p)
    p.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="in INPUT directories, also read symbolic links that lead out of the directory "
        "(by default they are passed over, with a warning naming them)",
    )


def index_dir(arg: Path | None) -> Path:
    """--index, else the default index directory."""
    return arg if arg is not None else default_index_dir()


def check_keep(keep: int) -> None:
    if keep < 1:
        raise IndexerError("--keep must be at least 1")


def ingest_options(args: argparse.Namespace) -> BuildOptions:
    """``build``'s and ``update``'s arguments as the indexer's options, checked."""
    from indexer.options import BuildOptions

    check_keep(args.keep)
    column_map, timezone, created_at_format = _column_mapping(args)
    return BuildOptions(
        index_dir=index_dir(args.index),
        format=args.format,
        platform=args.platform,
        column_map=column_map,
        timezone=timezone,
        created_at_format=created_at_format,
        reposts=args.reposts,
        keep=args.keep,
        follow_symlinks=args.follow_symlinks,
        csv_delimiter=_csv_delimiter(args.csv_delimiter),
        ray=args.ray,
    )


def _column_mapping(
    args: argparse.Namespace,
) -> tuple[dict[str, str] | None, str | None, str | None]:
    """The column map, zone and time format of --map-file, overridden by --map,
    --map-tz and --map-time-format; checked."""
    from indexer.ingest import check_mapping, load_mapping_file, parse_column_map

    column_map: dict[str, str] | None = None
    timezone, created_at_format = None, None
    if args.map_file is not None:
        column_map, timezone, created_at_format = load_mapping_file(args.map_file)
    if args.column_map is not None:
        column_map = {**(column_map or {}), **parse_column_map(args.column_map)}
    timezone = args.map_tz or timezone
    created_at_format = args.map_time_format or created_at_format
    mapped = column_map is not None or timezone is not None or created_at_format is not None
    mappable = sorted(f.name for f in registry.FORMATS if f.column_map)
    if mapped and args.format is not None and args.format not in mappable:
        names = " and ".join(n.upper() if n == "csv" else n.capitalize() for n in mappable)
        raise IndexerError(
            f"a column map (--map, --map-file, --map-tz, --map-time-format) is for {names} "
            f"inputs, not --format {args.format}"
        )
    check_mapping(column_map, timezone, created_at_format)
    return column_map, timezone, created_at_format


def _csv_delimiter(given: str | None) -> str | None:
    if given is None:
        return None
    delimiter = {"tab": "\t", "\\t": "\t"}.get(given.lower(), given)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise IndexerError(
            f"--csv-delimiter must be one character other than a quote or a line break, "
            f"or 'tab', not {given!r}"
        )
    return delimiter
