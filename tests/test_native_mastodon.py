"""Mastodon: an account archive's outbox.json and spec-exact REST Status entities."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from indexer.formats import registry
from indexer.formats.detect import detect_format as detect_file
from indexer.formats.mastodon_outbox import BOOST_SKIPPED, NOT_PUBLIC, actor_acct
from tests.conftest import read_native
from tests.test_native import detect, read_all, write
from tests.test_update import run_build

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "native" / "mastodon"
OUTBOX = FIXTURES / "outbox.json"
STATUSES = FIXTURES / "statuses.json"
ALICE = "https://mastodon.social/users/alice"


def test_outbox_is_one_line_as_mastodon_writes_it() -> None:
    """BackupService dumps the collection with Oj.dump: one line, no newline."""
    assert b"\n" not in OUTBOX.read_bytes()
    assert "mastodon-outbox" in registry.native_names()
    assert detect_file(OUTBOX) == "mastodon-outbox"


def test_outbox_rows_and_skips() -> None:
    batches = read_all(OUTBOX, "mastodon-outbox")
    rows = [r for b in batches for r in b.rows.to_dicts()]
    assert rows == [
        {
            "_line": 1,
            "id": f"{ALICE}/statuses/109312345678901234",
            "created_at": "2022-11-10T09:15:00Z",
            "author": "alice@mastodon.social",
            "text": "Hello #Fediverse & #Python folks!\n\nGrüße @bob",
            "platform": "mastodon",
            "lang": "en",
            "likes": 4,
            "reposts": 2,
            "replies": 0,
            "quotes": 0,
            "hashtags": ["Fediverse", "Python"],  # `#python` spelled as in the text
            "community": None,
        },
        {
            "_line": 1,
            "id": f"{ALICE}/statuses/109312345678901300",
            "created_at": "2022-11-10T10:00:00Z",
            "author": "alice@mastodon.social",
            "text": "unlisted, no tag list, but #Mastodon in the text",
            "platform": "mastodon",
            "lang": None,
            "likes": 0,
            "reposts": 0,
            "replies": 0,
            "quotes": 0,
            "hashtags": None,  # no `tag` at all: the text's tags
            "community": None,
        },
        {
            "_line": 1,
            "id": f"{ALICE}/statuses/109312345678901500",
            "created_at": "2022-11-10T12:00:00Z",
            "author": "alice@mastodon.social",
            "text": "Poll: which #Editor?",
            "platform": "mastodon",
            "lang": "de",
            "likes": 0,
            "reposts": 0,
            "replies": 0,
            "quotes": 0,
            "hashtags": ["Editor"],
            "community": None,
        },
    ]
    assert [r for b in batches for r in b.rejects] == []
    assert sum((b.skipped for b in batches), Counter[str]()) == {
        NOT_PUBLIC: 1,
        BOOST_SKIPPED: 1,
    }


@pytest.mark.parametrize("policy", ["count", "exclude"])
def test_outbox_boosts_are_skipped_under_either_policy(policy: str) -> None:
    batches = list(read_native(OUTBOX, "mastodon-outbox", 100, reposts=policy))
    skipped = sum((b.skipped for b in batches), Counter[str]())  # type: ignore[attr-defined]
    assert skipped[BOOST_SKIPPED] == 1
    assert sum(b.rows.height for b in batches) == 3


def test_outbox_pretty_printed_and_items_per_line(tmp_path: Path) -> None:
    value = json.loads(OUTBOX.read_text(encoding="utf-8"))
    pretty = tmp_path / "outbox.json"
    pretty.write_text(json.dumps(value, indent=2, ensure_ascii=False), encoding="utf-8")
    assert detect_file(pretty) == "mastodon-outbox"
    got = [r for b in read_all(pretty, "mastodon-outbox") for r in b.rows.to_dicts()]
    assert [r["id"].rsplit("/", 1)[1] for r in got] == [
        "109312345678901234",
        "109312345678901300",
        "109312345678901500",
    ]
    lines = pretty.read_text(encoding="utf-8").splitlines()
    assert all(lines[r["_line"] - 1].strip() == "{" for r in got)
    # `jq -c '.orderedItems[]'`: one activity a line.
    per_line = write(tmp_path / "items.jsonl", *value["orderedItems"])
    assert detect_file(per_line) == "mastodon-outbox"
    got = [r for b in read_all(per_line, "mastodon-outbox") for r in b.rows.to_dicts()]
    assert [r["_line"] for r in got] == [1, 2, 5]


def test_outbox_bad_activities_are_rejects(tmp_path: Path) -> None:
    value = json.loads(OUTBOX.read_text(encoding="utf-8"))
    good = value["orderedItems"][0]
    no_content = json.loads(json.dumps(good))
    del no_content["object"]["content"]
    uri_only = {**good, "object": good["object"]["id"]}
    path = write(tmp_path / "items.jsonl", no_content, uri_only, {**good, "type": "Delete"})
    batches = read_all(path, "mastodon-outbox")
    assert [(n, reason) for b in batches for n, reason, _ in b.rejects] == [
        (1, "Mastodon outbox activity has no 'object.content'"),
        (2, "Mastodon outbox activity 'object' is not a JSON object"),
    ]
    assert [d for b in batches for d in b.deletes] == [(3, f"mastodon:{good['object']['id']}")]
    assert sum((b.skipped for b in batches), Counter[str]()) == Counter()


def test_outbox_delete_removes_the_post(tmp_path: Path) -> None:
    """A ``Delete`` (a Tombstone, or the bare URI) removes the post it names; one of
    the account itself, or of no id, is skipped, counted."""
    value = json.loads(OUTBOX.read_text(encoding="utf-8"))
    first, second = value["orderedItems"][0], value["orderedItems"][1]
    actor = first["actor"]
    tombstone = {"id": first["object"]["id"], "type": "Tombstone"}
    activities = [
        first,
        second,
        {"type": "Delete", "actor": actor, "object": tombstone},
        {"type": "Delete", "actor": actor, "object": second["object"]["id"]},
        {"type": "Delete", "actor": actor, "object": actor},
        {"type": "Delete", "actor": actor, "object": {"type": "Tombstone"}},
    ]
    path = write(tmp_path / "items.jsonl", *activities)
    batches = read_all(path, "mastodon-outbox")
    assert [d for b in batches for d in b.deletes] == [
        (3, f"mastodon:{first['object']['id']}"),
        (4, f"mastodon:{second['object']['id']}"),
    ]
    assert sum((b.skipped for b in batches), Counter[str]()) == {
        "mastodon-outbox Delete of an account": 1,
        "mastodon-outbox Delete without an object id": 1,
    }
    m = run_build(tmp_path / "idx", path, allow_empty=True).manifest  # every post deleted
    assert (m.read, m.posts, m.deleted, m.deletes_unmatched, m.skipped) == (2, 0, 2, 0, 2)


@pytest.mark.parametrize(
    ("uri", "acct"),
    [
        ("https://mastodon.social/users/alice", "alice@mastodon.social"),
        ("https://fosstodon.org/@bob", "bob@fosstodon.org"),
        ("https://example.com/actor", "https://example.com/actor"),
    ],
)
def test_actor_acct(uri: str, acct: str) -> None:
    assert actor_acct(uri) == acct


# ---------------------------------------------------------------- REST Status entities


def _statuses() -> list[dict[str, Any]]:
    value: list[dict[str, Any]] = json.loads(STATUSES.read_text(encoding="utf-8"))
    return value


def test_rest_fixture_detected_as_mastodon() -> None:
    assert detect(STATUSES.read_bytes()) == "mastodon"


def test_rest_statuses_rows() -> None:
    """GET /api/v1/accounts/:id/statuses as returned: a status, a boost, a remote reply."""
    batches = read_all(STATUSES, "mastodon")
    rows = [r for b in batches for r in b.rows.to_dicts()]
    lines = STATUSES.read_text(encoding="utf-8").splitlines()
    assert all(lines[r["_line"] - 1] == "  {" for r in rows)
    assert [{k: v for k, v in r.items() if k != "_line"} for r in rows] == [
        {
            "id": "https://mastodon.social/users/Gargron/statuses/109318451785290000",
            "created_at": "2022-11-10T19:38:59.573Z",
            "author": "Gargron@mastodon.social",
            "text": "Hello world from #Mastodon 4.0 & #OpenSource\n\nhttps://joinmastodon.org",
            "platform": "mastodon",
            "lang": "en",
            "likes": 1234,
            "reposts": 321,
            "replies": 45,
            "quotes": 0,
            "hashtags": ["Mastodon", "OpenSource"],
            "community": None,
        },
        {
            "id": "https://mastodon.social/users/Gargron/statuses/109318460000000000/activity",
            "created_at": "2022-11-10T19:41:00.000Z",
            "author": "Gargron@mastodon.social",
            "text": "Straße gesperrt wegen #Bauarbeiten #Köln",
            "platform": "mastodon",
            "lang": "de",
            "likes": 0,
            "reposts": 0,
            "replies": 0,
            "quotes": 0,
            "hashtags": ["Bauarbeiten", "Köln"],  # the boosted status's, as written
            "community": None,
        },
        {
            "id": "https://fosstodon.org/users/bob/statuses/109318470000000000",
            "created_at": "2022-11-10T19:45:10.000Z",
            "author": "bob@fosstodon.org",
            "text": "@Gargron congrats! no tags here",
            "platform": "mastodon",
            "lang": None,
            "likes": 2,
            "reposts": 0,
            "replies": 0,
            "quotes": 0,
            "hashtags": [],  # Mastodon's empty `tags`: no tags
            "community": None,
        },
    ]
    notes = sum((b.notes for b in batches), Counter[str]())
    assert notes == {"mastodon boost counted as the reposter's post": 1}
    assert (
        _statuses()[1]["reblog"]["tags"][1]["name"] == "köln"
    )  # the API name; the text spells it Köln
