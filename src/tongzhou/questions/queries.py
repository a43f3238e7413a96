"""Reading questions: the open list, "asked before", and the time-to-answer figures."""

from __future__ import annotations

import math
import statistics
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q
from django.utils import timezone

from tongzhou.chat.models import Message
from tongzhou.chat.render import plain_text
from tongzhou.chat.serialize import sender_name, summary
from tongzhou.notify.queries import permalink
from tongzhou.questions.detect import is_question
from tongzhou.questions.models import Question
from tongzhou.questions.search import SIMILAR_ENOUGH, index_for, terms_of

OPEN_PAGE = 100
SIMILAR_SHOWN = 3


def _live(qs: Any) -> Any:
    return qs.filter(message__status=Message.Status.VISIBLE, message__deleted_at__isnull=True)


def _brief(m: Message) -> dict[str, Any]:
    return {
        "id": m.pk,
        "sender_name": sender_name(m),
        "text": plain_text(m.text, 200) or summary(m),
        "url": permalink(m.group_id, m.pk),
    }


def open_questions(group_id: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """Questions not yet resolved: those with no answer first, then those answered but not
    yet marked helpful; newest first within each."""
    now = now or timezone.now()
    rows = (
        _live(Question.objects.filter(group_id=group_id, resolved_at__isnull=True))
        .select_related("message__sender", "message__attachment")
        .annotate(
            answers=Count(
                "message__replies",
                filter=Q(message__replies__deleted_at__isnull=True)
                & ~Q(message__replies__sender_id=F("asker_id")),
            )
        )
        .order_by(F("first_answer_id").asc(nulls_first=True), "-asked_at")[:OPEN_PAGE]
    )
    return [
        {
            **_brief(q.message),
            "state": q.state,
            "asked_at": q.asked_at.isoformat(),
            "age_seconds": int((now - q.asked_at).total_seconds()),
            "answers": q.answers,
            "asker_id": q.asker_id,
        }
        for q in rows
    ]


def open_count(group_id: int) -> int:
    return int(
        _live(
            Question.objects.filter(
                group_id=group_id, resolved_at__isnull=True, first_answer__isnull=True
            )
        ).count()
    )


def similar_questions(group_id: int, text: str, exclude: int | None = None) -> list[dict[str, Any]]:
    """Earlier questions in the group like this text, each with the answer that helped (or
    else the first answer)."""
    found = index_for(group_id).search(
        terms_of(text), SIMILAR_SHOWN * 4, exclude={exclude} if exclude else set()
    )
    ids = [qid for qid, share in found if share >= SIMILAR_ENOUGH]
    rows = {
        q.pk: q
        # By primary key alone: with the group too, SQLite without statistics scans the
        # group's index instead (bench/questions.py). The group is checked below.
        for q in _live(Question.objects.filter(pk__in=ids)).select_related(
            "message__sender",
            "message__attachment",
            "helpful__sender",
            "first_answer__sender",
        )
    }
    out = []
    for qid in ids:
        q = rows.get(qid)
        if q is None or q.group_id != group_id:
            continue
        answer = q.helpful or q.first_answer
        usable = answer is not None and answer.deleted_at is None
        out.append(
            {
                **_brief(q.message),
                "state": q.state,
                "asked_at": q.asked_at.isoformat(),
                "answer": _brief(answer) if usable and answer else None,
                "answer_helped": usable and q.helpful_id is not None,
            }
        )
        if len(out) == SIMILAR_SHOWN:
            break
    return out


def asked_before(group_id: int, text: str) -> dict[str, Any]:
    """For the composer: does this look like a question, and was it asked before?"""
    question = is_question(text)
    return {"is_question": question, "similar": similar_questions(group_id, text)}


def _percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of values at or below."""
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


def _figures(values: list[float | None]) -> dict[str, Any]:
    """Seconds to first answer (None: no answer yet) -> the figures leaders see."""
    times = [v for v in values if v is not None]
    n = len(values)
    return {
        "questions": n,
        "answered": len(times),
        "unanswered": n - len(times),
        "median_seconds": statistics.median(times) if times else None,
        "p90_seconds": _percentile(times, 90) if times else None,
        "within_3_min": (sum(t <= 180 for t in times) / n) if n else None,
        "within_1_hour": (sum(t <= 3600 for t in times) / n) if n else None,
    }


def week_start(at: datetime) -> datetime:
    local = timezone.localtime(at)
    monday = local - timedelta(days=local.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def answer_metrics(group_id: int, weeks: int = 12, now: datetime | None = None) -> dict[str, Any]:
    """Per week of asking (Monday to Sunday, the server's time zone), oldest first: how many
    questions, how fast the first answer came (median and 90th percentile, in seconds), the
    share answered within 3 minutes and within an hour, and how many have no answer yet."""
    now = now or timezone.now()
    first = week_start(now) - timedelta(weeks=weeks - 1)
    rows = _live(Question.objects.filter(group_id=group_id, asked_at__gte=first)).values_list(
        "asked_at", "first_answer_at"
    )
    buckets: dict[datetime, list[float | None]] = {
        first + timedelta(weeks=i): [] for i in range(weeks)
    }
    for asked, answered in rows:
        seconds = max((answered - asked).total_seconds(), 0.0) if answered else None
        buckets.setdefault(week_start(asked), []).append(seconds)
    every = [v for values in buckets.values() for v in values]
    return {
        "weeks": [
            {"week": start.date().isoformat(), **_figures(values)}
            for start, values in sorted(buckets.items())
        ],
        "total": _figures(every),
        "open_now": open_count(group_id),
    }
