"""Native exports: format detection, mapping to canonical rows, real X data."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from indexer.errors import InputError
from indexer.formats import registry
from indexer.formats.detect import detect as detect_any
from indexer.formats.detect import detect_format as detect_file
from indexer.formats.html_text import html_to_text
from indexer.formats.native import NativeBatch
from indexer.ingest import read_batches
from indexer.validate import validate
from tests.conftest import read_native
from tests.test_update import run_build

REAL = Path(__file__).resolve().parent / "fixtures" / "real"
V1 = REAL / "x-v1-python-twitter"
V2 = REAL / "x-v2-twarc"


def detect(head: bytes) -> str | None:
    """The native format of a file whose first bytes are ``head``: None when it is
    canonical (NDJSON, CSV, Parquet) or of no known format."""
    try:
        found = detect_any(Path("head"), head, None)
    except InputError:
        return None
    entry = registry.get(found)
    assert entry is not None
    return found if entry.native else None


def line(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode() + b"\n"


def write(path: Path, *values: Any) -> Path:
    path.write_bytes(b"".join(v if isinstance(v, bytes) else line(v) for v in values))
    return path


def read_all(path: Path, fmt: str, batch_rows: int = 1000) -> list[NativeBatch]:
    batches = list(read_native(path, fmt, batch_rows))
    assert all(isinstance(b, NativeBatch) for b in batches)
    return [b for b in batches if isinstance(b, NativeBatch)]


def rows_of(path: Path, fmt: str) -> list[dict[str, Any]]:
    return [r for b in read_all(path, fmt) for r in b.rows.to_dicts()]


def rejects_of(path: Path, fmt: str) -> list[tuple[int, str, str]]:
    return [r for b in read_all(path, fmt) for r in b.rejects]


# ---------------------------------------------------------------- literal records

V1_TWEET: dict[str, Any] = {
    "created_at": "Sat Mar 10 19:48:40 +0000 2018",
    "id": 972556547133411328,
    "id_str": "972556547133411328",
    "text": "Long post about #Python &amp; #Rust that X cut at 140 #Fa…",
    "truncated": True,
    "user": {"id_str": "1", "screen_name": "alice"},
    "lang": "en",
    "favorite_count": 5,
    "retweet_count": 2,
    "reply_count": 1,
    "quote_count": 3,
    "entities": {"hashtags": [{"text": "Python", "indices": [16, 23]}]},
    "extended_tweet": {
        "full_text": "Long post about #Python &amp; #Rust, the whole of it #FastAPI",
        "entities": {
            "hashtags": [
                {"text": "Python", "indices": [16, 23]},
                {"text": "Rust", "indices": [30, 35]},
                {"text": "FastAPI", "indices": [53, 61]},
            ]
        },
    },
}
V2_PAGE: dict[str, Any] = {
    "data": [
        {
            "id": "1574186989737459712",
            "author_id": "100",
            "created_at": "2022-09-25T23:59:59.000Z",
            "text": "short #Uno &lt;3",
            "lang": "it",
            "edit_history_tweet_ids": ["1574186989737459712"],
            "public_metrics": {
                "like_count": 4,
                "retweet_count": 3,
                "reply_count": 2,
                "quote_count": 1,
            },
            "entities": {"hashtags": [{"start": 6, "end": 10, "tag": "Uno"}]},
        },
        {
            "id": "1574186989737459713",
            "author_id": "200",
            "created_at": "2022-09-25T23:59:58.000Z",
            "text": "a long post cut here…",
            "edit_history_tweet_ids": ["1574186989737459713"],
            "note_tweet": {
                "text": "a long post cut here… and going on #Dos",
                "entities": {"hashtags": [{"start": 35, "end": 39, "tag": "Dos"}]},
            },
        },
        {
            "id": "1574186989737459714",
            "author_id": "999",
            "created_at": "2022-09-25T23:59:57.000Z",
            "text": "RT @bob: a cut retweet #Tr…",
            "entities": {"mentions": [{"start": 3, "end": 7, "username": "bob"}]},
        },
    ],
    "includes": {"users": [{"id": "100", "username": "uno"}, {"id": "200", "username": "dos"}]},
    "meta": {"result_count": 3},
}
MASTODON: dict[str, Any] = {
    "id": "109000000000000001",
    "uri": "https://mastodon.social/users/alice/statuses/109000000000000001",
    "created_at": "2022-11-01T12:00:00.000Z",
    "account": {"acct": "alice", "url": "https://mastodon.social/@alice"},
    "content": (
        '<p>Hello &amp; welcome <a href="https://mastodon.social/tags/Python" '
        'class="mention hashtag" rel="tag">#<span>PyThon</span></a></p>'
        "<p>line one<br />line two &lt;3 "
        '<a href="https://example.com/a/long/path"><span class="invisible">https://</span>'
        '<span class="ellipsis">example.com/a/</span><span class="invisible">long/path</span>'
        "</a></p>"
    ),
    "language": "en",
    "favourites_count": 7,
    "reblogs_count": 6,
    "replies_count": 5,
    "tags": [{"name": "python", "url": "https://mastodon.social/tags/python"}],
}
JETSTREAM_POST: dict[str, Any] = {
    "did": "did:plc:abc",
    "time_us": 1732100000000000,
    "kind": "commit",
    "commit": {
        "rev": "3l",
        "operation": "create",
        "collection": "app.bsky.feed.post",
        "rkey": "3lb2",
        "cid": "bafy",
        "record": {
            "$type": "app.bsky.feed.post",
            "text": "skeet #BlueSky and #dev",
            "createdAt": "2024-11-20T10:53:20.000Z",
            "langs": ["de", "en"],
            "facets": [
                {
                    "index": {"byteStart": 6, "byteEnd": 14},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "BlueSky"}],
                },
                {
                    "index": {"byteStart": 0, "byteEnd": 5},
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://a"}],
                },
                {
                    "index": {"byteStart": 19, "byteEnd": 23},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "dev"}],
                },
            ],
        },
    },
}
REDDIT_COMMENT: dict[str, Any] = {
    "id": "c0ffee",
    "author": "carol",
    "subreddit": "python",
    "body": "&gt; quoted\n\nI like #python &amp; #rust",
    "created_utc": "1600000000",
    "score": -4,
}
REDDIT_SUBMISSION: dict[str, Any] = {
    "id": "c0ffee",
    "author": "dave",
    "subreddit": "python",
    "title": "Show: a #tool",
    "selftext": "Body text",
    "created_utc": 1600000100.5,
    "score": 12,
    "num_comments": 9,
}
CANONICAL = {"id": "1", "created_at": "2026-10-01T12:00:00Z", "author": "a", "text": "#x"}


# ---------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (line(V1_TWEET), "x-v1"),
        (line([V1_TWEET, V1_TWEET]), "x-v1"),
        (line({"statuses": [V1_TWEET], "search_metadata": {}}), "x-v1"),
        (line({"delete": {"status": {"id_str": "1"}}}) + line(V1_TWEET), "x-v1"),
        (line({"id": 89497702, "text": "2007", "user": {"screen_name": "olterman"}}), "x-v1"),
        (line(V2_PAGE), "x-v2"),
        (line(V2_PAGE["data"][0]), "x-v2"),
        (line({**V2_PAGE["data"][0], "author": {"username": "uno"}}), "x-v2"),
        (line(MASTODON), "mastodon"),
        (json.dumps([MASTODON], indent=2).encode(), "mastodon"),
        (line(JETSTREAM_POST), "bluesky"),
        (line({"did": "did:plc:abc", "time_us": 1, "kind": "identity", "identity": {}}), "bluesky"),
        (
            line(
                {"uri": "at://d/app.bsky.feed.post/1", "record": JETSTREAM_POST["commit"]["record"]}
            ),
            "bluesky",
        ),
        (line(REDDIT_COMMENT), "reddit"),
        (line(REDDIT_SUBMISSION), "reddit"),
        (b"\xef\xbb\xbf" + line(REDDIT_COMMENT), "reddit"),
    ],
)
def test_detect_native(head: bytes, expected: str) -> None:
    assert detect(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        line(CANONICAL) + line(CANONICAL),
        line([CANONICAL]),
        line({**CANONICAL, "hashtags": ["x"], "platform": "x", "likes": 1}),
        b"id,created_at,author,text\n1,2026-10-01T12:00:00Z,a,hi\n",
        b"PAR1\x15\x04",
        b"",
        b"not json at all",
        b"{broken json\n",
        line({"delete": {"status": {"id_str": "1"}}}),
        line({"something": "else"}),
    ],
)
def test_detect_canonical_or_unknown_is_none(head: bytes) -> None:
    assert detect(head) is None


def test_detect_truncated_head_of_a_long_page_line() -> None:
    """The v2 page file is one 775 KB line: detection sees only a cut-off prefix."""
    head = (V2 / "entities_test.jsonl").read_bytes()[: 64 << 10]
    assert b"\n" not in head
    assert detect(head) == "x-v2"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (V2 / "flat.jsonl", "x-v2"),
        (V2 / "entities_test.jsonl", "x-v2"),
        (V1 / "streaming_lines.json", "x-v1"),
        (V1 / "get_search_geocode.json", "x-v1"),
        (V1 / "get_home_timeline.json", "x-v1"),
    ],
)
def test_detect_real_files(name: Path, expected: str) -> None:
    assert detect_file(name) == expected


def test_detect_file_decompresses(tmp_path: Path) -> None:
    path = tmp_path / "toots.jsonl.gz"
    path.write_bytes(gzip.compress(line(MASTODON)))
    assert detect_file(path) == "mastodon"


# ---------------------------------------------------------------- mapping


def test_x_v1_mapping_prefers_extended_tweet(tmp_path: Path) -> None:
    path = write(tmp_path / "v1.jsonl", V1_TWEET)
    assert rows_of(path, "x-v1") == [
        {
            "_line": 1,
            "id": "972556547133411328",
            "created_at": "2018-03-10T19:48:40Z",
            "author": "alice",
            "text": "Long post about #Python & #Rust, the whole of it #FastAPI",
            "platform": "x",
            "lang": "en",
            "likes": 5,
            "reposts": 2,
            "replies": 1,
            "quotes": 3,
            "hashtags": ["Python", "Rust", "FastAPI"],
            "community": None,
        }
    ]


def test_x_v1_plain_tweet_defaults_and_stream_notices(tmp_path: Path) -> None:
    plain = {
        k: v
        for k, v in V1_TWEET.items()
        if k not in ("extended_tweet", "reply_count", "quote_count", "favorite_count")
    }
    plain["created_at"] = "Mon Dec 14 21:44:12 -0200 2015"
    path = write(tmp_path / "v1.jsonl", {"delete": {"status": {"id": 1}}}, plain, {"limit": {}})
    batches = read_all(path, "x-v1")
    (got,) = [r for b in batches for r in b.rows.to_dicts()]
    assert got["_line"] == 2
    assert got["created_at"] == "2015-12-14T23:44:12Z"
    assert got["text"] == "Long post about #Python & #Rust that X cut at 140 #Fa…"
    assert got["hashtags"] == ["Python"]
    assert (got["likes"], got["reposts"], got["replies"], got["quotes"]) == (0, 2, 0, 0)
    skipped = sum((b.skipped for b in batches), Counter[str]())
    assert skipped == {"x-v1 stream 'limit' message": 1}
    assert [d for b in batches for d in b.deletes] == [(1, "x:1")]


def test_x_v1_stream_delete_notice_removes_the_tweet(tmp_path: Path) -> None:
    """X's stream ``delete`` notice removes the tweet read before it (its ``id_str``,
    else ``id``); one without an id is skipped, counted."""
    tweet = {**V1_TWEET, "id_str": "42", "id": 42}
    other = {**V1_TWEET, "id_str": "43", "id": 43}
    path = write(
        tmp_path / "stream.jsonl",
        tweet,
        other,
        {"delete": {"status": {"id": 42, "id_str": "42", "user_id": 3}, "timestamp_ms": "1"}},
        {"delete": {"status": {"id": 99}}},
        {"delete": {"status": {}}},
    )
    m = run_build(tmp_path / "idx", path).manifest
    assert (m.read, m.posts, m.deleted, m.deletes_unmatched, m.skipped) == (2, 1, 1, 1, 1)
    assert m.sources[0].skipped == {"x-v1 stream 'delete' message without a tweet id": 1}


def test_x_v2_page_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "v2.jsonl", V2_PAGE)
    got = rows_of(path, "x-v2")
    assert got[0] == {
        "_line": 1,
        "id": "1574186989737459712",
        "created_at": "2022-09-25T23:59:59.000Z",
        "author": "uno",
        "text": "short #Uno <3",
        "platform": "x",
        "lang": "it",
        "likes": 4,
        "reposts": 3,
        "replies": 2,
        "quotes": 1,
        "hashtags": ["Uno"],
        "community": None,
    }
    assert got[1]["text"] == "a long post cut here… and going on #Dos"
    assert got[1]["hashtags"] == ["Dos"]
    assert (got[1]["author"], got[1]["lang"], got[1]["likes"]) == ("dos", None, 0)
    # No user in includes: the author id; a cut retweet keeps X's entities (no cut tag).
    assert got[2]["author"] == "999"
    assert got[2]["hashtags"] == []
    assert [r["_line"] for r in got] == [1, 1, 1]


def test_x_v2_flat_tweet_with_author_object(tmp_path: Path) -> None:
    tweet = {**V2_PAGE["data"][0], "author": {"id": "100", "username": "flatuno"}}
    del tweet["entities"]
    path = write(tmp_path / "flat.jsonl", tweet)
    (got,) = rows_of(path, "x-v2")
    assert got["author"] == "flatuno"
    assert got["hashtags"] is None  # no entities at all: extract from the text


def test_html_to_text() -> None:
    assert html_to_text("<p>a &amp; b</p><p>c<br>d<br/>e</p>") == "a & b\n\nc\nd\ne"
    assert html_to_text("plain") == "plain"
    assert html_to_text("<p>x</p><script>evil()</script>") == "x"
    assert html_to_text("<ul><li>one</li><li>two</li></ul>") == "one\ntwo"


def test_mastodon_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "toots.jsonl", MASTODON)
    assert rows_of(path, "mastodon") == [
        {
            "_line": 1,
            "id": "https://mastodon.social/users/alice/statuses/109000000000000001",
            "created_at": "2022-11-01T12:00:00.000Z",
            "author": "alice@mastodon.social",
            "text": (
                "Hello & welcome #PyThon\n\nline one\nline two <3 https://example.com/a/long/path"
            ),
            "platform": "mastodon",
            "lang": "en",
            "likes": 7,
            "reposts": 6,
            "replies": 5,
            "quotes": 0,
            "hashtags": ["PyThon"],
            "community": None,
        }
    ]


def test_mastodon_reblog_and_remote_account(tmp_path: Path) -> None:
    reblog = {
        "id": "2",
        "uri": "https://a.example/users/bob/statuses/2/activity",
        "created_at": "2022-11-02T00:00:00Z",
        "account": {"acct": "bob@a.example", "url": "https://a.example/@bob"},
        "content": "",
        "tags": [],
        "reblog": MASTODON,
    }
    path = write(tmp_path / "toots.json", [reblog])
    (got,) = rows_of(path, "mastodon")
    assert got["author"] == "bob@a.example"
    assert got["id"] == reblog["uri"]
    assert got["text"].startswith("Hello & welcome #PyThon")
    assert got["hashtags"] == ["PyThon"]
    assert got["likes"] == 0


def test_bluesky_jetstream_mapping_and_skips(tmp_path: Path) -> None:
    delete = {
        "did": "did:plc:abc",
        "time_us": 1,
        "kind": "commit",
        "commit": {"operation": "delete", "collection": "app.bsky.feed.post", "rkey": "x"},
    }
    like = {
        "did": "did:plc:abc",
        "time_us": 1,
        "kind": "commit",
        "commit": {"operation": "create", "collection": "app.bsky.feed.like", "rkey": "y"},
    }
    identity = {"did": "did:plc:abc", "time_us": 1, "kind": "identity", "identity": {}}
    path = write(tmp_path / "jet.jsonl", identity, JETSTREAM_POST, delete, like)
    batches = read_all(path, "bluesky")
    rows = [r for b in batches for r in b.rows.to_dicts()]
    assert rows == [
        {
            "_line": 2,
            "id": "at://did:plc:abc/app.bsky.feed.post/3lb2",
            "created_at": "2024-11-20T10:53:20.000Z",
            "author": "did:plc:abc",
            "text": "skeet #BlueSky and #dev",
            "platform": "bluesky",
            "lang": "de",
            "likes": 0,
            "reposts": 0,
            "replies": 0,
            "quotes": 0,
            "hashtags": ["BlueSky", "dev"],
            "community": None,
        }
    ]
    assert sum(len(b.rejects) for b in batches) == 0
    assert dict(batches[0].skipped) == {
        "bluesky 'identity' event": 1,
        "bluesky app.bsky.feed.like create": 1,
    }
    assert batches[0].deletes == [(3, "bluesky:at://did:plc:abc/app.bsky.feed.post/x")]


def test_bluesky_post_view_page(tmp_path: Path) -> None:
    record = {**JETSTREAM_POST["commit"]["record"], "facets": [], "tags": ["extra"]}
    view = {
        "uri": "at://did:plc:xyz/app.bsky.feed.post/9",
        "author": {"did": "did:plc:xyz", "handle": "x.bsky.social"},
        "record": record,
        "likeCount": 3,
        "repostCount": 2,
        "replyCount": 1,
        "quoteCount": 4,
    }
    path = write(tmp_path / "search.json", {"posts": [view]})
    (got,) = rows_of(path, "bluesky")
    assert got["id"] == "at://did:plc:xyz/app.bsky.feed.post/9"
    assert got["author"] == "did:plc:xyz"
    assert (got["likes"], got["reposts"], got["replies"], got["quotes"]) == (3, 2, 1, 4)
    assert got["hashtags"] == ["extra"]


def test_reddit_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "rs.jsonl", REDDIT_COMMENT, REDDIT_SUBMISSION)
    batches = read_all(path, "reddit")
    rows = [r for b in batches for r in b.rows.to_dicts()]
    assert rows == [
        {
            "_line": 1,
            "id": "t1_c0ffee",
            "created_at": "1600000000",
            "author": "carol",
            "text": "> quoted\n\nI like #python & #rust",
            "platform": "reddit",
            "lang": None,
            "likes": 0,
            "reposts": 0,
            "replies": 0,
            "quotes": 0,
            "hashtags": None,
            "community": "python",
        },
        {
            "_line": 2,
            "id": "t3_c0ffee",
            "created_at": "1600000100.5",
            "author": "dave",
            "text": "Show: a #tool\n\nBody text",
            "platform": "reddit",
            "lang": None,
            "likes": 12,
            "reposts": 0,
            "replies": 9,
            "quotes": 0,
            "hashtags": None,
            "community": "python",
        },
    ]
    assert dict(batches[0].notes) == {"reddit negative score counted as 0 likes": 1}
    posts, rejected = validate(batches[0].rows, "unknown")
    assert rejected.height == 0
    assert posts["created_at"].to_list() == [
        datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC),
        datetime(2020, 9, 13, 12, 28, 20, 500000, tzinfo=UTC),
    ]


# ---------------------------------------------------------------- rejects, layout, batches


def test_unreadable_records_are_rejects_with_the_line(tmp_path: Path) -> None:
    no_user = {k: v for k, v in V1_TWEET.items() if k != "user"}
    bad_date = {**V1_TWEET, "created_at": "yesterday"}
    path = write(tmp_path / "v1.jsonl", V1_TWEET, b"{not json\n", no_user, b"\n", bad_date, [1])
    batches = read_all(path, "x-v1")
    rejects = [r for b in batches for r in b.rejects]
    assert [(n, reason.split(":")[0]) for n, reason, _ in rejects] == [
        (2, "bad JSON"),
        (3, "X v1.1 tweet has no 'user.screen_name'"),
        (5, "bad timestamp in 'created_at'"),
        (6, "X v1.1 tweet is not a JSON object"),
    ]
    assert rejects[0][2] == "{not json"
    assert json.loads(rejects[1][2]) == no_user
    assert rejects[3][2] == "[1]"  # the line's only record: the line as read
    assert [r["_line"] for b in batches for r in b.rows.to_dicts()] == [1]
    assert batches[0].raw(1) == line(V1_TWEET).decode().rstrip("\n")


def test_pretty_printed_array_has_element_lines(tmp_path: Path) -> None:
    other = {**MASTODON, "uri": "https://mastodon.social/users/alice/statuses/2"}
    path = tmp_path / "toots.json"
    path.write_text(json.dumps([MASTODON, other], indent=2))
    rows = rows_of(path, "mastodon")
    text = path.read_text().splitlines()
    assert len(rows) == 2
    assert [text[r["_line"] - 1].strip() for r in rows] == ["{", "{"]
    assert rows[0]["_line"] == 2
    assert rows[1]["_line"] > rows[0]["_line"]


def test_broken_document_keeps_what_came_before(tmp_path: Path) -> None:
    path = tmp_path / "toots.json"
    path.write_text(json.dumps([MASTODON], indent=2)[:-2] + ",\n  {oops\n]")
    batches = read_all(path, "mastodon")
    assert sum(b.rows.height for b in batches) == 1
    ((n, reason, raw),) = [r for b in batches for r in b.rejects]
    assert reason.startswith("bad JSON")
    assert "oops" in raw
    assert n == len(path.read_text().splitlines()) - 1


def test_gzip_and_batches(tmp_path: Path) -> None:
    comments = [{**REDDIT_COMMENT, "id": f"c{i}", "score": i} for i in range(5)]
    path = tmp_path / "rc.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(line(c) for c in comments)))
    batches = read_all(path, "reddit", batch_rows=2)
    assert [b.rows.height for b in batches] == [2, 2, 1]
    assert [r["id"] for b in batches for r in b.rows.to_dicts()] == [f"t1_c{i}" for i in range(5)]


def test_unknown_format_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path / "x.jsonl", CANONICAL)
    with pytest.raises(InputError, match="unknown format 'myspace'"):
        list(read_batches(path, "myspace", tmp_path))


# ---------------------------------------------------------------- real X data


def _v2_entities(tweet: dict[str, Any]) -> list[str] | None:
    entities = (tweet.get("note_tweet") or {}).get("entities") or tweet.get("entities")
    return None if entities is None else [h["tag"] for h in entities.get("hashtags", [])]


def _v2_expected(tweet: dict[str, Any], included: dict[str, Any]) -> list[str] | None:
    """X's own entities; a retweet's are its original's (its own are cut at 140)."""
    for ref in tweet.get("referenced_tweets", []):
        if ref["type"] == "retweeted":
            original = _v2_entities(included.get(ref["id"], ref))
            return _v2_entities(tweet) if original is None else original
    return _v2_entities(tweet)


def _v1_entities(tweet: dict[str, Any]) -> list[str]:
    entities = (tweet.get("extended_tweet") or tweet)["entities"]
    return [h["text"] for h in entities["hashtags"]]


def _v1_expected(tweet: dict[str, Any]) -> list[str]:
    return _v1_entities(tweet.get("retweeted_status") or tweet)


def _real_records(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The file's tweets, and the referenced tweets its pages include (by id)."""
    text = path.read_text(encoding="utf-8")
    if path.name in ("get_search_geocode.json", "get_home_timeline.json"):
        value = json.loads(text)
        return list(value["statuses"] if isinstance(value, dict) else value), {}
    records: list[dict[str, Any]] = []
    included: dict[str, Any] = {}
    for raw in text.splitlines():
        value = json.loads(raw)
        records.extend(value["data"] if "data" in value and "text" not in value else [value])
        included.update({t["id"]: t for t in value.get("includes", {}).get("tweets", [])})
    return records, included


@pytest.mark.parametrize(
    ("path", "fmt", "count", "unique", "retweets", "cut"),
    [
        (V2 / "flat.jsonl", "x-v2", 100, 100, 47, 4),
        (V2 / "entities_test.jsonl", "x-v2", 474, 474, 314, 79),
        # The streaming sample holds one tweet twice (lines 32 and 55): dedup's job.
        (V1 / "streaming_lines.json", "x-v1", 72, 71, 0, 0),
        (V1 / "get_search_geocode.json", "x-v1", 15, 15, 1, 0),
        (V1 / "get_home_timeline.json", "x-v1", 20, 20, 14, 0),
    ],
)
def test_real_x_files(
    path: Path, fmt: str, count: int, unique: int, retweets: int, cut: int
) -> None:
    """Every tweet read; tags are X's entities (a retweet's: its original's, of which
    ``cut`` retweets' own entities lack the tags cut off at 140 characters)."""
    batches = read_all(path, fmt, batch_rows=100)
    frame = pl.concat([b.rows for b in batches])
    assert sum(len(b.rejects) for b in batches) == 0
    assert frame.height == count
    assert frame["id"].dtype == pl.String()
    assert frame["id"].n_unique() == unique
    assert frame["id"].str.contains(r"^\d+$").all()
    assert (frame["platform"] == "x").all()
    assert frame["author"].null_count() == 0

    posts, rejected = validate(frame, "unknown")
    assert rejected.height == 0
    assert posts.height == count
    assert posts["created_at"].null_count() == 0
    assert posts["created_at"].min() > datetime(2006, 3, 21, tzinfo=UTC)  # type: ignore[operator]

    records, included = _real_records(path)
    assert [r["id_str"] if fmt == "x-v1" else r["id"] for r in records] == frame["id"].to_list()
    expected = [_v1_expected(r) if fmt == "x-v1" else _v2_expected(r, included) for r in records]
    assert frame["hashtags"].to_list() == expected
    assert any(expected)
    own = [_v1_entities(r) if fmt == "x-v1" else _v2_entities(r) for r in records]
    assert sum(a != b for a, b in zip(own, expected, strict=True)) == cut
    notes = sum((b.notes for b in batches), Counter[str]())
    assert notes == (
        {f"{fmt} retweet counted as the reposter's post": retweets} if retweets else {}
    )


def test_real_v2_page_authors_come_from_includes() -> None:
    path = V2 / "entities_test.jsonl"
    page = json.loads(path.read_text(encoding="utf-8"))
    users = {u["id"]: u["username"] for u in page["includes"]["users"]}
    frame = pl.concat([b.rows for b in read_all(path, "x-v2")])
    assert frame["author"].to_list() == [users[t["author_id"]] for t in page["data"]]
    assert frame["_line"].unique().to_list() == [1]


def test_pretty_printed_page_object(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    path.write_text(json.dumps(V2_PAGE, indent=2))
    assert detect_file(path) == "x-v2"
    rows = rows_of(path, "x-v2")
    assert [r["author"] for r in rows] == ["uno", "dos", "999"]
    assert {r["_line"] for r in rows} == {1}


def test_page_line_raw_is_left_to_the_canonical_row(tmp_path: Path) -> None:
    """Several tweets share a page's line: a later reject shows the row, not the page."""
    bad = {**V2_PAGE["data"][0], "created_at": "nope"}
    path = write(tmp_path / "v2.jsonl", {**V2_PAGE, "data": [bad, V2_PAGE["data"][1]]}, bad)
    (batch,) = read_all(path, "x-v2")
    assert batch.raw(1) is None
    assert batch.raw(2) == line(bad).decode().rstrip("\n")
    posts, rejected = validate(batch.rows, "unknown")
    assert posts["id"].to_list() == ["1574186989737459713"]
    assert rejected["_line"].to_list() == [1, 2]


def test_x_v1_without_id_str_or_entities(tmp_path: Path) -> None:
    """The 2007 API: a numeric ``id`` only, no entities (so the text's tags count)."""
    old = {
        "created_at": "Sun Jun 03 17:59:37 +0000 2007",
        "text": "first birthday #party",
        "id": 89497702,
        "user": {"screen_name": "olterman"},
    }
    path = tmp_path / "public_timeline.json"
    path.write_text(json.dumps([old], indent=2))
    assert detect_file(path) == "x-v1"
    (got,) = rows_of(path, "x-v1")
    assert (got["id"], got["author"], got["hashtags"]) == ("89497702", "olterman", None)
    assert got["created_at"] == "2007-06-03T17:59:37Z"
