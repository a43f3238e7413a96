"""IDOR sweep: the leader of another group points their own group's endpoints at our objects.

The access matrix already sends a member of another group to every endpoint with our ids; this
is the harder case, someone with full rights somewhere, swapping in ids from here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests import community_cases as community
from tongzhou.accounts.models import User
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.models import Message, Reaction, VoicePlay
from tongzhou.groups.models import Application, Invite, JoinQuestion, Membership
from tongzhou.knowledge.models import Comment, Entry, GlossaryTerm
from tongzhou.questions.models import Question
from tongzhou.safety.models import AuditEntry, Claim, Report

from .conftest import World
from .test_access_matrix import (
    API_CASES,
    asked_and_answered,
    knowledge_objects,
    sent_attachment,
)

# Endpoints that name one of our objects by id, besides the group.
OBJECT_CASES = [
    c
    for c in API_CASES
    if any(
        p in c[2] + str(c[3])
        for p in (
            "{rid}",
            "{clid}",
            "{aid}",
            "{uid}",
            "{qid}",
            "{iid}",
            "{vid}",
            "{mid}",
            "{askid}",
            "{eid}",
            "{termid}",
            *community.OBJECT_PLACEHOLDERS,
        )
    )
]


def snapshot(world: World) -> Any:
    g = world.group
    return (
        sorted(Membership.objects.filter(group=g).values_list("user_id", "role", "status")),
        sorted(Application.objects.filter(group=g).values_list("id", "status")),
        sorted(JoinQuestion.objects.filter(group=g).values_list("id", "text")),
        sorted(Invite.objects.filter(group=g).values_list("id", "revoked")),
        sorted(VoicePlay.objects.values_list("attachment_id", "user_id")),
        sorted(
            Message.objects.filter(group=g).values_list(
                "id", "text", "kind", "deleted_by", "pinned_at"
            )
        ),
        sorted(Question.objects.filter(group=g).values_list("pk", "helpful_id", "resolved_at")),
        sorted(
            Membership.objects.filter(group=g).values_list("user_id", "verified_professional_at")
        ),
        Reaction.objects.count(),
        sorted(
            Entry.objects.filter(group=g).values_list(
                "id", "title", "body", "status", "checked_at", "reviewed_at"
            )
        ),
        sorted(Comment.objects.filter(entry__group=g).values_list("id", "text", "resolved_at")),
        sorted(GlossaryTerm.objects.filter(group=g).values_list("id", "term", "meaning")),
        sorted(Report.objects.values_list("id", "status", "group_id")),
        sorted(Claim.objects.filter(group=g).values_list("id", "title", "active")),
        AuditEntry.objects.filter(group=g).count(),
        sorted(Membership.objects.filter(group=g).values_list("user_id", "muted_until")),
        community.snapshot(),
    )


def test_the_sweep_covers_every_endpoint_with_an_object_id() -> None:
    names = {c[0] for c in OBJECT_CASES}
    assert names >= {
        "decide_application",
        "set_member_role",
        "remove_member",
        "delete_join_question",
        "revoke_invite",
        "mark_played",
        "edit_message",
        "delete_message",
        "react",
        "pin_message",
        "mark_helpful_answer",
        "mark_question",
        "set_verified_professional",
        "get_entry",
        "edit_entry",
        "delete_entry",
        "review_entry",
        "resolve_comment",
        "edit_term",
        "delete_term",
        "report",
        "decide_report",
        "hide_message",
        "moderate_member",
        "edit_claim",
        "delete_claim",
        "get_import",
        "start_import",
        "discard_import",
    }


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "_e"), OBJECT_CASES, ids=[c[0] for c in OBJECT_CASES]
)
def test_another_groups_leader_cannot_reach_our_objects_through_their_group(
    world: World, name: str, method: str, path: str, body: Any, _e: Any
) -> None:
    g = world.group
    leader: User = world.users["leader"]  # type: ignore[assignment]
    question = JoinQuestion.objects.create(group=g, text="Why join?")
    invite = Invite.objects.create(
        group=g, created_by=leader, expires_at=timezone.now() + dt.timedelta(days=1)
    )
    app = Application.objects.get(group=g, user=world.users["applicant"])
    rival_group = world.other_group  # led by "otherlead"
    rival = Client()
    rival.force_login(User.objects.get(username="otherlead"))
    url = path.format(
        **knowledge_objects(world, path),
        **community.ids(world, path),
        askid=asked_and_answered(world) if "{askid}" in path else 0,
        gid=rival_group.pk,
        aid=app.pk,
        uid=world.users["member"].pk,  # type: ignore[union-attr]
        qid=question.pk,
        iid=invite.pk,
        token=invite.token,
        vid=sent_attachment(world, "voice").pk if "{vid}" in path else 0,
        mid=do_send_message(
            world.users["member"],
            g.pk,
            client_id="ours",
            text="ours",  # type: ignore[arg-type]
        )[0]["id"]
        if "{mid}" in path or "{mid}" in str(body)
        else 0,
        rid=Report.objects.create(group=g, member=world.users["member"], reason="other").pk,
        clid=Claim.objects.filter(group=g).first().pk,  # type: ignore[union-attr]
    )
    before = snapshot(world)
    kwargs: dict[str, Any] = {"content_type": "application/json"}
    if body is not None:
        ours = (
            Message.objects.filter(group=g, client_id="ours").values_list("id", flat=True).first()
        )
        kwargs["data"] = {k: (str(ours) if v == "{mid}" else v) for k, v in body.items()}
    r = getattr(rival, method)(url, **kwargs)
    assert r.status_code == 404, (url, r.content[:200])
    assert snapshot(world) == before


# Community pages and form posts that name one of our objects (in the path or a form field).
PAGE_OBJECT_CASES: list[tuple[str, str, dict[str, str] | None]] = [
    (name, path, None)
    for name, path, _e in community.PAGE_CASES
    if any(p in path for p in community.OBJECT_PLACEHOLDERS)
] + [
    (name, path, form)
    for name, path, form, _e in community.PAGE_POSTS
    if isinstance(form, dict) and any(p in path + str(form) for p in community.OBJECT_PLACEHOLDERS)
]


def test_the_page_sweep_covers_the_imported_history() -> None:
    names = {c[0] for c in PAGE_OBJECT_CASES}
    assert names >= {
        "import_job",
        "import_done",
        "history_message",
        "import_names",
        "import_discard",
        "history_claim",
        "history_withdraw",
        "history_confirm",
        "history_decline",
        "history_rename",
        "history_dismiss",
        "history_dismiss_term",
        "history_add_term",
    }


@pytest.mark.parametrize(
    ("name", "path", "form"), PAGE_OBJECT_CASES, ids=[c[0] for c in PAGE_OBJECT_CASES]
)
def test_another_groups_leader_cannot_reach_our_objects_through_their_groups_pages(
    world: World, name: str, path: str, form: dict[str, str] | None
) -> None:
    ours = community.ids(world, path + str(form or ""))
    rival = Client()
    rival.force_login(User.objects.get(username="otherlead"))
    url = path.format(**ours, gid=world.other_group.pk)
    before = snapshot(world)
    if form is None:
        r = rival.get(url)
    else:
        r = rival.post(url, {k: v.format(**ours) for k, v in form.items()})
    assert r.status_code == 404, (url, form, r.content[:200])
    assert snapshot(world) == before


# Research. A project's researcher reaches its units only through its own doors; the sweep above
# sends the other group's leader at our project through every door that names it.


def test_the_sweep_covers_research() -> None:
    api = {c[0] for c in OBJECT_CASES}
    assert api >= {
        "list_research_units",
        "code_research_unit",
        "get_research_agreement",
        "export_research_project",
    }
    pages = {c[0] for c in PAGE_OBJECT_CASES}
    assert pages >= {
        "research_project",
        "research_workspace",
        "research_code",
        "research_code_unit",
        "research_agreement",
        "research_disagreements",
        "research_suggestions",
        "research_export",
        "research_edit",
        "research_grant",
        "research_revoke",
        "research_close",
        "research_add_code",
        "research_sample",
        "research_code_post",
        "research_settle",
        "research_train",
        "research_download",
    }


def test_another_groups_researcher_cannot_reach_our_research_through_their_project(
    world: World,
) -> None:
    """The other group's leader runs a project of their own and codes it; our unit, our
    researcher's grant and our project named through it are not found, and nothing changes."""
    from tests.community_cases import insight as research
    from tongzhou.insight import actions

    ours = community.ids(world, "/research")
    rival_user = User.objects.get(username="otherlead")
    rival_gid = world.other_group.pk
    actions.do_decide_consent(rival_user, rival_gid, messages=True, health=False, quotes=False)
    do_send_message(rival_user, rival_gid, client_id="theirs", text="我们组的话")
    theirs = actions.do_create_project(
        rival_user,
        rival_gid,
        title="Their study",
        purpose="How members of the other group talk about check-ups.",
        ends_on=timezone.localdate() + dt.timedelta(days=30),
    )
    actions.do_grant(rival_user, theirs, rival_user.username)
    assert actions.do_sample(rival_user, theirs, size=5) == 1
    rival = Client()
    rival.force_login(rival_user)
    pid, uid, rrid = theirs.pk, ours["ruid"], ours["rrid"]
    code = research.CODE
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("put", f"/api/v1/research/projects/{pid}/units/{uid}/codes", {"codes": [code]}),
        ("post", f"/research/{pid}/code/", {"unit": uid, "codes": code}),
        ("post", f"/research/{pid}/disagreements/", {"unit": uid, "codes": code}),
        (
            "post",
            f"/groups/{rival_gid}/research/projects/{pid}/",
            {"action": "revoke", "researcher": rrid},
        ),
        ("get", f"/groups/{rival_gid}/research/projects/{ours['rpid']}/", {}),
        ("get", f"/api/v1/research/projects/{ours['rpid']}/units", {}),
    ]
    before = snapshot(world)
    for method, url, data in attempts:
        if url.startswith("/api/"):
            r = getattr(rival, method)(url, data=data or None, content_type="application/json")
        else:
            r = getattr(rival, method)(url, data)
        assert r.status_code == 404, (method, url, r.content[:200])
    assert snapshot(world) == before
