"""build/update options that reach the readers: --reposts, --format, unknown formats."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from indexer.cli import FORMATS, _ingest_options, make_parser
from indexer.errors import InputError
from indexer.native import NATIVE_FORMATS
from indexer.sources import CANONICAL_FORMATS, all_formats, detect_format
from tests.conftest import post, write_ndjson

TRIED = "tried ndjson, csv, parquet, x-v1, x-v2, mastodon, "


@pytest.mark.parametrize("command", ["build", "update"])
def test_reposts_flag_reaches_the_build_options(command: str) -> None:
    parse = make_parser().parse_args
    assert _ingest_options(parse([command, "in/"])).reposts == "count"
    assert _ingest_options(parse([command, "in/", "--reposts", "exclude"])).reposts == "exclude"


def test_a_bad_reposts_value_is_rejected_by_the_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        make_parser().parse_args(["build", "in/", "--reposts", "sometimes"])
    assert done.value.code == 2
    assert "--reposts: invalid choice: 'sometimes'" in capsys.readouterr().err


def test_format_choices_are_every_reader() -> None:
    assert tuple(FORMATS) == all_formats() == (*CANONICAL_FORMATS, *NATIVE_FORMATS)
    assert ("tried " + ", ".join(all_formats())).startswith(TRIED)


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("discord.json", b'{"guild": {"id": "1"}, "messages": []}\n', "JSON records of no known"),
        ("notes", b"just some text\nmore text\n", "neither JSON nor CSV"),
        ("photo.ndjson", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
    ],
)
def test_unknown_format_names_the_file_and_the_formats_tried(
    tmp_path: Path, name: str, content: bytes, why: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as raised:
        detect_format(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: unknown format ({why}")
    assert TRIED in message
    assert message.endswith("bluesky, reddit; name one with --format")
    assert "\n" not in message


def test_unknown_format_fails_the_build_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from indexer.cli import main

    good = write_ndjson(tmp_path / "in" / "a.ndjson", [post(1, "#a")])
    odd = tmp_path / "in" / "b.json.gz"
    with gzip.open(odd, "wb") as f:
        f.write(b'[{"foo": 1, "bar": 2}]\n')
    with pytest.raises(SystemExit) as done:
        main(["build", str(good.parent), "--index", str(tmp_path / "idx")])
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{odd}: unknown format (JSON records of no known format (keys: bar, foo))" in err
    assert TRIED in err
    assert not (tmp_path / "idx" / "current").exists()


def test_canonical_files_with_bad_rows_are_still_canonical(tmp_path: Path) -> None:
    """Rows with a missing field are rejects of a canonical file, not an unknown format."""
    rows = tmp_path / "a.ndjson"
    write_ndjson(rows, ["{broken", post(1, "x") | {"author": None}, {"id": "2", "text": "y"}])
    assert detect_format(rows) == "ndjson"
    junk = write_ndjson(tmp_path / "b.ndjson", ["not json at all", "{"])
    assert detect_format(junk) == "ndjson"  # every line a reject, as before
    empty = tmp_path / "c"
    empty.write_bytes(b"\n\n")
    assert detect_format(empty) == "ndjson"


def test_lines_that_are_not_json_objects_stay_canonical_rejects(tmp_path: Path) -> None:
    for i, lines in enumerate([["{bad", "b2"], ["[1, 2]", '"text"'], ["{}"]]):
        assert detect_format(write_ndjson(tmp_path / f"{i}.ndjson", lines)) == "ndjson"
