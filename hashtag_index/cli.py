"""The ``hashtag-index`` command line: one parser, a module per group of commands.

- :mod:`hashtag_index.indexing`: ``build``, ``update``, ``compact`` (publish a generation)
- :mod:`hashtag_index.info`: ``info``
- :mod:`hashtag_index.serving`: ``serve``, ``report`` (read it through the service)
- :mod:`hashtag_index.schedule`: ``schedule`` (``update`` on a timetable)

Every command module imports the heavy parts (the build, the service) when its command
runs, so ``--help`` stays fast. An :class:`~indexer.errors.IndexerError` ends a command
with one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from hashtag_index import indexing, info, schedule, serving
from indexer.errors import IndexerError

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

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "build": indexing.cmd_build,
    "compact": indexing.cmd_compact,
    "schedule": schedule.cmd_schedule,
    "update": indexing.cmd_update,
    "info": info.cmd_info,
    "report": serving.cmd_report,
    "serve": serving.cmd_serve,
}


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hashtag-index",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    indexing.add_parsers(sub)
    info.add_parser(sub)
    serving.add_report_parser(sub)
    schedule.add_parser(sub)
    serving.add_serve_parser(sub)
    return parser


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
