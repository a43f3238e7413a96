"""The demo group's knowledge: entries (some made from its chat), a newcomer guide and a
glossary of its own words, in both languages. Called from tongzhou/demo.py."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tongzhou.accounts.models import User
from tongzhou.groups.models import Group
from tongzhou.groups.queries import access_group
from tongzhou.knowledge.actions import (
    do_add_term,
    do_comment,
    do_create_entry,
    do_review,
    do_set_guide,
    draft_from_question,
)
from tongzhou.knowledge.models import Entry

GLOSSARY = [
    ("毕业", "graduated, 毕业了", "完成了全部治疗（放化疗结束）。Finished all treatment."),
    (
        "留级",
        "repeated a grade",
        "复发了，或者要再做一轮治疗。A relapse, or another round of treatment.",
    ),
    (
        "CR",
        "完全缓解, complete remission",
        "完全缓解：检查看不到肿瘤了。Complete remission: the scans show no tumour.",
    ),
    ("跑路", "ran away", "换到别的医院治疗。Changed to another hospital."),
    (
        "放化疗",
        "同步放化疗, chemoradiotherapy",
        "放疗和化疗同时做。Radiotherapy and chemotherapy at the same time.",
    ),
    (
        "鼻冲",
        "鼻腔冲洗, nasal irrigation",
        "用生理盐水冲洗鼻腔，放疗后每天做。Rinsing the nose with saline, every day after radiotherapy.",
    ),
    (
        "张口训练",
        "张口锻炼, mouth-opening exercises, mouth-opening stretches",
        "每天练习把嘴张大，防止放疗后张不开口。Daily stretches so the jaw does not stiffen after radiotherapy.",
    ),
    (
        "复查",
        "check-up, follow-up",
        "治疗结束后按时回医院检查。Regular check-ups after treatment ends.",
    ),
]

ENTRIES = [
    (
        "hospitals",
        "第一次去大医院挂号看病要带什么 · Your first visit to a big cancer hospital",
        "**要带的东西 What to bring**\n"
        "- 身份证、医保卡 ID card and insurance card\n"
        "- 之前所有的检查报告和片子（CT、核磁、病理）all earlier reports, scans and the pathology report\n"
        "- 一个本子，把想问医生的问题先写下来 a notebook with your questions written down\n\n"
        "专家号常常要提前一周在医院的公众号或App上预约；挂不上号可以先挂普通号开检查。\n"
        "Specialist slots are often booked a week ahead in the hospital's app; if none is left, a "
        "general clinic can already order the tests.",
        ["挂号", "first visit"],
    ),
    (
        "rehab",
        "鼻腔冲洗怎么做 · How to do nasal irrigation",
        "放疗后鼻腔容易结痂、有异味，每天冲洗一到两次能明显舒服一些。\n\n"
        "1. 用洗鼻器和生理盐水（或医院配的冲洗液），水温接近体温。\n"
        "2. 身体前倾，头偏向一侧，从上面的鼻孔慢慢冲，从另一侧流出。\n"
        "3. 张嘴呼吸，不要憋气；两侧交替。\n\n"
        "After radiotherapy the nose crusts easily. Rinse once or twice a day with saline at body "
        "temperature: lean forward, tilt your head, breathe through your mouth, switch sides. "
        "If it bleeds or hurts, tell your doctor.",
        ["鼻冲", "nasal irrigation"],
    ),
    (
        "rehab",
        "张口训练和颈部锻炼 · Mouth-opening and neck exercises",
        "放疗会让咀嚼肌和颈部变硬，越早开始锻炼越好，要坚持好几年。\n\n"
        "- 张口：尽量张大嘴，保持 10 秒，每天 3 次，每次 20 下。可以用叠起来的压舌板量张口的宽度。\n"
        "- 转颈：慢慢左右转头、低头抬头，每个方向停 5 秒。\n\n"
        "Radiotherapy stiffens the jaw and neck muscles. Open as wide as you can and hold for 10 "
        "seconds, 20 times, three times a day; turn and tilt the neck slowly. Keep it up for years.",
        ["张口训练", "exercise"],
    ),
    (
        "diet",
        "放疗期间吃什么 · Eating during radiotherapy",
        "嘴巴疼的时候吃软的、温的、不辣的：粥、蒸蛋、肉末、豆腐、营养粉。少量多餐，体重每周称一次。\n"
        "When the mouth hurts: soft, lukewarm, not spicy food; small meals often; weigh yourself "
        "weekly and tell the doctor if you lose weight fast.",
        ["饮食", "diet"],
    ),
    (
        "tcm",
        "中医中药：要注意什么 · Traditional Chinese medicine: cautions",
        "中药可以在医生同意下用来调理，但**不能代替**手术、放疗和化疗。放化疗期间吃任何中药、保健品，"
        "都要先告诉主治医生，有的会伤肝或影响化疗药。说“不用化疗就能治好”的，都是骗人的。\n\n"
        "TCM may help with recovery if your oncologist agrees, but it never replaces surgery, "
        "radiotherapy or chemotherapy. Tell your doctor about every herbal remedy or supplement.",
        ["中药", "TCM"],
    ),
    (
        "emotions",
        "刚确诊的时候 · The first weeks after diagnosis",
        "害怕、睡不着、不想说话，都很正常。可以在群里说出来，这里的人都经历过。家属也要照顾好自己。\n"
        "Fear and sleepless nights are normal. Say it in the group: everyone here has been there. "
        "Carers need looking after too.",
        ["心情", "newcomers"],
    ),
]


def seed_knowledge(group: Group, users: dict[str, User], chat_ids: list[int]) -> None:
    leader, moderator = users["leader"], users["moderator"]
    for term, also, meaning in GLOSSARY:
        do_add_term(leader, group.pk, term=term, also=also, meaning=meaning)
    made: list[Entry] = []
    # From the newcomer's question about the dentist and its two answers.
    draft = draft_from_question(access_group(moderator, group.pk), chat_ids[13])
    made.append(
        do_create_entry(
            moderator,
            group.pk,
            title="放疗前要做什么准备？ · Getting ready for radiotherapy",
            body=draft["body"],
            category="treatment",
            tags=["放疗", "radiotherapy", "牙齿"],
            sources=[m.pk for m in draft["sources"]],
            question=draft["question"],
        )
    )
    # From two chat messages about mouth ulcers and dry mouth.
    made.append(
        do_create_entry(
            users["chen"],
            group.pk,
            title="口腔溃疡和口干 · Mouth ulcers and dry mouth",
            body="我当时也是第三周最难受。康复新液含漱很有用，饭前用利多卡因漱口液可以止痛。\n\n"
            "Dry mouth after NPC radiotherapy is very common. Sip water often and see your "
            "dentist every 6 months.",
            category="treatment",
            tags=["放疗", "口干"],
            sources=[chat_ids[3], chat_ids[8]],
        )
    )
    for category, title, body, tags in ENTRIES:
        made.append(
            do_create_entry(leader, group.pk, title=title, body=body, category=category, tags=tags)
        )
    for entry in made:
        if entry.category != "diet":  # the diet entry waits for review, as new ones do
            do_review(moderator, group.pk, entry.pk)
    # The exercises were reviewed long ago: the list shows them as due for another look.
    Entry.objects.filter(pk=made[4].pk).update(reviewed_at=timezone.now() - dt.timedelta(days=400))
    do_comment(
        users["carer"],
        group.pk,
        made[5].pk,
        "营养粉可以写具体一点吗？医院营养科开的那种就行吗？ Could it name the nutrition powder?",
    )
    guide = [made[0], made[2], made[6], made[7], made[1]]
    do_set_guide(leader, group.pk, [e.pk for e in guide])
