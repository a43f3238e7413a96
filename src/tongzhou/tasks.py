"""Background work: a durable queue in the database (Django's tasks API, django-tasks-db).

Actions enqueue tasks inside their own transaction, so a task exists exactly when the change
that asked for it committed, and survives a restart. By default a thread in each server process
works the queue (`TONGZHOU_WORKER=inside`); at scale `tongzhou worker` does it alone. The same
loop also runs the periodic jobs (e-mail digests, clean-up) about once a minute.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.db import close_old_connections, connections
from django.db.models import Count
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string
from django_tasks.base import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

log = logging.getLogger(__name__)

PERIOD_SECONDS = 60
KEEP_RESULTS = timedelta(days=7)
MAX_ATTEMPTS = 5
# A task still "running" this long after it started lost its worker (killed, or the database
# went away before the result was written): it is queued again. Tasks here take seconds and
# are written to be safe to run twice.
STUCK_AFTER = timedelta(minutes=15)

R = TypeVar("R")

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


def requeue_stuck(now: Any = None) -> int:
    now = now or timezone.now()
    stuck = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=now - STUCK_AFTER
    )
    count = stuck.update(status=TaskResultStatus.READY, run_after=now, started_at=None)
    if count:
        log.warning("%s background task(s) lost their worker; queued again", count)
    return count


def run_periodic() -> None:
    requeue_stuck()
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


def retried(func: Callable[..., R]) -> Callable[..., R | str]:
    """Put under @task(): when the task raises, it is queued again after retry_delay (1, 4,
    16, 64 minutes); the fifth failure stays FAILED in the queue for the operator to see
    (`tongzhou worker --status`). The task must be safe to run again."""
    path = f"{func.__module__}.{func.__name__}"

    @functools.wraps(func)
    def run(*args: Any, attempt: int = 1, **kwargs: Any) -> R | str:
        try:
            return func(*args, **kwargs)
        except Exception as e:
            if attempt >= MAX_ATTEMPTS:
                raise
            # The kind of error only: messages of database errors can quote a row.
            log.warning("task %s failed (attempt %s): %s", path, attempt, type(e).__name__)
            close_old_connections()  # a broken connection must not fail the re-queue too
            again = import_string(path).using(run_after=timezone.now() + retry_delay(attempt))
            again.enqueue(*args, attempt=attempt + 1, **kwargs)
            return "retry"

    return run


def queue_status(failures: int = 10) -> dict[str, Any]:
    """What an operator needs to see of the queue; no task arguments (they hold ids only,
    but results and tracebacks may quote data)."""
    now = timezone.now()
    counts = {s.value.lower(): 0 for s in TaskResultStatus}
    for status, n in DBTaskResult.objects.values_list("status").annotate(n=Count("pk")):
        counts[status.lower()] = n
    due = DBTaskResult.objects.filter(status=TaskResultStatus.READY, run_after__lte=now)
    oldest = due.order_by("run_after").values_list("run_after", flat=True).first()
    failed = DBTaskResult.objects.failed().order_by("-finished_at")[:failures]
    return {
        "counts": counts,
        "due": due.count(),
        "oldest_due_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        "recent_failures": [
            {
                "task": r.task_path,
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "error": r.exception_class_path,
            }
            for r in failed
        ],
    }
