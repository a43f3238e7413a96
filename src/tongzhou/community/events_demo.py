"""Demo events: an "ask the dietitian" session coming up (questions with votes), a meetup with
a waiting list, and a past talk whose questions were answered. Called by community/demo.py."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from tongzhou.accounts.models import User
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.models import Message
from tongzhou.community import events
from tongzhou.community.models import Event, EventQuestion
from tongzhou.groups.models import Group

DIETITIAN = "问营养师：放疗期间怎么吃 · Ask the dietitian: eating during radiotherapy"
MEETUP = "春天公园茶话会 · Spring tea in the park"
PAST_TALK = "放疗后口干怎么办 · Living with a dry mouth after radiotherapy"


def _at(days: int, hour: int, minute: int = 0) -> dt.datetime:
    """A wall time in the server's zone (the demo group's), `days` from today."""
    zone = ZoneInfo(settings.TIME_ZONE)
    day = timezone.now().astimezone(zone).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def seed(group: Group, users: dict[str, User]) -> None:
    """Add this feature's demo content to the demo group (users by demo username)."""
    leader, gid = users["leader"], group.pk

    # 1. Coming up: an "ask the expert" session, questions sent in and voted for.
    qa = events.do_create_event(
        leader,
        gid,
        kind=Event.Kind.QA,
        title=DIETITIAN,
        speaker="张营养师 Dietitian Zhang（中山大学肿瘤防治中心 营养科）",
        description="放疗期间嘴疼、没胃口、体重往下掉，怎么吃才够营养？张老师在线回答大家的问题。"
        "先把问题写在下面，给想听的问题投票，票多的先答。\n"
        "Sore mouth, no appetite, losing weight: how to eat enough during radiotherapy? "
        "Send your questions below and vote; the most votes are answered first.",
        starts_at=_at(3, 19, 30),
        ends_at=_at(3, 20, 30),
        topic="diet",
        remind_minutes=60,
    )
    for who in ("chen", "carer", "newcomer", "moderator"):
        events.do_rsvp(users[who], gid, qa.pk, True)
    asked = [
        ("carer", "我爸放疗第三周，嘴里全是溃疡，只能喝粥，营养粉怎么选？"),
        ("newcomer", "Can I still drink soy milk and eat tofu during treatment?"),
        ("chen", "体重掉了 5 公斤，要不要去医院打营养针？"),
    ]
    ids = [events.do_ask(users[who], gid, qa.pk, text).pk for who, text in asked]
    for who, n in (
        ("chen", 0),
        ("newcomer", 0),
        ("moderator", 0),
        ("carer", 2),
        ("leader", 2),
        ("carer", 1),
    ):
        events.do_vote(users[who], gid, qa.pk, ids[n])
    sent, _created = do_send_message(
        users["chen"],
        gid,
        client_id="demo-event-diet",
        text="#diet 周四的营养师问答，问题可以先写在活动页上，大家投票 👍 "
        "Questions for the dietitian go on the event page first.",
    )
    Message.objects.filter(pk=sent["id"]).update(created_at=timezone.now() - dt.timedelta(hours=2))

    # 2. A meetup with two places: full, two on the waiting list.
    meetup = events.do_create_event(
        users["moderator"],
        gid,
        kind=Event.Kind.MEETUP,
        title=MEETUP,
        description="带上水杯和小板凳，我们在草地上喝茶聊天。走不动的朋友可以坐着，不勉强。\n"
        "Bring a cup and a stool; tea and a chat on the grass. Sit if you need to.",
        starts_at=_at(10, 10),
        ends_at=_at(10, 12),
        place="越秀公园北门 Yuexiu Park, north gate",
        capacity=2,
        topic="springtea",
        remind_minutes=24 * 60,
    )
    for who in ("chen", "carer", "newcomer", "leader"):
        events.do_rsvp(users[who], gid, meetup.pk, True)

    # 3. A past talk: its questions answered, ready to become a knowledge entry.
    talk = events.do_create_event(
        leader,
        gid,
        kind=Event.Kind.LECTURE,
        title=PAST_TALK,
        speaker="陈医生 Dr Chen, ENT",
        description="线上分享：放疗后的口干、牙齿保护和复查。\n"
        "Online talk: dry mouth, looking after your teeth, and check-ups.",
        starts_at=_at(1, 10),
        ends_at=_at(1, 11),
        topic="drymouth",
    )
    for who in ("chen", "carer", "moderator"):
        events.do_rsvp(users[who], gid, talk.pk, True)
    answered = [
        (
            "carer",
            "晚上口干得睡不着，有什么办法？",
            "床头放一杯水，小口含着；房间开加湿器。木糖醇口香糖白天可以嚼，帮助出口水。",
        ),
        (
            "chen",
            "Is it safe to have teeth pulled after radiotherapy?",
            "Tell the dentist about your radiotherapy first: pulling teeth in the treated area "
            "needs special care. Check your teeth before treatment and keep up fluoride care.",
        ),
    ]
    for who, text, answer in answered:
        sent_in = events.do_ask(users[who], gid, talk.pk, text)
        events.do_answer(leader, gid, talk.pk, sent_in.pk, answer)
    events.do_vote(users["moderator"], gid, talk.pk, talk.questions.order_by("pk")[0].pk)
    back = dt.timedelta(days=8)
    Event.objects.filter(pk=talk.pk).update(
        starts_at=talk.starts_at - back,
        ends_at=talk.ends_at - back,
        created_at=talk.created_at - back - dt.timedelta(days=7),
    )
    for row in EventQuestion.objects.filter(event=talk):
        EventQuestion.objects.filter(pk=row.pk).update(
            created_at=row.created_at - back - dt.timedelta(days=2),
            answered_at=talk.ends_at - back - dt.timedelta(minutes=20),
        )


def ids(group: Group) -> dict[str, Any]:
    """Placeholders for the accessibility test's pages ({evid}: the demo event's id, ...)."""
    qa = Event.objects.filter(group=group, title=DIETITIAN).first()
    if qa is None:
        return {}
    question = qa.questions.order_by("pk").first()
    return {"evid": qa.pk, "evqid": question.pk if question else 0}
