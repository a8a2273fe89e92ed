"""Joining Ray, and gathering what its tasks return."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from indexer.errors import IndexerError

TASK_RETRIES = 3
"""Ray's retries of a task whose worker died (a lost node, an OOM kill)."""

TASK_SECONDS: dict[str, list[float]] = {}
"""The wall seconds of each task of the last build on Ray, by kind ("read", "vocabulary",
"split"): for bench/distributed.py and the sizing model (docs/scale.md)."""


def ray_module() -> Any:
    """``ray``, or a one-line error saying how to get it."""
    try:
        import ray
    except ImportError as e:
        raise IndexerError(
            "--ray needs Ray: install the extra with pip install 'hashtag-index[ray]' "
            "(or uv sync --extra ray)"
        ) from e
    return ray


@contextmanager
def connected(address: str) -> Iterator[Any]:
    """Ray, joined to ``address`` for the duration: ``local`` starts a Ray of this
    machine's cores (stopped at the end), ``auto`` joins the cluster ``ray start``
    made, ``ray://host:port`` a remote one. Already joined (a test's session), it is
    used as it is and left running."""
    if address == "local":
        # Under `uv run`, Ray would ship the project to its workers as a package; a
        # local Ray's workers run this very interpreter, so they need none of that.
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    ray = ray_module()
    TASK_SECONDS.clear()
    if ray.is_initialized():
        yield ray
        return
    # Ray's notes about itself at start (token auth, dashboard, packaging) are not the
    # user's business: only its errors reach the terminal.
    logger = logging.getLogger("ray")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        if address == "local":
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise IndexerError(f"--ray {address}: cannot join the Ray cluster: {e}") from e
    finally:
        logger.setLevel(level)
    try:
        yield ray
    finally:
        ray.shutdown()


IN_FLIGHT_PER_CPU = 2
"""Tasks submitted ahead per CPU of the cluster. Results wait in Ray's object store until
the driver takes them (a day's sums and tag pairs are megabytes), so they are bounded by
the cluster's size, not by the number of days or files."""


def run_tasks(
    ray: Any, submit: Callable[[int], Any], n: int, *, ordered: bool = False
) -> Iterator[tuple[int, Any]]:
    """``(i, result)`` of the tasks ``submit(0) .. submit(n - 1)`` (each returns a Ray
    reference), as they finish or, ``ordered``, in order; at most
    :data:`IN_FLIGHT_PER_CPU` per CPU are submitted and not yet taken at a time."""
    window = IN_FLIGHT_PER_CPU * cpus(ray)
    pending: dict[Any, int] = {}
    finished: dict[int, Any] = {}
    submitted = taken = 0
    while taken < n:
        while submitted < n and len(pending) + len(finished) < window:
            pending[submit(submitted)] = submitted
            submitted += 1
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            finished[pending.pop(ref)] = result_of(ray, ref)
        for i in sorted(finished) if not ordered else []:
            yield i, finished.pop(i)
            taken += 1
        while ordered and taken in finished:
            yield taken, finished.pop(taken)
            taken += 1


def result_of(ray: Any, ref: Any) -> Any:
    """A task's result. An error of ours raised in the task is raised here as itself (one
    line for the CLI), any other as an :class:`IndexerError` naming it."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        cause = e.cause
        if isinstance(cause, IndexerError):
            raise cause from None
        raise IndexerError(f"a Ray task failed: {cause!r}") from e


def cpus(ray: Any) -> int:
    """The CPUs of the Ray cluster."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))
