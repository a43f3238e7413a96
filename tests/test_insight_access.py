"""Who reaches a research project's messages: only the researchers its leader granted, only
while it runs, only one project's units through that project's doors, and never the words of a
member who has not (or no longer) said yes. The access matrix covers each door by position
(tests/community_cases/insight.py); here are the cases it cannot express."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from itertools import count
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.community_cases import insight as cases
from tongzhou.accounts.models import User
from tongzhou.chat.actions import do_send_message
from tongzhou.groups import actions as group_actions
from tongzhou.groups.models import Group, Membership
from tongzhou.insight import actions
from tongzhou.insight.models import Agreed, Coding, Project, Unit

from .conftest import World, make_user

pytestmark = pytest.mark.django_db
_ids = count()

# Every page a researcher reads and every API answer with a project's content.
READ_DOORS = (
    ("get", "/research/{pid}/"),
    ("get", "/research/{pid}/code/"),
    ("get", "/research/{pid}/code/?show=all"),
    ("get", "/research/{pid}/code/?show=mine"),
    ("get", "/research/{pid}/agreement/"),
    ("get", "/research/{pid}/disagreements/"),
    ("get", "/research/{pid}/suggestions/"),
    ("get", "/research/{pid}/export/"),
    ("get", "/api/v1/research/projects/{pid}/units?show=all&limit=200"),
    ("get", "/api/v1/research/projects/{pid}/units?show=todo&limit=200"),
    ("get", "/api/v1/research/projects/{pid}/units?show=mine&limit=200"),
    ("get", "/api/v1/research/projects/{pid}/agreement"),
)


def unit_doors(pid: int, uid: int) -> list[tuple[str, str, dict[str, Any]]]:
    """What a researcher does to one unit {uid}, through project {pid}'s doors."""
    code = cases.CODE
    return [
        ("post", f"/research/{pid}/code/", {"unit": str(uid), "codes": code}),
        ("post", f"/research/{pid}/disagreements/", {"unit": str(uid), "codes": code}),
        ("put", f"/api/v1/research/projects/{pid}/units/{uid}/codes", {"codes": [code]}),
    ]


def write_doors(pid: int, uid: int) -> list[tuple[str, str, dict[str, Any]]]:
    """Everything a researcher can do to a project, with {uid} one of its units."""
    return [
        ("post", f"/research/{pid}/", {"size": "5", "history": "on"}),
        ("post", f"/research/{pid}/", {"action": "code", "label": "Hope"}),
        *unit_doors(pid, uid),
        ("post", f"/research/{pid}/suggestions/", {}),
        ("post", f"/research/{pid}/export/", {"format": "csv"}),
        ("post", f"/api/v1/research/projects/{pid}/export", {"format": "jsonl"}),
    ]


def every_door(pid: int, uid: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    reads: list[tuple[str, str, dict[str, Any] | None]] = [
        (m, p.format(pid=pid), None) for m, p in READ_DOORS
    ]
    return reads + list(write_doors(pid, uid))


def call(client: Client, method: str, url: str, data: dict[str, Any] | None = None) -> Any:
    if url.startswith("/api/"):
        kwargs: dict[str, Any] = {"content_type": "application/json"}
        if data is not None:
            kwargs["data"] = data
        return getattr(client, method)(url, **kwargs)
    return getattr(client, method)(url, data or {})


def text_of(r: Any) -> str:
    """The answer as text; a zip (an export) is opened, so nothing hides in it."""
    if r.get("Content-Type") == "application/zip":
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            return "".join(z.read(n).decode(errors="replace") for n in z.namelist())
    return str(r.content.decode(errors="replace"))


def rows_now() -> Any:
    """What a refused request must leave as it was: every research row."""
    return cases.snapshot()


def join(group: Group, leader: User, username: str) -> User:
    user = make_user(username)
    app = group_actions.do_apply(user, group, role="patient")
    group_actions.do_decide(leader, app, approve=True)
    return user


def say(user: User | None, group: Group, text: str, **kw: Any) -> int:
    assert user is not None
    sent, _new = do_send_message(user, group.pk, client_id=f"ia-{next(_ids)}", text=text, **kw)
    return int(sent["id"])


def first_unit(project: Project) -> int:
    return int(Unit.objects.filter(project=project).earliest("position").pk)


def leader_of(world: World) -> User:
    leader = world.users["leader"]
    assert leader is not None
    return leader


# --- who is a researcher -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["leader", "moderator", "member", "removed", "applicant"])
def test_nobody_but_the_granted_researcher_reaches_the_workspace(world: World, role: str) -> None:
    """The group's leader creates the project and grants it, but does not read it: for them,
    as for the group's members, the workspace does not exist."""
    project = cases.research(world)
    unit = first_unit(project)
    client = world.client(role)
    before = rows_now()
    for method, url, data in every_door(project.pk, unit):
        r = call(client, method, url, data)
        assert r.status_code == 404, (role, method, url, r.status_code)
        assert "多喝水" not in text_of(r)
    assert rows_now() == before
    # The researcher, for contrast, is let in at the same doors.
    assert world.client(cases.RESEARCHER).get(f"/research/{project.pk}/").status_code == 200


def test_a_researcher_of_one_project_gets_nothing_of_another_groups_project(world: World) -> None:
    """Project A is in our group (the outsider researches it); project B is in the other group
    (where the outsider is a member, but not B's researcher). A's doors do not open B's units."""
    ours = cases.research(world)
    other_leader = User.objects.get(username="otherlead")
    theirs_canary = "xylo-canary-theirs"
    actions.do_decide_consent(
        other_leader, world.other_group.pk, messages=True, health=False, quotes=False
    )
    say(other_leader, world.other_group, f"{theirs_canary} 第一句")
    say(other_leader, world.other_group, f"{theirs_canary} 第二句")
    theirs = actions.do_create_project(
        other_leader,
        world.other_group.pk,
        title="The other group's study",
        purpose="How members of the other group talk about check-ups.",
        ends_on=timezone.localdate() + dt.timedelta(days=30),
    )
    coder = make_user("coderb")
    actions.do_grant(other_leader, theirs, coder.username)
    assert actions.do_sample(coder, theirs, size=10) == 2
    their_units = list(Unit.objects.filter(project=theirs).values_list("pk", flat=True))
    outsider = world.client(cases.RESEARCHER)

    before = rows_now()
    for method, url, data in every_door(theirs.pk, their_units[0]):
        r = call(outsider, method, url, data)
        assert r.status_code == 404, (method, url, r.status_code)
        assert theirs_canary not in text_of(r)
    for unit in their_units:
        # B's units named through A's doors: no such unit in A.
        for method, url, data in unit_doors(ours.pk, unit):
            r = call(outsider, method, url, data)
            assert r.status_code == 404, (method, url, r.status_code)
        shown = outsider.get(f"/research/{ours.pk}/code/?show=all&unit={unit}")
        assert shown.status_code == 200
        assert theirs_canary not in text_of(shown)
    assert rows_now() == before
    assert not Coding.objects.filter(unit__project=theirs).exists()
    assert not Agreed.objects.filter(unit__project=theirs).exists()

    listed = outsider.get(f"/api/v1/research/projects/{ours.pk}/units?show=all&limit=200")
    assert {u["id"] for u in listed.json()["units"]}.isdisjoint(their_units)
    mine = outsider.get("/api/v1/research/projects").json()["projects"]
    assert [p["id"] for p in mine] == [ours.pk]
    assert theirs.title not in text_of(outsider.get("/research/"))


def test_an_ended_project_is_closed_to_its_researcher(world: World) -> None:
    project = cases.research(world)
    unit = first_unit(project)
    outsider = world.client(cases.RESEARCHER)
    for ended in ("closed", "past its end"):
        if ended == "closed":
            actions.do_close_project(leader_of(world), project)
        else:
            # Time passes: the end date the leader set is behind us.
            Project.objects.filter(pk=project.pk).update(
                closed_at=None, ends_on=timezone.localdate() - dt.timedelta(days=1)
            )
        before = rows_now()
        for method, url, data in every_door(project.pk, unit):
            r = call(outsider, method, url, data)
            assert r.status_code == 403, (ended, method, url, r.status_code)
            assert "多喝水" not in text_of(r)
            if url.startswith("/api/"):
                assert r.json()["error"]["code"] == "project_ended"
        assert rows_now() == before
        # Still listed, to say that it ended; for anyone else it is still not there.
        listed = outsider.get("/api/v1/research/projects").json()["projects"]
        assert [(p["id"], p["open"]) for p in listed] == [(project.pk, False)]
        assert cases.TITLE in text_of(outsider.get("/research/"))
        assert world.client("leader").get(f"/research/{project.pk}/").status_code == 404


def test_a_revoked_researcher_is_refused_until_granted_again(world: World) -> None:
    project = cases.research(world)
    unit = first_unit(project)
    ids = cases.ids(world, "{rrid}")
    leader = world.client("leader")
    r = leader.post(
        f"/groups/{world.group.pk}/research/projects/{project.pk}/",
        {"action": "revoke", "researcher": ids["rrid"]},
    )
    assert r.status_code == 302
    outsider = world.client(cases.RESEARCHER)
    before = rows_now()
    for method, url, data in every_door(project.pk, unit):
        r = call(outsider, method, url, data)
        assert r.status_code == 404, (method, url, r.status_code)
    assert rows_now() == before
    assert outsider.get("/api/v1/research/projects").json()["projects"] == []
    assert cases.TITLE not in text_of(outsider.get("/research/"))

    leader.post(
        f"/groups/{world.group.pk}/research/projects/{project.pk}/",
        {"action": "grant", "username": world.users[cases.RESEARCHER].username},  # type: ignore[union-attr]
    )
    assert outsider.get(f"/research/{project.pk}/").status_code == 200


# --- consent ---------------------------------------------------------------------------------

# Words no redaction touches, each in one message (with more words around it).
NEVER = "xylo-canary-never"
CHANGED = "xylo-canary-changed"
LEFT = "xylo-canary-left"
CANARIES = (NEVER, CHANGED, LEFT)


def crawl(client: Client, project: Project, units: list[int]) -> dict[str, str]:
    """Every researcher page and API answer of the project, by what was asked: the coding view
    of each unit ever in the set, and both exports in both ways."""
    pid = project.pk
    asked: list[tuple[str, str, dict[str, Any] | None]] = [
        (m, p.format(pid=pid), None) for m, p in READ_DOORS
    ]
    asked += [("get", "/research/", None), ("get", "/api/v1/research/projects", None)]
    for unit in units:
        asked += [
            ("get", f"/research/{pid}/code/?show={show}&unit={unit}", None)
            for show in ("all", "todo", "mine")
        ]
        asked.append(
            ("put", f"/api/v1/research/projects/{pid}/units/{unit}/codes", {"codes": [cases.CODE]})
        )
    for fmt in ("csv", "jsonl"):
        asked.append(("post", f"/research/{pid}/export/", {"format": fmt}))
        asked.append(("post", f"/api/v1/research/projects/{pid}/export", {"format": fmt}))
    answers = {}
    for method, url, data in asked:
        r = call(client, method, url, data)
        assert r.status_code in (200, 404), (method, url, r.status_code)
        answers[f"{method} {url} {data or ''}"] = text_of(r)
    return answers


def test_a_researcher_never_reads_a_member_who_has_not_said_yes(world: World) -> None:
    """Three members' words never reach the researcher: one who never said yes (a consenting
    member replied to them), one who said yes, was sampled and coded, then changed their mind,
    and one who said yes and then left the group. Every page and answer is read after."""
    project = cases.research(world)
    group, leader = world.group, leader_of(world)
    # (Names that appear nowhere in the canaries: names in text are redacted.)
    never = join(group, leader, "silent1")
    changed = join(group, leader, "turned1")
    leaver = join(group, leader, "moved1")
    for person in (changed, leaver):
        actions.do_decide_consent(person, group.pk, messages=True, health=False, quotes=False)
    asked = say(never, group, f"{NEVER}：放疗第几周最难熬？", kind="question")
    say(world.users["member"], group, "第三周最难，坚持住。Week three.", reply_to=asked)
    said = say(changed, group, f"{CHANGED}：我用了漱口水。")
    say(world.users["moderator"], group, "漱口水有用！Mouthwash helps.", reply_to=said)
    say(leaver, group, f"{LEFT}：我下周复查。")

    # A second coder, so that the disagreements page has something to show.
    second = make_user("coder2")
    actions.do_grant(leader, project, second.username)
    outsider: User = world.users[cases.RESEARCHER]  # type: ignore[assignment]
    actions.do_sample(outsider, project, size=50)
    units = list(Unit.objects.filter(project=project).values_list("pk", flat=True))
    for unit in units:
        actions.do_code(outsider, project, unit, ["support.informational"])
        actions.do_code(second, project, unit, ["support.emotional"])
    researcher = world.client(cases.RESEARCHER)
    # While they say yes, the changed member's and the leaver's words are in the set.
    before = text_of(researcher.get(f"/api/v1/research/projects/{project.pk}/units?limit=200"))
    assert CHANGED in before and LEFT in before
    assert NEVER not in before
    actions.do_train(outsider, project)  # a model that learned from their words, kept

    actions.do_decide_consent(changed, group.pk, messages=False, health=False, quotes=False)
    lm = Membership.objects.get(group=group, user=leader)
    group_actions.do_remove_member(lm, Membership.objects.get(group=group, user=leaver))
    r = researcher.post(f"/research/{project.pk}/suggestions/")  # trained on what is left
    assert r.status_code == 302

    answers = crawl(researcher, project, units)
    for asked_for, text in answers.items():
        for canary in CANARIES:
            assert canary not in text, (canary, asked_for)
    # The crawl did read the consenting members' words: it would have seen the others'.
    assert any("第三周最难" in text for text in answers.values())
    assert any("漱口水有用" in text for text in answers.values())
    settled = [text for asked_for, text in answers.items() if "disagreements" in asked_for]
    assert any("多喝水" in text for text in settled)
