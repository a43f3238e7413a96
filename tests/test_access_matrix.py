"""Every API endpoint and page × every position a person can stand in."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests import community_cases as community
from tests.access import MEMBERS, MODS, Upload, everyone, expect, own
from tongzhou.accounts.models import ApiToken, UserSession
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.attachments import do_upload
from tongzhou.chat.models import Attachment
from tongzhou.groups.models import Application, Invite, JoinQuestion

from . import media_samples as samples
from .conftest import PASSWORD, ROLES, World

SECRET = "my private radiotherapy worry"


def text_of(r: Any) -> str:
    """The body as text; a zip (the data export) is opened, so nothing hides in it."""
    if r.get("Content-Type") == "application/zip":
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            return "".join(z.read(n).decode() for n in z.namelist())
    return str(r.content.decode())


UPLOAD = "<multipart upload>"  # the body of an upload is a file, not JSON


# (name, method, path, body, expected status by role)
API_CASES: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("me", "get", "/api/v1/me", None, everyone(200)),
    (
        "update_profile",
        "patch",
        "/api/v1/me/profile",
        {"stage": "II", "health_consent": True},
        everyone(200),
    ),
    ("list_groups", "get", "/api/v1/groups", None, everyone(200)),
    ("create_group", "post", "/api/v1/groups", {"name": "New"}, everyone(201)),
    ("get_group", "get", "/api/v1/groups/{gid}", None, everyone(200)),
    ("update_group", "patch", "/api/v1/groups/{gid}", {"member_cap": 120}, expect({"leader"}, 200)),
    (
        "apply",
        "post",
        "/api/v1/groups/{gid}/applications",
        {"role": "patient"},
        {
            "anonymous": 401,
            "applicant": 409,
            "rejected": 201,
            "member": 409,
            "moderator": 409,
            "leader": 409,
            "removed": 201,
            "outsider": 201,
        },
    ),
    ("list_applications", "get", "/api/v1/groups/{gid}/applications", None, expect(MODS, 200)),
    (
        "my_application",
        "get",
        "/api/v1/groups/{gid}/applications/mine",
        None,
        {
            "anonymous": 401,
            "applicant": 200,
            "rejected": 200,
            "member": 200,
            "moderator": 200,
            "leader": 404,
            "removed": 200,
            "outsider": 404,
        },
    ),
    (
        "decide_application",
        "post",
        "/api/v1/groups/{gid}/applications/{aid}/decision",
        {"approve": True},
        expect(MODS, 200),
    ),
    ("list_members", "get", "/api/v1/groups/{gid}/members", None, expect(MEMBERS, 200)),
    (
        "set_member_role",
        "post",
        "/api/v1/groups/{gid}/members/{uid}/role",
        {"role": "moderator"},
        expect({"leader"}, 200),
    ),
    (
        "remove_member",
        "delete",
        "/api/v1/groups/{gid}/members/{uid}",
        None,
        expect({"leader"}, 204),
    ),
    (
        "add_join_question",
        "post",
        "/api/v1/groups/{gid}/join-questions",
        {"text": "Which hospital?"},
        expect({"leader"}, 201),
    ),
    (
        "delete_join_question",
        "delete",
        "/api/v1/groups/{gid}/join-questions/{qid}",
        None,
        expect({"leader"}, 204),
    ),
    ("list_invites", "get", "/api/v1/groups/{gid}/invites", None, expect({"leader"}, 200)),
    (
        "create_invite",
        "post",
        "/api/v1/groups/{gid}/invites",
        {"hours": 24},
        expect({"leader"}, 201),
    ),
    (
        "revoke_invite",
        "delete",
        "/api/v1/groups/{gid}/invites/{iid}",
        None,
        expect({"leader"}, 204),
    ),
    (
        "accept_invite",
        "post",
        "/api/v1/invites/{token}/accept",
        None,
        {**everyone(200), "removed": 403},  # removed people re-apply; an invite is no way back
    ),
    (
        "send_message",
        "post",
        "/api/v1/groups/{gid}/messages",
        {"client_id": "c-1", "text": "hello"},
        expect(MEMBERS, 201),
    ),
    ("list_messages", "get", "/api/v1/groups/{gid}/messages", None, expect(MEMBERS, 200)),
    ("mark_read", "post", "/api/v1/groups/{gid}/read", {"last_read_id": 1}, expect(MEMBERS, 200)),
    (
        "upload_attachment",
        "post",
        "/api/v1/groups/{gid}/attachments",
        UPLOAD,
        expect(MEMBERS, 201),
    ),
    # {mid}: a message "member" sent. Only they edit it; moderators may remove it.
    (
        "edit_message",
        "patch",
        "/api/v1/groups/{gid}/messages/{mid}",
        {"text": "corrected"},
        expect({"member"}, 200),
    ),
    ("delete_message", "delete", "/api/v1/groups/{gid}/messages/{mid}", None, expect(MEMBERS, 200)),
    (
        "react",
        "post",
        "/api/v1/groups/{gid}/messages/{mid}/reactions",
        {"emoji": "🙏"},
        expect(MEMBERS, 200),
    ),
    (
        "pin_message",
        "post",
        "/api/v1/groups/{gid}/messages/{mid}/pin",
        {"on": True},
        expect(MODS, 200),
    ),
    ("list_pins", "get", "/api/v1/groups/{gid}/pins", None, expect(MEMBERS, 200)),
    # Questions. {askid}: a question "member" asked and the leader answered. Only the asker
    # and moderators mark (or, as here, take back) the answer that helped.
    ("list_open_questions", "get", "/api/v1/groups/{gid}/questions", None, expect(MEMBERS, 200)),
    (
        "mark_helpful_answer",
        "post",
        "/api/v1/groups/{gid}/questions/{askid}/helpful",
        {"answer": None},
        expect(MEMBERS, 200),
    ),
    (
        "mark_question",
        "post",
        "/api/v1/groups/{gid}/messages/{mid}/question",
        {"on": True},
        expect(MEMBERS, 200),
    ),
    (
        "similar_questions",
        "post",
        "/api/v1/groups/{gid}/questions/similar",
        {"text": "放疗后口干怎么办"},
        expect(MEMBERS, 200),
    ),
    ("question_metrics", "get", "/api/v1/groups/{gid}/questions/metrics", None, expect(MODS, 200)),
    ("get_helper_settings", "get", "/api/v1/me/helper-settings", None, everyone(200)),
    (
        "update_helper_settings",
        "patch",
        "/api/v1/me/helper-settings",
        {"accepts": False, "max_per_hour": 2},
        everyone(200),
    ),
    (
        "set_verified_professional",
        "post",
        "/api/v1/groups/{gid}/members/{uid}/verified",
        {"on": False},
        expect({"leader"}, 200),
    ),
    # Knowledge. {eid}: an entry the leader wrote, {cid}: the leader's comment on it, {termid}:
    # a glossary word. Everyone signed in may search; each finds only their own groups.
    ("search", "get", "/api/v1/search?q=radiotherapy", None, everyone(200)),
    ("list_entries", "get", "/api/v1/groups/{gid}/entries", None, expect(MEMBERS, 200)),
    (
        "create_entry",
        "post",
        "/api/v1/groups/{gid}/entries",
        {"title": "口干", "body": "多喝水", "category": "rehab", "tags": ["放疗"]},
        expect(MEMBERS, 201),
    ),
    ("get_entry", "get", "/api/v1/groups/{gid}/entries/{eid}", None, expect(MEMBERS, 200)),
    (
        "edit_entry",
        "patch",
        "/api/v1/groups/{gid}/entries/{eid}",
        {"body": "少量多次喝水"},
        expect(MODS, 200),
    ),
    ("delete_entry", "delete", "/api/v1/groups/{gid}/entries/{eid}", None, expect(MODS, 204)),
    ("review_entry", "post", "/api/v1/groups/{gid}/entries/{eid}/review", None, expect(MODS, 200)),
    # Only a verified professional checks; nobody in this world is one.
    (
        "check_entry",
        "post",
        "/api/v1/groups/{gid}/entries/{eid}/check",
        {"on": True},
        expect(set(), 200),
    ),
    (
        "entry_revisions",
        "get",
        "/api/v1/groups/{gid}/entries/{eid}/revisions",
        None,
        expect(MEMBERS, 200),
    ),
    (
        "comment_entry",
        "post",
        "/api/v1/groups/{gid}/entries/{eid}/comments",
        {"text": "这里写错了"},
        expect(MEMBERS, 201),
    ),
    (
        "resolve_comment",
        "post",
        "/api/v1/groups/{gid}/entries/{eid}/comments/{cid}/resolve",
        None,
        expect(MODS, 200),
    ),
    ("get_guide", "get", "/api/v1/groups/{gid}/guide", None, expect(MEMBERS, 200)),
    ("set_guide", "put", "/api/v1/groups/{gid}/guide", {"entries": []}, expect({"leader"}, 200)),
    ("list_glossary", "get", "/api/v1/groups/{gid}/glossary", None, expect(MEMBERS, 200)),
    (
        "add_term",
        "post",
        "/api/v1/groups/{gid}/glossary",
        {"term": "毕业", "meaning": "完成治疗"},
        expect(MODS, 201),
    ),
    (
        "edit_term",
        "patch",
        "/api/v1/groups/{gid}/glossary/{termid}",
        {"meaning": "finished treatment"},
        expect(MODS, 200),
    ),
    ("delete_term", "delete", "/api/v1/groups/{gid}/glossary/{termid}", None, expect(MODS, 204)),
    # Safety: any member reports (not themselves); only moderators see the queue and the
    # audit log and act; claims are read by every member and kept by moderators.
    (
        "report",
        "post",
        "/api/v1/groups/{gid}/reports",
        {"message": "{mid}", "reason": "spam"},
        {**expect(MEMBERS, 201), "member": 403},
    ),
    ("moderation_queue", "get", "/api/v1/groups/{gid}/moderation", None, expect(MODS, 200)),
    (
        "decide_report",
        "post",
        "/api/v1/groups/{gid}/reports/{rid}/decision",
        {"action": "dismiss"},
        expect(MODS, 200),
    ),
    (
        "hide_message",
        "post",
        "/api/v1/groups/{gid}/messages/{mid}/hide",
        {"reason": "selling"},
        expect(MODS, 200),
    ),
    (
        "moderate_member",
        "post",
        "/api/v1/groups/{gid}/members/{uid}/moderation",
        {"action": "warn", "reason": "be kind"},
        expect(MODS, 200),
    ),
    ("audit_log", "get", "/api/v1/groups/{gid}/audit", None, expect(MODS, 200)),
    ("see_warnings", "post", "/api/v1/groups/{gid}/warnings/seen", None, expect(MEMBERS, 200)),
    (
        "request_badge",
        "post",
        "/api/v1/groups/{gid}/badge-request",
        {"profession": "nurse"},
        expect(MEMBERS, 200),
    ),
    ("list_claims", "get", "/api/v1/groups/{gid}/claims", None, expect(MEMBERS, 200)),
    (
        "add_claim",
        "post",
        "/api/v1/groups/{gid}/claims",
        {
            "title": "Bitter melon cures cancer",
            "patterns": "苦瓜 + 癌",
            "correction": "It does not.",
        },
        expect(MODS, 201),
    ),
    (
        "edit_claim",
        "patch",
        "/api/v1/groups/{gid}/claims/{clid}",
        {"active": False},
        expect(MODS, 200),
    ),
    ("delete_claim", "delete", "/api/v1/groups/{gid}/claims/{clid}", None, expect(MODS, 204)),
    # Crisis lines are for anyone, signed in or not.
    ("crisis_resources", "get", "/api/v1/crisis-resources", None, {r: 200 for r in ROLES}),
    # Notifications and email settings are each person's own: nobody reaches another's.
    ("list_notifications", "get", "/api/v1/notifications", None, everyone(200)),
    ("mark_notifications_read", "post", "/api/v1/notifications/read", {"ids": None}, everyone(200)),
    ("get_email_settings", "get", "/api/v1/me/email-settings", None, everyone(200)),
    (
        "update_email_settings",
        "patch",
        "/api/v1/me/email-settings",
        {"email": "someone@example.org", "digest": "daily"},
        everyone(200),
    ),
    # A code nobody was sent is refused for everyone alike.
    ("confirm_email", "post", "/api/v1/me/email-settings/confirm", {"code": "x"}, everyone(400)),
    # {vid}: a voice message the leader sent in the group.
    ("mark_played", "post", "/api/v1/attachments/{vid}/played", None, expect(MEMBERS, 200)),
    ("list_sessions", "get", "/api/v1/me/sessions", None, everyone(200)),
    ("end_other_sessions", "post", "/api/v1/me/sessions/end-others", None, everyone(200)),
    # {sid} and {tid} are the member's own: anyone else gets the "no such" answer.
    ("end_session", "delete", "/api/v1/me/sessions/{sid}", None, own("member", 204)),
    ("list_tokens", "get", "/api/v1/me/tokens", None, everyone(200)),
    ("revoke_token", "delete", "/api/v1/me/tokens/{tid}", None, own("member", 204)),
    ("export_my_data", "get", "/api/v1/me/export", None, everyone(200)),
    (
        "delete_my_account",
        "post",
        "/api/v1/me/delete",
        {"password": PASSWORD, "messages": "keep"},
        everyone(204),
    ),
    (
        "change_password",
        "post",
        "/api/v1/me/password",
        {"current_password": PASSWORD, "new_password": "a brand new horse 2027"},
        everyone(204),
    ),
]


API_CASES += community.API_CASES


def sent_attachment(world: World, kind: str) -> Attachment:
    """A picture or voice message the leader sent in the group."""
    leader = world.users["leader"]
    data = samples.recording(1.5) if kind == "voice" else samples.jpeg_with_gps()
    attachment = do_upload(leader, world.group.pk, kind, data)  # type: ignore[arg-type]
    do_send_message(
        leader,  # type: ignore[arg-type]
        world.group.pk,
        client_id=f"att-{attachment.pk}",
        text="",
        attachment=attachment.pk,
    )
    return attachment


def link_preview_with_picture(world: World) -> int:
    """A message of the leader's whose link card (as the worker makes it) has a picture."""
    from tongzhou import storage
    from tongzhou.chat.media import process_image
    from tongzhou.chat.models import LinkPreview

    leader = world.users["leader"]
    sent = do_send_message(leader, world.group.pk, client_id="link", text="https://example.org/a")  # type: ignore[arg-type]
    picture = process_image(samples.jpeg_with_gps())
    LinkPreview.objects.filter(message_id=sent[0]["id"]).update(
        status=LinkPreview.Status.READY,
        title="A page",
        image=storage.save(picture.thumb or picture.data),
        image_mime=picture.thumb_mime or picture.mime,
    )
    return int(sent[0]["id"])


def asked_and_answered(world: World) -> int:
    """A question the member asked, with the leader's reply."""
    member, leader = world.users["member"], world.users["leader"]
    asked = do_send_message(
        member,  # type: ignore[arg-type]
        world.group.pk,
        client_id="ask",
        text="放疗后口干怎么办？",
        kind="question",
    )[0]["id"]
    do_send_message(leader, world.group.pk, client_id="ans", text="多喝水", reply_to=asked)  # type: ignore[arg-type]
    return int(asked)


def knowledge_objects(world: World, path: str) -> dict[str, int]:
    """An entry the leader wrote (with the leader's comment) and a glossary word."""
    from tongzhou.knowledge.actions import do_add_term, do_comment, do_create_entry

    leader = world.users["leader"]
    ids = {"eid": 0, "cid": 0, "termid": 0}
    if "{eid}" in path or "{cid}" in path:
        entry = do_create_entry(
            leader,  # type: ignore[arg-type]
            world.group.pk,
            title="放疗后口干 · Dry mouth",
            body="多喝水。 Sip water often.",
            category="rehab",
        )
        ids["eid"] = entry.pk
        ids["cid"] = do_comment(leader, world.group.pk, entry.pk, "补充一点").pk  # type: ignore[arg-type]
    if "{termid}" in path:
        ids["termid"] = do_add_term(
            leader,  # type: ignore[arg-type]
            world.group.pk,
            term="跑路",
            meaning="换医院",
        ).pk
    return ids


def fill(path: str, world: World) -> str:
    group = world.group
    leader = world.users["leader"]
    assert leader is not None
    app = Application.objects.get(group=group, user=world.users["applicant"])
    question = (
        JoinQuestion.objects.create(group=group, text="Why join?") if "{qid}" in path else None
    )
    invite = Invite.objects.create(
        group=group, created_by=leader, expires_at=timezone.now() + dt.timedelta(days=1)
    )
    member = world.users["member"]
    sid = tid = ""
    if "{sid}" in path:
        other_device = Client()
        other_device.force_login(member)  # type: ignore[arg-type]
        sid = UserSession.objects.get(session_key=other_device.session.session_key).public_id
    if "{tid}" in path:
        ApiToken.issue(member)  # type: ignore[arg-type]
        tid = str(ApiToken.objects.filter(user=member).latest("id").pk)
    vid = sent_attachment(world, "voice").pk if "{vid}" in path else 0
    pid = sent_attachment(world, "image").pk if "{pid}" in path else 0
    mid = (
        do_send_message(member, group.pk, client_id="mid", text="mine")[0]["id"]  # type: ignore[arg-type]
        if "{mid}" in path
        else 0
    )
    lid = link_preview_with_picture(world) if "{lid}" in path else 0
    rid = clid = 0
    if "{rid}" in path:
        from tongzhou.safety.models import Report

        rid = Report.objects.create(
            group=group, message_id=mid or None, member=member, reporter=leader, reason="other"
        ).pk
    if "{clid}" in path:
        from tongzhou.safety.models import Claim

        clid = Claim.objects.filter(group=group).first().pk  # type: ignore[union-attr]
    askid = asked_and_answered(world) if "{askid}" in path else 0
    return path.format(
        **knowledge_objects(world, path),
        **community.ids(world, path),
        askid=askid,
        rid=rid,
        clid=clid,
        mid=mid,
        lid=lid,
        vid=vid,
        pid=pid,
        sid=sid,
        tid=tid,
        gid=group.pk,
        aid=app.pk,
        uid=world.users["member"].pk,  # type: ignore[union-attr]
        qid=question.pk if question else 0,
        iid=invite.pk,
        token=invite.token,
    )


def test_every_api_operation_is_in_the_matrix() -> None:
    from tongzhou.api import api

    schema = api.get_openapi_schema()
    operations = {
        op["operationId"]
        for path in schema["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "operationId" in op
    }
    covered = {name for name, *_rest in API_CASES} | {"register", "issue_token"}
    assert operations == covered


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("name", "method", "path", "body", "expected"), API_CASES, ids=[c[0] for c in API_CASES]
)
def test_api_access(
    world: World, role: str, name: str, method: str, path: str, body: Any, expected: dict[str, int]
) -> None:
    leader = world.users["leader"]
    assert leader is not None
    do_send_message(leader, world.group.pk, client_id="seed", text=SECRET)
    client = world.client(role)
    url = fill(path, world)
    kwargs: dict[str, Any] = {"content_type": "application/json"}
    if body == UPLOAD:
        kwargs = {"data": {"kind": "image", "file": io.BytesIO(samples.png_with_alpha())}}
    elif isinstance(body, Upload):
        kwargs = {"data": body.data()}
    elif body is not None:
        kwargs["data"] = {
            k: fill(v, world) if isinstance(v, str) and "{" in v else v for k, v in body.items()
        }
    r = getattr(client, method)(url, **kwargs)
    assert r.status_code == expected[role], (role, url, r.content[:300])
    if r.status_code >= 400:
        error = r.json()["error"]
        assert error["code"] and error["message"]
        assert SECRET not in text_of(r)
    if role not in MEMBERS:
        assert SECRET not in text_of(r)


def test_bearer_token_is_an_alternative_to_the_session(world: World) -> None:
    from django.test import Client

    c = Client()
    r = c.post(
        "/api/v1/auth/token",
        {"username": "member1", "password": "correct horse 2026"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.json()
    token = r.json()["token"]
    r = c.get(f"/api/v1/groups/{world.group.pk}/messages", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200
    r = c.get(f"/api/v1/groups/{world.group.pk}/messages", HTTP_AUTHORIZATION="Bearer nope")
    assert r.status_code == 401


def test_session_clients_need_csrf(world: World) -> None:
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    c.force_login(world.users["member"])  # type: ignore[arg-type]
    r = c.post(
        f"/api/v1/groups/{world.group.pk}/messages",
        {"client_id": "x", "text": "hi"},
        content_type="application/json",
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "csrf_failed"


# Pages: anonymous visitors are sent to sign in (302); the rest as below.
PAGE_CASES: list[tuple[str, str, dict[str, int]]] = [
    ("directory", "/groups/", everyone(200)),
    ("profile", "/accounts/profile/", everyone(200)),
    ("security", "/accounts/security/", everyone(200)),
    ("export", "/accounts/export/", everyone(200)),
    # Without a password step first, the code page sends everyone back to sign in.
    ("login_code", "/accounts/login/code/", everyone(302)),
    ("delete_account", "/accounts/delete/", everyone(200)),
    ("create_group", "/groups/new/", everyone(200)),
    (
        "group_detail",
        "/groups/{gid}/",
        {r: (302 if r in MEMBERS or r == "anonymous" else 200) for r in ROLES},
    ),
    ("chat", "/groups/{gid}/chat/", expect(MEMBERS, 200)),
    ("applications", "/groups/{gid}/applications/", expect(MODS, 200)),
    ("members", "/groups/{gid}/members/", expect(MEMBERS, 200)),
    ("settings", "/groups/{gid}/settings/", expect({"leader"}, 200)),
    ("questions", "/groups/{gid}/questions/", expect(MEMBERS, 200)),
    ("question_metrics", "/groups/{gid}/questions/metrics/", expect(MODS, 200)),
    ("knowledge", "/groups/{gid}/knowledge/", expect(MEMBERS, 200)),
    ("entry_new", "/groups/{gid}/knowledge/new/", expect(MEMBERS, 200)),
    ("entry", "/groups/{gid}/knowledge/{eid}/", expect(MEMBERS, 200)),
    ("entry_edit", "/groups/{gid}/knowledge/{eid}/edit/", expect(MODS, 200)),
    ("entry_history", "/groups/{gid}/knowledge/{eid}/history/", expect(MEMBERS, 200)),
    ("guide", "/groups/{gid}/knowledge/guide/", expect(MEMBERS, 200)),
    ("glossary", "/groups/{gid}/glossary/", expect(MEMBERS, 200)),
    ("moderation", "/groups/{gid}/moderation/", expect(MODS, 200)),
    ("audit", "/groups/{gid}/audit/", expect(MODS, 200)),
    ("claims", "/groups/{gid}/claims/", expect(MEMBERS, 200)),
    ("search", "/search/?q=radiotherapy", everyone(200)),
    ("invite", "/groups/invite/{token}/", everyone(200)),
    ("notifications", "/notifications/", everyone(200)),
    ("email_settings", "/notifications/settings/", everyone(200)),
    ("confirm_email", "/notifications/confirm/not-a-code/", everyone(200)),
]


PAGE_CASES += community.PAGE_CASES


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "path", "expected"), PAGE_CASES, ids=[c[0] for c in PAGE_CASES])
def test_page_access(
    world: World, role: str, name: str, path: str, expected: dict[str, int]
) -> None:
    leader = world.users["leader"]
    do_send_message(leader, world.group.pk, client_id="seed", text=SECRET)  # type: ignore[arg-type]
    r = world.client(role).get(fill(path, world))
    want = 302 if role == "anonymous" else expected[role]
    assert r.status_code == want, (role, path)
    if role == "anonymous":
        assert r["Location"].startswith("/accounts/login/")
    if not (name == "export" and role == "leader"):  # the leader wrote it: theirs to download
        assert SECRET not in text_of(r)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["/", "/accounts/signup/", "/accounts/login/"])
def test_public_pages(world: World, role: str, path: str) -> None:
    """Start, sign-up and sign-in pages are for visitors; signed-in people go to their groups."""
    r = world.client(role).get(path)
    if role == "anonymous":
        assert r.status_code == 200
    else:
        assert r.status_code == 302
        assert r["Location"] == "/groups/"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["/offline/", "/sw.js", "/manifest.webmanifest", "/favicon.ico"])
def test_app_files(world: World, role: str, path: str) -> None:
    """The installable app's files are the same for everyone and hold nothing personal: the
    offline page is kept on the phone at install and shown to whoever holds it."""
    do_send_message(world.users["leader"], world.group.pk, client_id="seed", text=SECRET)  # type: ignore[arg-type]
    r = world.client(role).get(path)
    assert r.status_code == 200, (role, path)
    body = b"".join(r.streaming_content) if r.streaming else r.content  # type: ignore[attr-defined]
    assert SECRET.encode() not in body
    if role != "anonymous":
        user = world.users[role]
        assert user.username.encode() not in body and user.display_name.encode() not in body
        assert b"csrfmiddlewaretoken" not in body


# Form posts on pages: what each position may change. Refusals are 403 (anonymous: 302).
PAGE_POSTS: list[tuple[str, str, dict[str, str] | Upload, dict[str, int]]] = [
    (
        "decide",
        "/groups/{gid}/applications/",
        {"application": "{aid}", "decision": "approve"},
        expect(MODS, 302),
    ),
    (
        "remove_member",
        "/groups/{gid}/members/",
        {"user": "{uid}", "action": "remove"},
        expect({"leader"}, 302),
    ),
    (
        "add_question",
        "/groups/{gid}/settings/",
        {"action": "add_question", "text": "Why?"},
        expect({"leader"}, 302),
    ),
    ("review_entry", "/groups/{gid}/knowledge/{eid}/", {"action": "review"}, expect(MODS, 302)),
    (
        "add_term",
        "/groups/{gid}/glossary/",
        {"action": "add", "term": "毕业", "meaning": "完成治疗"},
        expect(MODS, 302),
    ),
    (
        "guide_add",
        "/groups/{gid}/knowledge/guide/",
        {"action": "add", "entry": "{eid}"},
        expect({"leader"}, 302),
    ),
    (
        "warn_member",
        "/groups/{gid}/members/",
        {"user": "{uid}", "action": "warn", "reason": "be kind"},
        expect(MODS, 302),
    ),
    (
        "dismiss_report",
        "/groups/{gid}/moderation/",
        {"report": "{rid}", "action": "dismiss"},
        expect(MODS, 302),
    ),
    (
        "add_claim",
        "/groups/{gid}/claims/",
        {"action": "add", "title": "x", "patterns": "苦瓜 + 癌", "correction": "no"},
        expect(MODS, 302),
    ),
    ("accept_invite", "/groups/invite/{token}/", {}, {**everyone(302), "removed": 403}),
]


PAGE_POSTS += community.PAGE_POSTS


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("name", "path", "form", "expected"), PAGE_POSTS, ids=[c[0] for c in PAGE_POSTS]
)
def test_page_posts(
    world: World,
    role: str,
    name: str,
    path: str,
    form: dict[str, str] | Upload,
    expected: dict[str, int],
) -> None:
    from tongzhou.groups.models import Membership

    url = fill(path, world)
    data = form.data() if isinstance(form, Upload) else {k: fill(v, world) for k, v in form.items()}
    before = (
        Application.objects.filter(status="pending").count(),
        Membership.objects.filter(status="active").count(),
        JoinQuestion.objects.count(),
    )
    r = world.client(role).post(url, data)
    if role == "anonymous":
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    else:
        assert r.status_code == expected[role], (role, name)
    if role == "anonymous" or expected[role] == 403:
        after = (
            Application.objects.filter(status="pending").count(),
            Membership.objects.filter(status="active").count(),
            JoinQuestion.objects.count(),
        )
        assert after == before  # a refused post changes nothing


def test_no_credentials_is_a_sign_in_answer_even_with_csrf_enforced(world: World) -> None:
    """Without a session there is nothing for CSRF to protect: 401, not "form expired"."""
    c = Client(enforce_csrf_checks=True)
    r = c.post("/api/v1/groups", {"name": "x"}, content_type="application/json")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    r = c.post(
        "/api/v1/groups",
        {"name": "x"},
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer wrong",
    )
    assert r.status_code == 401


# Media: members of the group fetch it; for anyone else (signed in or not) it does not exist.
MEDIA_CASES = [
    ("picture", "/media/{pid}/"),
    ("thumbnail", "/media/{pid}/thumb"),
    ("voice", "/media/{vid}/"),
    ("link_picture", "/media/link/{lid}"),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "path"), MEDIA_CASES, ids=[c[0] for c in MEDIA_CASES])
def test_media_access(world: World, role: str, name: str, path: str) -> None:
    url = fill(path, world)
    r = world.client(role).get(url)
    if role in MEMBERS:
        assert r.status_code == 200, (role, url)
        assert r["Content-Type"] in ("image/jpeg", "audio/webm")
    else:
        assert r.status_code == 404, (role, url)
        assert r.json()["error"]["code"] == "not_found"
