"""Access-matrix rows of research with consent and the leaders' dashboard (see
tests/community_cases/__init__.py).

Consent is every member's own choice; the dashboard is for the leader and moderators; the
leader alone creates projects and grants access; a project's messages are for the researchers
the leader granted, and nobody else, the group's leader included (the same 404 as a missing
project). Researchers are usually not members of the group: here "outsider" (a member of the
other group) is the project's researcher.

Paths under /research are opened with a running project in the group: the member and the
moderator said yes to research and talked (a question and its answer), the researcher drew
the coding set and coded its first message. {rpid}: that project; {ruid}: its first unit;
{rrid}: the researcher's grant (what the leader revokes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.utils import timezone

from tests.access import MEMBERS, MODS, everyone, expect, own
from tests.conftest import World
from tongzhou.insight.models import Agreed, Coding, Project, Researcher, Unit

LEADER = {"leader"}
RESEARCHER = "outsider"
TITLE = "Support after radiotherapy"
PURPOSE = "How members of an NPC group support each other during and after radiotherapy."
ENDS_IN = dt.timedelta(days=90)
CODE = "support.informational"

PLACEHOLDERS = ("{rpid}", "{ruid}", "{rrid}")


def researcher(ok: int) -> dict[str, int]:
    """Only the project's researcher; for everyone else, the group's leader too, it does not
    exist."""
    return own(RESEARCHER, ok)


API_CASES: list[tuple[str, str, str, Any, dict[str, int]]] = [
    (
        "get_research_consent",
        "get",
        "/api/v1/groups/{gid}/research/consent",
        None,
        expect(MEMBERS, 200),
    ),
    (
        "set_research_consent",
        "put",
        "/api/v1/groups/{gid}/research/consent",
        {"messages": True, "health": False, "quotes": False},
        expect(MEMBERS, 200),
    ),
    ("get_dashboard", "get", "/api/v1/groups/{gid}/insight", None, expect(MODS, 200)),
    # Each person's own projects (none, for most): nobody sees another's.
    ("list_research_projects", "get", "/api/v1/research/projects", None, everyone(200)),
    (
        "list_research_units",
        "get",
        "/api/v1/research/projects/{rpid}/units?show=all",
        None,
        researcher(200),
    ),
    (
        "code_research_unit",
        "put",
        "/api/v1/research/projects/{rpid}/units/{ruid}/codes",
        {"codes": [CODE]},
        researcher(200),
    ),
    (
        "get_research_agreement",
        "get",
        "/api/v1/research/projects/{rpid}/agreement",
        None,
        researcher(200),
    ),
    (
        "export_research_project",
        "post",
        "/api/v1/research/projects/{rpid}/export",
        {"format": "csv"},
        researcher(200),
    ),
]
PAGE_CASES: list[tuple[str, str, dict[str, int]]] = [
    ("insight_dashboard", "/groups/{gid}/insight/", expect(MODS, 200)),
    ("research_consent", "/groups/{gid}/research/", expect(MEMBERS, 200)),
    ("research_projects", "/groups/{gid}/research/projects/", expect(LEADER, 200)),
    ("research_project", "/groups/{gid}/research/projects/{rpid}/", expect(LEADER, 200)),
    # The projects one works on (an empty list for most).
    ("research_mine", "/research/", everyone(200)),
    ("research_workspace", "/research/{rpid}/", researcher(200)),
    ("research_code", "/research/{rpid}/code/", researcher(200)),
    ("research_code_unit", "/research/{rpid}/code/?show=all&unit={ruid}", researcher(200)),
    ("research_agreement", "/research/{rpid}/agreement/", researcher(200)),
    ("research_disagreements", "/research/{rpid}/disagreements/", researcher(200)),
    ("research_suggestions", "/research/{rpid}/suggestions/", researcher(200)),
    ("research_export", "/research/{rpid}/export/", researcher(200)),
]
# The pages a browser opens as the researcher (tests/e2e/test_accessibility.py's ROLE_FOR).
RESEARCHER_PAGES = tuple(
    name for name, path, _e in PAGE_CASES if path.startswith("/research/{rpid}")
)

PAGE_POSTS: list[tuple[str, str, dict[str, str], dict[str, int]]] = [
    ("research_say_yes", "/groups/{gid}/research/", {"messages": "on"}, expect(MEMBERS, 302)),
    (
        "research_consent_text",
        "/groups/{gid}/research/projects/",
        {"action": "text", "text": "Our own words about research, long enough to be read."},
        expect(LEADER, 302),
    ),
    (
        "research_create",
        "/groups/{gid}/research/projects/",
        {
            "title": "Questions before radiotherapy",
            "purpose": PURPOSE,
            "ends_on": (timezone.localdate() + ENDS_IN).isoformat(),
        },
        expect(LEADER, 302),
    ),
    (
        "research_edit",
        "/groups/{gid}/research/projects/{rpid}/",
        {
            "title": "Support during radiotherapy",
            "purpose": PURPOSE,
            "ends_on": (timezone.localdate() + ENDS_IN).isoformat(),
        },
        expect(LEADER, 302),
    ),
    (
        "research_grant",
        "/groups/{gid}/research/projects/{rpid}/",
        {"action": "grant", "username": "applicant1"},
        expect(LEADER, 302),
    ),
    (
        "research_revoke",
        "/groups/{gid}/research/projects/{rpid}/",
        {"action": "revoke", "researcher": "{rrid}"},
        expect(LEADER, 302),
    ),
    (
        "research_close",
        "/groups/{gid}/research/projects/{rpid}/",
        {"action": "close"},
        expect(LEADER, 302),
    ),
    (
        "research_add_code",
        "/research/{rpid}/",
        {"action": "code", "label": "Hope", "description": "Looking forward."},
        researcher(302),
    ),
    ("research_sample", "/research/{rpid}/", {"size": "5", "history": "on"}, researcher(302)),
    (
        "research_code_post",
        "/research/{rpid}/code/?show=all",
        {"unit": "{ruid}", "codes": CODE, "position": "1"},
        researcher(302),
    ),
    (
        "research_settle",
        "/research/{rpid}/disagreements/",
        {"unit": "{ruid}", "codes": CODE},
        researcher(302),
    ),
    ("research_train", "/research/{rpid}/suggestions/", {}, researcher(302)),
    # The download itself.
    ("research_download", "/research/{rpid}/export/", {"format": "csv"}, researcher(200)),
]


def _say(world: World, role: str, key: str, text: str, **kw: Any) -> int:
    from tongzhou.chat.actions import do_send_message

    sent, _new = do_send_message(
        world.users[role],  # type: ignore[arg-type]
        world.group.pk,
        client_id=f"research-{key}",
        text=text,
        **kw,
    )
    return int(sent["id"])


def research(world: World) -> Project:
    """The running project, its researcher, consenting members' talk and the coding set
    (once per world). The leader says nothing here and has not said yes: what the leader
    wrote never reaches the researcher."""
    from tongzhou.insight import actions

    project = Project.objects.filter(group=world.group, title=TITLE).first()
    if project is not None:
        return project
    leader, outsider = world.users["leader"], world.users[RESEARCHER]
    assert leader is not None and outsider is not None
    gid = world.group.pk
    project = actions.do_create_project(
        leader, gid, title=TITLE, purpose=PURPOSE, ends_on=timezone.localdate() + ENDS_IN
    )
    actions.do_grant(leader, project, outsider.username)
    for role in ("member", "moderator"):
        actions.do_decide_consent(
            world.users[role],  # type: ignore[arg-type]
            gid,
            messages=True,
            health=False,
            quotes=False,
        )
    asked = _say(
        world, "member", "ask", "放疗后口干怎么办？晚上总是干醒。Any tips?", kind="question"
    )
    _say(world, "moderator", "answer", "多喝水，床头放一杯水。Sip water often.", reply_to=asked)
    _say(world, "member", "thanks", "谢谢！Thank you, that helps 🙏")
    actions.do_sample(outsider, project, size=10)
    first = Unit.objects.filter(project=project).earliest("position")
    actions.do_code(outsider, project, first.pk, ["qa.question"])
    return project


def ids(world: World, path: str) -> dict[str, Any]:
    """Objects this feature's paths name ({placeholder}: value), made only when named."""
    found: dict[str, Any] = {}
    if not any(p in path for p in ("/research", *PLACEHOLDERS)):
        return found
    project = research(world)
    found["rpid"] = project.pk
    found["ruid"] = Unit.objects.filter(project=project).earliest("position").pk
    found["rrid"] = Researcher.objects.get(project=project, user=world.users[RESEARCHER]).pk
    return found


def snapshot() -> list[Any]:
    """Every row of every research table: a refused request changes none of them."""
    tables = [
        sorted(map(repr, model.objects.values_list()))
        for model in apps.get_app_config("insight").get_models()
    ]
    # The codes chosen (many-to-many tables, which get_models leaves out).
    tables.append(sorted(Coding.codes.through.objects.values_list("coding_id", "code_id")))
    tables.append(sorted(Agreed.codes.through.objects.values_list("agreed_id", "code_id")))
    return tables
