"""``GET /metrics``: Prometheus text format (prometheus-client).

Per request (recorded by service.access, for every request, unknown paths too):

- ``hashtag_index_http_requests_total{route, method, status}``
- ``hashtag_index_http_request_duration_seconds{route, method, status}`` (histogram)

``route`` is the route's template (``/v1/hashtags/{tag}``), ``unmatched`` for a
path no route has, so the label's values stay few. Read at each scrape:

- ``hashtag_index_generation_info{generation}`` (1) and
  ``hashtag_index_generation_age_seconds`` (now - the generation's built_at);
- ``hashtag_index_generation_load_seconds``: how long this process took to load it;
- ``hashtag_index_generation_posts``, ``hashtag_index_generation_tags``;
- ``hashtag_index_update_duration_seconds``: wall time of the build or update that
  published the served generation (its manifest's ``seconds``);
- ``hashtag_index_reindex_last_duration_seconds`` and
  ``hashtag_index_reindex_last_success`` (1 or 0): the newest finished
  ``POST /v1/admin/reindex`` job, failed ones included;
- ``process_resident_memory_bytes`` and the other ``process_*`` metrics.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty
directory (prometheus-client's multiprocess mode): request metrics are then
summed over the workers; otherwise a scrape sees the worker that answers it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from service.admin import Jobs
from service.generation import GenerationStore

CONTENT_TYPE = CONTENT_TYPE_LATEST
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Latency buckets, seconds: most answers take milliseconds, reports seconds."""


class Metrics:
    """The service's metrics, one set per app."""

    def __init__(self, store: GenerationStore, jobs: Jobs) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        # in multiprocess mode the values go to files, summed at each scrape
        self.registry = CollectorRegistry(auto_describe=True)
        own = None if self.multiprocess else self.registry
        labels = ("route", "method", "status")
        self.requests = Counter(
            "hashtag_index_http_requests",
            "HTTP requests answered, by route, method and status",
            labels,
            registry=own,
        )
        self.latency = Histogram(
            "hashtag_index_http_request_duration_seconds",
            "Time to answer an HTTP request (to its last byte), by route, method and status",
            labels,
            buckets=BUCKETS,
            registry=own,
        )
        self.state = StateCollector(store, jobs)
        if not self.multiprocess:
            self.registry.register(self.state)
            self.registry.register(ProcessCollector(registry=None))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method, str(status)).observe(seconds)

    def render(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self.state)
        registry.register(ProcessCollector(registry=None))
        return generate_latest(registry)


class StateCollector(Collector):
    """The served generation and the last reindex job, read at each scrape."""

    def __init__(self, store: GenerationStore, jobs: Jobs) -> None:
        self.store = store
        self.jobs = jobs

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gen = self.store.current
        if gen is not None:
            m = gen.manifest
            info = GaugeMetricFamily(
                "hashtag_index_generation_info", "The served generation", labels=["generation"]
            )
            info.add_metric([m.generation], 1)
            yield info
            age = (datetime.now(UTC) - m.built_at).total_seconds()
            yield _gauge("generation_age_seconds", "Seconds since the generation was built", age)
            if self.store.load_seconds is not None:
                yield _gauge(
                    "generation_load_seconds",
                    "Seconds this process took to load the generation",
                    self.store.load_seconds,
                )
            yield _gauge("generation_posts", "Posts in the served generation", m.posts)
            yield _gauge("generation_tags", "Tags in the served generation", m.tags)
            yield _gauge(
                "update_duration_seconds",
                "Wall time of the build or update that published the served generation",
                m.seconds,
            )
        job = self.jobs.last_finished()
        if job is not None and job.started_at and job.finished_at:
            yield _gauge(
                "reindex_last_duration_seconds",
                "Wall time of the newest finished reindex job",
                (job.finished_at - job.started_at).total_seconds(),
            )
            yield _gauge(
                "reindex_last_success",
                "1 if the newest finished reindex job succeeded, else 0",
                1 if job.state == "succeeded" else 0,
            )


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"hashtag_index_{name}", doc, value=value)
