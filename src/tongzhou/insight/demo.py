"""The demo's research: members who said yes (one also to quotes), a project the leader
started, and a researcher who has coded a few messages. Called from tongzhou/demo.py."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tongzhou.accounts.actions import do_register
from tongzhou.accounts.models import User
from tongzhou.groups.models import Group
from tongzhou.insight import actions
from tongzhou.insight.models import Unit

# How the demo's two coders read a message: words that make them apply a code. The second
# coder reads encouragement as esteem rather than emotional support, so they disagree a little.
RULES = [
    (("？", "?", "请问", "怎么办"), "qa.question"),
    (
        ("多喝", "可以试", "建议", "记得", "tip", "try", "remember", "see a dentist"),
        "support.informational",
    ),
    (("多喝", "可以试", "记得", "try", "remember"), "qa.answer"),
    (("加油", "别怕", "you can", "well done", "太好了"), "efficacy.persuasion"),
    (("别怕", "not alone", "we're here", "抱抱", "心疼"), "support.emotional"),
    (("欢迎", "welcome", "we're here"), "support.network"),
    (("我放疗后", "I was stage", "back at work", "熬过来"), "efficacy.mastery"),
    (("口干", "累", "tired", "scared", "scariest", "睡不着"), "efficacy.physiological"),
]
SECOND_READS = {"support.emotional": "support.esteem"}


def _codes(text: str, second: bool) -> list[str]:
    low = text.lower()
    found = {code for words, code in RULES if any(w.lower() in low for w in words)}
    if second:
        found = {SECOND_READS.get(c, c) for c in found}
    return sorted(found)


def seed_research(group: Group, users: dict[str, User], password: str) -> User:
    for name, health, quotes in (
        ("leader", True, False),
        ("chen", True, True),
        ("carer", False, False),
    ):
        actions.do_decide_consent(
            users[name], group.pk, messages=True, health=health, quotes=quotes
        )
    researcher = do_register("researcher", password, "Dr Wu 吴博士")
    project = actions.do_create_project(
        users["leader"],
        group.pk,
        title="群里的互助 · Support in the group",
        purpose="看看病友之间给予哪些支持，帮助新病友建立信心。"
        "Which kinds of support members give each other, and what helps newcomers gain confidence.",
        ends_on=timezone.localdate() + dt.timedelta(days=180),
    )
    actions.do_grant(users["leader"], project, researcher.username)
    second = do_register("coder2", password, "Li Na 李娜")
    actions.do_grant(users["leader"], project, second.username)
    actions.do_sample(researcher, project, size=30)
    for i, unit in enumerate(Unit.objects.filter(project=project).select_related("message")):
        if i < 16:
            actions.do_code(researcher, project, unit.pk, _codes(unit.message.text, False))
        if i < 12:
            actions.do_code(second, project, unit.pk, _codes(unit.message.text, True))
    return researcher


def ids(group: Group) -> dict[str, int]:
    """Placeholders of the access matrix's research pages, for tests that open every page."""
    unit = Unit.objects.filter(project__group=group).order_by("position").first()
    assert unit is not None
    return {"rpid": unit.project_id, "ruid": unit.pk}
