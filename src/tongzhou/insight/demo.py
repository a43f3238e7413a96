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

# Codes the demo researcher gave, by words in the message.
CODED = {
    "口干": ["qa.question", "efficacy.physiological"],
    "漱口水": ["support.informational", "qa.answer", "efficacy.mastery"],
    "加油": ["efficacy.persuasion", "support.emotional"],
}


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
    actions.do_sample(researcher, project, size=30)
    for unit in Unit.objects.filter(project=project).select_related("message")[:10]:
        codes = next((c for word, c in CODED.items() if word in unit.message.text), [])
        actions.do_code(researcher, project, unit.pk, codes)
    return researcher


def ids(group: Group) -> dict[str, int]:
    """Placeholders of the access matrix's research pages, for tests that open every page."""
    unit = Unit.objects.filter(project__group=group).order_by("position").first()
    assert unit is not None
    return {"rpid": unit.project_id, "ruid": unit.pk}
