"""``build``, ``update`` and ``compact``: the commands that publish a generation."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from hashtag_index.options import (
    add_index_option,
    add_ingest_options,
    add_keep_option,
    add_ray_option,
    check_keep,
    index_dir,
    ingest_options,
)
from indexer.formats import registry
from indexer.progress import Progress, plural

if TYPE_CHECKING:
    from indexer.schema import Manifest
    from indexer.update import UpdateResult

WARNING = "hashtag-index: warning: "
"""How a warning line (stderr, not an error) starts."""

BUILD_HELP = (
    """\
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
(or named with --format): """
    + ", ".join(registry.native_names())
    + """.
A file of no known format fails the build with the formats tried.
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
)

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


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    b = sub.add_parser(
        "build",
        help="build and publish a new generation from dumps",
        description=BUILD_HELP,
        formatter_class=raw,
    )
    add_ingest_options(b)
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
        formatter_class=raw,
    )
    add_ingest_options(u)
    c = sub.add_parser(
        "compact",
        help="rewrite the days an update patched (same answers, smaller files)",
        description=COMPACT_HELP,
        formatter_class=raw,
    )
    add_index_option(c)
    add_keep_option(c)
    add_ray_option(c)
    c.add_argument("--quiet", action="store_true", help="no progress display")


def cmd_build(args: argparse.Namespace) -> int:
    from indexer.build import build  # imported when run: --help stays fast

    options = ingest_options(args)
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
    from indexer.update import update

    options = ingest_options(args)
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


def cmd_compact(args: argparse.Namespace) -> int:
    from indexer.compact import compact

    check_keep(args.keep)
    progress = Progress(enabled=False if args.quiet else None)
    result = compact(
        index_dir(args.index),
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
