"""Mutual aid demo content: an open request for company to an appointment, a fulfilled
medicine request and a donation request waiting for a moderator."""

from __future__ import annotations

from typing import Any

from tongzhou.accounts.models import User
from tongzhou.community import aid
from tongzhou.community.models import AidRequest
from tongzhou.groups.models import Group

COMPANY = "下周一去放疗，想找人陪我 · Someone to come with me to radiotherapy on Monday"
DONATION = "为病友老张筹放疗费 · Raising money for 老张's radiotherapy"


def seed(group: Group, users: dict[str, User]) -> None:
    """Add this feature's demo content to the demo group (users by demo username)."""
    company = aid.do_create_request(
        users["newcomer"],
        group.pk,
        kind=AidRequest.Kind.COMPANY,
        title=COMPANY,
        details="第一次去放疗科，有点害怕。周一上午九点，在放疗科门口等。\n"
        "My first time at the radiotherapy department and I am a bit scared. "
        "Monday 9 am, at the department's door.",
    )
    aid.do_reply(
        users["chen"],
        group.pk,
        company.pk,
        text="我那天正好去复查，可以陪你，到了在群里说一声。I have a check-up that morning: "
        "I can come with you.",
        offer=True,
    )
    medicine = aid.do_create_request(
        users["carer"],
        group.pk,
        kind=AidRequest.Kind.MEDICINE,
        title="哪里能买到恩度？ · Where can I buy Endostar?",
        details="医生开了恩度，我们县医院没有。 The doctor prescribed it and our county "
        "hospital does not have it.",
    )
    aid.do_reply(
        users["chen"],
        group.pk,
        medicine.pk,
        text="省肿瘤医院门诊药房有，带上处方去就行。The outpatient pharmacy of the provincial "
        "cancer hospital has it: bring the prescription.",
        offer=True,
    )
    aid.do_reply(
        users["carer"], group.pk, medicine.pk, text="买到了，谢谢陈大哥！Bought it, thank you!"
    )
    aid.do_set_status(users["carer"], group.pk, medicine.pk, AidRequest.Status.FULFILLED)
    aid.do_create_request(
        users["chen"],
        group.pk,
        kind=AidRequest.Kind.DONATION,
        title=DONATION,
        details="老张家里困难，放疗还差一万元。有心的朋友可以直接联系他家里人。\n"
        "老张's family is short of 10,000 yuan for his radiotherapy.",
    )


def ids(group: Group) -> dict[str, Any]:
    """Placeholders for the accessibility test's pages: an open request and a waiting one."""
    found = AidRequest.objects.filter(group=group)
    return {
        "aidid": found.get(title=COMPANY).pk,
        "aidpid": found.get(title=DONATION).pk,
    }
