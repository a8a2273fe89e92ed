"""The admin API: reindex jobs behind an API key."""

from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from litestar.testing import TestClient

from indexer.build import BuildOptions, build
from service import admin
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
        assert again.status_code == 409  # one job at a time
        assert job_id in again.json()["error"]["message"]
        assert again.headers["location"] == f"/v1/admin/jobs/{job_id}"
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
        later = c.post("/v1/admin/reindex", headers=KEY)
        assert later.status_code == 202
        assert later.json()["job_id"] != job_id  # the finished job no longer blocks


def _wait(jobs: admin.Jobs, job_id: str, seconds: float = 60) -> admin.Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = jobs.get(job_id)
        assert job is not None
        if job.state in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_a_burst_of_starts_runs_one_job_at_a_time(tmp_path: Path) -> None:
    """40 concurrent starts, half over HTTP, half through another worker's registry (its
    own lock file handle, as another process has): 202 or 409, never two jobs at once."""
    index, inbox = tmp_path / "index", tmp_path / "inbox"
    inbox.mkdir()
    other_worker = admin.Jobs(index, inbox)
    with _client(index, inbox, "s3cret") as c:

        def start(i: int) -> tuple[int, str]:
            if i % 2:
                job, started = other_worker.start()
                return (202 if started else 409), job.id
            r = c.post("/v1/admin/reindex", headers=KEY)
            if r.status_code == 202:
                return 202, r.json()["job_id"]
            assert r.status_code == 409, r.text
            return 409, r.headers["location"].rsplit("/", 1)[1]

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(start, range(40)))
    started = [job_id for status, job_id in answers if status == 202]
    assert started
    assert {job_id for _, job_id in answers} <= set(started)  # a 409 names a real job
    jobs = sorted((_wait(other_worker, j) for j in started), key=lambda j: j.created_at)
    for before, after in itertools.pairwise(jobs):
        assert before.finished_at is not None
        assert before.finished_at <= after.created_at  # never two at once


def test_a_job_that_runs_too_long_is_killed_and_failed(tmp_path: Path) -> None:
    jobs = admin.Jobs(tmp_path / "index", tmp_path / "inbox", timeout=0.01)
    job, started = jobs.start()
    assert started
    done = _wait(jobs, job.id)
    assert done.state == "failed"
    assert done.error == "timed out after 0.01 s (HASHTAG_INDEX_REINDEX_TIMEOUT)"
    assert jobs.start()[1]  # and the slot is free again


def test_the_child_does_not_inherit_the_admin_key() -> None:
    env = {"HASHTAG_INDEX_API_KEY": "s3cret", "HASHTAG_INDEX_DIR": "/x", "PATH": "/bin"}
    assert admin.child_env(env) == {"HASHTAG_INDEX_DIR": "/x", "PATH": "/bin"}


def test_old_job_files_are_pruned(tmp_path: Path) -> None:
    jobs = admin.Jobs(tmp_path / "index", tmp_path / "inbox", timeout=0.01)
    jobs.dir.mkdir(parents=True)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(admin.KEEP_JOBS + 5):
        old = admin.Job(id=f"old{i:03d}", state="failed", inbox="x", created_at=t0)
        old.created_at += timedelta(minutes=i)
        (jobs.dir / f"{old.id}.json").write_bytes(msgspec.json.encode(old))
    job, _ = jobs.start()
    _wait(jobs, job.id)
    kept = sorted(p.stem for p in jobs.dir.glob("*.json"))
    assert len(kept) == admin.KEEP_JOBS + 1
    assert "old004" not in kept
    assert "old005" in kept
    assert job.id in kept
