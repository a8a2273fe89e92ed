"""The duration parser of service.params, which the API and ``schedule --every`` share."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hashtag_index.schedule import Timetable
from indexer.errors import IndexerError
from service.params import parse_period


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
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        (" 45 s ", timedelta(seconds=45)),
        ("1h", timedelta(hours=1)),
        ("1d", timedelta(days=1)),
        ("999999d", timedelta(days=999_999)),
    ],
)
def test_schedule_every_reads_periods(text: str, expected: timedelta) -> None:
    assert Timetable.parse(text, None).every == expected


@pytest.mark.parametrize("text", ["1w", "0h", "1234567s", "1.5h", "", "x"])
def test_schedule_every_refuses_what_is_no_period(text: str) -> None:
    """Weeks are the API's, not the schedule's; at most 6 digits; one line naming --every."""
    with pytest.raises(IndexerError) as caught:
        Timetable.parse(text, None)
    assert str(caught.value) == f"--every: expected a period like 30m, 1h or 1d, got {text!r}"
