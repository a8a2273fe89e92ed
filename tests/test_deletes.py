"""Delete events (Bluesky Jetstream ``delete`` commits): a delete removes the copies of
its post read before it, in a build and (the parent's post too) in an update; a post
created again after it survives. Tables, tantivy and the manifest agree."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import tantivy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashtag_index.cli import main
from indexer.globals import read_posts, read_tags
from indexer.schema import open_posts_index
from tests.conftest import post
from tests.test_update import Row, assert_same_generation, check_split, run_build, run_update

ANN = "did:plc:annannannannannannannann"
BOB = "did:plc:bobbobbobbobbobbobbobbob"
POST = "app.bsky.feed.post"


def uid(did: str, rkey: str) -> str:
    return f"bluesky:at://{did}/{POST}/{rkey}"


def create(did: str, rkey: str, text: str, minute: int = 0) -> dict[str, Any]:
    return {
        "did": did,
        "time_us": 1_790_000_000_000_000 + minute,
        "kind": "commit",
        "commit": {
            "rev": f"c{rkey}{minute}",
            "operation": "create",
            "collection": POST,
            "rkey": rkey,
            "record": {
                "$type": POST,
                "text": text,
                "createdAt": f"2026-10-01T00:{minute:02d}:00.000Z",
                "langs": ["en"],
            },
            "cid": f"bafy{rkey}{minute}",
        },
    }


def delete(did: str, rkey: str) -> dict[str, Any]:
    return {
        "did": did,
        "time_us": 1_790_000_000_000_000,
        "kind": "commit",
        "commit": {"rev": f"d{rkey}", "operation": "delete", "collection": POST, "rkey": rkey},
    }


def write_lines(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def tantivy_tag_counts(gen: Path) -> dict[str, int]:
    searcher = open_posts_index(gen).searcher()
    agg = searcher.aggregate(
        tantivy.Query.all_query(), {"t": {"terms": {"field": "tags", "size": 1000}}}
    )
    return {b["key"]: b["doc_count"] for b in agg["t"]["buckets"]}


def test_a_delete_removes_the_copies_read_before_it(tmp_path: Path) -> None:
    dump = write_lines(
        tmp_path / "jetstream.jsonl",
        [
            create(ANN, "a1", "hello #gone #kept", 1),
            create(BOB, "b1", "world #kept", 2),
            create(ANN, "a1", "hello again #gone", 3),  # a second copy: deleted too
            delete(ANN, "a1"),
            delete(ANN, "zz"),  # never seen
            delete(ANN, "a1"),  # already deleted
            create(BOB, "b2", "python #again", 4),
            delete(BOB, "b2"),
            create(BOB, "b2", "python back #again", 5),  # created after its delete: survives
        ],
    )
    result = run_build(tmp_path / "idx", dump)
    m = result.manifest
    counts = (m.read, m.rejected, m.posts, m.duplicates, m.deleted, m.deletes_unmatched)
    assert counts == (5, 0, 2, 1, 2, 2)
    assert m.posts == m.read - m.rejected - m.duplicates - m.deleted
    assert m.sources[0].deletes == 4
    gen = result.generation_dir
    posts = read_posts(gen).sort("uid")
    assert posts.select("uid", "tags").rows() == [
        (uid(BOB, "b1"), ["kept"]),
        (uid(BOB, "b2"), ["again"]),
    ]
    tags = read_tags(gen)
    assert dict(tags.select("tag", "posts").rows()) == {"kept": 1, "again": 1}
    assert tantivy_tag_counts(gen) == {"kept": 1, "again": 1}  # no ghost postings
    index = open_posts_index(gen)
    searcher = index.searcher()
    assert searcher.num_docs == 2
    assert searcher.search(index.parse_query("hello", ["text"]), 10).count == 0
    hits = searcher.search(index.parse_query("python", ["text"]), 10).hits
    assert [searcher.doc(a)["text"][0] for _, a in hits] == ["python back #again"]


def test_a_delete_in_a_later_input_removes_a_post_of_an_earlier_one(tmp_path: Path) -> None:
    canonical = tmp_path / "in" / "1-canonical.ndjson"
    canonical.parent.mkdir(parents=True)
    canonical.write_text(json.dumps(post(7, "#other", platform="x")) + "\n")
    first = write_lines(tmp_path / "in" / "2-a.jsonl", [create(ANN, "a1", "#tag", 1)])
    second = write_lines(tmp_path / "in" / "3-b.jsonl", [delete(ANN, "a1"), delete(BOB, "x")])
    m = run_build(tmp_path / "idx", canonical, first, second).manifest
    assert (m.posts, m.deleted, m.deletes_unmatched, m.duplicates) == (1, 1, 1, 0)
    assert [s.deletes for s in m.sources] == [0, 0, 2]
    # Order matters: the same delete read first matches nothing.
    m = run_build(tmp_path / "idx2", second, first).manifest
    assert (m.posts, m.deleted, m.deletes_unmatched) == (1, 0, 2)


def test_the_summary_line_and_info_count_deletes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = write_lines(
        tmp_path / "j.jsonl",
        [
            create(ANN, "a1", "#a", 1),
            create(ANN, "a2", "#b", 2),
            delete(ANN, "a1"),
            delete(ANN, "q"),
        ],
    )
    index = str(tmp_path / "idx")
    with pytest.raises(SystemExit) as done:
        main(["build", str(dump), "--index", index, "--quiet"])
    assert done.value.code == 0
    line = capsys.readouterr().out.strip()
    assert re.search(
        r"read 2 rows, indexed 1 post \(2 accepted, 0 duplicates, 0 rejected, "
        r"1 deleted, 1 delete unmatched\), 1 tag,",
        line,
    ), line
    more = write_lines(tmp_path / "k.jsonl", [delete(ANN, "a2"), create(BOB, "b1", "#c", 3)])
    with pytest.raises(SystemExit):
        main(["update", str(more), "--index", index, "--quiet"])
    line = capsys.readouterr().out.strip()
    assert re.search(
        r"read 1 row: 1 post added, 0 replaced, 0 duplicates, 0 rejected, "
        r"1 deleted, 0 deletes unmatched; .* now 1 post,",
        line,
    ), line
    with pytest.raises(SystemExit):
        main(["info", "--index", index])
    assert "deleted      2  (1 delete unmatched)" in capsys.readouterr().out


# --- build A; update B == build A B, with deletes ------------------------------

A_EVENTS: list[Row] = [
    create(ANN, "a1", "hello #Python", 1),
    create(ANN, "a2", "world #rust", 2),
    create(BOB, "b1", "hello world #solo", 3),
    delete(BOB, "gone-before"),
    create(BOB, "b2", "python news #t13", 4),
    delete(BOB, "b2"),
]

DELETE_SCENARIOS: dict[str, list[list[Row]]] = {
    "B deletes posts of A": [[delete(ANN, "a1"), delete(BOB, "b1"), create(BOB, "b3", "#rust")]],
    "B deletes and re-creates a post of A": [
        [delete(ANN, "a1"), create(ANN, "a1", "hello again #strasse", 9)]
    ],
    "B re-creates then deletes": [[create(ANN, "a2", "new copy #rust", 9), delete(ANN, "a2")]],
    "B re-creates a post A deleted": [[create(BOB, "b2", "back #python", 9)]],
    "B deletes what A deleted, and unknown posts": [
        [delete(BOB, "b2"), delete(BOB, "nope"), delete(BOB, "gone-before")]
    ],
    "B: a delete between two files": [
        [create(ANN, "n1", "#solo", 5), create(ANN, "a1", "edited #café", 6)],
        [delete(ANN, "n1"), delete(ANN, "a1"), delete(ANN, "a1")],
    ],
    "B mixes canonical rows and deletes": [
        [post(1, "hello #python", platform="x"), "{bad"],
        [delete(ANN, "a2"), create(ANN, "a3", "cafe #café", 7)],
    ],
}


@pytest.mark.parametrize("scenario", list(DELETE_SCENARIOS))
def test_update_with_deletes_equals_a_full_build(tmp_path: Path, scenario: str) -> None:
    check_split(tmp_path, [[A_EVENTS], DELETE_SCENARIOS[scenario]])


def test_figures_of_an_update_with_deletes(tmp_path: Path) -> None:
    result = check_split(
        tmp_path,
        [
            [A_EVENTS],
            [
                [
                    delete(ANN, "a1"),  # a post of the generation
                    create(ANN, "n1", "#new", 5),
                    create(ANN, "n1", "#new again", 6),
                    delete(ANN, "n1"),  # a post of this update (2 copies)
                    delete(ANN, "nope"),
                    create(ANN, "n2", "#kept", 7),
                ]
            ],
        ],
    )
    f = result.figures
    assert (f.read, f.added, f.replaced, f.duplicates, f.rejected) == (3, 1, 0, 1, 0)
    assert (f.deleted, f.deleted_published, f.deletes_unmatched) == (2, 1, 1)
    assert f.read == f.added + f.replaced + f.duplicates + f.rejected + (
        f.deleted - f.deleted_published
    )
    m = result.manifest
    assert (m.deleted, m.deletes_unmatched) == (1 + 2, 1 + 1)  # A's own, then B's


def test_a_chain_of_updates_with_deletes(tmp_path: Path) -> None:
    check_split(
        tmp_path,
        [
            [A_EVENTS],
            DELETE_SCENARIOS["B deletes and re-creates a post of A"],
            DELETE_SCENARIOS["B re-creates then deletes"],
            DELETE_SCENARIOS["B deletes posts of A"],
        ],
    )


RKEYS = ("k1", "k2", "k3")


@st.composite
def events(draw: st.DrawFn) -> Row:
    rkey = draw(st.sampled_from(RKEYS))
    if draw(st.integers(0, 2)) == 0:
        return delete(ANN, rkey)
    words = draw(st.lists(st.sampled_from(["hello", "world", "#python", "#rust", "#t13"])))
    return create(ANN, rkey, " ".join(words), draw(st.integers(0, 9)))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events(), min_size=1, max_size=16), st.integers(0, 16))
def test_random_deletes_split_anywhere_equal_a_full_build(rows: list[Row], cut: int) -> None:
    cut = min(cut, len(rows))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        a = write_lines(root / "in/a.jsonl", [r for r in rows[:cut] if isinstance(r, dict)])
        b = write_lines(
            root / "in/b.jsonl",
            [r for r in rows[cut:] if isinstance(r, dict)] + [delete(BOB, "marker")],
        )
        # Either may hold no post (every one deleted): empty generations are asked for.
        run_build(root / "updated", a, allow_empty=True)
        updated = run_update(root / "updated", b)
        full = run_build(root / "built", a, b, allow_empty=True)
        assert_same_generation(updated.generation_dir, full.generation_dir)
        m = full.manifest
        assert m.posts == m.read - m.rejected - m.duplicates - m.deleted
        assert m.deleted + m.deletes_unmatched == sum(s.deletes for s in m.sources)
