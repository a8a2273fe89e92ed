"""Reddit: spec-exact Pushshift comment (RC_) and submission (RS_) dump lines."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import zstandard

from indexer.extract import extract_hashtags
from indexer.formats.detect import detect_format as detect_file
from indexer.formats.reddit import NEGATIVE_SCORE, TEXT_GONE
from indexer.validate import validate
from tests.test_native import read_all

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "native" / "reddit"
COMMENTS = FIXTURES / "RC_sample.ndjson"
SUBMISSIONS = FIXTURES / "RS_sample.ndjson"


def test_comments_rows() -> None:
    assert detect_file(COMMENTS) == "reddit"
    batches = read_all(COMMENTS, "reddit")
    assert [r for b in batches for r in b.rows.to_dicts()] == [
        {
            "_line": 1,
            "id": "t1_c02d3yh",  # the 2015-era dump: a `name`, `created_utc` a string
            "created_at": "1192450643",
            "author": "spez",
            "text": "Best tag so far: #reddit & #science > everything",
            "platform": "reddit",
            "lang": None,
            "likes": 12,
            "reposts": 0,
            "replies": 0,
            "quotes": 0,
            "hashtags": None,
            "community": "reddit.com",
        },
        {
            "_line": 2,
            "id": "t1_ghf8sz1",  # newer dumps: no `name`, `created_utc` an integer
            "created_at": "1609459201",
            "author": "[deleted]",
            "text": "",
            "platform": "reddit",
            "lang": None,
            "likes": 0,
            "reposts": 0,
            "replies": 0,
            "quotes": 0,
            "hashtags": None,
            "community": "Python",
        },
        {
            "_line": 3,
            "id": "t1_ghf8t3k",
            "created_at": "1609459260",
            "author": "pyfan",
            "text": "Happy new year #Python folks! #2021 is a number, #100DaysOfCode is a tag",
            "platform": "reddit",
            "lang": None,
            "likes": 7,
            "reposts": 0,
            "replies": 0,
            "quotes": 0,
            "hashtags": None,
            "community": "Python",
        },
    ]
    assert sum((b.notes for b in batches), Counter[str]()) == {NEGATIVE_SCORE: 1, TEXT_GONE: 1}
    assert [r for b in batches for r in b.rejects] == []


def test_submissions_rows_from_zstd(tmp_path: Path) -> None:
    path = tmp_path / "RS_2011-01.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(SUBMISSIONS.read_bytes()))
    assert detect_file(path) == "reddit"
    batches = read_all(path, "reddit")
    rows = [r for b in batches for r in b.rows.to_dicts()]
    assert [(r["_line"], r["id"], r["created_at"], r["author"]) for r in rows] == [
        (1, "t3_esbb3", "1293840069", "kn0thing"),
        (2, "t3_kntu4b", "1609459100", "pyfan"),
        (3, "t3_zzzz01", "1672531200", "[deleted]"),
    ]
    assert [r["text"] for r in rows] == [
        "What's your #2011 resolution?\n\nMine: learn #Python & ship it. #NewYear",
        "Happy new year from #Python 3.9",  # a link post: the title only
        "Spam #buynow",  # `[removed]` is not text
    ]
    assert [(r["likes"], r["replies"]) for r in rows] == [(5, 9), (42, 2), (1, 0)]
    assert sum((b.notes for b in batches), Counter[str]()) == {TEXT_GONE: 1}


def test_reddit_times_and_tags_validate() -> None:
    """Both `created_utc` forms become the same kind of instant; the text's tags count."""
    frame = pl.concat([b.rows for p in (COMMENTS, SUBMISSIONS) for b in read_all(p, "reddit")])
    posts, rejected = validate(frame, "unknown")
    assert rejected.height == 0
    assert posts["created_at"].to_list()[:2] == [
        datetime(2007, 10, 15, 12, 17, 23, tzinfo=UTC),
        datetime(2021, 1, 1, 0, 0, 1, tzinfo=UTC),
    ]
    assert [extract_hashtags(t) for t in frame["text"]] == [
        ["reddit", "science"],
        [],
        ["Python", "100DaysOfCode"],
        ["Python", "NewYear"],  # `#2011` has no letter: not a tag
        ["Python"],
        ["buynow"],
    ]
