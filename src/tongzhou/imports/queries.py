"""Reading an imported history: months, a month's page, one message's place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.safestring import mark_safe

from tongzhou.chat.models import Message
from tongzhou.chat.render import plain_text, to_html
from tongzhou.chat.serialize import sender_name
from tongzhou.imports.models import Candidate, HistoryEvent, ImportedMessage, TermCandidate

PAGE = 200


def history(group_id: int) -> Any:
    return Message.objects.filter(
        group_id=group_id, status=Message.Status.HISTORY, deleted_at__isnull=True
    )


def months(group_id: int) -> list[dict[str, Any]]:
    """[{month (aware datetime, local), count}] oldest first."""
    rows = (
        history(group_id)
        .annotate(month=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
        .values("month")
        .annotate(n=Count("id"))
        .order_by("month")
    )
    return [
        {"month": r["month"], "key": r["month"].strftime("%Y-%m"), "count": r["n"]} for r in rows
    ]


def month_bounds(key: str) -> tuple[datetime, datetime] | None:
    try:
        start = datetime.strptime(key, "%Y-%m")
    except ValueError:
        return None
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    zone = timezone.get_current_timezone()
    return start.replace(tzinfo=zone), end.replace(tzinfo=zone)


def page_of(group_id: int, key: str, page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of a month's messages (oldest first) and the number of pages."""
    bounds = month_bounds(key)
    if bounds is None:
        return [], 0
    qs = history(group_id).filter(created_at__gte=bounds[0], created_at__lt=bounds[1])
    total = qs.count()
    pages = max(1, -(-total // PAGE))
    page = min(max(page, 1), pages)
    rows = list(
        qs.order_by("created_at", "id").select_related("sender", "reply_to__sender", "imported")[
            (page - 1) * PAGE : page * PAGE
        ]
    )
    return [history_dict(m) for m in rows], pages


def place_of(group_id: int, message_id: int) -> tuple[str, int] | None:
    """(month key, page) where a history message is shown (a permalink, a search result)."""
    m = history(group_id).filter(pk=message_id).first()
    if m is None:
        return None
    local = timezone.localtime(m.created_at)
    key = local.strftime("%Y-%m")
    start = month_bounds(key)[0]  # type: ignore[index]  # a key we made
    before = (
        history(group_id).filter(created_at__gte=start, created_at__lt=m.created_at).count()
        + history(group_id).filter(created_at=m.created_at, id__lt=m.pk).count()
    )
    return key, before // PAGE + 1


def history_dict(m: Message) -> dict[str, Any]:
    imported = getattr(m, "imported", None)
    quote = None
    if m.reply_to is not None and m.reply_to.deleted_at is None:
        quote = {
            "id": m.reply_to_id,
            "sender": sender_name(m.reply_to),
            "text": plain_text(m.reply_to.text, 80),
        }
    return {
        "id": m.pk,
        "sender": sender_name(m),
        "sender_id": m.sender_id,
        "at": m.created_at,
        # to_html is Markdown cleaned by nh3: the same HTML every chat client inserts.
        "html": mark_safe(to_html(m.text)),  # noqa: S308  # nosec B308 B703 # nosemgrep: tongzhou-mark-safe-non-literal
        "text": m.text,
        "kind": m.kind,
        "media": list(imported.media) if imported is not None else [],
        "forwarded_from": imported.forwarded_from if imported is not None else "",
        "quote": quote,
    }


def events_of(group_id: int, key: str) -> list[HistoryEvent]:
    bounds = month_bounds(key)
    if bounds is None:
        return []
    return list(
        HistoryEvent.objects.filter(group_id=group_id, at__gte=bounds[0], at__lt=bounds[1])
        .select_related("person__user")
        .order_by("at", "id")[:500]
    )


def history_count(group_id: int) -> int:
    return ImportedMessage.objects.filter(group_id=group_id).count()


def review_count(group_id: int) -> int:
    """Suggestions from imported histories waiting for the moderators."""
    return (
        Candidate.objects.filter(group_id=group_id, status=Candidate.Status.OPEN).count()
        + TermCandidate.objects.filter(group_id=group_id, status=TermCandidate.Status.OPEN).count()
    )
