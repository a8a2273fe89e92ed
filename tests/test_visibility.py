"""Nothing lost, nothing silent: skipped native records, files a directory scan leaves
out, inputs whose every row is rejected, and summary lines in good English."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zstandard

from hashtag_index.cli import main
from indexer.build import BuildOptions, BuildResult, build
from indexer.errors import InputError
from indexer.inputs import directory_entry, expand_inputs
from indexer.progress import Progress, plural
from indexer.schema import Manifest, encode_manifest, read_manifest
from indexer.update import UpdateResult, update
from tests.conftest import NOW, ROOT, post, write_ndjson

NATIVE = ROOT / "tests" / "fixtures" / "native"
JETSTREAM = NATIVE / "bluesky" / "jetstream.jsonl"
X_V1 = ROOT / "tests" / "fixtures" / "real" / "x-v1-python-twitter"


def run_build(index: Path, *inputs: Path | str, **options: Any) -> BuildResult:
    return build([str(i) for i in inputs], BuildOptions(index_dir=index, **options), now=NOW)


def run_update(index: Path, *inputs: Path | str, **options: Any) -> UpdateResult:
    return update([str(i) for i in inputs], BuildOptions(index_dir=index, **options), now=NOW)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main([*args, "--quiet"] if args[0] in ("build", "update") else list(args))
    out, err = capsys.readouterr()
    code = done.value.code
    assert isinstance(code, int)
    return code, out, err


# --- skipped and adjusted native records ---------------------------------------

JETSTREAM_SKIPPED = {
    "bluesky 'account' event": 1,
    "bluesky 'identity' event": 1,
    "bluesky app.bsky.feed.like create": 1,
    "bluesky app.bsky.feed.like delete": 1,
    "bluesky repost (a record without text: the original's tags are unknown)": 1,
}


def test_every_line_of_the_jetstream_sample_is_accounted_for(tmp_path: Path) -> None:
    m = run_build(tmp_path / "idx", JETSTREAM).manifest
    [source] = m.sources
    assert source.skipped == JETSTREAM_SKIPPED
    assert source.notes == {}
    lines = len(JETSTREAM.read_bytes().splitlines())
    assert (lines, source.rows, source.deletes, m.skipped) == (8, 2, 1, 5)
    assert source.rows + source.deletes + sum(source.skipped.values()) == lines


def test_the_summary_line_and_info_show_skipped_and_adjusted_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = str(tmp_path / "idx")
    code, out, err = run_cli(
        capsys, "build", str(JETSTREAM), str(NATIVE / "mastodon"), "--index", index
    )
    assert (code, err) == (0, "")
    assert re.fullmatch(
        r"generation \S+: read 8 rows, indexed 7 posts \(8 accepted, 0 duplicates, 0 rejected, "
        r"1 deleted, 0 deletes unmatched\), 7 records skipped \(not posts\), \d+ tags, [\d.]+ s\n",
        out,
    ), out
    code, out, _ = run_cli(capsys, "info", "--index", index)
    assert code == 0
    assert "skipped      7 records (not posts; by source below)" in out
    assert "      skipped 1: bluesky 'identity' event\n" in out
    assert "      skipped 1: mastodon-outbox followers-only or direct post\n" in out
    assert "      adjusted 1: mastodon boost counted as the reposter's post\n" in out
    assert "      1 delete event\n" in out
    code, out, _ = run_cli(capsys, "info", "--index", index, "--json")
    manifest = json.loads(out)
    assert manifest["skipped"] == 7
    assert manifest["sources"][0]["skipped"] == JETSTREAM_SKIPPED
    assert [s["notes"] for s in manifest["sources"][1:]] == [
        {},
        {"mastodon boost counted as the reposter's post": 1},
    ]


def test_reposts_are_notes_when_counted_and_skips_when_excluded(tmp_path: Path) -> None:
    counted = run_build(tmp_path / "a", X_V1).manifest
    excluded = run_build(tmp_path / "b", X_V1, reposts="exclude").manifest
    retweets = "x-v1 retweet counted as the reposter's post"
    assert sum(s.notes.get(retweets, 0) for s in counted.sources) == 15
    assert counted.skipped == 0
    assert excluded.skipped == 15
    assert {r for s in excluded.sources for r in s.skipped} == {
        "x-v1 retweet excluded by the repost policy"
    }
    assert counted.read - excluded.read == 15


def test_an_update_counts_skipped_records_as_one_build_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = JETSTREAM.read_bytes().splitlines(keepends=True)
    first, second = tmp_path / "j-1.jsonl", tmp_path / "j-2.jsonl"
    first.write_bytes(b"".join(lines[:4]))  # identity, two posts, a like
    second.write_bytes(b"".join(lines[4:]))  # repost, account, post delete, like delete
    index = str(tmp_path / "idx")
    assert run_cli(capsys, "build", str(first), "--index", index)[0] == 0
    code, out, _ = run_cli(capsys, "update", str(second), "--index", index)
    assert code == 0
    assert re.search(
        r"read 0 rows: 0 posts added, 0 replaced, 0 duplicates, 0 rejected, 1 deleted, "
        r"0 deletes unmatched, 3 records skipped \(not posts\); skipped 0 inputs already "
        r"ingested; now 1 post, 1 tag, ",
        out,
    ), out
    updated = read_manifest(tmp_path / "idx" / "current")
    whole = run_build(tmp_path / "whole", first, second).manifest
    assert updated.skipped == whole.skipped == 5
    assert [(s.skipped, s.notes) for s in updated.sources] == [
        (s.skipped, s.notes) for s in whole.sources
    ]


def test_a_manifest_written_before_skipped_and_notes_still_loads(tmp_path: Path) -> None:
    m = run_build(tmp_path / "idx", JETSTREAM).manifest
    old = json.loads(encode_manifest(m))
    del old["skipped"]
    for s in old["sources"]:
        del s["skipped"], s["notes"]
    loaded = msgspec.json.decode(json.dumps(old).encode(), type=Manifest)
    assert loaded.skipped == 0
    assert (loaded.sources[0].skipped, loaded.sources[0].notes) == ({}, {})


# --- directory scans ------------------------------------------------------------


def _zst(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(zstandard.ZstdCompressor().compress(source.read_bytes()))
    return target


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("RC_2015-01.zst", "data"),
        ("RS_2011-01.gz", "data"),
        ("comments.2015-01.zst", "data"),
        ("a.ndjson.zst", "data"),
        ("sub/b.csv", "data"),
        ("README.ndjson", "data"),
        ("dump.tar.gz", "other"),
        ("notes.txt", "other"),
        ("RC_2015-01", "other"),
        ("RC_2005-12.bz2", "other"),
        ("README", "ignored"),
        ("license.txt", "ignored"),
        ("SOURCE.md", "ignored"),
        (".hidden.ndjson", "ignored"),
        (".git/objects/ab.zst", "ignored"),
    ],
)
def test_what_a_directory_scan_reads(name: str, kind: str) -> None:
    assert directory_entry(Path(name)) == kind


def test_a_directory_of_pushshift_dumps_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dumps = tmp_path / "reddit"
    _zst(NATIVE / "reddit" / "RC_sample.ndjson", dumps / "comments" / "RC_2015-01.zst")
    _zst(NATIVE / "reddit" / "RS_sample.ndjson", dumps / "submissions" / "RS_2011-01.zst")
    code, out, err = run_cli(capsys, "build", str(dumps), "--index", str(tmp_path / "idx"))
    assert (code, err) == (0, "")
    assert "read 6 rows, indexed 6 posts" in out
    m = read_manifest(tmp_path / "idx" / "current")
    assert [(Path(s.path).name, s.format) for s in m.sources] == [
        ("RC_2015-01.zst", "reddit"),
        ("RS_2011-01.zst", "reddit"),
    ]


def test_files_a_directory_scan_leaves_out_are_named_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dumps = tmp_path / "in"
    write_ndjson(dumps / "a.ndjson", [post(1, "#a")])
    for name in ("notes.txt", "b.tar.gz", "c.torrent", "d.xml", "README", ".DS_Store", "x.md"):
        (dumps / name).write_bytes(b"not data")
    warned: list[str] = []
    assert expand_inputs([str(dumps)], warned.append) == [dumps / "a.ndjson"]
    assert warned == [
        f"{dumps}: passed over 4 files not named like data (b.tar.gz, c.torrent, d.xml, ...); "
        "name a file to read it"
    ]
    code, out, err = run_cli(capsys, "build", str(dumps), "--index", str(tmp_path / "idx"))
    assert code == 0
    assert "indexed 1 post " in out
    assert err == f"hashtag-index: warning: {warned[0]}\n"
    # A file named directly, or matched by a glob, is read whatever its name.
    assert expand_inputs([str(dumps / "notes.txt"), str(dumps / "*.torrent")]) == [
        dumps / "notes.txt",
        dumps / "c.torrent",
    ]


def test_a_directory_with_nothing_to_read_names_what_it_passed_over(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "README.md").write_text("about")
    with pytest.raises(InputError, match=r"in: directory holds no input files$"):
        expand_inputs([str(tmp_path / "in")])
    (tmp_path / "in" / "RC_2015-01.bz2").write_bytes(b"BZh9")
    with pytest.raises(
        InputError,
        match=r"in: directory holds no input files \(passed over 1 file not named like data "
        r"\(RC_2015-01\.bz2\)\)$",
    ):
        expand_inputs([str(tmp_path / "in")])


# --- inputs whose every row is rejected -------------------------------------------


def _pretty(path: Path) -> Path:
    """A pretty-printed JSON array of canonical rows: read as NDJSON, every line is bad."""
    rows = [post(i, "#x") for i in range(3)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=2))
    return path


def test_a_build_of_only_rejected_rows_fails_and_the_generation_stays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "idx"
    good = run_build(index, write_ndjson(tmp_path / "good.ndjson", [post(1, "#a")]))
    bad = _pretty(tmp_path / "pretty.json")
    other = write_ndjson(tmp_path / "other.ndjson", ["nope", ""])
    code, out, err = run_cli(capsys, "build", str(bad), str(other), "--index", str(index))
    assert (code, out) == (1, "")
    assert err == (
        f"hashtag-index: error: no post to index, every row read was rejected ({bad}: all 20 "
        f"rows rejected, the first at line 1: Expected 'object', got 'array'; {other}: its one "
        "row rejected, at line 1: bad JSON: JSON is malformed: invalid character (byte 4)); "
        "nothing was published\n"
    )
    assert (index / "current").resolve() == good.generation_dir
    assert sorted(p.name for p in (index / "generations").iterdir()) == [good.generation_dir.name]


def test_an_input_of_only_rejected_rows_among_good_ones_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _pretty(tmp_path / "in" / "a-pretty.json")
    write_ndjson(tmp_path / "in" / "b.ndjson", [post(1, "#a"), "oops"])
    index = tmp_path / "idx"
    code, out, err = run_cli(capsys, "build", str(tmp_path / "in"), "--index", str(index))
    assert code == 0
    assert "read 22 rows, indexed 1 post (1 accepted, 0 duplicates, 21 rejected)" in out
    assert err == (
        f"hashtag-index: warning: {bad}: all 20 rows rejected, the first at line 1: "
        "Expected 'object', got 'array'; the other inputs were indexed\n"
    )
    result = run_build(tmp_path / "idx2", tmp_path / "in")
    assert result.warnings == [err.removeprefix("hashtag-index: warning: ").rstrip("\n")]


def test_an_update_of_only_rejected_rows_fails_and_can_be_retried(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "idx"
    good = run_build(index, write_ndjson(tmp_path / "good.ndjson", [post(1, "#a")]))
    bad = _pretty(tmp_path / "pretty.json")
    for _ in range(2):  # not recorded as ingested: the second run fails the same way
        code, out, err = run_cli(capsys, "update", str(bad), "--index", str(index))
        assert (code, out) == (1, "")
        assert err.startswith("hashtag-index: error: no post to index, every row read was")
        assert err.count("\n") == 1
    assert (index / "current").resolve() == good.generation_dir
    # Among new inputs with posts, it is a warning, as in a build.
    fixed = write_ndjson(tmp_path / "more.ndjson", [post(2, "#b")])
    result = run_update(index, bad, fixed)
    assert result.published
    assert result.figures.added == 1
    assert [w.split(":")[0] for w in result.warnings] == [str(bad)]


def test_rows_all_deleted_or_no_rows_at_all_are_not_rejections(tmp_path: Path) -> None:
    empty = write_ndjson(tmp_path / "empty.ndjson", ["", " "])
    assert run_build(tmp_path / "a", empty, allow_empty=True).manifest.posts == 0
    likes = tmp_path / "likes.jsonl"
    likes.write_bytes(JETSTREAM.read_bytes().splitlines(keepends=True)[3])
    m = run_build(tmp_path / "b", likes, allow_empty=True).manifest
    assert (m.read, m.posts, m.skipped) == (0, 0, 1)


# --- plurals ----------------------------------------------------------------------


def test_summary_lines_say_one_post_not_one_posts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = str(tmp_path / "idx")
    one = write_ndjson(tmp_path / "one.ndjson", [post(1, "#a", platform="x")] * 2)
    code, out, _ = run_cli(capsys, "build", str(one), "--index", index)
    assert code == 0
    assert re.fullmatch(
        r"generation \S+: read 2 rows, indexed 1 post \(2 accepted, 1 duplicate, 0 rejected\), "
        r"1 tag, [\d.]+ s\n",
        out,
    ), out
    more = write_ndjson(tmp_path / "more.ndjson", [post(2, "#a", platform="x")])
    code, out, _ = run_cli(capsys, "update", str(more), "--index", index)
    assert re.search(
        r": read 1 row: 1 post added, 0 replaced, 0 duplicates, 0 rejected; skipped 0 inputs "
        r"already ingested; now 2 posts, 1 tag, ",
        out,
    ), out
    code, out, _ = run_cli(capsys, "info", "--index", index)
    assert "read         3 rows\n" in out
    assert f"  {one}  ndjson  2 rows  0 rejected" in out
    assert f"  {more}  ndjson  1 row  0 rejected" in out


def test_plural() -> None:
    assert [plural(n, "post") for n in (0, 1, 2)] == ["0 posts", "1 post", "2 posts"]
    assert plural(1, "delete event") == "1 delete event"


def test_a_warning_clears_the_progress_line_first() -> None:
    stream = io.StringIO()
    progress = Progress(stream=stream, enabled=True)
    progress.stage("index", 10)
    progress.update(5, 5)
    progress.message("hashtag-index: warning: x")
    progress.update(10, 10)
    progress.close()
    drawn = stream.getvalue()
    assert "\r\x1b[Khashtag-index: warning: x\n\r" in drawn
    assert drawn.endswith("\n")
    assert not drawn.endswith("\n\n")
    quiet = io.StringIO()
    Progress(stream=quiet, enabled=False).message("w")
    assert quiet.getvalue() == "w\n"


def test_the_bundled_native_samples_skip_what_readme_lists(tmp_path: Path) -> None:
    # Every file of the native samples: the records skipped are kinds, never posts.
    shutil.copytree(NATIVE, tmp_path / "native")
    m = run_build(tmp_path / "idx", tmp_path / "native").manifest
    reasons = {r for s in m.sources for r in s.skipped}
    assert m.skipped == sum(n for s in m.sources for n in s.skipped.values()) == 10
    assert all(r.startswith(("bluesky", "mastodon-outbox")) for r in reasons), reasons
