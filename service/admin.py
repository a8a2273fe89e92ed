"""Reindex jobs started over HTTP.

A job runs ``hashtag-index update INBOX --index DIR`` in a child process, with
:func:`run_update` (which ``hashtag-index schedule`` runs too): the service never
writes the index itself, and imports nothing of the indexer but its schema. Job state
lives in files under ``INDEX/jobs/`` so that every worker process sees the same jobs:

    jobs/<id>.json   {id, state, inbox, created_at, started_at, finished_at, generation,
                      posts, error}
    jobs/active      the id of the job queued or running (written whole, by rename)
    jobs/lock        held (flock) while a job is started or ended: starting is atomic
                     across threads and worker processes, so one job runs at a time

States: ``queued`` -> ``running`` -> ``succeeded`` | ``failed``. A job whose
runner died (the ``active`` file names a job whose process is gone) is marked
failed when next looked at, so a crash never blocks reindexing for good. A job
that runs longer than its timeout is killed and failed. The child gets the
service's environment without the admin key. Only the newest :data:`KEEP_JOBS`
finished jobs' files are kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from indexer.schema import current_generation_dir, read_manifest

log = logging.getLogger("hashtag_index.service")

JOBS_DIR = "jobs"
ACTIVE = "active"
LOCK = "lock"
KEEP_JOBS = 100
"""Finished jobs whose files are kept (the newest); older ones are pruned at each start."""
SECRET_ENV = ("HASHTAG_INDEX_API_KEY",)
"""Environment variables the reindex child never inherits."""


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment of the reindex child: the service's, without the admin key."""
    return {k: v for k, v in env.items() if k not in SECRET_ENV}


@dataclass(frozen=True)
class UpdateRun:
    """How a child ``hashtag-index update`` ended."""

    returncode: int
    last_line: str
    """Its summary (the last line on stdout) if it succeeded, else its error (the last line
    on stderr, where warnings and "already ingested" notes also go); "" if it said nothing."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_update(
    inputs: list[str],
    index_dir: Path,
    *,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
) -> UpdateRun:
    """One ``hashtag-index update INPUT... --index DIR --quiet`` in a child process (a run
    that crashes or leaks memory cannot harm its caller); :class:`subprocess.TimeoutExpired`
    after ``timeout`` seconds. Used by reindex jobs and by ``hashtag-index schedule``."""
    command = [sys.executable, "-m", "hashtag_index", "update", *inputs]
    done = subprocess.run(
        [*command, "--index", str(index_dir), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=None if env is None else dict(env),
    )
    stream = done.stdout if done.returncode == 0 else done.stderr or done.stdout
    lines = stream.strip().splitlines()
    return UpdateRun(done.returncode, lines[-1] if lines else "")


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
    def __init__(self, index_dir: Path, inbox: Path, timeout: float = 3600.0) -> None:
        self.dir = index_dir / JOBS_DIR
        self.index_dir = index_dir
        self.inbox = inbox
        self.timeout = timeout

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The jobs lock: one holder at a time, across threads and processes."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _path(self, job_id: str) -> Path:
        return self.dir / f"{job_id}.json"

    def _read(self, job_id: str) -> Job | None:
        if not job_id.isalnum():
            return None
        try:
            return msgspec.json.decode(self._path(job_id).read_bytes(), type=Job)
        except (FileNotFoundError, msgspec.DecodeError):
            return None

    def get(self, job_id: str) -> Job | None:
        job = self._read(job_id)
        if job is not None and job.state in ("queued", "running") and not _alive(job.runner_pid):
            with self._locked():
                job = self._read(job_id)
                live = job is not None and _alive(job.runner_pid)
                if job is not None and job.state in ("queued", "running") and not live:
                    self._died(job)
        return job

    def _died(self, job: Job) -> None:
        """Mark a job whose runner is gone as failed (under the lock)."""
        job.state, job.error = "failed", "the job's runner died"
        job.finished_at = job.finished_at or _now()
        self._save(job)
        self._release(job.id)

    def _save(self, job: Job) -> None:
        _write(self._path(job.id), msgspec.json.encode(job))

    def _active(self) -> str:
        try:
            return (self.dir / ACTIVE).read_text().strip()
        except FileNotFoundError:
            return ""

    def _release(self, job_id: str) -> None:
        """Clear ``active`` if it names ``job_id`` (under the lock)."""
        if self._active() == job_id:
            with contextlib.suppress(FileNotFoundError):
                (self.dir / ACTIVE).unlink()

    def start(self) -> tuple[Job, bool]:
        """Start a job and return it (and True), or return the one already queued or
        running (and False). Atomic: of any number of concurrent calls, in any number of
        processes, one starts a job."""
        with self._locked():
            running = self._read(self._active())
            if running is not None and running.state in ("queued", "running"):
                if _alive(running.runner_pid):
                    return running, False
                self._died(running)
            self._prune()
            job = Job(
                id=secrets.token_hex(8),
                state="queued",
                inbox=str(self.inbox),
                created_at=_now(),
                runner_pid=os.getpid(),
            )
            self._save(job)
            _write(self.dir / ACTIVE, job.id.encode())
        threading.Thread(target=self._run, args=(job,), daemon=True).start()
        return job, True

    def last_finished(self) -> Job | None:
        """The job that finished last (from the job files, so any worker's)."""
        done = [
            job
            for job in (self._read(path.stem) for path in self.dir.glob("*.json"))
            if job is not None and job.finished_at is not None
        ]
        return max(done, key=lambda j: j.finished_at or j.created_at, default=None)

    def _prune(self) -> None:
        """Delete the files of finished jobs but the newest :data:`KEEP_JOBS`."""
        finished = []
        for path in self.dir.glob("*.json"):
            job = self._read(path.stem)
            if job is not None and job.state in ("succeeded", "failed"):
                finished.append((job.created_at, path))
        finished.sort(reverse=True)
        for _, path in finished[KEEP_JOBS:]:
            path.unlink(missing_ok=True)

    def _run(self, job: Job) -> None:
        job.state, job.started_at = "running", _now()
        self._save(job)
        try:
            run = run_update(
                [str(self.inbox)], self.index_dir, timeout=self.timeout, env=child_env(os.environ)
            )
            if run.ok:
                job.state = "succeeded"
                current = current_generation_dir(self.index_dir)
                if current is not None:
                    manifest = read_manifest(current)
                    job.generation, job.posts = manifest.generation, manifest.posts
            else:
                job.state = "failed"
                job.error = run.last_line or f"exit status {run.returncode}"
        except subprocess.TimeoutExpired:
            job.state = "failed"
            job.error = f"timed out after {self.timeout:g} s (HASHTAG_INDEX_REINDEX_TIMEOUT)"
        except Exception as e:  # whatever happens, the job ends and frees the slot
            log.error("reindex job %s failed", job.id, exc_info=e)
            job.state, job.error = "failed", f"{type(e).__name__}: {e}"
        job.finished_at = _now()
        with self._locked():
            self._save(job)
            self._release(job.id)


def _write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` whole (readers see the old file or the new one)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


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
