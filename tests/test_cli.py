"""The hashtag-index command as a user runs it: exit codes, one-line errors, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hashtag_index.cli import main
from tests.conftest import ROOT, post, write_ndjson


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hashtag_index", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_build_then_info_json_gives_exact_counts(tmp_path: Path) -> None:
    dump = write_ndjson(
        tmp_path / "a.ndjson",
        [post(1, "#a", platform="x"), post(1, "#a #b", platform="x"), "oops", post(2, "#b")],
    )
    index = tmp_path / "idx"
    built = cli("build", str(dump), "--index", str(index))
    assert built.returncode == 0, built.stderr
    summary = built.stdout.strip().splitlines()
    assert len(summary) == 1
    assert "indexed 2 posts" in summary[0]
    assert "1 duplicate, 1 rejected" in summary[0]
    info = cli("info", "--json", env={"HASHTAG_INDEX_DIR": str(index)})
    assert info.returncode == 0, info.stderr
    manifest = json.loads(info.stdout)
    assert {k: manifest[k] for k in ("posts", "tags", "read", "duplicates", "rejected")} == {
        "posts": 2,
        "tags": 2,
        "read": 4,
        "duplicates": 1,
        "rejected": 1,
    }
    assert manifest["from"] == manifest["to"] == "2026-10-01T12:00:00Z"
    assert manifest["sources"][0]["sha256"]


def test_missing_file_is_one_line_and_nonzero(tmp_path: Path) -> None:
    result = cli("build", str(tmp_path / "missing.ndjson"), "--index", str(tmp_path / "idx"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "missing.ndjson: no such file or directory" in result.stderr


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``hashtag-index ARGS`` in this process: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


@pytest.mark.parametrize(
    "content",
    [
        pytest.param({"empty.ndjson": ""}, id="empty NDJSON"),
        pytest.param({"empty.csv": ""}, id="empty CSV"),
        pytest.param({"header.csv": "id,created_at,author,text\n"}, id="CSV with only a header"),
        pytest.param({"a.ndjson": "\n", "sub/b.jsonl.gz": ""}, id="a directory of no posts"),
    ],
)
def test_build_of_no_posts_fails_and_keeps_the_published_generation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: dict[str, str]
) -> None:
    index = tmp_path / "idx"
    good = write_ndjson(tmp_path / "good.ndjson", [post(1, "#kept")])
    assert run_main(capsys, "build", str(good), "--index", str(index), "--quiet")[0] == 0
    published = (index / "current").resolve()
    dumps = tmp_path / "dumps"
    for name, text in content.items():
        path = dumps / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".gz"):
            import gzip

            path.write_bytes(gzip.compress(text.encode()))
        else:
            path.write_text(text, encoding="utf-8")
    target = str(dumps) if len(content) > 1 else str(dumps / next(iter(content)))
    code, out, err = run_main(capsys, "build", target, "--index", str(index), "--quiet")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith(f"hashtag-index: error: no posts to index in {target}")
    assert "--allow-empty" in err
    assert (index / "current").resolve() == published
    assert [p.name for p in (index / "generations").iterdir()] == [published.name]

    code, out, err = run_main(
        capsys, "build", target, "--index", str(index), "--quiet", "--allow-empty"
    )
    assert code == 0, err
    assert "indexed 0 posts" in out
    assert (index / "current").resolve() != published


def test_serve_of_an_index_without_generation_names_it_and_the_build_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo in --index used to serve the bundled sample as if it were that index."""
    typo = tmp_path / "idnex"
    code, out, err = run_main(capsys, "serve", "--index", str(typo), "--port", "1")
    assert (code, out) == (1, "")
    assert err == (
        f"hashtag-index: error: no generation published in {typo}; build one with "
        f"'hashtag-index build INPUT... --index {typo}', or pass --sample to serve the "
        "bundled sample\n"
    )
    assert not typo.exists()


def test_info_without_index_says_what_to_do(tmp_path: Path) -> None:
    result = cli("info", "--index", str(tmp_path / "empty"))
    assert result.returncode == 1
    assert "run 'hashtag-index build" in result.stderr


def test_help_explains_every_option() -> None:
    result = cli("build", "--help")
    assert result.returncode == 0
    for option in ("--index", "--format", "--platform", "--keep", "--quiet", "HASHTAG_INDEX_DIR"):
        assert option in result.stdout or option in cli("--help").stdout


def test_killed_build_leaves_the_published_generation_intact(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    small = write_ndjson(tmp_path / "small.ndjson", [post(1, "#kept")])
    assert cli("build", str(small), "--index", str(index)).returncode == 0
    published = (index / "current").resolve()
    manifest_before = (published / "manifest.json").read_bytes()

    big = write_ndjson(
        tmp_path / "big.ndjson",
        (post(i, f"post {i} #tag{i % 50} #common") for i in range(200_000)),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hashtag_index",
            "build",
            str(big),
            "--index",
            str(index),
            "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        building = list((index / "generations").glob(".building-*/_spool/posts/*/*.parquet"))
        if building:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "build finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    assert (index / "current").resolve() == published
    assert (published / "manifest.json").read_bytes() == manifest_before
    info = cli("info", "--json", "--index", str(index))
    assert json.loads(info.stdout)["posts"] == 1

    # The next build needs no cleanup by hand: the dead process's lock is gone
    # and its half-written directory is removed.
    again = cli("build", str(small), "--index", str(index))
    assert again.returncode == 0, again.stderr
    assert not list((index / "generations").glob(".building-*"))


def test_second_indexer_exits_with_a_clear_message(tmp_path: Path) -> None:
    from indexer.publish import IndexDir

    index = tmp_path / "idx"
    dump = write_ndjson(tmp_path / "a.ndjson", [post(1, "#a")])
    with IndexDir(index).lock():
        result = cli("build", str(dump), "--index", str(index))
    assert result.returncode == 1
    assert f"another indexer (pid {os.getpid()}) is writing" in result.stderr


def test_progress_is_drawn_on_a_terminal_only() -> None:
    import io

    from indexer.progress import Progress

    screen = io.StringIO()
    bar = Progress(stream=screen, enabled=True)
    bar.stage("index", total=1000)
    bar.update(500, 12_000)
    bar.close()
    drawn = screen.getvalue()
    assert "index" in drawn
    assert "50%" in drawn
    assert "12.0k posts" in drawn
    quiet = io.StringIO()
    Progress(stream=quiet).update(1, 1)  # StringIO is not a terminal
    assert quiet.getvalue() == ""


def test_disk_full_fails_cleanly_and_keeps_the_published_generation(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", str(small)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        index = small / "index"
        sample = str(ROOT / "data" / "sample")
        assert cli("build", sample, "--index", str(index), "--quiet").returncode == 0
        published = (index / "current").resolve()
        before = {p: p.read_bytes() for p in published.rglob("*") if p.is_file()}
        full = cli("build", sample, "--index", str(index), "--quiet")
        assert full.returncode == 1
        assert full.stderr.count("\n") == 1
        assert "no space left on device" in full.stderr.lower()
        assert (index / "current").resolve() == published
        assert {p: p.read_bytes() for p in published.rglob("*") if p.is_file()} == before
        assert [p.name for p in (index / "generations").iterdir()] == [published.name]
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_help_loads_neither_the_service_nor_ray() -> None:
    """``hashtag-index --help`` stays fast: the command line imports the HTTP service
    (litestar) and Ray only when a command that needs them runs."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, hashtag_index.cli; heavy = ('litestar', 'ray', 'granian', 'croniter'); "
            "print(sorted(m for m in heavy if m in sys.modules))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
