"""The progress display knows where it is inside a big compressed input."""

from __future__ import annotations

import base64
import gzip
import io
import random
from pathlib import Path

import polars as pl
import pytest
import zstandard

from indexer import sources
from indexer.build import BuildOptions
from indexer.progress import Progress
from indexer.reading import read_inputs
from tests.conftest import post, write_ndjson


class Recorder(Progress):
    """Records every position the read reports (bytes done of the stage's total)."""

    def __init__(self) -> None:
        super().__init__(stream=io.StringIO(), enabled=False)
        self.total = 0
        self.done: list[int] = []

    def stage(self, name: str, total: int = 0) -> None:
        self.total = total

    def update(self, done: int, items: int = 0, unit: str = "posts") -> None:
        self.done.append(done)


def _compress(plain: Path, kind: str) -> Path:
    data = plain.read_bytes()
    if kind == "zst":
        out = plain.with_name(plain.name + ".zst")
        out.write_bytes(zstandard.ZstdCompressor(level=1).compress(data))
    else:
        out = plain.with_name(plain.name + ".gz")
        out.write_bytes(gzip.compress(data, compresslevel=1))
    return out


def _dump(tmp_path: Path, rows: int) -> Path:
    rng = random.Random(5)
    return write_ndjson(
        tmp_path / "big.ndjson",
        (
            post(i, base64.b64encode(rng.randbytes(150)).decode() + f" #t{i % 7}")
            for i in range(rows)
        ),
    )


@pytest.mark.parametrize("kind", ["zst", "gz"])
def test_progress_advances_by_compressed_bytes_within_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setattr(sources, "READ_BLOCK_BYTES", 64 << 10)
    small = write_ndjson(tmp_path / "small.ndjson", [post("s", "#first")])
    big = _compress(_dump(tmp_path, 20_000), kind)  # ~5 MB as read, ~3.8 MB stored
    size = big.stat().st_size
    progress = Recorder()
    seen: list[int] = []
    result = read_inputs(
        [small, big],
        BuildOptions(index_dir=tmp_path / "idx", batch_rows=500),
        tmp_path / "rejects.ndjson",
        tmp_path / "scratch",
        lambda posts, name: seen.append(posts.height),
        progress,
    )
    assert result.accepted == sum(seen) == 20_001
    assert progress.total == small.stat().st_size + size
    done = progress.done
    assert done == sorted(done), "the bar never goes back"
    assert done[-1] == progress.total
    start = small.stat().st_size
    inside = sorted({d for d in done if start < d < progress.total})
    assert len(inside) >= 3, inside  # it moved within the compressed file, not only after it


def test_read_position_follows_the_stored_bytes(tmp_path: Path) -> None:
    path = _compress(_dump(tmp_path, 20_000), "zst")
    with sources.track_reads(path) as position:
        assert position.bytes == 0
        with sources.open_decompressed(path) as f:
            f.read(1 << 16)
            first = position.bytes
            assert 0 < first < position.size
            f.read()
        assert position.bytes == position.size  # kept after the file is closed
        with sources.open_decompressed(path) as f:  # a second opening never goes back
            f.read(10)
            assert position.bytes == position.size
    assert pl.read_ndjson(io.BytesIO(zstandard.decompress(path.read_bytes()))).height == 20_000
