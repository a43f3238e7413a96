"""The optional e-mail digest: new mentions and replies, and questions still waiting for an
answer, at most hourly or daily, never in the member's quiet hours, only to a confirmed
address. The words of messages are left out unless the member asked for them."""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tasks import task

from tongzhou.chat.models import Message
from tongzhou.chat.render import plain_text
from tongzhou.chat.serialize import sender_name, summary
from tongzhou.groups.models import Membership
from tongzhou.notify.models import EmailSettings, Notification
from tongzhou.notify.queries import permalink, visible_notifications
from tongzhou.tasks import retry_delay

log = logging.getLogger(__name__)

INTERVAL = {
    EmailSettings.Digest.HOURLY: timedelta(hours=1),
    EmailSettings.Digest.DAILY: timedelta(hours=23),
}
QUESTION_GRACE = timedelta(minutes=10)  # a question this fresh may still be answered in chat
MAX_ITEMS = 20
MAX_ATTEMPTS = 5
CONFIRM_VALID = timedelta(days=3)


def in_quiet_hours(s: EmailSettings, at: time) -> bool:
    start, end = s.quiet_start, s.quiet_end
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end  # across midnight, e.g. 22:00-08:00


def _since(s: EmailSettings, now: datetime) -> datetime:
    return s.last_sent_at or now - timedelta(days=1)


def _notifications(s: EmailSettings) -> Any:
    return visible_notifications(s.user_id).filter(read_at__isnull=True, emailed_at__isnull=True)


def _open_questions(s: EmailSettings, now: datetime) -> Any:
    if not s.include_questions:
        return Message.objects.none()
    groups = Membership.objects.filter(user_id=s.user_id, status=Membership.Status.ACTIVE)
    answered = Message.objects.filter(reply_to=OuterRef("pk"), deleted_at__isnull=True).exclude(
        sender_id=OuterRef("sender_id")
    )
    return (
        Message.objects.filter(
            group_id__in=groups.values("group_id"),
            kind=Message.Kind.QUESTION,
            status=Message.Status.VISIBLE,
            deleted_at__isnull=True,
            created_at__gt=_since(s, now) - QUESTION_GRACE,
            created_at__lte=now - QUESTION_GRACE,
        )
        .exclude(sender_id=s.user_id)
        .exclude(Exists(answered))
        .select_related("group", "sender", "attachment")
        .order_by("created_at")
    )


def send_due_digests(now: datetime | None = None) -> int:
    """Queue a digest for each member who is due one and has something in it."""
    now = now or timezone.now()
    local = timezone.localtime(now).time()
    queued = 0
    due = (
        EmailSettings.objects.filter(email_confirmed=True, user__is_active=True)
        .exclude(digest=EmailSettings.Digest.OFF)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - timedelta(hours=6)))
    )
    for s in due:
        if in_quiet_hours(s, local):
            continue
        if s.last_sent_at and now - s.last_sent_at < INTERVAL[s.digest]:  # type: ignore[index]
            continue
        if not (_notifications(s).exists() or _open_questions(s, now).exists()):
            continue
        with transaction.atomic():
            if EmailSettings.objects.filter(pk=s.pk, queued_at=s.queued_at).update(queued_at=now):
                send_digest.enqueue(s.user_id, 1)
                queued += 1
    return queued


def _link(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def build_digest(
    s: EmailSettings, now: datetime
) -> tuple[EmailMultiAlternatives, list[int]] | None:
    """The e-mail, and the notifications it tells of; None when there is nothing to tell."""
    notes = list(_notifications(s).order_by("id")[:MAX_ITEMS])
    questions = list(_open_questions(s, now)[:MAX_ITEMS])
    if not notes and not questions:
        return None
    with translation.override(s.language):
        items = [
            {
                "what": {
                    Notification.Kind.MENTION: _("%(name)s mentioned you in %(group)s"),
                    Notification.Kind.HELP: _("%(name)s asked in %(group)s. Can you help?"),
                }.get(n.kind, _("%(name)s replied to you in %(group)s"))
                % {"name": sender_name(n.message), "group": n.group.name},
                "text": (plain_text(n.message.text, 300) or summary(n.message))
                if s.include_text
                else "",
                "url": _link(permalink(n.group_id, n.message_id)),
                "at": timezone.localtime(n.created_at),
            }
            for n in notes
        ]
        asks = [
            {
                "what": _("%(name)s asked in %(group)s")
                % {"name": sender_name(q), "group": q.group.name},
                "text": (plain_text(q.text, 300) or summary(q)) if s.include_text else "",
                "url": _link(permalink(q.group_id, q.pk)),
                "at": timezone.localtime(q.created_at),
            }
            for q in questions
        ]
        parts = []
        if items:
            parts.append(
                ngettext("%(n)d mention or reply", "%(n)d mentions and replies", len(items))
                % {"n": len(items)}
            )
        if asks:
            parts.append(
                ngettext(
                    "%(n)d question waiting for an answer",
                    "%(n)d questions waiting for an answer",
                    len(asks),
                )
                % {"n": len(asks)}
            )
        context = {
            "items": items,
            "questions": asks,
            "settings_url": _link(reverse("notify:settings")),
            "display_name": s.user.display_name,
        }
        subject = _("Tongzhou: %(what)s") % {"what": _(", ").join(parts)}
        mail = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("notify/digest.txt", context),
            to=[s.email],
        )
        mail.attach_alternative(render_to_string("notify/digest.html", context), "text/html")
    return mail, [n.pk for n in notes]


@task()
def send_digest(user_id: int, attempt: int) -> str:
    s = EmailSettings.objects.select_related("user").filter(user_id=user_id).first()
    if (
        s is None
        or s.digest == EmailSettings.Digest.OFF
        or not s.email_confirmed
        or not s.user.is_active  # locked out by an operator: no more of the groups' news
    ):
        EmailSettings.objects.filter(user_id=user_id).update(queued_at=None)
        return "off"
    now = timezone.now()
    if in_quiet_hours(s, timezone.localtime(now).time()):
        # Queued (or retried) just before the quiet hours began: the periodic job queues it
        # again once they are over.
        EmailSettings.objects.filter(pk=s.pk).update(queued_at=None)
        return "quiet"
    built = build_digest(s, now)
    if built is None:
        EmailSettings.objects.filter(pk=s.pk).update(queued_at=None)
        return "nothing"
    mail, told = built
    try:
        mail.send()
    except (smtplib.SMTPException, OSError) as e:
        log.warning(
            "digest for user %s not sent (attempt %s): %s", user_id, attempt, type(e).__name__
        )
        EmailSettings.objects.filter(pk=s.pk).update(failures=s.failures + 1)
        if attempt < MAX_ATTEMPTS:
            send_digest.using(run_after=now + retry_delay(attempt)).enqueue(user_id, attempt + 1)
        else:
            EmailSettings.objects.filter(pk=s.pk).update(queued_at=None)
        return "retry"
    with transaction.atomic():
        Notification.objects.filter(pk__in=told).update(emailed_at=now)
        EmailSettings.objects.filter(pk=s.pk).update(last_sent_at=now, queued_at=None, failures=0)
    return "sent"


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@task()
def send_confirmation(user_id: int, code: str, attempt: int = 1) -> str:
    """The e-mail with the link that confirms the address. The link works only for its
    owner, signed in; the settings keep only the code's hash."""
    s = EmailSettings.objects.select_related("user").filter(user_id=user_id).first()
    if s is None or not s.email or s.confirm_digest != code_digest(code):
        return "stale"  # the address changed again meanwhile
    with translation.override(s.language):
        context = {
            "display_name": s.user.display_name,
            "url": _link(reverse("notify:confirm", args=[code])),
            "days": CONFIRM_VALID.days,
        }
        mail = EmailMultiAlternatives(
            subject=_("Tongzhou: please confirm your e-mail address"),
            body=render_to_string("notify/confirm.txt", context),
            to=[s.email],
        )
    try:
        mail.send()
    except (smtplib.SMTPException, OSError) as e:
        # Only the kind of error: SMTP errors name the address, which we keep encrypted.
        log.warning(
            "confirmation for user %s not sent (attempt %s): %s",
            user_id,
            attempt,
            type(e).__name__,
        )
        if attempt < MAX_ATTEMPTS:
            send_confirmation.using(run_after=timezone.now() + retry_delay(attempt)).enqueue(
                user_id, code, attempt + 1
            )
        return "retry"
    return "sent"


def new_confirm_code() -> str:
    return secrets.token_urlsafe(24)
