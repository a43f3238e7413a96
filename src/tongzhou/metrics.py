"""Prometheus metrics of this process. Each server process keeps its own counters; scrape
every process (docs/deploy.md). Nothing here carries a name, a group or any text."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# Milliseconds matter for chat; a minute is already an outage.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

MESSAGES_SENT = Counter("tongzhou_messages_sent", "Messages written by sends on this process")
DELIVERIES = Counter("tongzhou_deliveries", "Messages pushed to members' sockets by this process")
CONNECTED = Gauge("tongzhou_connected_sockets", "Chat sockets open on this process")
SEND_SECONDS = Histogram(
    "tongzhou_send_seconds",
    "Time to check and write one message, until commit",
    buckets=LATENCY_BUCKETS,
)
DELIVERY_SECONDS = Histogram(
    "tongzhou_delivery_seconds",
    "From a message's commit to its push to a socket (clocks of two machines if it crossed)",
    buckets=LATENCY_BUCKETS,
)
FANOUT_ERRORS = Counter(
    "tongzhou_fanout_errors", "Events the fan-out layer failed to publish (clients catch up)"
)
DATABASE_UNAVAILABLE = Counter(
    "tongzhou_database_unavailable",
    "Requests and socket sends answered 'try again' because the database could not be reached",
)


class QueueCollector(Collector):
    """The background queue, read from the database at scrape time (shared by all processes)."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without this the registry calls collect() at registration: a query at start-up.
        yield GaugeMetricFamily("tongzhou_tasks", "", labels=["state"])
        yield GaugeMetricFamily("tongzhou_tasks_due", "")
        yield GaugeMetricFamily("tongzhou_tasks_oldest_due_seconds", "")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db import DatabaseError

        from tongzhou.tasks import queue_status

        try:
            status = queue_status(failures=0)
        except DatabaseError:  # the scrape still answers; readiness reports the database
            log.warning("queue metrics skipped: database unavailable")
            return
        tasks = GaugeMetricFamily(
            "tongzhou_tasks", "Background tasks in the queue by state", labels=["state"]
        )
        for state, n in status["counts"].items():
            tasks.add_metric([state], n)
        yield tasks
        yield GaugeMetricFamily(
            "tongzhou_tasks_due",
            "Tasks whose time has come, waiting for a worker",
            value=status["due"],
        )
        yield GaugeMetricFamily(
            "tongzhou_tasks_oldest_due_seconds",
            "How long the oldest due task has waited (0 when none): a stalled worker shows here",
            value=status["oldest_due_seconds"],
        )


_registered = False


def register_collectors() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(QueueCollector())
        _registered = True
