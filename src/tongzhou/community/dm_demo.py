"""Demo direct messages: 陈大哥 (chen) and the carer talk privately; the leader thanks chen;
a salesman's private advert to the carer waits, reported, on the moderation page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tongzhou.accounts.models import User
from tongzhou.community import dm
from tongzhou.community.models import Conversation, DirectMessage, DirectReport
from tongzhou.groups.models import Group

CHEN_AND_CARER = [
    ("carer", "陈大哥，谢谢您在群里回答口腔溃疡的问题。我爸下周开始放疗，我能私下问您几个问题吗？"),
    ("chen", "当然可以！别客气。放疗前一定先去看牙科，把坏牙处理好。"),
    ("carer", "好的，医生也这么说。他现在很害怕，吃不下饭，我不知道怎么安慰他。"),
    (
        "chen",
        "我当时也怕。让他多来群里看看大家的经历，知道有人走过这条路会踏实很多。"
        "Take it one week at a time.",
    ),
    ("carer", "Thank you so much 🙏 我今晚就给他看。"),
]
LEADER_AND_CHEN = [
    (
        "leader",
        "陈大哥，谢谢你这周一直耐心回答新病友的问题。Thank you for looking after the newcomers.",
    ),
    ("chen", "应该的，当年大家也是这样帮我的 😊"),
]
ADVERT = "您好，看您家人在放疗，我们有进口灵芝孢子粉，很多病友吃了效果好，加我微信 kfzj0520 详聊"


def _talk(users: dict[str, User], script: list[tuple[str, str]], key: str, days: int) -> None:
    first = users[script[0][0]]
    second = next(users[who] for who, _t in script if users[who] != first)
    conv, _m, _c, _n = dm.do_start_conversation(
        first, second.pk, client_id=f"demo-dm-{key}-0", text=script[0][1]
    )
    for i, (who, text) in enumerate(script[1:], start=1):
        dm.do_send_dm(users[who], conv.pk, client_id=f"demo-dm-{key}-{i}", text=text)
    start = timezone.now() - dt.timedelta(days=days)
    for i, m in enumerate(conv.messages.order_by("id")):
        DirectMessage.objects.filter(pk=m.pk).update(created_at=start + dt.timedelta(minutes=7 * i))
    last = conv.messages.order_by("-id").first()
    assert last is not None
    Conversation.objects.filter(pk=conv.pk).update(
        created_at=start, last_at=start + dt.timedelta(minutes=7 * (conv.messages.count() - 1))
    )


def seed(group: Group, users: dict[str, User]) -> None:
    """Add this feature's demo content to the demo group (users by demo username)."""
    _talk(users, CHEN_AND_CARER, "chen-carer", 2)
    _talk(users, LEADER_AND_CHEN, "leader-chen", 1)
    # The carer has not read chen's last message yet.
    conv = dm.existing_conversation(users["chen"].pk, users["carer"].pk)
    assert conv is not None
    last_from_chen = conv.messages.filter(sender=users["chen"]).order_by("-id").first()
    field = "a_read_id" if conv.user_a_id == users["carer"].pk else "b_read_id"
    if last_from_chen is not None:
        Conversation.objects.filter(pk=conv.pk).update(**{field: last_from_chen.pk - 1})
    # A salesman who wrote before he could be stopped; the carer reported him.
    seller = User.objects.filter(username="seller").first()
    if seller is None:
        return
    a, b = dm.pair(seller.pk, users["carer"].pk)
    sold = Conversation.objects.create(user_a_id=a, user_b_id=b, group=group)
    advert = DirectMessage.objects.create(
        conversation=sold, sender=seller, client_id="demo-dm-advert", text=ADVERT
    )
    DirectReport.objects.create(
        message=advert,
        reporter=users["carer"],
        group=group,
        reason="spam",
        note="他私信向我推销保健品 · He is selling supplements to me privately",
    )
    dm.do_block(users["carer"], seller.pk)
    dm.do_mark_read(users["carer"], sold.pk)


def ids(group: Group) -> dict[str, Any]:
    """Placeholders for the accessibility test's pages: the leader's conversation with chen
    (the pages are opened as the leader), one of its messages, and a member the leader has
    not written to yet (the carer)."""
    leader = User.objects.get(username="leader")
    chen = User.objects.get(username="chen")
    carer = User.objects.get(username="carer")
    conv = dm.existing_conversation(leader.pk, chen.pk)
    if conv is None:
        return {}
    first = conv.messages.order_by("id").first()
    return {"convid": conv.pk, "dmid": first.pk if first else 0, "dmuid": carer.pk}
