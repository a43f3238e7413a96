"""Background work: a durable queue in the database (Django's tasks API, django-tasks-db).

Actions enqueue tasks inside their own transaction, so a task exists exactly when the change
that asked for it committed, and survives a restart. By default a thread in each server process
works the queue (`TONGZHOU_WORKER=inside`); at scale `tongzhou worker` does it alone. The same
loop also runs the periodic jobs (e-mail digests, clean-up) about once a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.db import close_old_connections, connections
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

log = logging.getLogger(__name__)

PERIOD_SECONDS = 60
KEEP_RESULTS = timedelta(days=7)

# Filled by apps' ready(): functions the loop calls about once a minute.
periodic_jobs: list[Callable[[], object]] = []


def _worker() -> Worker:
    return Worker(
        queue_names=["*"],
        interval=0,
        batch=True,  # return once the queue is empty
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=get_random_string(32),
        excluded_queue_names=[],
    )


def run_pending() -> None:
    """Run every task that is due, then return (tests; `tongzhou worker --once`)."""
    _worker().run()


def run_periodic() -> None:
    for job in periodic_jobs:
        try:
            job()
        except Exception:  # one failing job must not stop the others or the loop
            log.exception("periodic job %s failed", getattr(job, "__name__", job))
    DBTaskResult.objects.finished().filter(finished_at__lt=timezone.now() - KEEP_RESULTS).delete()


def work(stop: threading.Event, interval: float = 0.5) -> None:
    """Work the queue until `stop` is set."""
    worker = _worker()
    next_periodic = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() >= next_periodic:
                next_periodic = time.monotonic() + PERIOD_SECONDS
                run_periodic()
            worker.running = True
            worker.run()
        except Exception:  # a database hiccup: wait and try again
            log.exception("background worker loop failed; retrying")
        finally:
            close_old_connections()
        stop.wait(interval)
    connections.close_all()  # this thread's own connections: nothing left open on exit


def start_inside_worker() -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=work, args=(stop,), name="tongzhou-worker", daemon=True)
    thread.start()
    return thread, stop


def retry_delay(attempt: int) -> timedelta:
    """Backoff for a task that re-enqueues itself after a passing failure: 1, 4, 16, 64 min."""
    return timedelta(minutes=4 ** max(attempt - 1, 0))
