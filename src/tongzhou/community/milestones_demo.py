"""Demo content of milestones: 陈大哥 finished treatment (毕业), the carer's mother had a
clear scan, the leader's ten years; sad news of a former member, mourned quietly."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tongzhou.accounts.models import User
from tongzhou.community.milestones import do_announce, do_react
from tongzhou.community.models import Milestone
from tongzhou.groups.models import Group


def seed(group: Group, users: dict[str, User]) -> None:
    """Add this feature's demo content to the demo group (users by demo username)."""
    today = timezone.localdate()
    sad = do_announce(
        users["moderator"],
        group.pk,
        kind="sad",
        text="张阿姨上周走了，走得很安详。谢谢大家一直陪着她。"
        "Auntie Zhang passed away peacefully last week. Thank you all for being with her.",
        day=today - dt.timedelta(days=6),
        post_to_chat=False,
    )
    ten = do_announce(
        users["leader"],
        group.pk,
        kind="years",
        years=10,
        text="确诊十年了，还在这里陪大家。Ten years since diagnosis, and still here with you.",
        day=today - dt.timedelta(days=3),
        remind_yearly=True,
        post_to_chat=False,
    )
    scan = do_announce(
        users["carer"],
        group.pk,
        kind="clear_scan",
        text="妈妈的复查核磁没有问题！Mum's follow-up MRI is clear!",
        day=today - dt.timedelta(days=1),
        post_to_chat=False,
    )
    graduation = do_announce(
        users["chen"],
        group.pk,
        kind="graduation",
        text="33 次放疗全部做完，今天毕业了！谢谢大家。All 33 radiotherapy sessions done today!",
        day=today,
        remind_yearly=True,
        post_to_chat=False,
    )
    for username, emoji in (("leader", "🎉"), ("moderator", "💐"), ("carer", "👏")):
        do_react(users[username], group.pk, graduation.pk, emoji)
    for username, emoji in (("chen", "💪"), ("leader", "🎉")):
        do_react(users[username], group.pk, scan.pk, emoji)
    do_react(users["chen"], group.pk, ten.pk, "👏")
    for username, emoji in (("leader", "🕯️"), ("chen", "🙏"), ("carer", "🕯️")):
        do_react(users[username], group.pk, sad.pk, emoji)


def ids(group: Group) -> dict[str, Any]:
    """{msid}: 陈大哥's graduation card."""
    found = (
        Milestone.objects.filter(group=group, kind=Milestone.Kind.GRADUATION).order_by("pk").first()
    )
    return {"msid": found.pk if found else 0}
