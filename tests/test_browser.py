"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright.

One server (``hashtag-index serve`` on the planted index of test_pages.py) and one browser
for the module; every page is loaded, rendered and looked at as a person would: the rows,
the chart's points, the totals, the autocomplete, the downloads, and that no request goes
to another host. Screenshots of every page go to ``$HASHTAG_INDEX_SCREENSHOTS`` (default:
a pytest temporary directory). Skipped, saying why, only when Chromium is not installed
(``.ci/run`` installs it)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.test_hot_swap import _serve, _up, free_port, get
from tests.test_pages import build_dashboard_index

CHROMIUM = os.environ.get("HASHTAG_INDEX_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
"""Longest wait for any page or element (a busy 2-core machine)."""

if not Path(CHROMIUM).exists():
    pytest.skip(
        f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium "
        "(.ci/run installs it)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    index = build_dashboard_index(tmp_path_factory.mktemp("browser"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _serve(index, port, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if _up(url) and get(url + "/readyz")[0] == 200:
                break
            if server.poll() is not None:
                pytest.fail(f"the server exited with {server.returncode}")
            time.sleep(0.1)
        else:
            pytest.fail("the server did not become ready within a minute")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        # Playwright gives the browser a new, empty --user-data-dir of its own
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("HASHTAG_INDEX_SCREENSHOTS")
    path = Path(given) if given else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Visit:
    """A browser tab that records every request it makes."""

    def __init__(self, page: Page, base: str, shots: Path) -> None:
        self.page, self.base, self.shots = page, base, shots
        self.requests: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.set_default_timeout(TIMEOUT_MS)

    def open(self, path: str, status: int = 200) -> Page:
        response = self.page.goto(self.base + path, wait_until="load")
        assert response is not None
        assert response.status == status, path
        return self.page

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def foreign(self) -> list[str]:
        """Requests that went anywhere but the server (blob: URLs of the page are local)."""
        local = (self.base + "/", "blob:" + self.base + "/", "data:")
        return [u for u in self.requests if not u.startswith(local)]


@pytest.fixture
def visit(browser: Browser, base: str, shots: Path) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    v = Visit(context.new_page(), base, shots)
    yield v
    context.close()
    assert v.foreign() == []  # no request left the server's host


def api(base: str, path: str) -> Any:
    status, _, body = get(base + path)
    assert status == 200, path
    return json.loads(body)


def test_trending_rows_are_the_api_answer(visit: Visit) -> None:
    page = visit.open("/")
    expected = api(visit.base, "/v1/trending")["items"]
    rows = page.locator("#trending tbody tr")
    assert rows.count() == len(expected) > 0
    seen = [
        {
            "tag": rows.nth(i).get_attribute("data-tag"),
            "shown": rows.nth(i).locator("a.tag").inner_text(),
            "authors": rows.nth(i).locator('[data-field="authors"]').inner_text(),
            "score": rows.nth(i).locator('[data-field="score"]').inner_text(),
        }
        for i in range(rows.count())
    ]
    assert seen == [
        {
            "tag": item["tag"],
            "shown": "#" + item["display"],
            "authors": f"{item['authors']:,}",
            "score": f"{item['score']:,.3f}".rstrip("0").rstrip("."),
        }
        for item in expected
    ]
    assert page.locator("svg.spark").count() == len(expected)
    visit.shot("trending")


def test_trending_controls_reload_with_the_choice(visit: Visit) -> None:
    page = visit.open("/")
    page.select_option('select[name="lang"]', "ja")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/?*lang=ja*")
    expected = [i["tag"] for i in api(visit.base, "/v1/trending?lang=ja")["items"]]
    tags = page.locator("#trending tbody tr").evaluate_all("rows => rows.map(r => r.dataset.tag)")
    assert tags == expected == ["日本"]


def test_tag_page_totals_and_chart_points(visit: Visit) -> None:
    page = visit.open("/tags/python?interval=day")
    detail = api(visit.base, "/v1/hashtags/python")
    for field in ("posts", "authors", "engagement"):
        shown = page.locator(f'#totals [data-field="{field}"]').inner_text()
        assert shown == f"{detail[field]:,}"
    points = api(visit.base, "/v1/hashtags/python/timeseries?interval=day")["points"]
    lines = page.locator("svg.chart polyline.series")
    assert lines.count() == 2
    for i in range(2):
        assert len((lines.nth(i).get_attribute("points") or "").split()) == len(points)
    assert page.locator("svg.chart circle").count() == 2 * len(points)
    # the week button redraws with the API's weekly buckets
    page.get_by_role("button", name="week").click()
    page.wait_for_url("**interval=week*")
    weeks = api(visit.base, "/v1/hashtags/python/timeseries?interval=week")["points"]
    assert len((lines.first.get_attribute("points") or "").split()) == len(weeks)
    visit.shot("tag")


def test_tag_in_another_script_and_related_links(visit: Visit) -> None:
    page = visit.open("/tags/" + quote("aurora"))
    page.locator("#related a", has_text="#night").click()
    page.wait_for_url("**/tags/night")
    assert page.locator("h1").inner_text() == "#night"
    page = visit.open("/tags/" + quote("عربي"))
    assert page.locator("h1").inner_text() == "#عربي"
    visit.shot("tag-arabic")


def test_unknown_tag_page_suggests_near_misses(visit: Visit) -> None:
    page = visit.open("/tags/pythn", status=404)
    page.get_by_role("link", name="#Python", exact=True).click()
    page.wait_for_url("**/tags/python")
    visit.shot("unknown-tag")


def test_autocomplete_suggests_tags_after_typing(visit: Visit) -> None:
    page = visit.open("/")
    box = page.locator("#find-tag")
    box.press_sequentially("#py", delay=30)
    expected = api(visit.base, "/v1/hashtags?prefix=py&limit=8")["items"]
    options = page.locator("#find-suggestions li")
    options.nth(len(expected) - 1).wait_for()
    assert [t["tag"] for t in expected] == ["python", "pythonic", "pyodide"]
    assert options.evaluate_all("lis => lis.map(li => li.dataset.tag)") == [
        t["tag"] for t in expected
    ]
    box.press_sequentially("thoni", delay=30)
    page.wait_for_function("() => document.querySelectorAll('#find-suggestions li').length === 1")
    visit.shot("autocomplete")
    box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url("**/tags/pythonic")
    assert page.locator("h1").inner_text() == "#pythonic"


def test_search_pages_forward_and_back(visit: Visit) -> None:
    page = visit.open("/search")
    page.fill('.search-form input[name="q"]', "aurora")
    page.select_option('.search-form select[name="sort"]', "recent")
    page.locator(".search-form button").click()
    page.wait_for_url("**/search?*q=aurora*")
    total = api(visit.base, "/v1/posts?q=aurora")["total"]
    assert page.locator("[data-total]").inner_text() == str(total) == "25"
    assert page.locator("#results > li").count() == 20
    assert page.locator("#results b", has_text="aurora").count() >= 20  # highlighted
    first = page.locator("#results .snippet").all_inner_texts()
    visit.shot("search")
    page.get_by_role("link", name="Next →").click()
    page.wait_for_url("**cursor=*")
    assert page.locator("#results > li").count() == 5
    page.get_by_role("link", name="← Previous").click()
    page.wait_for_function("() => document.querySelectorAll('#results > li').length === 20")
    assert page.locator("#results .snippet").all_inner_texts() == first


def test_report_table_matches_the_csv_and_downloads_are_the_api_bytes(visit: Visit) -> None:
    query = "from=2026-10-01&to=2026-10-09"
    page = visit.open(f"/report?{query}")
    status, _, body = get(f"{visit.base}/v1/reports/index.csv?{query}")
    expected = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1:]
    cells = page.locator("#report-table tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    assert cells == expected
    links = page.locator("#downloads a")
    assert links.all_inner_texts() == ["CSV", "XLSX", "Parquet"]
    for i in range(3):
        href = links.nth(i).get_attribute("href") or ""
        with page.expect_download() as download:
            links.nth(i).click()
        got = Path(download.value.path()).read_bytes()
        status, _, served = get(visit.base + href)
        assert status == 200
        assert got == served, href
    visit.shot("report")


def test_pages_fit_a_360px_screen_and_start_with_a_skip_link(
    browser: Browser, base: str, shots: Path
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    v = Visit(context.new_page(), base, shots)
    try:
        for name, path in [
            ("trending", "/"),
            ("tag", "/tags/aurora"),
            ("search", "/search?q=aurora"),
            ("report", "/report"),
        ]:
            page = v.open(path)
            overflow = page.evaluate("() => document.documentElement.scrollWidth")
            assert overflow <= 360, path
            page.keyboard.press("Tab")
            assert page.evaluate("() => document.activeElement.className") == "skip"
            v.shot(f"{name}-360")
        assert v.foreign() == []
    finally:
        context.close()


def test_api_docs_render_offline(visit: Visit) -> None:
    page = visit.open("/schema")
    page.get_by_text("Hashtag Index API").first.wait_for()
    page.get_by_text("Tags rising most above their own recent past").first.wait_for()
    visit.shot("api-docs")
