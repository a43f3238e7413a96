"""Imports over the API: upload an export, watch it being read, start it, discard it.
Leaders only; the upload page uses the same calls to show progress."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from tongzhou.accounts.models import User
from tongzhou.groups.queries import access_leadership
from tongzhou.imports import actions
from tongzhou.imports.models import ImportJob

router = Router(tags=["imports"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # the API's auth guarantees it


def job_dict(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "filename": job.filename,
        "size": job.size,
        "status": job.status,
        "status_text": job.get_status_display(),
        "progress": job.progress,
        "format": job.format,
        "variant": job.variant,
        "timezone": job.zone,
        "summary": job.summary,
        "pseudonyms": job.pseudonyms,
        "result": job.result,
        "error": job.error,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


class StartIn(Schema):
    names: dict[str, str] = {}  # name in the file -> name shown; missing: the file's name


@router.get("/groups/{gid}/imports", operation_id="list_imports")
def list_imports(request: HttpRequest, gid: int) -> dict[str, Any]:
    access_leadership(_user(request), gid)
    return {"imports": [job_dict(j) for j in ImportJob.objects.filter(group_id=gid)[:50]]}


@router.post("/groups/{gid}/imports", operation_id="upload_import", response={201: dict[str, Any]})
def upload_import(
    request: HttpRequest,
    gid: int,
    file: File[UploadedFile],
    format: Form[str] = "auto",  # the field's name in the form
    timezone: Form[str] = "",
    chat: Form[str] = "",
    date_order: Form[str] = "",
) -> Status[dict[str, Any]]:
    """Multipart: `file`, optional `format` (auto, whatsapp, telegram, wechat) and `timezone`
    (the zone the export's times are in; default the server's), and for a Telegram
    whole-account export `chat` (the chat's name or id); `date_order` (dmy, mdy, ymd) for a
    WhatsApp file whose dates cannot tell. It is read in the
    background: poll GET …/imports/{id} until `status` is "ready" (or "failed")."""
    data = file.read(actions.settings.IMPORT_MAX_BYTES + 1)
    job = actions.do_upload(
        _user(request),
        gid,
        file.name or "",
        data,
        fmt=format,
        zone=timezone,
        chat=chat,
        date_order=date_order,
    )
    return Status(201, job_dict(job))


@router.get("/groups/{gid}/imports/{job_id}", operation_id="get_import")
def get_import(request: HttpRequest, gid: int, job_id: int) -> dict[str, Any]:
    return job_dict(actions.job_in(_user(request), gid, job_id))


@router.post("/groups/{gid}/imports/{job_id}/start", operation_id="start_import")
def start_import(request: HttpRequest, gid: int, job_id: int, payload: StartIn) -> dict[str, Any]:
    """Import a job that is "ready", with the names to show for its senders."""
    return job_dict(actions.do_start_import(_user(request), gid, job_id, dict(payload.names)))


@router.post("/groups/{gid}/imports/{job_id}/discard", operation_id="discard_import")
def discard_import(request: HttpRequest, gid: int, job_id: int) -> dict[str, Any]:
    return job_dict(actions.do_discard(_user(request), gid, job_id))
