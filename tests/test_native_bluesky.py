"""Bluesky: spec-exact Jetstream and firehose samples, deletes, facets on UTF-8 bytes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from indexer.formats.bluesky import REPOST_SKIPPED
from indexer.formats.detect import detect_format as detect_file
from tests.test_native import read_all, write

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "native" / "bluesky"
JETSTREAM = FIXTURES / "jetstream.jsonl"
FIREHOSE = FIXTURES / "firehose.jsonl"
ALICE = "did:plc:z72i7hdynmk6r22z27h6tvur"
BOB = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
FIRST = f"at://{ALICE}/app.bsky.feed.post/3lbfbpb6wb22k"
REPLY = f"at://{BOB}/app.bsky.feed.post/3lbfbqhwbdk2x"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines()]


def test_fixture_facets_index_utf8_bytes() -> None:
    """The fixture follows the lexicon: a facet's byteStart/byteEnd are UTF-8 byte
    offsets (so they differ from character offsets after ü, ß, ö and the emoji)."""
    record = _lines(JETSTREAM)[1]["commit"]["record"]
    text: bytes = record["text"].encode("utf-8")
    spans = [
        text[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in record["facets"]
    ]
    assert spans == ["#Köln", "#dev", "@bsky.app", "https://atproto.com"]
    assert record["text"].index("#Köln") != record["facets"][0]["index"]["byteStart"]


def test_jetstream_fixture_rows_skips_and_deletes() -> None:
    assert detect_file(JETSTREAM) == "bluesky"
    batches = read_all(JETSTREAM, "bluesky")
    rows = [r for b in batches for r in b.rows.to_dicts()]
    assert rows == [
        {
            "_line": 2,
            "id": FIRST,
            "created_at": "2024-11-20T10:53:20.123Z",
            "author": ALICE,
            "text": "Grüße aus Köln 🌧️ #Köln #dev mit @bsky.app https://atproto.com",
            "platform": "bluesky",
            "lang": "de",
            "likes": 0,
            "reposts": 0,
            "replies": 0,
            "quotes": 0,
            "hashtags": ["Köln", "dev", "Wetter"],  # the facets, then the record's `tags`
            "community": None,
        },
        {
            "_line": 3,
            "id": REPLY,
            "created_at": "2024-11-20T10:54:00.000Z",
            "author": BOB,
            "text": "replying, no tags in facets but #written in text",
            "platform": "bluesky",
            "lang": "en",
            "likes": 0,
            "reposts": 0,
            "replies": 0,
            "quotes": 0,
            "hashtags": None,  # no facets, no tags: the text's tags count
            "community": None,
        },
    ]
    assert [r for b in batches for r in b.rejects] == []
    assert sum((b.skipped for b in batches), Counter[str]()) == {
        "bluesky 'identity' event": 1,
        "bluesky 'account' event": 1,
        "bluesky app.bsky.feed.like create": 1,
        "bluesky app.bsky.feed.like delete": 1,
        REPOST_SKIPPED: 1,
    }
    # The post delete names exactly the uid its create was indexed under.
    assert [d for b in batches for d in b.deletes] == [(7, f"bluesky:{FIRST}")]
    assert f"{rows[0]['platform']}:{rows[0]['id']}" == f"bluesky:{FIRST}"


def test_delete_only_batch_is_yielded(tmp_path: Path) -> None:
    delete = _lines(JETSTREAM)[6]
    path = write(tmp_path / "deletes.jsonl", delete)
    (batch,) = read_all(path, "bluesky")
    assert batch.rows.height == 0
    assert batch.deletes == [(1, f"bluesky:{FIRST}")]
    assert not batch.skipped


def test_deletes_travel_with_the_batch_of_their_line(tmp_path: Path) -> None:
    create, delete = _lines(JETSTREAM)[1], _lines(JETSTREAM)[6]
    path = write(tmp_path / "jet.jsonl", create, create, delete, create)
    batches = read_all(path, "bluesky", batch_rows=2)
    assert [(b.rows["_line"].to_list(), b.deletes) for b in batches] == [
        ([1, 2], []),
        ([4], [(3, f"bluesky:{FIRST}")]),
    ]


def test_jetstream_update_is_a_later_copy(tmp_path: Path) -> None:
    create = _lines(JETSTREAM)[1]
    update = json.loads(json.dumps(create))
    update["commit"]["operation"] = "update"
    update["commit"]["record"]["text"] = "edited #neu"
    update["commit"]["record"]["facets"] = []
    path = write(tmp_path / "jet.jsonl", create, update)
    rows = [r for b in read_all(path, "bluesky") for r in b.rows.to_dicts()]
    assert [(r["id"], r["text"], r["hashtags"]) for r in rows] == [
        (FIRST, create["commit"]["record"]["text"], ["Köln", "dev", "Wetter"]),
        (FIRST, "edited #neu", ["Wetter"]),
    ]


def test_firehose_fixture_rows_skips_and_deletes() -> None:
    """subscribeRepos #commit events as JSON, each op's record decoded from the CAR blocks."""
    assert detect_file(FIREHOSE) == "bluesky"
    batches = read_all(FIREHOSE, "bluesky")
    rows = [r for b in batches for r in b.rows.to_dicts()]
    assert [
        (r["_line"], r["id"], r["author"], r["created_at"], r["lang"], r["hashtags"]) for r in rows
    ] == [
        (1, FIRST, ALICE, "2024-11-20T10:53:20.123Z", "de", ["Köln", "dev", "Wetter"]),
    ]
    ((n, reason, raw),) = [r for b in batches for r in b.rejects]
    assert n == 2
    assert reason == (
        "Bluesky post: firehose op has no decoded 'record' (decode the commit's CAR blocks)"
    )
    assert json.loads(raw) == _lines(FIREHOSE)[1]  # the line's only op: the line as read
    assert sum((b.skipped for b in batches), Counter[str]()) == {
        "bluesky app.bsky.feed.like create": 1,
        REPOST_SKIPPED: 1,
        "bluesky firehose 'identity' event": 1,
    }
    assert [d for b in batches for d in b.deletes] == [(4, f"bluesky:{FIRST}")]


def test_firehose_style_record_lines(tmp_path: Path) -> None:
    record = _lines(JETSTREAM)[1]["commit"]["record"]
    create = {"repo": ALICE, "path": "app.bsky.feed.post/3lbfbpb6wb22k", "record": record}
    delete = {"repo": ALICE, "path": "app.bsky.feed.post/3lbfbpb6wb22k", "action": "delete"}
    other = {"repo": ALICE, "path": "app.bsky.graph.follow/3x", "action": "delete"}
    path = write(tmp_path / "records.jsonl", create, delete, other)
    batches = read_all(path, "bluesky")
    assert [r["id"] for b in batches for r in b.rows.to_dicts()] == [FIRST]
    assert [d for b in batches for d in b.deletes] == [(2, f"bluesky:{FIRST}")]
    assert sum((b.skipped for b in batches), Counter[str]()) == {
        "bluesky app.bsky.graph.follow delete": 1
    }
