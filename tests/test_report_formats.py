"""The report as XLSX and Parquet: the CSV's rows, typed cells, same bytes offline."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service import report_formats, reports
from service.app import create_app
from service.reports import COLUMNS
from service.settings import Settings
from tests.conftest import NOW, ROOT, write_ndjson
from tests.test_report_injection import HOSTILE
from tests.test_reports import report_posts

PERIOD = "from=2026-10-02&to=2026-10-03"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("formats")
    dump = write_ndjson(root / "posts.ndjson", report_posts())
    build([str(dump)], BuildOptions(index_dir=root / "index"), now=NOW)
    return root / "index"


@pytest.fixture(scope="module")
def client(index_dir: Path) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(Settings(index_dir=index_dir))) as c:
        yield c


def csv_rows(content: bytes) -> list[dict[str, Any]]:
    """The CSV's rows typed as the contract says (empty change_pct: None)."""
    rows: list[dict[str, Any]] = []
    for r in csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")):
        typed: dict[str, Any] = dict(r)
        for name in ("rank", "posts", "authors", "engagement", "prev_posts"):
            typed[name] = int(r[name])
        typed["share_pct"] = float(r["share_pct"])
        typed["change_pct"] = float(r["change_pct"]) if r["change_pct"] else None
        for name in ("first_seen", "last_seen"):
            typed[name] = datetime.strptime(r[name], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        rows.append(typed)
    return rows


def xlsx_rows(content: bytes) -> list[dict[str, Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == COLUMNS  # the header row
    rows = []
    for row in values[1:]:
        typed = dict(zip(COLUMNS, row, strict=True))
        for name in ("first_seen", "last_seen"):
            typed[name] = typed[name].replace(tzinfo=UTC)  # Excel dates have no zone: UTC
        rows.append(typed)
    return rows


def parquet_rows(content: bytes) -> list[dict[str, Any]]:
    frame = pl.read_parquet(io.BytesIO(content))
    assert tuple(frame.columns) == COLUMNS
    return frame.to_dicts()


@pytest.mark.parametrize("query", [PERIOD, "", f"{PERIOD}&platform=x&limit=1", "lang=und"])
def test_the_three_formats_hold_the_same_rows(client: TestClient[Any], query: str) -> None:
    got = {fmt: client.get(f"/v1/reports/index.{fmt}?{query}") for fmt in report_formats.FORMATS}
    assert {fmt: r.status_code for fmt, r in got.items()} == dict.fromkeys(got, 200)
    expected = csv_rows(got["csv"].content)
    assert expected  # the period has tags
    assert xlsx_rows(got["xlsx"].content) == expected
    assert parquet_rows(got["parquet"].content) == expected


def test_downloads_are_named_and_typed(client: TestClient[Any]) -> None:
    for fmt, media in [
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("parquet", "application/vnd.apache.parquet"),
    ]:
        r = client.get(f"/v1/reports/index.{fmt}?{PERIOD}")
        assert r.headers["content-type"] == media
        assert r.headers["content-disposition"] == (
            f'attachment; filename="hashtag-index_2026-10-02_2026-10-03.{fmt}"'
        )
        assert r.headers["etag"]  # conditional GETs as for the CSV
        again = client.get(f"/v1/reports/index.{fmt}?{PERIOD}")
        assert again.content == r.content  # the same report is the same bytes


def test_xlsx_cells_are_typed_and_never_formulas(client: TestClient[Any]) -> None:
    content = client.get(f"/v1/reports/index.xlsx?{PERIOD}").content
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header == list(COLUMNS)
    assert all(c.font.b for c in sheet[1])  # a bold header row
    assert sheet.freeze_panes == "A2"
    by_tag = {row[1].value: row for row in sheet.iter_rows(min_row=2)}
    a = by_tag["a"]
    assert [c.data_type for c in a] == ["n", "s", "s", "n", "n", "n", "n", "n", "n", "d", "d"]
    assert a[9].value == datetime(2026, 10, 2, 1, 0, tzinfo=UTC).replace(tzinfo=None)
    assert a[9].number_format == 'yyyy-mm-dd"T"hh:mm:ss"Z"'
    assert by_tag["日本"][8].value is None  # no previous posts: no change, an empty cell
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_xlsx_text_that_looks_like_a_formula_stays_quoted_text() -> None:
    """The indexer drops such tags today; the writer must not depend on it."""
    n = len(HOSTILE)
    frame = reports.escape_formulas(
        pl.DataFrame(
            {
                "rank": range(1, n + 1),
                "tag": HOSTILE,
                "display": HOSTILE,
                **{c: [1] * n for c in ("posts", "authors", "engagement", "prev_posts")},
                "share_pct": [1.0] * n,
                "change_pct": [None] * n,
                "first_seen": [NOW] * n,
                "last_seen": [NOW] * n,
            },
            schema_overrides={"change_pct": pl.Float64()},
        )
    )
    out = io.BytesIO()
    report_formats.write_report(frame.select(COLUMNS), "xlsx", out, NOW)
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    cells = [row[1:3] for row in sheet.iter_rows(min_row=2)]
    assert [(t.data_type, d.data_type) for t, d in cells] == [("s", "s")] * n
    # XLSX stores a carriage return as _x000D_ (Excel shows \r; openpyxl leaves it)
    texts = [str(t.value).replace("_x000D_", "\r") for t, _ in cells]
    assert texts == ["'" + h for h in HOSTILE]


def test_parquet_columns_are_typed(client: TestClient[Any]) -> None:
    frame = pl.read_parquet(io.BytesIO(client.get("/v1/reports/index.parquet").content))
    assert frame.schema["posts"] == pl.Int64()
    assert frame.schema["share_pct"] == pl.Float64()
    assert frame.schema["first_seen"] == pl.Datetime("us", "UTC")
    assert frame.schema["tag"] == pl.String()


def test_xlsx_refuses_more_rows_than_a_sheet_holds(
    client: TestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_formats, "XLSX_MAX_ROWS", 2)  # a sheet of 2 rows, not 1M
    r = client.get(f"/v1/reports/index.xlsx?{PERIOD}")
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["parameter"] == "limit"
    assert "at most 2 tags" in error["message"]
    assert client.get(f"/v1/reports/index.xlsx?{PERIOD}&limit=2").status_code == 200


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_bad_parameters_are_400(client: TestClient[Any], fmt: str) -> None:
    r = client.get(f"/v1/reports/index.{fmt}?from=2026-10-03&to=2026-10-02")
    assert r.status_code == 400
    assert r.json()["error"]["parameter"] == "from"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_cli_report_format_writes_the_same_bytes(
    client: TestClient[Any], index_dir: Path, tmp_path: Path, fmt: str
) -> None:
    served = client.get(f"/v1/reports/index.{fmt}?{PERIOD}&platform=x").content
    out = tmp_path / f"report.{fmt}"
    args = ["--from", "2026-10-02", "--to", "2026-10-03", "--platform", "x", "--format", fmt]
    cmd = [
        sys.executable,
        "-m",
        "hashtag_index",
        "report",
        "index",
        "--index",
        str(index_dir),
        *args,
    ]
    done = subprocess.run(
        [*cmd, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == served
    piped = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=60)  # stdout: a pipe
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == served
