"""The repost policy: retweets and boosts count as the reposter's post, or are excluded."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from indexer.errors import InputError
from indexer.formats.bluesky import REPOST_SKIPPED
from indexer.formats.native import NativeBatch
from indexer.ingest import read_batches
from tests.conftest import read_native
from tests.test_native import JETSTREAM_POST, MASTODON, V1_TWEET, V2_PAGE, write


def read(path: Path, fmt: str, reposts: str) -> list[NativeBatch]:
    batches = [b for b in read_native(path, fmt, 1000, reposts=reposts)]
    return [b for b in batches if isinstance(b, NativeBatch)]


def rows(batches: list[NativeBatch]) -> list[dict[str, Any]]:
    return [r for b in batches for r in b.rows.to_dicts()]


def skipped(batches: list[NativeBatch]) -> Counter[str]:
    return sum((b.skipped for b in batches), Counter[str]())


def notes(batches: list[NativeBatch]) -> Counter[str]:
    return sum((b.notes for b in batches), Counter[str]())


def engagement(row: dict[str, Any]) -> tuple[int, int, int, int]:
    return row["likes"], row["reposts"], row["replies"], row["quotes"]


# A classic-API retweet: its own text and entities are cut at 140 characters.
V1_RETWEET: dict[str, Any] = {
    "created_at": "Sat Mar 10 20:00:00 +0000 2018",
    "id": 972559400000000000,
    "id_str": "972559400000000000",
    "text": "RT @alice: Long post about #Python &amp; #Rust that X cut at 140 #Fa…",
    "truncated": False,
    "user": {"id_str": "2", "screen_name": "bob"},
    "lang": "en",
    "favorite_count": 0,
    "retweet_count": 2,
    "entities": {
        "hashtags": [{"text": "Python", "indices": [27, 34]}, {"text": "Rust", "indices": [41, 46]}]
    },
    "retweeted_status": V1_TWEET,
}
V2_RETWEET: dict[str, Any] = {
    "id": "1574186989737459799",
    "author_id": "200",
    "created_at": "2022-09-26T00:00:00.000Z",
    "text": "RT @uno: short #Uno &lt;3",
    "edit_history_tweet_ids": ["1574186989737459799"],
    "referenced_tweets": [{"type": "retweeted", "id": "1574186989737459712"}],
    "public_metrics": {"like_count": 0, "retweet_count": 3, "reply_count": 0, "quote_count": 0},
    "entities": {"hashtags": [{"start": 15, "end": 19, "tag": "Uno"}]},
}


def test_unknown_policy_is_an_input_error_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "missing.jsonl"  # not even read
    with pytest.raises(InputError, match="unknown repost policy 'skip'"):
        read_native(path, "x-v1", 10, reposts="skip")
    with pytest.raises(InputError, match="unknown format 'myspace'"):
        list(read_batches(path, "myspace", tmp_path))


def test_x_v1_retweet_counts_as_the_retweeters_post(tmp_path: Path) -> None:
    path = write(tmp_path / "v1.jsonl", V1_RETWEET, V1_TWEET)
    batches = read(path, "x-v1", "count")
    got = rows(batches)
    assert [(r["id"], r["author"], r["created_at"]) for r in got] == [
        ("972559400000000000", "bob", "2018-03-10T20:00:00Z"),
        ("972556547133411328", "alice", "2018-03-10T19:48:40Z"),
    ]
    # The text as given; the original's full tags (the retweet's own lack #FastAPI).
    assert got[0]["text"] == "RT @alice: Long post about #Python & #Rust that X cut at 140 #Fa…"
    assert got[0]["hashtags"] == ["Python", "Rust", "FastAPI"]
    # The counts X copies onto a retweet are the original's: not the retweet's.
    assert engagement(got[0]) == (0, 0, 0, 0)
    assert engagement(got[1]) == (5, 2, 1, 3)
    assert notes(batches) == {"x-v1 retweet counted as the reposter's post": 1}
    assert skipped(batches) == {}


def test_x_v1_retweet_excluded(tmp_path: Path) -> None:
    path = write(tmp_path / "v1.jsonl", V1_RETWEET, V1_TWEET)
    batches = read(path, "x-v1", "exclude")
    assert [(r["_line"], r["id"]) for r in rows(batches)] == [(2, "972556547133411328")]
    assert skipped(batches) == {"x-v1 retweet excluded by the repost policy": 1}
    assert notes(batches) == {}


def test_x_v1_truncated_text_is_indexed_as_given(tmp_path: Path) -> None:
    """``truncated: true`` without extended text: the cut text as given, X's entities
    (which never hold the cut-off ``#Fa…``) as the tags."""
    cut = {k: v for k, v in V1_TWEET.items() if k != "extended_tweet"}
    path = write(tmp_path / "v1.jsonl", cut)
    (got,) = rows(read(path, "x-v1", "count"))
    assert got["text"] == "Long post about #Python & #Rust that X cut at 140 #Fa…"
    assert got["hashtags"] == ["Python"]


def test_x_v2_page_retweet_takes_the_included_originals_tags(tmp_path: Path) -> None:
    long_original = {**V2_PAGE["data"][1], "id": "1574186989737459712"}
    page = {
        "data": [V2_RETWEET, V2_PAGE["data"][0]],
        "includes": {**V2_PAGE["includes"], "tweets": [long_original]},
    }
    path = write(tmp_path / "v2.jsonl", page)
    batches = read(path, "x-v2", "count")
    got = rows(batches)
    assert [(r["id"], r["author"], r["hashtags"]) for r in got] == [
        ("1574186989737459799", "dos", ["Dos"]),  # the included original's note_tweet tags
        ("1574186989737459712", "uno", ["Uno"]),
    ]
    assert got[0]["text"] == "RT @uno: short #Uno <3"
    assert engagement(got[0]) == (0, 0, 0, 0)
    assert notes(batches) == {"x-v2 retweet counted as the reposter's post": 1}

    batches = read(path, "x-v2", "exclude")
    assert [r["id"] for r in rows(batches)] == ["1574186989737459712"]
    assert skipped(batches) == {"x-v2 retweet excluded by the repost policy": 1}


def test_x_v2_retweet_without_the_original_keeps_its_own_entities(tmp_path: Path) -> None:
    path = write(tmp_path / "v2.jsonl", V2_RETWEET)
    batches = read(path, "x-v2", "count")
    (got,) = rows(batches)
    assert (got["author"], got["hashtags"]) == ("200", ["Uno"])
    assert notes(batches) == {"x-v2 retweet counted as the reposter's post": 1}


def test_x_v2_flat_retweet_uses_the_expanded_reference(tmp_path: Path) -> None:
    """twarc's flattened tweets carry the referenced tweet expanded in place."""
    flat = {
        **V2_RETWEET,
        "author": {"id": "200", "username": "dos"},
        "referenced_tweets": [
            {
                "type": "retweeted",
                "id": "1",
                "text": "original #Uno and #Tres",
                "entities": {
                    "hashtags": [
                        {"start": 9, "end": 13, "tag": "Uno"},
                        {"start": 18, "end": 23, "tag": "Tres"},
                    ]
                },
            }
        ],
    }
    path = write(tmp_path / "flat.jsonl", flat)
    (got,) = rows(read(path, "x-v2", "count"))
    assert (got["author"], got["hashtags"]) == ("dos", ["Uno", "Tres"])


MASTODON_BOOST: dict[str, Any] = {
    "id": "109000000000000777",
    "uri": "https://fosstodon.org/users/bob/statuses/109000000000000777/activity",
    "created_at": "2022-11-02T08:00:00.000Z",
    "account": {"acct": "bob", "url": "https://fosstodon.org/@bob"},
    "content": "",
    "language": None,
    "tags": [],
    "favourites_count": 0,
    "reblogs_count": 0,
    "replies_count": 0,
    "reblog": MASTODON,
}


def test_mastodon_boost_count_and_exclude(tmp_path: Path) -> None:
    path = write(tmp_path / "toots.jsonl", MASTODON_BOOST, MASTODON)
    batches = read(path, "mastodon", "count")
    got = rows(batches)
    assert [(r["id"], r["author"], r["lang"], r["hashtags"]) for r in got] == [
        (MASTODON_BOOST["uri"], "bob@fosstodon.org", "en", ["PyThon"]),
        (MASTODON["uri"], "alice@mastodon.social", "en", ["PyThon"]),
    ]
    assert got[0]["text"] == got[1]["text"]
    assert engagement(got[0]) == (0, 0, 0, 0)
    assert notes(batches) == {"mastodon boost counted as the reposter's post": 1}

    batches = read(path, "mastodon", "exclude")
    assert [r["id"] for r in rows(batches)] == [MASTODON["uri"]]
    assert skipped(batches) == {"mastodon boost excluded by the repost policy": 1}


@pytest.mark.parametrize("policy", ["count", "exclude"])
def test_bluesky_reposts_have_no_text_and_are_skipped_either_way(
    tmp_path: Path, policy: str
) -> None:
    repost = {
        "did": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
        "time_us": 1732100042000000,
        "kind": "commit",
        "commit": {
            "rev": "3lbfbqjwbzs2x",
            "operation": "create",
            "collection": "app.bsky.feed.repost",
            "rkey": "3lbfbqjwbdk2x",
            "record": {
                "$type": "app.bsky.feed.repost",
                "createdAt": "2024-11-20T10:54:02.000Z",
                "subject": {"cid": "bafy", "uri": "at://did:plc:abc/app.bsky.feed.post/3lb2"},
            },
            "cid": "bafyrepost",
        },
    }
    path = write(tmp_path / "jet.jsonl", JETSTREAM_POST, repost)
    batches = read(path, "bluesky", policy)
    assert [r["id"] for r in rows(batches)] == ["at://did:plc:abc/app.bsky.feed.post/3lb2"]
    assert skipped(batches) == {REPOST_SKIPPED: 1}
    assert notes(batches) == {}


@pytest.mark.parametrize("policy", ["count", "exclude"])
def test_reddit_has_no_reposts(tmp_path: Path, policy: str) -> None:
    comment = {
        "id": "c1",
        "author": "carol",
        "subreddit": "python",
        "body": "#x",
        "created_utc": 1,
    }
    path = write(tmp_path / "rc.jsonl", comment)
    batches = read(path, "reddit", policy)
    assert len(rows(batches)) == 1
    assert (skipped(batches), notes(batches)) == ({}, {})
