"""build/update options that reach the readers: --reposts, --format, unknown formats."""

from __future__ import annotations

import ast
import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from hashtag_index.cli import make_parser
from hashtag_index.indexing import BUILD_HELP
from hashtag_index.options import FORMATS, ingest_options
from indexer.build import BuildOptions, build
from indexer.errors import IndexerError, InputError
from indexer.formats import registry
from indexer.formats.base import CANONICAL_FIELDS, InputFormat
from indexer.formats.detect import detect_format
from indexer.formats.native import Mapper
from indexer.globals import read_posts
from indexer.inputs import expand_inputs
from indexer.update import update
from tests.conftest import NOW, post, write_ndjson

TRIED = "tried parquet, x-v1, x-v2, mastodon, mastodon-outbox, bluesky, reddit, "


@pytest.mark.parametrize("command", ["build", "update"])
def test_reposts_flag_reaches_the_build_options(command: str) -> None:
    parse = make_parser().parse_args
    assert ingest_options(parse([command, "in/"])).reposts == "count"
    assert ingest_options(parse([command, "in/", "--reposts", "exclude"])).reposts == "exclude"


def test_a_bad_reposts_value_is_rejected_by_the_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        make_parser().parse_args(["build", "in/", "--reposts", "sometimes"])
    assert done.value.code == 2
    assert "--reposts: invalid choice: 'sometimes'" in capsys.readouterr().err


def test_format_choices_are_every_reader() -> None:
    assert tuple(FORMATS) == registry.names()
    assert ("tried " + ", ".join(registry.names())).startswith(TRIED)


def test_build_help_names_every_field_and_suffix() -> None:
    """``build --help`` writes the canonical fields and the file suffixes out in prose: it
    must name each one the code reads (a new field or suffix is documented, or this fails)."""
    words = set(BUILD_HELP.replace(",", " ").replace(";", " ").replace("(", " ").split())
    missing = [f for f in CANONICAL_FIELDS if f not in words]
    missing += [s for f in registry.FORMATS for s in f.suffixes if s not in words]
    assert missing == []


def test_every_registered_format_has_a_reader() -> None:
    assert len(set(registry.names())) == len(registry.FORMATS)
    for entry in registry.FORMATS:
        reader = entry.reader()
        assert isinstance(reader, Mapper if entry.native else InputFormat), entry
        assert reader.name == entry.name


def test_the_registry_loads_no_reader() -> None:
    """--help lists the formats: the registry alone imports neither polars nor msgspec."""
    code = "import sys, indexer.formats.registry; print(sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(out.stdout))
    assert not loaded & {"polars", "msgspec", "indexer.formats.base", "indexer.formats.x_v1"}


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
    assert message.endswith("bluesky, reddit, ndjson, csv; name one with --format")
    assert "\n" not in message


def test_unknown_format_fails_the_build_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hashtag_index.cli import main

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


def _inbox_with_links(tmp_path: Path) -> Path:
    """An inbox with a post, a link to it, and links (file, directory) to posts elsewhere."""
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    write_ndjson(inbox / "a.ndjson", [post(1, "#inbox")])
    write_ndjson(elsewhere / "secret.ndjson", [post(2, "#secret")])
    (inbox / "again.ndjson").symlink_to(inbox / "a.ndjson")
    (inbox / "out.ndjson").symlink_to(elsewhere / "secret.ndjson")
    (inbox / "outdir").symlink_to(elsewhere, target_is_directory=True)
    (inbox / "loop").symlink_to(inbox, target_is_directory=True)
    return inbox


def test_directory_scans_do_not_follow_links_out_of_the_directory(tmp_path: Path) -> None:
    inbox = _inbox_with_links(tmp_path)
    warnings: list[str] = []
    assert expand_inputs([str(inbox)], warnings.append) == [inbox / "a.ndjson"]
    assert warnings == [
        f"{inbox}: passed over 2 symbolic links leading out of the directory (out.ndjson -> "
        f"{tmp_path}/elsewhere/secret.ndjson, outdir -> {tmp_path}/elsewhere); pass "
        "--follow-symlinks to read them"
    ]
    followed = expand_inputs([str(inbox)], warnings.append, follow_symlinks=True)
    assert {p.resolve() for p in followed} == {
        (inbox / "a.ndjson").resolve(),
        (tmp_path / "elsewhere" / "secret.ndjson").resolve(),
    }


def test_build_and_update_read_links_out_of_an_inbox_only_when_asked(tmp_path: Path) -> None:
    inbox = _inbox_with_links(tmp_path)
    index = tmp_path / "index"
    options = BuildOptions(index_dir=index)
    built = build([str(inbox)], options, now=NOW)
    assert [s.path for s in built.manifest.sources] == [str(inbox / "a.ndjson")]
    assert read_posts(built.generation_dir)["tags"].to_list() == [["inbox"]]
    assert any("--follow-symlinks" in w for w in built.warnings)
    updated = update([str(inbox)], options, now=NOW)  # what the admin reindex runs
    assert not updated.published
    options.follow_symlinks = True
    updated = update([str(inbox)], options, now=NOW)
    assert updated.published
    assert sorted(read_posts(updated.generation_dir)["tags"].to_list()) == [["inbox"], ["secret"]]


def test_an_inbox_of_only_links_out_names_them(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_ndjson(tmp_path / "secret.ndjson", [post(2, "#secret")])
    (inbox / "s.ndjson").symlink_to(tmp_path / "secret.ndjson")
    with pytest.raises(
        InputError,
        match=r"directory holds no input files \(passed over 1 symbolic link .*s\.ndjson ->",
    ):
        expand_inputs([str(inbox)])


@pytest.mark.parametrize(
    ("given", "expected"), [(None, None), (";", ";"), ("tab", "\t"), ("\\t", "\t"), ("|", "|")]
)
def test_csv_delimiter_option(given: str | None, expected: str | None) -> None:
    extra = [] if given is None else ["--csv-delimiter", given]
    args = make_parser().parse_args(["build", "a.csv", *extra])
    assert ingest_options(args).csv_delimiter == expected


@pytest.mark.parametrize("given", [";;", "", '"', "\n"])
def test_a_bad_csv_delimiter_is_one_line(given: str) -> None:
    args = make_parser().parse_args(["build", "a.csv", "--csv-delimiter", given])
    with pytest.raises(IndexerError, match="--csv-delimiter must be one character"):
        ingest_options(args)
