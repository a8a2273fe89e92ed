"""The ``hashtag-index`` command line."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from indexer.errors import IndexerError
from indexer.progress import plural
from indexer.publish import IndexDir
from indexer.schema import (
    SPLIT_REMOVED,
    UNKNOWN_PLATFORM,
    Manifest,
    SchemaMismatchError,
    checked_manifest,
    default_index_dir,
    read_manifest,
)

if TYPE_CHECKING:
    from indexer.build import BuildOptions
    from indexer.update import UpdateResult

DESCRIPTION = """\
Hashtag Index: build a searchable index of hashtags from social-media dumps
and serve trends, tag statistics and reports over HTTP.

Typical use:
  hashtag-index build dumps/            index every dump under dumps/
  hashtag-index update dumps/           add the dumps not indexed yet
  hashtag-index compact                 rewrite the days updates patched
  hashtag-index info                    what the published index holds
  hashtag-index serve                   serve the HTTP API on port 8000

The index directory is --index, else $HASHTAG_INDEX_DIR, else ./var/index.
"""

BUILD_HELP = """\
Build a new generation from INPUT alone and publish it atomically.

INPUT is a file, a directory (read recursively) or a glob ('dumps/*.ndjson.gz').
Files named and glob matches are always read. In a directory, a file is read
when its name ends in .ndjson, .jsonl, .json, .csv, .parquet or .pq (each
optionally .gz or .zst), or when it is .gz or .zst with no extension inside
(Pushshift's RC_2015-01.zst; its format is detected from its content). Dot
files, dot directories and documentation (README, LICENSE, LICENCE, COPYING,
*.md, *.rst) are passed over quietly; any other file is passed over with a
warning on stderr (one line per directory, naming how many and the first few).
A symbolic link in a directory that leads out of it (to a file or directory
elsewhere) is passed over with such a warning too, unless --follow-symlinks.

Canonical dumps are NDJSON, CSV or Parquet, optionally .gz or .zst compressed,
one post per row with: id, created_at (RFC 3339 with a zone, or epoch seconds),
author, text (required); platform, lang, likes, reposts, replies, quotes,
hashtags, community (optional; community: where the post was made, e.g. a
subreddit). A post's identity is (platform, id): a later copy, in the same file
or a later INPUT, replaces an earlier one.

Native platform exports are read as they are, detected by content per file
(or named with --format): x-v1, x-v2, mastodon, mastodon-outbox, bluesky,
reddit. A file of no known format fails the build with the formats tried.
Native records that are not posts (likes, identity and account events,
Bluesky reposts, outbox Announce activities, followers-only posts, X stream
notices, reposts under --reposts exclude) are skipped: not rows, not rejects.
The summary line counts them ('N records skipped (not posts)'); the manifest
and 'hashtag-index info' give them per input and reason, with the rows read
with an adjustment (e.g. a retweet counted as the reposter's post).

Other tools' CSV/Parquet exports: name their columns with --map FIELD=COLUMN,...
(or a JSON mapping file, --map-file). FIELD is a canonical field (id,
created_at, author, text, platform, lang, likes, reposts, replies, quotes,
hashtags, community); columns not mapped are still read by their canonical names. The map
applies to every CSV and Parquet INPUT (NDJSON and native inputs are read as
they are; --format ndjson or a native format with a map is an error). Without
an id column (mapped or named id), a row's id is the first 16 hex digits of
the BLAKE2b hash of its created_at, author and text as written, so the same row
exported twice is one post. Zone-less times ('2026-10-14 08:29:38') are
rejected unless --map-tz says their zone; other time forms ('10/14/2026
08:29') need --map-time-format. A mapping file is a JSON object of FIELD ->
column, plus optional "timezone" and "created_at_format" keys:

  {"created_at": "Date", "text": "Message", "author": "Author",
   "id": "PostID", "timezone": "Europe/Berlin"}

Delete events (Bluesky delete commits) remove every copy of their post read
before them (in an earlier INPUT or line); a copy read after survives. They
are counted as 'deleted' (a post was removed) or 'deletes unmatched' (no such
post at that point) in the summary line and the manifest.

Rows that cannot be read are not indexed but written, with file, line and
reason, to the generation's rejects.ndjson, and counted. A file that cannot
be opened fails the build; the published generation is then left as it was.
So does a build whose inputs hold rows but every one of them is rejected
(say, a pretty-printed JSON file of another format read as NDJSON): the
error names the inputs and their first reject reasons. One INPUT whose every
row is rejected, among inputs with posts, is a warning on stderr naming it,
and the build goes on. Inputs that hold no post at all (empty files, only
deletes or skipped records) fail the build with exit status 1, publishing
nothing, unless --allow-empty is given (then an empty generation is published).

examples:
  hashtag-index build dumps/ more/*.ndjson.zst
  hashtag-index build export.csv --map created_at=Date,text=Message,author=Author --map-tz UTC
  hashtag-index build export.parquet --map-file mapping.json
  hashtag-index build jetstream/ --format bluesky --reposts exclude
  hashtag-index build --ray auto --index /mnt/shared/index /mnt/shared/dumps/
"""

UPDATE_HELP = """\
Add INPUT to the published generation's posts and publish the result as a new
generation, atomically. The result is exactly what 'build' of all the inputs
ever ingested (the generation's sources, then INPUT) would give: the same
posts, counts, tags and search results. Only the new rows are read and
indexed, so a daily dump is added in a fraction of a rebuild's time.

INPUT is a file, a directory (read recursively) or a glob, in the formats
'build' reads (see 'hashtag-index build --help'). A post's identity is
(platform, id): a new copy replaces the generation's, and within INPUT the
later file or line wins. An INPUT whose content (sha256) the generation has
already ingested is skipped, and named on stderr; if every INPUT is skipped,
nothing is published (exit status 0). Rejected rows are added to the
generation's rejects.ndjson. New INPUT that holds rows, every one of them
rejected, fails the update (nothing is published, and the files are not
recorded as ingested); directories are scanned, and files of INPUT whose
every row is rejected warned about, as in 'build'.

The summary line counts INPUT's rows: read = added + replaced + duplicates
+ rejected, where 'replaced' are posts of the generation given a new copy and
'duplicates' rows superseded by a later copy within INPUT; and, when INPUT
has delete events, the posts they deleted (of the generation or of INPUT)
and the deletes that matched no post; and the native records skipped as not
posts, when there were some. --map, --map-file, --map-tz,
--map-time-format and --reposts work as for 'build'; give an update the
same ones the generation was built with.

Needs a published generation: start with 'hashtag-index build'. A failed or
killed update leaves the published generation as it was.

examples:
  hashtag-index update dumps/2026-11-02.ndjson.zst
  hashtag-index update 'inbox/*.ndjson' --index /srv/index --keep 5
"""

INFO_HELP = (
    "Print the published generation's manifest: posts, tags, rows read, duplicates, "
    "rejected, deletes, native records skipped (not posts), and per source its format, "
    "rows, rejects, delete events, skipped records and adjusted rows by reason."
)

REPORT_HELP = """\
Write the Hashtag Index report of the published generation as CSV, XLSX or
Parquet (--format): one row per tag with rank, tag, display, posts, authors,
engagement, share_pct, prev_posts, change_pct, first_seen, last_seen; the same
bytes as GET /v1/reports/index.csv (.xlsx, .parquet) with the same parameters.

T is an RFC 3339 time with a zone (2026-10-01T00:00:00Z) or a date (2026-10-01,
its midnight UTC); --from is inclusive, --to exclusive.
"""

SCHEDULE_HELP = """\
Run 'hashtag-index update INPUT...' now, then on a timetable, until stopped.

Each run is a child process; runs never overlap (a run longer than the period
delays the next one), and another indexer holding the index lock makes a run
fail with its message, logged, until the next tick. One line per run on
standard output: the time, what was published (+N posts) or 'nothing new',
and the seconds it took. Examples:

  hashtag-index schedule /srv/inbox --every 1h
  hashtag-index schedule /srv/inbox --cron '5 * * * *'     # at :05 every hour, UTC
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


FORMATS = [
    *("ndjson", "csv", "parquet"),
    *("x-v1", "x-v2", "mastodon", "mastodon-outbox", "bluesky", "reddit"),
]
"""Values of --format: indexer.sources.all_formats() (a test keeps them equal; listed
here so that --help does not import the readers)."""


def _add_index_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--index",
        type=Path,
        default=None,
        metavar="DIR",
        help="index directory (default: $HASHTAG_INDEX_DIR or ./var/index)",
    )


def _add_ingest_options(p: argparse.ArgumentParser) -> None:
    """The arguments of ``build`` and ``update``."""
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="file, directory or glob")
    _add_index_option(p)
    p.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="read every input in this format instead of detecting it per file: canonical "
        "ndjson, csv, parquet, or a native export: x-v1 (X API v1.1), x-v2 (X API v2), "
        "mastodon (statuses), mastodon-outbox (an account archive's outbox.json), "
        "bluesky (Jetstream/firehose posts), reddit (Pushshift)",
    )
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
    p.add_argument(
        "--keep",
        type=int,
        default=3,
        metavar="N",
        help="generations to keep on disk, the new one included (default: 3)",
    )
    p.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="in INPUT directories, also read symbolic links that lead out of the directory "
        "(by default they are passed over, with a warning naming them)",
    )
    _add_ray_option(p)
    p.add_argument(
        "--quiet", action="store_true", help="no progress display, only the summary line"
    )


def _add_ray_option(p: argparse.ArgumentParser) -> None:
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
    _add_ingest_options(b)
    b.add_argument(
        "--allow-empty",
        action="store_true",
        help="publish a generation of no posts when the inputs hold none (empty files, only "
        "deletes or skipped records); without it such a build fails with exit status 1 and "
        "the current generation stays",
    )

    u = sub.add_parser(
        "update",
        help="add new dumps to the published generation (skips dumps already ingested)",
        description=UPDATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_ingest_options(u)

    c = sub.add_parser(
        "compact",
        help="rewrite the days an update patched (same answers, smaller files)",
        description=COMPACT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_index_option(c)
    c.add_argument(
        "--keep",
        type=int,
        default=3,
        metavar="N",
        help="generations to keep on disk, the new one included (default: 3)",
    )
    _add_ray_option(c)
    c.add_argument("--quiet", action="store_true", help="no progress display")

    i = sub.add_parser(
        "info", help="show the published generation's manifest", description=INFO_HELP
    )
    _add_index_option(i)
    i.add_argument("--json", action="store_true", help="print the manifest as JSON")

    r = sub.add_parser(
        "report",
        help="write a report offline (the same bytes as the HTTP report)",
        description=REPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("kind", choices=["index"], help="the report: index (the Hashtag Index)")
    _add_index_option(r)
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

    sc = sub.add_parser(
        "schedule",
        help="run update on a timetable (every 1h, or a cron expression)",
        description=SCHEDULE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sc.add_argument("inputs", nargs="+", metavar="INPUT", help="inbox file, directory or glob")
    _add_index_option(sc)
    when = sc.add_mutually_exclusive_group(required=True)
    when.add_argument("--every", metavar="PERIOD", help="run every PERIOD: 30m, 1h, 1d")
    when.add_argument("--cron", metavar="EXPR", help="run at the times of a cron expression, UTC")
    sc.add_argument(
        "--runs", type=int, metavar="N", help="stop after N runs (default: run until stopped)"
    )

    s = sub.add_parser("serve", help="serve the HTTP API", description=SERVE_HELP)
    _add_index_option(s)
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
    return parser


def _index_dir(arg: Path | None) -> Path:
    return arg if arg is not None else default_index_dir()


def _ingest_options(args: argparse.Namespace) -> BuildOptions:
    from indexer.build import BuildOptions
    from indexer.ingest import check_mapping, load_mapping_file, parse_column_map

    if args.keep < 1:
        raise IndexerError("--keep must be at least 1")
    column_map: dict[str, str] | None = None
    timezone, created_at_format = None, None
    if args.map_file is not None:
        column_map, timezone, created_at_format = load_mapping_file(args.map_file)
    if args.column_map is not None:
        column_map = {**(column_map or {}), **parse_column_map(args.column_map)}
    timezone = args.map_tz or timezone
    created_at_format = args.map_time_format or created_at_format
    mapped = column_map is not None or timezone is not None or created_at_format is not None
    if mapped and args.format not in (None, "csv", "parquet"):
        raise IndexerError(
            f"a column map (--map, --map-file, --map-tz, --map-time-format) is for CSV and "
            f"Parquet inputs, not --format {args.format}"
        )
    check_mapping(column_map, timezone, created_at_format)
    delimiter = args.csv_delimiter
    if delimiter is not None:
        delimiter = {"tab": "\t", "\\t": "\t"}.get(delimiter.lower(), delimiter)
        if len(delimiter) != 1 or delimiter in '"\r\n':
            raise IndexerError(
                f"--csv-delimiter must be one character other than a quote or a line break, "
                f"or 'tab', not {args.csv_delimiter!r}"
            )
    return BuildOptions(
        index_dir=_index_dir(args.index),
        format=args.format,
        platform=args.platform,
        column_map=column_map,
        timezone=timezone,
        created_at_format=created_at_format,
        reposts=args.reposts,
        keep=args.keep,
        follow_symlinks=args.follow_symlinks,
        csv_delimiter=delimiter,
        ray=args.ray,
    )


WARNING = "hashtag-index: warning: "
"""How a warning line (stderr, not an error) starts."""


def cmd_build(args: argparse.Namespace) -> int:
    from indexer.build import build
    from indexer.progress import Progress

    options = _ingest_options(args)
    options.allow_empty = args.allow_empty
    progress = Progress(enabled=False if args.quiet else None)
    result = build(
        args.inputs,
        options,
        now=datetime.now(UTC),
        progress=progress,
        warn=lambda line: progress.message(WARNING + line),
    )
    print(summary_line(result.manifest))
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    from indexer.progress import Progress
    from indexer.update import update

    options = _ingest_options(args)
    progress = Progress(enabled=False if args.quiet else None)
    result = update(
        args.inputs,
        options,
        now=datetime.now(UTC),
        progress=progress,
        warn=lambda line: progress.message(WARNING + line),
    )
    for s in result.skipped:
        print(f"skipped {s.path}: already ingested (sha256 {s.sha256[:12]}…)", file=sys.stderr)
    print(update_summary_line(result))
    return 0


COMPACT_HELP = """\
Rewrite the days of the published generation that updates patched, and publish
the result atomically (the same answers; nothing else is rewritten).

A generation keeps its posts in one split per UTC day. When an update takes
posts away from a day and adds none to it (new copies of old posts, deletes),
it patches that day: its files are hard-linked and a list of the gone posts is
written beside them, which every reader leaves out. compact writes each such
day anew without them. An update itself rewrites a day once more than a tenth
of its posts would be gone, so compact is housekeeping, not a necessity: run it
after large deletes, or on a schedule. It also merges the tag-pair changes and
new accounts that updates keep beside those tables (cooc-delta.arrow,
accounts-new.arrow) into them; 'hashtag-index info' shows what is pending.

Examples:
  hashtag-index compact
  hashtag-index compact --index /srv/index --keep 2
"""


def cmd_compact(args: argparse.Namespace) -> int:
    from indexer.compact import compact
    from indexer.progress import Progress

    if args.keep < 1:
        raise IndexerError("--keep must be at least 1")
    progress = Progress(enabled=False if args.quiet else None)
    result = compact(
        _index_dir(args.index),
        now=datetime.now(UTC),
        keep=args.keep,
        progress=progress,
        ray=args.ray,
    )
    m = result.manifest
    if not result.published:
        print(
            f"nothing to compact: no day of generation {m.generation} is patched "
            "and no pair change is pending"
        )
    else:
        print(
            f"generation {m.generation} (compact of {m.parent}): rewrote "
            f"{plural(result.days, 'day')} without {plural(result.removed, 'removed post')}, "
            f"folded {plural(result.pair_changes, 'pair change')}, {m.seconds:.1f} s"
        )
    return 0


def _deletes(deleted: int, unmatched: int) -> str:
    """The deletes part of a summary line: only when there were delete events."""
    if not (deleted or unmatched):
        return ""
    return f", {deleted} deleted, {plural(unmatched, 'delete')} unmatched"


def _skipped_records(n: int) -> str:
    """The skipped part of a summary line: only when native records were skipped."""
    return f", {plural(n, 'record')} skipped (not posts)" if n else ""


def update_summary_line(result: UpdateResult) -> str:
    m = result.manifest
    skipped = f"skipped {plural(len(result.skipped), 'input')} already ingested"
    if not result.published:
        return f"nothing to update: {skipped}; generation {m.generation} is still current"
    f = result.figures
    return (
        f"generation {m.generation} (update of {m.parent}): read {plural(f.read, 'row')}: "
        f"{plural(f.added, 'post')} added, {f.replaced} replaced, "
        f"{plural(f.duplicates, 'duplicate')}, {f.rejected} rejected"
        f"{_deletes(f.deleted, f.deletes_unmatched)}{_skipped_records(f.skipped)}; {skipped}; "
        f"now {plural(m.posts, 'post')}, {plural(m.tags, 'tag')}, {m.seconds:.1f} s"
    )


def summary_line(m: Manifest) -> str:
    """The build's one line; the deletes only when the inputs had delete events, the
    skipped records only when there were some."""
    indexed = m.read - m.rejected
    return (
        f"generation {m.generation}: read {plural(m.read, 'row')}, "
        f"indexed {plural(m.posts, 'post')} ({indexed} accepted, "
        f"{plural(m.duplicates, 'duplicate')}, {m.rejected} rejected"
        f"{_deletes(m.deleted, m.deletes_unmatched)}){_skipped_records(m.skipped)}, "
        f"{plural(m.tags, 'tag')}, {m.seconds:.1f} s"
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
    return 0


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
    from indexer.schema import ACCOUNTS_NEW_TABLE, COOC_DELTA_TABLE, map_ipc

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


BUNDLED_SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def _check_schema(generation_dir: Path) -> None:
    """A published generation of another schema version is an error that says what to do."""
    try:
        checked_manifest(generation_dir, "this version reads")
    except SchemaMismatchError as e:
        raise IndexerError(f"{generation_dir.parent.parent}: {e}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    from service.run import AddressInUseError, ensure_address_free, serve

    index_dir = _index_dir(args.index)
    try:
        if not args.reuse_port:  # checked first, then again just before listening
            ensure_address_free(args.host, args.port)
    except AddressInUseError as e:
        raise IndexerError(str(e)) from None
    current = IndexDir(index_dir).current_dir()
    if current is not None:
        _check_schema(current)
    else:
        default = args.index is None or args.index.resolve() == default_index_dir().resolve()
        if args.sample is None and not default:
            # A typo in --index must not serve the sample as if it were the index asked for.
            raise IndexerError(
                f"no generation published in {index_dir}; build one with 'hashtag-index build "
                f"INPUT... --index {index_dir}', or pass --sample to serve the bundled sample"
            )
        sample = args.sample or BUNDLED_SAMPLE
        print(f"hashtag-index: {index_dir} is empty; building it from {sample}", file=sys.stderr)
        # In a child process: the server forks its workers, and a fork after polars'
        # and tantivy's threads have started can leave a worker deadlocked.
        built = subprocess.run(
            [sys.executable, "-m", "indexer", "build", str(sample), "--index", str(index_dir)],
            check=False,
        )
        if built.returncode != 0:
            raise IndexerError(f"could not build {index_dir} from {sample}")
    try:
        serve(
            index_dir=index_dir,
            host=args.host,
            port=args.port,
            workers=args.workers,
            reuse_port=args.reuse_port,
        )
    except AddressInUseError as e:
        raise IndexerError(str(e)) from None
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from service.errors import ApiError
    from service.report_formats import (
        TooManyRows,
        check_fits,
        created_time,
        spooled,
        write_report,
    )
    from service.reports import prepare
    from service.tables import load_tables

    gen_dir = IndexDir(_index_dir(args.index)).require_current()
    _check_schema(gen_dir)
    if args.limit is not None and args.limit < 1:
        raise IndexerError("--limit must be at least 1")
    tables = load_tables(gen_dir)
    try:
        frame, name = prepare(
            tables,
            from_=args.from_,
            to=args.to,
            limit=args.limit,
            platform=args.platform,
            lang=args.lang,
            ext=args.format,
        )
    except ApiError as e:
        raise IndexerError(f"--{e.detail}") from None
    to_stdout = args.out in (None, "-")
    if to_stdout and args.format != "csv" and sys.stdout.isatty():
        raise IndexerError(f"--format {args.format} is binary: give --out FILE")
    try:
        check_fits(frame, args.format)
    except TooManyRows as e:
        raise IndexerError(f"--limit: {e}") from None
    if to_stdout:  # possibly a pipe (not seekable): spooled first
        for chunk in spooled(frame, args.format, created_time(tables)):
            sys.stdout.buffer.write(chunk)
    else:
        with open(args.out, "wb") as out:
            write_report(frame, args.format, out, created_time(tables))
    if not to_stdout:
        print(f"wrote {args.out} ({frame.height} tags; served as {name})", file=sys.stderr)
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from indexer.schedule import Timetable, run_schedule

    if args.runs is not None and args.runs < 1:
        raise IndexerError("--runs must be at least 1")
    timetable = Timetable.parse(args.every, args.cron)
    failed = run_schedule(
        args.inputs, _index_dir(args.index), timetable, log=sys.stdout, runs=args.runs
    )
    return 1 if failed and args.runs is not None else 0


COMMANDS = {
    "build": cmd_build,
    "compact": cmd_compact,
    "schedule": cmd_schedule,
    "update": cmd_update,
    "info": cmd_info,
    "report": cmd_report,
    "serve": cmd_serve,
}


def _one_line(e: Exception) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror + (f": {e.filename}" if e.filename else "")
    text = " ".join(str(e).split()) or type(e).__name__
    return f"{text} (nothing was published; HASHTAG_INDEX_DEBUG=1 shows the traceback)"


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
    except Exception as e:
        # Disk full, permission denied, a library failure: whatever was being built was
        # abandoned (build and update clean up after themselves), nothing was published.
        if os.environ.get("HASHTAG_INDEX_DEBUG"):
            raise
        print(f"hashtag-index: error: {_one_line(e)}", file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.exit(code)
