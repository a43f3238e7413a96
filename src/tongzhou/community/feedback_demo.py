"""Suggestions demo content: three ideas with votes and a comment, one answered "planned"."""

from __future__ import annotations

from typing import Any

from tongzhou.accounts.models import User
from tongzhou.community import feedback
from tongzhou.community.models import Suggestion
from tongzhou.groups.models import Group

MEETUP = "每月办一次线下聚会 · A meetup every month"


def seed(group: Group, users: dict[str, User]) -> None:
    """Add this feature's demo content to the demo group (users by demo username)."""
    meetup = feedback.do_create_suggestion(
        users["chen"],
        group.pk,
        title=MEETUP,
        body="在医院附近找个茶馆，大家见见面，聊聊天。A tea house near the hospital, to meet "
        "and talk.",
    )
    dietitian = feedback.do_create_suggestion(
        users["carer"],
        group.pk,
        title="请营养师讲讲放疗期间怎么吃 · A dietitian's talk on eating during radiotherapy",
    )
    timetable = feedback.do_create_suggestion(
        users["newcomer"],
        group.pk,
        title="新人指南里加一张复查时间表 · A check-up timetable in the newcomer guide",
    )
    for who, s in (
        ("carer", meetup),
        ("newcomer", meetup),
        ("moderator", meetup),
        ("chen", dietitian),
        ("newcomer", dietitian),
        ("moderator", timetable),
    ):
        feedback.do_vote(users[who], group.pk, s.pk)
    feedback.do_comment(
        users["newcomer"],
        group.pk,
        dietitian.pk,
        "我也想知道吃不下饭的时候该吃什么。Me too: what to eat when eating hurts?",
    )
    feedback.do_answer(
        users["leader"],
        group.pk,
        meetup.pk,
        status=Suggestion.Status.PLANNED,
        answer="好主意！第一次定在下个月第一个周六，地点过几天通知。Good idea: the first one is "
        "on the first Saturday of next month; the place follows.",
    )


def ids(group: Group) -> dict[str, Any]:
    """Placeholders for the accessibility test's pages: the answered suggestion."""
    return {"sgid": Suggestion.objects.get(group=group, title=MEETUP).pk}
