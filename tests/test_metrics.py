"""GET /metrics (Prometheus text) and the JSON access log: one line per request."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from indexer.build import BuildOptions, build
from indexer.schema import Manifest
from service.access import access_log
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    root = tmp_path_factory.mktemp("metrics")
    rows = [post(i, "#python #rust hello") for i in range(7)]
    result = build(
        [str(write_ndjson(root / "a.ndjson", rows))], BuildOptions(index_dir=root / "i"), now=NOW
    )
    return root, result.manifest


@pytest.fixture
def client(built: tuple[Path, Manifest]) -> Iterator[TestClient[Any]]:
    settings = Settings(
        index_dir=built[0] / "i", inbox_dir=built[0] / "inbox", api_key="k", reindex_timeout=0.01
    )
    with TestClient(create_app(settings)) as c:
        yield c


def samples(client: TestClient[Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def test_requests_are_counted_and_timed_per_route_and_status(client: TestClient[Any]) -> None:
    client.get("/v1/hashtags/python")
    client.get("/v1/hashtags/%23Python")
    client.get("/v1/hashtags/nosuch")
    client.get("/no/such/path")
    got = samples(client)

    def key(route: str, status: str) -> tuple[tuple[str, str], ...]:
        return (("method", "GET"), ("route", route), ("status", status))

    assert got["hashtag_index_http_requests_total", key("/v1/hashtags/{tag}", "200")] == 2
    assert got["hashtag_index_http_requests_total", key("/v1/hashtags/{tag}", "404")] == 1
    assert got["hashtag_index_http_requests_total", key("unmatched", "404")] == 1
    count = "hashtag_index_http_request_duration_seconds_count"
    assert got[count, key("/v1/hashtags/{tag}", "200")] == 2
    assert got["hashtag_index_http_request_duration_seconds_sum", key("unmatched", "404")] > 0


def test_the_served_generation_is_described(
    client: TestClient[Any], built: tuple[Path, Manifest]
) -> None:
    manifest = built[1]
    got = samples(client)
    assert got["hashtag_index_generation_info", (("generation", manifest.generation),)] == 1
    assert got["hashtag_index_generation_posts", ()] == 7
    assert got["hashtag_index_generation_tags", ()] == 2
    assert got["hashtag_index_update_duration_seconds", ()] == manifest.seconds
    assert got["hashtag_index_generation_load_seconds", ()] > 0
    assert got["hashtag_index_generation_age_seconds", ()] > 0  # built at NOW, in the past
    assert got["process_resident_memory_bytes", ()] > 10_000_000


def test_the_last_reindex_job_is_described(client: TestClient[Any]) -> None:
    job_id = client.post("/v1/admin/reindex", headers={"X-API-Key": "k"}).json()["job_id"]
    deadline = time.monotonic() + 30
    while client.get(f"/v1/admin/jobs/{job_id}", headers={"X-API-Key": "k"}).json()[
        "state"
    ] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    got = samples(client)
    assert got["hashtag_index_reindex_last_success", ()] == 0  # killed at its 0.01 s timeout
    assert got["hashtag_index_reindex_last_duration_seconds", ()] >= 0.01


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_one_json_access_line_per_request(client: TestClient[Any]) -> None:
    lines = Lines()
    access_log.addHandler(lines)
    try:
        ok = client.get("/v1/hashtags/python?from=2026-10-01", headers={"X-Request-ID": "r-1"})
        missing = client.get("/nowhere")
    finally:
        access_log.removeHandler(lines)
    first, second = (json.loads(line) for line in lines.lines)
    assert first == first | {
        "request_id": "r-1",
        "method": "GET",
        "path": "/v1/hashtags/python",
        "query": "from=2026-10-01",
        "route": "/v1/hashtags/{tag}",
        "status": 200,
        "bytes": len(ok.content),
        "generation": ok.headers["x-index-generation"],
    }
    assert first["duration_ms"] > 0
    assert first["ts"].endswith("Z")
    assert second["request_id"] == missing.headers["x-request-id"]
    assert (second["route"], second["status"]) == ("unmatched", 404)
