"""Every input format's reader on random bytes and random JSON lines (issue 16, fuzzing).

No crash: a reader either reads the file or fails with one :class:`InputError` (a file it
cannot read at all). And nothing is lost: every non-blank line of JSON lines input is a post,
a reject or a delete event (by its line number), or a skipped record (counted, not numbered).
The rows then go through the build's own validation and tagging, which must not crash either.

Derandomized with the suite (tests/conftest.py); ``FUZZ_EXAMPLES=500
HYPOTHESIS_PROFILE=explore`` runs a longer, random hunt (about two minutes here).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.errors import InputError
from indexer.formats import registry
from indexer.ingest import read_batches
from indexer.reading import check_batch, tag_posts
from tests.conftest import post

# Keys the readers look for (canonical fields, X v1.1/v2, Mastodon, Bluesky, Reddit), so that
# random objects get past the first checks.
KEYS = [
    *("id", "created_at", "author", "text", "platform", "lang", "likes", "hashtags"),
    *("id_str", "user", "screen_name", "full_text", "entities", "retweeted_status", "delete"),
    *("status", "extended_tweet", "data", "includes", "users", "author_id", "username"),
    *("referenced_tweets", "type", "note_tweet", "public_metrics", "like_count", "tags"),
    *("content", "account", "acct", "url", "reblog", "name", "object", "orderedItems"),
    *("did", "kind", "commit", "operation", "collection", "rkey", "record", "facets"),
    *("features", "$type", "tag", "index", "byteStart", "byteEnd", "time_us", "langs"),
    *("subreddit", "body", "created_utc", "score", "title", "selftext", "num_comments"),
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "2026-10-01T12:00:00Z",
            "Sat Mar 10 19:48:40 +0000 2018",
            "1759320000",
            "#tag x",
            "<p>#tag</p>",
            "app.bsky.feed.post",
            "create",
            "delete",
            "x",
            "@",
            "9999-12-31",
        ]
    ),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=4)), inner, max_size=6),
    ),
    max_leaves=12,
)
# Lines of JSON values (mostly objects), a real post now and then, and lines that are not JSON.
LINES = st.lists(
    st.one_of(
        JSON.map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
        st.dictionaries(st.sampled_from(KEYS), JSON, max_size=8).map(
            lambda v: json.dumps(v).encode()
        ),
        st.builds(lambda i, t: json.dumps(post(i, t)).encode(), st.integers(0, 5), st.text()),
        st.binary(max_size=20).filter(lambda b: b"\n" not in b),
        st.just(b""),
    ),
    max_size=8,
).map(lambda lines: b"\n".join(lines) + b"\n")


def _read_all(content: bytes, fmt: str) -> None:
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input.{ {'csv': 'csv', 'parquet': 'parquet'}.get(fmt, 'jsonl') }"
        path.write_bytes(content)
        (Path(tmp) / "scratch").mkdir()
        try:
            batches = list(read_batches(path, fmt, Path(tmp) / "scratch"))
        except InputError as e:
            error = str(e)
        else:
            error = None
    if error is not None:  # the file cannot be read at all: one line naming it
        assert "\n" not in error
        assert error.startswith(str(path))
        return
    accounted: set[int] = set()
    skipped = 0
    for batch in batches:
        posts, bad, _ = check_batch(batch, "unknown")
        tag_posts(posts, 0)  # validation and tagging of whatever came through
        assert posts.height + bad.height == batch.rows.height  # a post or a reject each
        accounted.update(batch.rows["_line"].to_list())
        accounted.update(line for line, _, _ in batch.rejects)
        accounted.update(line for line, _ in batch.deletes)
        skipped += batch.skipped.total()
    if fmt in ("csv", "parquet") or not _is_json_lines(content):
        return  # a CSV row may span lines; a document's records are not lines
    lines = [i for i, line in enumerate(content.split(b"\n"), 1) if line.strip(b" \t\r")]
    missing = [line for line in lines if line not in accounted]
    assert len(missing) <= skipped, (missing, skipped)
    assert accounted <= set(lines)


def _is_json_lines(content: bytes) -> bool:
    """Whether the readers take ``content`` line by line (see indexer.formats.native)."""
    first = next((line for line in content.split(b"\n") if line.strip()), b"")
    try:
        json.loads(first)
    except ValueError:
        return not first.lstrip(b"\xef\xbb\xbf \t\r").startswith((b"[", b"{"))
    return True


FORMATS = registry.names()


def test_every_format_is_fuzzed() -> None:
    assert {"ndjson", "csv", "parquet", "x-v1", "x-v2", "mastodon", "bluesky", "reddit"} <= set(
        FORMATS
    )


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "30")))
@given(content=st.one_of(LINES, st.binary(max_size=200)))
def test_readers_account_for_every_line(fmt: str, content: bytes) -> None:
    _read_all(content, fmt)


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f not in ("csv", "parquet")])
@pytest.mark.parametrize("junk", [b"\x0b", b"\x0c", b" \x0c\x0b "])
def test_a_line_of_control_characters_is_a_reject_not_a_blank_line(fmt: str, junk: bytes) -> None:
    """Found by the fuzzer: ``bytes.strip()`` took such a line for a blank one and dropped it
    silently; it is bad JSON."""
    good = json.dumps(post(1, "#a")).encode()
    _read_all(good + b"\n" + junk + b"\n \t\r\n", fmt)
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.jsonl"
        path.write_bytes(junk + b"\n")
        (batch,) = read_batches(path, fmt, Path(tmp))
        assert [line for line, _, _ in batch.rejects] == [1]
