"""Reindex jobs started over HTTP.

A job runs ``hashtag-index update INBOX --index DIR`` in a child process (the
service never writes the index itself, and imports nothing of the indexer
but its schema). Job state lives in files under ``INDEX/jobs/`` so that every
worker process sees the same jobs:

    jobs/<id>.json   {id, state, inbox, created_at, started_at, finished_at, generation,
                      posts, error}
    jobs/active      the id of the job queued or running; created with O_EXCL, so
                     only one job runs at a time across all workers

States: ``queued`` -> ``running`` -> ``succeeded`` | ``failed``. A job whose
runner died (the ``active`` file names a job whose process is gone) is marked
failed when next looked at, so a crash never blocks reindexing for good.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from indexer.schema import current_generation_dir, read_manifest

JOBS_DIR = "jobs"
ACTIVE = "active"


class Job(msgspec.Struct, kw_only=True):
    id: str
    state: str
    inbox: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    generation: str | None = None
    """The generation published by the job (or current when nothing was new)."""
    posts: int | None = None
    """Posts in that generation."""
    error: str | None = None
    runner_pid: int | None = None


class JobAccepted(msgspec.Struct):
    job_id: str
    state: str


class Jobs:
    def __init__(self, index_dir: Path, inbox: Path) -> None:
        self.dir = index_dir / JOBS_DIR
        self.index_dir = index_dir
        self.inbox = inbox

    def _path(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.json"

    def get(self, job_id: str) -> Job | None:
        if not job_id.isalnum():
            return None
        try:
            job = msgspec.json.decode(self._path(job_id).read_bytes(), type=Job)
        except (FileNotFoundError, msgspec.DecodeError):
            return None
        if job.state in ("queued", "running") and not _alive(job.runner_pid):
            job.state, job.error = "failed", "the job's runner died"
            job.finished_at = job.finished_at or _now()
            self._save(job)
            self._release(job.id)
        return job

    def _save(self, job: Job) -> None:
        tmp = self._path(job.id).with_suffix(".tmp")
        tmp.write_bytes(msgspec.json.encode(job))
        os.replace(tmp, self._path(job.id))

    def _release(self, job_id: str) -> None:
        active = self.dir / ACTIVE
        with contextlib.suppress(FileNotFoundError):
            if active.read_text().strip() == job_id:
                active.unlink()

    def start(self) -> tuple[Job, bool]:
        """Start a job, or return the one already queued or running (and False)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            job = Job(
                id=secrets.token_hex(8),
                state="queued",
                inbox=str(self.inbox),
                created_at=_now(),
                runner_pid=os.getpid(),
            )
            try:
                fd = os.open(self.dir / ACTIVE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                running = self.get((self.dir / ACTIVE).read_text().strip())
                if running is not None and running.state in ("queued", "running"):
                    return running, False
                with contextlib.suppress(FileNotFoundError):
                    (self.dir / ACTIVE).unlink()  # stale: its job ended or vanished
                continue
            with os.fdopen(fd, "w") as f:
                f.write(job.id)
            self._save(job)
            threading.Thread(target=self._run, args=(job,), daemon=True).start()
            return job, True
        raise RuntimeError("could not start a reindex job")

    def _run(self, job: Job) -> None:
        job.state, job.started_at = "running", _now()
        self._save(job)
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "indexer",
                    "update",
                    str(self.inbox),
                    "--index",
                    str(self.index_dir),
                    "--quiet",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode == 0:
                job.state = "succeeded"
                current = current_generation_dir(self.index_dir)
                if current is not None:
                    manifest = read_manifest(current)
                    job.generation, job.posts = manifest.generation, manifest.posts
            else:
                job.state = "failed"
                lines = (done.stderr or done.stdout).strip().splitlines()
                job.error = lines[-1] if lines else f"exit status {done.returncode}"
        except OSError as e:
            job.state, job.error = "failed", str(e)
        job.finished_at = _now()
        self._save(job)
        self._release(job.id)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> datetime:
    return datetime.now(UTC)
