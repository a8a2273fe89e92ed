"""Whole-document JSON (arrays, collections, pages) is read in chunks, in bounded memory."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from indexer.formats import jsonscan, native
from indexer.formats.jsonscan import iter_stream
from tests.conftest import ROOT
from tests.test_native import MASTODON, REDDIT_COMMENT, V1_TWEET, read_all, write

OUTBOX = ROOT / "tests" / "fixtures" / "native" / "mastodon" / "outbox.json"


def pieces(text: str) -> list[tuple[int, Any, str | None]]:
    data = text.encode()
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        chunk = data[pos : pos + n]
        pos += n
        return chunk

    return [(p.line, p.value, p.error) for p in iter_stream(read)]


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 7 characters: every value, string and escape is cut somewhere."""
    monkeypatch.setattr(jsonscan, "CHUNK_CHARS", 7)
    monkeypatch.setattr(native, "PROBE_BYTES", 64)


TRICKY = [
    {"text": 'brackets ] } [ { in a string, an escaped \\" quote and a \\\\'},
    {"text": "Grüße 🌧️ ＃Köln", "n": [1, [2, {"x": None}]]},
    "a string element",
    12345,
    True,
    [],
    {},
]


@pytest.mark.usefixtures("tiny_chunks")
def test_elements_cut_by_chunks_decode_with_their_lines() -> None:
    text = json.dumps(TRICKY, indent=2, ensure_ascii=False)
    got = pieces(text)
    assert [value for _, value, _ in got] == TRICKY
    lines = text.splitlines()
    starts = [lines[n - 1].strip()[:2] for n, _, _ in got]
    assert starts == ["{", "{", '"a', "12", "tr", "[]", "{}"]


@pytest.mark.usefixtures("tiny_chunks")
def test_collections_stream_their_items_wrapped_in_their_key() -> None:
    page = {"search_metadata": {"count": 2}, "statuses": [{"id": 1}, {"id": 2}], "x": [3]}
    got = pieces(json.dumps(page, indent=1))
    assert [(line, value) for line, value, _ in got] == [
        (6, {"statuses": [{"id": 1}]}),
        (9, {"statuses": [{"id": 2}]}),
    ]
    # No collection member: the object whole, at its first line.
    assert pieces('\n\n{"data": [{"id": 1}],\n "includes": {}}') == [
        (3, {"data": [{"id": 1}], "includes": {}}, None)
    ]


def test_values_one_after_another_as_jq_writes_them() -> None:
    text = json.dumps({"a": 1}, indent=2) + "\n" + json.dumps([{"b": 2}], indent=2) + "\n"
    assert [(n, v) for n, v, _ in pieces(text)] == [(1, {"a": 1}), (5, {"b": 2})]


def test_a_bad_element_is_one_reject_and_reading_goes_on() -> None:
    got = pieces('[\n {"a": 1},\n {"a": tru},\n {"a": 3}\n]')
    assert [(n, v) for n, v, e in got if e is None] == [(2, {"a": 1}), (4, {"a": 3})]
    ((n, _, error),) = [g for g in got if g[2] is not None]
    assert n == 3
    assert error is not None
    assert error.startswith("bad JSON")


def test_broken_structure_ends_the_document_with_the_rest() -> None:
    got = pieces('[\n {"a": 1}\n {"a": 2}\n]')
    assert got[0] == (2, {"a": 1}, None)
    (n, value, error) = got[1]
    assert (n, value) == (3, None)
    assert (
        error
        == "bad JSON: expected ',' or ']' after an array element, found '{' (rest of the document)"
    )
    assert len(got) == 2


@pytest.mark.usefixtures("tiny_chunks")
def test_reader_streams_a_pretty_array_and_a_one_line_outbox(tmp_path: Path) -> None:
    toots = [
        {**MASTODON, "uri": f"https://mastodon.social/users/alice/statuses/{i}"} for i in range(5)
    ]
    path = tmp_path / "toots.json.gz"
    text = json.dumps(toots, indent=2)
    path.write_bytes(gzip.compress(text.encode()))
    rows = [r for b in read_all(path, "mastodon") for r in b.rows.to_dicts()]
    assert [r["id"].rsplit("/", 1)[1] for r in rows] == ["0", "1", "2", "3", "4"]
    lines = text.splitlines()
    assert all(lines[r["_line"] - 1] == "  {" for r in rows)
    # One line longer than the probe: a document, streamed item by item.
    assert OUTBOX.stat().st_size > native.PROBE_BYTES
    batches = read_all(OUTBOX, "mastodon-outbox")
    assert [r["_line"] for b in batches for r in b.rows.to_dicts()] == [1, 1, 1]
    assert sum(b.skipped.total() for b in batches) == 2
    assert [r for b in batches for r in b.rejects] == []


def test_reader_keeps_json_lines_line_by_line(tmp_path: Path) -> None:
    path = write(tmp_path / "rc.jsonl", REDDIT_COMMENT, b'{"oops\n', REDDIT_COMMENT)
    batches = read_all(path, "reddit")
    assert [r["_line"] for b in batches for r in b.rows.to_dicts()] == [1, 3]
    assert [n for b in batches for n, _, _ in b.rejects] == [2]


def test_x_v1_search_response_streams_its_statuses(tmp_path: Path) -> None:
    second = {**V1_TWEET, "id_str": "2"}
    path = tmp_path / "search.json"
    path.write_text(
        json.dumps({"statuses": [V1_TWEET, second], "search_metadata": {"count": 2}}, indent=2)
    )
    batch = read_all(path, "x-v1")[0]
    assert batch.rows["id"].to_list() == ["972556547133411328", "2"]
    line = batch.rows["_line"].to_list()[1]
    assert json.loads(batch.raw(line) or "") == second  # the element as read


BOUNDED = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from indexer.formats import registry
    from indexer.formats.native import iter_units
    from tests.conftest import read_native

    def kib(field):  # VmRSS: resident now; VmHWM: the peak so far
        status = Path("/proc/self/status").read_text().splitlines()
        return next(int(s.split()[1]) for s in status if s.startswith(field + ":"))

    path, warm = Path(sys.argv[1]), Path(sys.argv[2])
    for entry in registry.FORMATS:  # every reader's module loaded, as one build does
        entry.reader()
    for _ in read_native(warm, "reddit", 10):  # polars' first frame: its pools, not ours
        pass
    before = kib("VmRSS")
    units = sum(1 for _ in iter_units(path))
    parse_growth = kib("VmHWM") - before
    before = kib("VmRSS")
    rows = rejects = 0
    for batch in read_native(path, "reddit", 1000):
        rows += batch.rows.height
        rejects += len(batch.rejects)
    growth = kib("VmHWM") - before
    print(json.dumps({"units": units, "rows": rows, "rejects": rejects,
                      "parse_growth_kib": parse_growth, "growth_kib": growth}))
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_a_50_mb_array_reads_in_bounded_memory(tmp_path: Path) -> None:
    """A 50 MB pretty-printed array: the peak RSS grows by a fraction of the file's size
    over the resident size before reading (read whole, it would grow by 2-3x the file)."""
    path = tmp_path / "comments.json"
    element = json.dumps({**REDDIT_COMMENT, "body": "#python " + "x" * 2000}, indent=2)
    element = element.replace('"id": "c0ffee"', '"id": "c%07d"')
    count = 50_000_000 // len(element) + 1
    with path.open("w") as f:
        f.write("[\n")
        f.write(",\n".join(element % i for i in range(count)))
        f.write("\n]\n")
    size = path.stat().st_size
    assert size > 50_000_000
    warm = write(tmp_path / "warm.jsonl", REDDIT_COMMENT)
    out = subprocess.run(
        [sys.executable, "-c", BOUNDED, str(path), str(warm)],
        capture_output=True,
        check=True,
        cwd=ROOT,
        text=True,
        timeout=60,
    )
    got = json.loads(out.stdout)
    assert (got["units"], got["rows"], got["rejects"]) == (count, count, 0)
    # Parsing holds one chunk and one element (measured: ~4 MB); reading into batches
    # of 1,000 rows holds about two batches (measured: ~17 MB), whatever the file size.
    assert got["parse_growth_kib"] * 1024 < size / 8, got
    assert got["growth_kib"] * 1024 < size / 2, got
