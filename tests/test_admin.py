"""The admin API: reindex jobs behind an API key."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service.app import create_app
from service.settings import Settings
from tests.conftest import NOW, post, write_ndjson

KEY = {"X-API-Key": "s3cret"}


def _client(index: Path, inbox: Path, key: str | None) -> TestClient[Any]:
    settings = Settings(index_dir=index, inbox_dir=inbox, api_key=key, reload_seconds=0.1)
    return TestClient(create_app(settings))


def test_admin_is_disabled_without_a_configured_key(tmp_path: Path) -> None:
    with _client(tmp_path / "index", tmp_path / "inbox", None) as c:
        r = c.post("/v1/admin/reindex", headers=KEY)
        assert r.status_code == 404
        assert "HASHTAG_INDEX_API_KEY" in r.json()["error"]["message"]


def test_admin_needs_the_right_key(tmp_path: Path) -> None:
    with _client(tmp_path / "index", tmp_path / "inbox", "s3cret") as c:
        r = c.post("/v1/admin/reindex")
        assert r.status_code == 401
        assert r.json()["error"]["parameter"] == "X-API-Key"
        assert c.post("/v1/admin/reindex", headers={"X-API-Key": "nope"}).status_code == 403
        assert c.get("/v1/admin/jobs/abc", headers={"X-API-Key": "nope"}).status_code == 403
        assert c.get("/v1/admin/jobs/abc", headers=KEY).status_code == 404


def test_reindex_job_updates_from_the_inbox(tmp_path: Path) -> None:
    index, inbox = tmp_path / "index", tmp_path / "inbox"
    first = build(
        [str(write_ndjson(tmp_path / "a.ndjson", [post(1, "#a")]))],
        BuildOptions(index_dir=index),
        now=NOW,
    ).manifest
    write_ndjson(inbox / "b.ndjson", [post(2, "#b"), post(3, "#c")])
    with _client(index, inbox, "s3cret") as c:
        r = c.post("/v1/admin/reindex", headers=KEY)
        assert r.status_code == 202
        job_id = r.json()["job_id"]
        again = c.post("/v1/admin/reindex", headers=KEY)
        assert again.json()["job_id"] == job_id  # one job at a time
        deadline = time.monotonic() + 60
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            job = c.get(f"/v1/admin/jobs/{job_id}", headers=KEY).json()
            if job["state"] in ("succeeded", "failed"):
                break
            time.sleep(0.1)
        assert job["state"] == "succeeded", job
        assert job["posts"] == 3
        assert job["generation"] != first.generation
        assert "etag" not in c.get(f"/v1/admin/jobs/{job_id}", headers=KEY).headers
        # The service swaps to the new generation by itself.
        deadline = time.monotonic() + 10
        while c.get("/v1/index").json()["posts"] != 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert c.get("/v1/index").json()["generation"] == job["generation"]
        later = c.post("/v1/admin/reindex", headers=KEY).json()
        assert later["job_id"] != job_id  # the finished job no longer blocks
