"""Demo content of daily routines: the NPC group's two routines (08:00 nasal irrigation,
20:00 mouth-opening exercises), streaks of a few members, the leader's own medicine and a
reminder that has already come."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tongzhou.accounts.actions import do_update_profile
from tongzhou.accounts.models import User
from tongzhou.community import reminders
from tongzhou.community.models import CheckIn, Routine
from tongzhou.community.routines import do_create_routine
from tongzhou.groups.models import Group

IRRIGATION = "鼻腔冲洗 Nasal irrigation"
EXERCISE = "张口锻炼 Mouth-opening exercises"
MEDICINE = "优甲乐 Thyroid tablet (Euthyrox)"


def seed(group: Group, users: dict[str, User]) -> None:
    """Add this feature's demo content to the demo group (users by demo username)."""
    leader = users["leader"]
    irrigation = do_create_routine(
        leader,
        group.pk,
        own=False,
        title=IRRIGATION,
        time="08:00",
        note="温盐水，每侧 250 毫升，头低一点。Warm saline, 250 ml each side, head tilted.",
    )
    do_create_routine(
        users["moderator"],
        group.pk,
        own=False,
        title=EXERCISE,
        time="20:00",
        note="张口到最大，坚持 10 秒，做 20 次。Open wide, hold 10 seconds, 20 times.",
    )
    do_create_routine(leader, group.pk, own=True, title=MEDICINE, time="07:00")
    do_update_profile(users["chen"], {"share_streaks": True})
    for username, days in (("chen", 12), ("carer", 3), ("leader", 5), ("newcomer", 1)):
        today = reminders.local_day(users[username])
        start = 1 if username == "leader" else 0  # the leader has not done it yet today
        CheckIn.objects.bulk_create(
            CheckIn(routine=irrigation, user=users[username], day=today - dt.timedelta(days=i))
            for i in range(start, start + days)
        )
    # This morning's reminder, as the worker delivered it.
    now = timezone.now()
    reminders.create_once(
        leader.pk,
        f"routine:{irrigation.pk}:{reminders.local_day(leader).isoformat()}",
        group_id=group.pk,
        title=IRRIGATION,
        url=f"/today/#routine-{irrigation.pk}",
        due_at=now - dt.timedelta(hours=1),
    )


def ids(group: Group) -> dict[str, Any]:
    """Placeholders for the accessibility test's pages: {rtid} the group's first routine,
    {myrtid} the leader's own (the pages are opened as the leader)."""
    mine = Routine.objects.filter(group=group, owner__username="leader").first()
    theirs = Routine.objects.filter(group=group, owner__isnull=True).order_by("pk").first()
    return {
        "rtid": theirs.pk if theirs else 0,
        "myrtid": mine.pk if mine else 0,
    }
