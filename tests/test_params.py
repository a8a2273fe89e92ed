"""The pure parsers of service.params that other commands share."""

from __future__ import annotations

from datetime import timedelta

import pytest

from indexer.errors import IndexerError
from indexer.schedule import Timetable
from service.params import parse_period


def every(text: str) -> timedelta:
    """``hashtag-index schedule --every`` read by parse_period."""
    return parse_period(text, units="smhd", max_digits=6, expected="a period like 30m, 1h or 1d")


def test_parse_period_reads_the_api_durations() -> None:
    assert parse_period("30m") == timedelta(minutes=30)
    assert parse_period(" 24 h ") == timedelta(hours=24)
    assert parse_period("2w") == timedelta(weeks=2)
    assert parse_period("999999999m") == timedelta(minutes=999_999_999)
    for bad in ["1s", "0h", "1234567890m", "1.5h", "", "h", "1hm", "-1h"]:
        with pytest.raises(ValueError, match=r"^expected a duration like") as caught:
            parse_period(bad)
        assert str(caught.value) == f"expected a duration like 1h, 24h or 7d, got {bad!r}"


@pytest.mark.parametrize(
    "text", ["30m", " 45 s ", "1h", "1d", "999999d", "1w", "0h", "1234567s", "1.5h", "", "x"]
)
def test_parse_period_reads_every_as_the_schedule_does(text: str) -> None:
    """Same periods and the same message as Timetable.parse's --every."""
    try:
        expected: timedelta | str = Timetable.parse(text, None).every or timedelta(0)
    except IndexerError as e:
        expected = str(e)
    try:
        got: timedelta | str = every(text)
    except ValueError as e:
        got = f"--every: {e}"
    assert got == expected
