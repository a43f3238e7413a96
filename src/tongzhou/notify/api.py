from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from tongzhou.notify.actions import (
    do_confirm_email,
    do_mark_notifications_read,
    do_update_email_settings,
    email_settings_of,
)
from tongzhou.notify.models import EmailSettings
from tongzhou.notify.queries import list_notifications, unread_notification_count

router = Router(tags=["notifications"])


class ReadIn(Schema):
    ids: list[int] | None = None  # None: all


class EmailSettingsIn(Schema):
    email: str | None = None
    digest: str | None = None
    include_text: bool | None = None
    include_questions: bool | None = None
    quiet_start: datetime.time | None = None
    quiet_end: datetime.time | None = None
    language: str | None = None


class ConfirmIn(Schema):
    code: str


def _me(request: HttpRequest) -> int:
    return int(request.user.pk or 0)  # the API's auth guarantees a signed-in user


def _settings_dict(s: EmailSettings) -> dict[str, Any]:
    return {
        "email": s.email,
        "email_confirmed": s.email_confirmed,
        "digest": s.digest,
        "include_text": s.include_text,
        "include_questions": s.include_questions,
        "quiet_start": s.quiet_start.isoformat("minutes") if s.quiet_start else None,
        "quiet_end": s.quiet_end.isoformat("minutes") if s.quiet_end else None,
        "language": s.language,
        "last_sent_at": s.last_sent_at.isoformat() if s.last_sent_at else None,
    }


@router.get("/notifications", operation_id="list_notifications")
def get_notifications(
    request: HttpRequest, before: int | None = None, unread: bool = False
) -> dict[str, Any]:
    uid = _me(request)
    return {
        "unread": unread_notification_count(uid),
        "notifications": list_notifications(uid, before=before, unread_only=unread),
    }


@router.post("/notifications/read", operation_id="mark_notifications_read")
def mark_read(request: HttpRequest, payload: ReadIn) -> dict[str, int]:
    return {"unread": do_mark_notifications_read(_me(request), payload.ids)}


@router.get("/me/email-settings", operation_id="get_email_settings")
def get_email_settings(request: HttpRequest) -> dict[str, Any]:
    return _settings_dict(email_settings_of(_me(request)))


@router.patch("/me/email-settings", operation_id="update_email_settings")
def update_email_settings(request: HttpRequest, payload: EmailSettingsIn) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    return _settings_dict(do_update_email_settings(_me(request), data))


@router.post("/me/email-settings/confirm", operation_id="confirm_email")
def confirm_email(request: HttpRequest, payload: ConfirmIn) -> dict[str, Any]:
    return _settings_dict(do_confirm_email(_me(request), payload.code))
