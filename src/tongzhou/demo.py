"""Realistic, bilingual demo content: two groups, a few weeks of conversation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongzhou.accounts.actions import do_register, do_update_profile
from tongzhou.accounts.models import User
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.changes import do_pin
from tongzhou.chat.models import Message
from tongzhou.community.demo import seed_community
from tongzhou.groups.actions import (
    do_apply,
    do_create_group,
    do_decide,
    do_set_role,
    do_update_group,
)
from tongzhou.groups.models import Group, Membership
from tongzhou.imports.demo import seed_imports
from tongzhou.insight.demo import seed_research
from tongzhou.knowledge.demo import seed_knowledge
from tongzhou.notify.models import Notification
from tongzhou.questions.actions import do_mark_helpful
from tongzhou.questions.models import Question

DEMO_PASSWORD = "tongzhou-demo-2026"

PEOPLE: list[tuple[str, str, dict[str, Any], str]] = [
    # username, display name, profile, what they are in the demo
    (
        "leader",
        "老李 Lao Li",
        {
            "role": "patient",
            "cancer_type": "鼻咽癌 NPC",
            "stage": "III",
            "hospital": "中山大学肿瘤防治中心",
            "diagnosis_year": 2016,
            "phase": "survivor",
        },
        "group leader (nasopharyngeal group), 10-year survivor",
    ),
    (
        "moderator",
        "王姐 Sister Wang",
        {
            "role": "patient",
            "cancer_type": "宫颈癌 Cervical",
            "stage": "IIB",
            "hospital": "Sun Yat-sen Memorial",
            "diagnosis_year": 2019,
            "phase": "finished",
        },
        "moderator; leader of the cervical group",
    ),
    (
        "chen",
        "陈大哥 Brother Chen",
        {
            "role": "patient",
            "cancer_type": "鼻咽癌 NPC",
            "stage": "IVa",
            "hospital": "广州医科大学附属肿瘤医院",
            "diagnosis_year": 2020,
            "phase": "finished",
        },
        "experienced patient",
    ),
    (
        "carer",
        "小刘(女儿) Liu, daughter",
        {
            "role": "carer",
            "cancer_type": "鼻咽癌 NPC",
            "diagnosis_year": 2025,
            "phase": "treatment",
        },
        "family carer",
    ),
    (
        "newcomer",
        "新来的阿芳 Fang",
        {
            "role": "patient",
            "cancer_type": "鼻咽癌 NPC",
            "stage": "II",
            "diagnosis_year": 2026,
            "phase": "new",
        },
        "newcomer, just joined",
    ),
    (
        "applicant",
        "阿强 Qiang",
        {"role": "patient", "cancer_type": "鼻咽癌 NPC"},
        "pending applicant (sees only the public page)",
    ),
]

NPC_CHAT = [
    # days ago, hour, who, text, kind, reply to index
    (20, 9, "leader", "早上好各位！今天也别忘了鼻腔冲洗，冲洗完记得张口锻炼 😊", "text", None),
    (20, 9, "chen", "Morning all. 50 mouth-opening stretches done ✅", "text", None),
    (
        19,
        21,
        "carer",
        "请问我爸放疗第三周，口腔溃疡很严重，吃不下饭，大家有什么办法吗？",
        "question",
        None,
    ),
    (
        19,
        21,
        "chen",
        "我当时也是第三周最难受。医院开的康复新液含漱很有用，饭前用利多卡因漱口液可以止痛。吃流食，营养粉一定要跟上。",
        "text",
        2,
    ),
    (
        19,
        22,
        "leader",
        "体重掉太快要跟主治医生说，必要时可以下胃管，不丢人，熬过去最重要。",
        "text",
        2,
    ),
    (19, 22, "carer", "谢谢陈大哥、李哥！我明天就去问医生。心里踏实多了🙏", "text", None),
    (
        15,
        10,
        "moderator",
        "Reminder: if anyone messages you privately selling 'special medicine' or supplements, please tell me or 老李. We remove salesmen at once.",
        "text",
        None,
    ),
    (
        14,
        20,
        "carer",
        "Is it normal that my dad's mouth is very dry two months after radiotherapy?",
        "question",
        None,
    ),
    (
        14,
        20,
        "chen",
        "Yes, dry mouth after NPC radiotherapy is very common. Sip water often, carry a bottle, and use sugar-free gum. It slowly gets better for many of us, but see your dentist every 6 months — teeth get fragile.",
        "text",
        7,
    ),
    (
        10,
        8,
        "leader",
        '有人说喝某种"神水"可以不用化疗，大家千万别信。治疗方案听正规医院的，有疑问可以在群里问、也可以问第二个医院。',
        "text",
        None,
    ),
    (7, 19, "newcomer", "大家好，我上个月刚确诊鼻咽癌二期，下周开始放化疗，很害怕……", "text", None),
    (
        7,
        19,
        "leader",
        "欢迎阿芳！二期治愈率很高的，我三期，已经十年了。你不是一个人，有问题随时问。",
        "text",
        10,
    ),
    (
        7,
        19,
        "chen",
        "Welcome Fang. I was stage IVa and I'm back at work now. The first weeks are the scariest; we're here.",
        "text",
        10,
    ),
    (7, 20, "newcomer", "放疗前需要先去看牙吗？", "question", None),
    (
        7,
        20,
        "moderator",
        "要的！放疗前一定要做口腔检查，坏牙先处理，放疗后拔牙有风险。",
        "text",
        13,
    ),
    (
        7,
        21,
        "leader",
        "@新来的阿芳 Fang 放疗前的准备清单 Before radiotherapy:\n"
        "- **看牙** see a dentist first\n"
        "- 买好**含漱液** mouthwash for the ulcers\n"
        "- 学会鼻腔冲洗 learn nasal irrigation\n"
        "> 有问题随时在群里问 Ask here any time",
        "text",
        13,
    ),
    (
        3,
        9,
        "carer",
        "Update: Dad finished radiotherapy today! Thank you all for the advice these weeks ❤️",
        "text",
        None,
    ),
    (3, 9, "leader", "太好了！🎉 毕业快乐，后面定期复查就好。", "text", 16),
    (1, 8, "leader", "早上好！今天天气冷，复查的朋友注意保暖。", "text", None),
]

CERVICAL_CHAT = [
    (
        12,
        20,
        "moderator",
        "姐妹们好，这周四晚上八点有营养师线上讲座，主题是放疗期间怎么吃。",
        "text",
        None,
    ),
    (
        11,
        21,
        "moderator",
        "Welcome to everyone who joined this week — please read the pinned newcomer guide first.",
        "text",
        None,
    ),
    (5, 10, "moderator", "复查前一天不要紧张，睡个好觉，有结果可以来群里聊。", "text", None),
]


@transaction.atomic
def load_demo() -> list[tuple[str, str]]:
    """Create the demo once; running it again changes nothing. Returns (username, role)."""
    logins = [(u, what) for u, _n, _p, what in PEOPLE]
    logins.append(("seller", "a salesman: his advert waits for a moderator"))
    logins.append(("researcher", "a researcher on the leader's project (coding, agreement)"))
    if User.objects.filter(username="leader").exists():
        return logins
    users: dict[str, User] = {}
    for username, name, profile, _what in PEOPLE:
        users[username] = do_register(username, DEMO_PASSWORD, name)
        do_update_profile(users[username], {**profile, "health_consent": True})

    npc = do_create_group(
        users["leader"],
        "鼻咽癌互助群 · Nasopharyngeal Cancer Mutual Aid",
        "鼻咽癌患者和家属的互助群：治疗经验、放疗副作用、康复锻炼和复查。群主审核每一位成员。\n"
        "For people with nasopharyngeal cancer (NPC) and their families: treatment, side "
        "effects of radiotherapy, rehab exercises, check-ups. The leader reviews every member.",
    )
    cervical = do_create_group(
        users["moderator"],
        "宫颈癌姐妹互助 · Cervical Cancer Sisters",
        "宫颈癌姐妹们的温暖小家。A warm home for women living with cervical cancer.",
    )
    npc.join_questions.create(text="您是怎么知道这个群的？ How did you hear about this group?")
    for username in ("moderator", "chen", "carer", "newcomer"):
        p = dict(PEOPLE[[x[0] for x in PEOPLE].index(username)][2])
        app = do_apply(
            users[username],
            npc,
            role=str(p["role"]),
            diagnosis=str(p.get("cancer_type", "")),
            hospital=str(p.get("hospital", "")),
            answers=["病友介绍 A friend from hospital"],
        )
        do_decide(users["leader"], app, approve=True)
    do_set_role(
        Membership.objects.get(group=npc, user=users["leader"]),
        Membership.objects.get(group=npc, user=users["moderator"]),
        Membership.GroupRole.MODERATOR,
    )
    do_apply(
        users["applicant"],
        npc,
        role="patient",
        diagnosis="鼻咽癌",
        note="我妈妈介绍的，想了解放疗的经验。",
        answers=["朋友介绍"],
    )
    # The regulars joined weeks ago (the newcomer too, but recently enough for the guide):
    # the salesman checks treat contact details from members of a few days differently.
    for username, days in (("moderator", 200), ("chen", 150), ("carer", 60), ("newcomer", 10)):
        Membership.objects.filter(group=npc, user=users[username]).update(
            joined_at=timezone.now() - dt.timedelta(days=days)
        )
    npc_ids = _converse(npc, users, NPC_CHAT)
    _converse(cervical, users, CERVICAL_CHAT)
    leader_in_npc = Membership.objects.get(group=npc, user=users["leader"])
    do_update_group(
        leader_in_npc,
        announcement="本周六上午 10 点线上分享会：放疗后的口干怎么办。\n"
        "Saturday 10:00 online talk: living with a dry mouth after radiotherapy.",
    )
    # The carer found 陈大哥's answer about mouth ulcers helpful.
    do_mark_helpful(users["carer"], npc.pk, npc_ids[2], npc_ids[3])
    seed_knowledge(npc, users, npc_ids)
    _seed_safety(npc, users)
    seed_community(npc, users)
    seed_imports(npc, users["leader"], claimant=users["chen"])
    seed_research(npc, users, DEMO_PASSWORD)
    for index in (6, 15):  # the warning about salesmen; the checklist for newcomers
        do_pin(users["leader"], npc.pk, npc_ids[index], True)
    # The newcomer has read up to their own first message, so later ones show as unread.
    first_own = Message.objects.filter(group=npc, sender=users["newcomer"]).order_by("id").first()
    if first_own:
        Membership.objects.filter(group=npc, user=users["newcomer"]).update(
            last_read_id=first_own.pk
        )
    Membership.objects.filter(group=npc).exclude(user=users["newcomer"]).update(
        last_read_id=Message.objects.filter(group=npc)
        .order_by("-id")
        .values_list("id", flat=True)[0]
    )
    return logins


def _seed_safety(group: Group, users: dict[str, User]) -> None:
    """A salesman's message waiting in the moderators' queue, and a quack claim with its calm
    note and a moderator's answer."""
    seller = do_register("seller", DEMO_PASSWORD, "健康顾问小王")
    app = do_apply(seller, group, role="carer", note="想和大家交流", answers=["朋友介绍"])
    do_decide(users["leader"], app, approve=True)
    do_send_message(
        seller,
        group.pk,
        client_id="demo-seller",
        text="大家好，我们的灵芝孢子粉破壁率99%，很多病友吃了肿瘤缩小，加我微信 kfzj0520 了解，群友打八折",
    )
    claim, _c = do_send_message(
        users["carer"],
        group.pk,
        client_id="demo-claim",
        text="听我一个亲戚说，每天喝碱性水能把癌细胞养没，大家可以试试",
    )
    do_send_message(
        users["moderator"],
        group.pk,
        client_id="demo-claim-answer",
        text="谢谢分享 🙏 不过碱性水改变不了身体的酸碱度，也治不了癌，群里的说明点开看看。"
        "按时复查、好好吃饭最重要。",
        reply_to=claim["id"],
    )


def _converse(group: Group, users: dict[str, User], script: list[tuple[Any, ...]]) -> list[int]:
    ids: list[int] = []
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for i, (days, hour, who, text, kind, reply) in enumerate(script):
        msg, _created = do_send_message(
            users[who],
            group.pk,
            client_id=f"demo-{group.pk}-{i}",
            text=text,
            kind=kind,
            reply_to=ids[reply] if reply is not None else None,
        )
        when = (now - dt.timedelta(days=days)).replace(hour=hour) + dt.timedelta(minutes=3 * i % 50)
        Message.objects.filter(pk=msg["id"]).update(created_at=when)
        Notification.objects.filter(message_id=msg["id"]).update(created_at=when)
        ids.append(msg["id"])
    # Questions keep the times the script gave their messages (for the time-to-answer page).
    for q in Question.objects.filter(group=group).select_related("message", "first_answer"):
        q.asked_at = q.message.created_at
        q.first_answer_at = q.first_answer.created_at if q.first_answer else None
        q.save(update_fields=["asked_at", "first_answer_at"])
    return ids
