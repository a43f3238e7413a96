"""Background steps of a web import: read the upload, then import it."""

from __future__ import annotations

from django_tasks import task

from tongzhou.imports import actions
from tongzhou.imports.models import ImportJob


@task()
def read_job(job_id: int) -> str:
    # READING too: a worker that died while reading leaves it so, and the queue runs the
    # task again (tasks.requeue_stuck).
    job = ImportJob.objects.filter(
        pk=job_id, status__in=(ImportJob.Status.UPLOADED, ImportJob.Status.READING)
    ).first()
    if job is None:
        return "gone"
    actions.read_job(job)
    return job.status


@task()
def run_job(job_id: int) -> str:
    job = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.IMPORTING).first()
    if job is None:
        return "gone"
    try:
        actions.import_now(job)
    except Exception:  # logged, and the job says why; running it again would fail the same
        return "failed"
    return job.status
