"""hashtag-index schedule: timetables, and runs that never overlap and are logged."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hashtag_index.schedule import Timetable, run_schedule
from indexer.build import BuildOptions, build
from indexer.errors import IndexerError
from tests.conftest import NOW, post, write_ndjson


def test_timetables() -> None:
    t = datetime(2026, 11, 26, 10, 7, tzinfo=UTC)
    assert Timetable.parse("1h", None).next_after(t) == t + timedelta(hours=1)
    assert Timetable.parse("30m", None).next_after(t) == t + timedelta(minutes=30)
    assert Timetable.parse(None, "*/15 * * * *").next_after(t) == t.replace(minute=15)
    for every, cron in (
        ("1y", None),
        ("0h", None),
        (None, "not cron"),
        (None, None),
        ("1h", "* * * * *"),
    ):
        with pytest.raises(IndexerError):
            Timetable.parse(every, cron)


def test_runs_are_sequential_and_logged(tmp_path: Path) -> None:
    index, inbox = tmp_path / "index", tmp_path / "inbox"
    build(
        [str(write_ndjson(tmp_path / "a.ndjson", [post(1, "#a")]))],
        BuildOptions(index_dir=index),
        now=NOW,
    )
    write_ndjson(inbox / "b.ndjson", [post(2, "#b"), post(3, "#b")])
    sleeps: list[float] = []
    log = io.StringIO()
    failed = run_schedule(
        [str(inbox)], index, Timetable.parse("1h", None), log=log, runs=2, sleep=sleeps.append
    )
    lines = log.getvalue().splitlines()
    assert failed == 0
    assert len(lines) == 2
    assert "run 1: published" in lines[0]
    assert "+2 posts" in lines[0]
    assert "2 posts added" in lines[0]  # the update's summary line, not a stderr note
    assert "run 2: nothing new" in lines[1]
    assert "already ingested" in lines[1]
    assert len(sleeps) == 1  # waited for the next tick once, between the two runs
    assert 3500 < sleeps[0] <= 3600


def test_a_failing_run_is_logged_and_counted(tmp_path: Path) -> None:
    log = io.StringIO()
    failed = run_schedule(
        [str(tmp_path / "missing")],
        tmp_path / "index",
        Timetable.parse("1s", None),
        log=log,
        runs=1,
        sleep=lambda s: None,
    )
    assert failed == 1
    assert "run 1: failed:" in log.getvalue()
