"""``hashtag-index schedule``: run ``update`` on a timetable, one run at a time.

Each run is a child ``hashtag-index update`` process, so a run that crashes or
leaks memory cannot harm the scheduler, and runs never overlap: the next tick
is computed only after the previous run ended (a run longer than the period
makes the next one start at once, never two at a time). Another indexer
holding the index lock makes a run exit with its message; the scheduler logs
it and waits for the next tick. Each run is logged as one line: the inputs it
took, the posts added, the generation published and the seconds it took.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from hashtag_index.options import add_index_option, index_dir
from indexer.errors import IndexerError
from indexer.schema import current_generation_dir, read_manifest
from service.admin import run_update

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


@dataclass(frozen=True)
class Timetable:
    """When runs start: every fixed period, or at the times of a cron expression (UTC)."""

    every: timedelta | None = None
    cron: str | None = None

    @classmethod
    def parse(cls, every: str | None, cron: str | None) -> Timetable:
        if (every is None) == (cron is None):
            raise IndexerError(
                "give exactly one of --every (e.g. 1h) and --cron (e.g. '0 * * * *')"
            )
        if every is not None:
            from service.params import parse_period  # imported when run: --help stays fast

            try:
                period = parse_period(
                    every, units="smhd", max_digits=6, expected="a period like 30m, 1h or 1d"
                )
            except ValueError as e:
                raise IndexerError(f"--every: {e}") from None
            return cls(every=period)
        assert cron is not None
        from croniter import croniter  # imported when run: --help stays fast

        if not croniter.is_valid(cron):
            raise IndexerError(f"--cron: not a cron expression: {cron!r}")
        return cls(cron=cron)

    def next_after(self, t: datetime) -> datetime:
        if self.every is not None:
            return t + self.every
        from croniter import croniter

        nxt: datetime = croniter(self.cron, t).get_next(datetime)
        return nxt


@dataclass
class RunResult:
    started: datetime
    seconds: float
    ok: bool
    message: str


def run_once(inputs: list[str], index_dir: Path) -> RunResult:
    """One ``hashtag-index update`` in a child process, summarised."""
    started = datetime.now(UTC)
    before = _generation(index_dir)
    t0 = time.monotonic()
    run = run_update(inputs, index_dir)
    seconds = time.monotonic() - t0
    after = _generation(index_dir)
    if not run.ok:
        return RunResult(started, seconds, False, f"failed: {run.last_line}")
    if after == before or after is None:
        return RunResult(started, seconds, True, f"nothing new ({run.last_line})")
    posts_before = before[1] if before else 0
    return RunResult(
        started,
        seconds,
        True,
        f"published {after[0]}: {_signed_posts(after[1] - posts_before)} ({run.last_line})",
    )


def _signed_posts(n: int) -> str:
    return f"{n:+d} post" + ("" if abs(n) == 1 else "s")


def _generation(index_dir: Path) -> tuple[str, int] | None:
    current = current_generation_dir(index_dir)
    if current is None:
        return None
    m = read_manifest(current)
    return m.generation, m.posts


def run_schedule(
    inputs: list[str],
    index_dir: Path,
    timetable: Timetable,
    *,
    log: TextIO,
    runs: int | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run updates on the timetable (the first at once); ``runs`` bounds the count (None:
    forever). Returns the number of failed runs."""
    failed = 0
    done = 0
    next_at = clock()
    while runs is None or done < runs:
        wait = (next_at - clock()).total_seconds()
        if wait > 0:
            sleep(wait)
        result = run_once(inputs, index_dir)
        done += 1
        failed += not result.ok
        stamp = result.started.strftime("%Y-%m-%dT%H:%M:%SZ")
        log.write(f"{stamp} run {done}: {result.message}; {result.seconds:.1f} s\n")
        log.flush()
        next_at = max(timetable.next_after(result.started), clock())
    return failed


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sc = sub.add_parser(
        "schedule",
        help="run update on a timetable (every 1h, or a cron expression)",
        description=SCHEDULE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sc.add_argument("inputs", nargs="+", metavar="INPUT", help="inbox file, directory or glob")
    add_index_option(sc)
    when = sc.add_mutually_exclusive_group(required=True)
    when.add_argument("--every", metavar="PERIOD", help="run every PERIOD: 30m, 1h, 1d")
    when.add_argument("--cron", metavar="EXPR", help="run at the times of a cron expression, UTC")
    sc.add_argument(
        "--runs", type=int, metavar="N", help="stop after N runs (default: run until stopped)"
    )


def cmd_schedule(args: argparse.Namespace) -> int:
    if args.runs is not None and args.runs < 1:
        raise IndexerError("--runs must be at least 1")
    timetable = Timetable.parse(args.every, args.cron)
    failed = run_schedule(
        args.inputs, index_dir(args.index), timetable, log=sys.stdout, runs=args.runs
    )
    return 1 if failed and args.runs is not None else 0
