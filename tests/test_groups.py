from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from tongzhou.groups.models import Application, Invite, Membership

from .conftest import World, make_user

pytestmark = pytest.mark.django_db


def j(c: Client, method: str, url: str, data: object = None):  # type: ignore[no-untyped-def]
    return getattr(c, method)(url, data, content_type="application/json")


def test_apply_review_and_see_the_answer(world: World) -> None:
    g = world.group.pk
    newbie = make_user("newbie")
    c = Client()
    c.force_login(newbie)
    # Before approval: only the public part.
    r = c.get(f"/api/v1/groups/{g}")
    assert r.json()["name"] == "NPC group" and "member_count" not in r.json()
    r = j(
        c,
        "post",
        f"/api/v1/groups/{g}/applications",
        {"role": "carer", "diagnosis": "鼻咽癌", "note": "For my father", "health_consent": True},
    )
    assert r.status_code == 201 and r.json()["status"] == "pending"
    aid = r.json()["id"]
    r = j(c, "post", f"/api/v1/groups/{g}/applications", {"role": "carer"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_applied"
    mod = world.client("moderator")
    queue = mod.get(f"/api/v1/groups/{g}/applications").json()["applications"]
    assert [a["id"] for a in queue if a["user"]["id"] == newbie.pk] == [aid]
    r = j(mod, "post", f"/api/v1/groups/{g}/applications/{aid}/decision", {"approve": False})
    assert r.status_code == 400 and r.json()["error"]["code"] == "reason_required"
    r = j(
        mod,
        "post",
        f"/api/v1/groups/{g}/applications/{aid}/decision",
        {"approve": False, "reason": "Please apply with your own account"},
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    mine = c.get(f"/api/v1/groups/{g}/applications/mine").json()
    assert mine == {"id": aid, "status": "rejected", "reason": "Please apply with your own account"}
    assert c.get(f"/api/v1/groups/{g}/messages").status_code == 404
    # Apply again; approval makes a member who can read the conversation.
    aid2 = j(c, "post", f"/api/v1/groups/{g}/applications", {"role": "carer"}).json()["id"]
    r = j(mod, "post", f"/api/v1/groups/{g}/applications/{aid2}/decision", {"approve": True})
    assert r.json()["status"] == "approved"
    assert c.get(f"/api/v1/groups/{g}/messages").status_code == 200
    r = j(mod, "post", f"/api/v1/groups/{g}/applications/{aid2}/decision", {"approve": True})
    assert r.status_code == 409


def test_join_questions_must_be_answered(world: World) -> None:
    g = world.group.pk
    leader = world.client("leader")
    assert (
        j(
            leader,
            "post",
            f"/api/v1/groups/{g}/join-questions",
            {"text": "Which hospital treats you?"},
        ).status_code
        == 201
    )
    c = Client()
    c.force_login(make_user("newbie"))
    r = j(c, "post", f"/api/v1/groups/{g}/applications", {"role": "patient"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_answers"
    r = j(
        c, "post", f"/api/v1/groups/{g}/applications", {"role": "patient", "answers": ["中山肿瘤"]}
    )
    assert r.status_code == 201
    app = Application.objects.get(pk=r.json()["id"])
    assert app.answers == [{"question": "Which hospital treats you?", "answer": "中山肿瘤"}]


def test_member_cap_refuses_an_approval_beyond_it(world: World) -> None:
    g = world.group
    leader = world.client("leader")
    count = g.active_member_count()
    r = j(leader, "patch", f"/api/v1/groups/{g.pk}", {"member_cap": count - 1})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_cap"
    assert j(leader, "patch", f"/api/v1/groups/{g.pk}", {"member_cap": count}).status_code == 200
    app = Application.objects.get(group=g, user=world.users["applicant"])
    r = j(
        leader, "post", f"/api/v1/groups/{g.pk}/applications/{app.pk}/decision", {"approve": True}
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "group_full"
    assert str(count) in r.json()["error"]["message"]
    app.refresh_from_db()
    assert app.status == "pending"  # nothing lost: it can be approved once there is room


def test_default_cap_is_150(db: object) -> None:
    from tongzhou.groups.actions import do_create_group

    assert do_create_group(make_user("lead"), "G").member_cap == 150


def test_leader_appoints_dismisses_and_removes(world: World) -> None:
    g = world.group.pk
    leader = world.client("leader")
    member = world.users["member"]
    r = j(leader, "post", f"/api/v1/groups/{g}/members/{member.pk}/role", {"role": "moderator"})  # type: ignore[union-attr]
    assert r.json()["role"] == "moderator"
    assert world.client("member").get(f"/api/v1/groups/{g}/applications").status_code == 200
    j(leader, "post", f"/api/v1/groups/{g}/members/{member.pk}/role", {"role": "member"})  # type: ignore[union-attr]
    assert world.client("member").get(f"/api/v1/groups/{g}/applications").status_code == 403
    assert leader.delete(f"/api/v1/groups/{g}/members/{member.pk}").status_code == 204  # type: ignore[union-attr]
    assert world.client("member").get(f"/api/v1/groups/{g}/messages").status_code == 404
    leader_id = world.users["leader"].pk  # type: ignore[union-attr]
    r = leader.delete(f"/api/v1/groups/{g}/members/{leader_id}")
    assert r.status_code == 403


def test_invites_expire_and_run_out(world: World) -> None:
    g = world.group.pk
    leader = world.client("leader")
    r = j(leader, "post", f"/api/v1/groups/{g}/invites", {"hours": 24, "max_uses": 1})
    assert r.status_code == 201
    token = r.json()["url"].rstrip("/").split("/")[-1]
    first, second = Client(), Client()
    first.force_login(make_user("first"))
    second.force_login(make_user("second"))
    assert first.post(f"/api/v1/invites/{token}/accept").status_code == 200
    assert first.get(f"/api/v1/groups/{g}/messages").status_code == 200
    r = second.post(f"/api/v1/invites/{token}/accept")
    assert r.status_code == 410 and r.json()["error"]["code"] == "invite_invalid"
    invite = Invite.objects.create(
        group=world.group,
        created_by=world.users["leader"],
        expires_at=timezone.now() - dt.timedelta(minutes=1),
    )
    assert second.post(f"/api/v1/invites/{invite.token}/accept").status_code == 410
    r = j(leader, "post", f"/api/v1/groups/{g}/invites", {"hours": 0})
    assert r.status_code == 400


def test_invite_approves_a_pending_application(world: World) -> None:
    leader = world.users["leader"]
    invite = Invite.objects.create(
        group=world.group, created_by=leader, expires_at=timezone.now() + dt.timedelta(days=1)
    )
    c = world.client("applicant")
    assert c.post(f"/api/v1/invites/{invite.token}/accept").status_code == 200
    assert (
        Application.objects.get(group=world.group, user=world.users["applicant"]).status
        == "approved"
    )
    assert Membership.objects.get(group=world.group, user=world.users["applicant"]).is_active


def test_review_page_approves_and_rejects(world: World) -> None:
    g = world.group.pk
    leader = world.client("leader")
    page = leader.get(f"/groups/{g}/applications/").content.decode()
    assert "Applicant" in page
    app = Application.objects.get(group=world.group, user=world.users["applicant"])
    r = leader.post(
        f"/groups/{g}/applications/",
        {"application": app.pk, "decision": "reject", "reason": ""},
        follow=True,
    )
    assert "reason" in r.content.decode().lower()
    app.refresh_from_db()
    assert app.status == "pending"
    leader.post(f"/groups/{g}/applications/", {"application": app.pk, "decision": "approve"})
    app.refresh_from_db()
    assert app.status == "approved"
    r = world.client("applicant").get(f"/groups/{g}/")
    assert r.status_code == 302 and r["Location"].endswith("/chat/")


def test_rejected_applicant_sees_status_and_reason_on_the_group_page(world: World) -> None:
    page = world.client("rejected").get(f"/groups/{world.group.pk}/").content.decode()
    assert "Not approved" in page and "Not a patient group match" in page


def test_pages_follow_the_browser_language(world: World) -> None:
    c = world.client("applicant")
    zh = c.get("/groups/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "你的群" in zh or "我的群" in zh
    en = Client()
    en.force_login(world.users["applicant"])  # type: ignore[arg-type]
    assert "Your groups" in en.get("/groups/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()


def test_language_can_be_switched_and_sticks(world: World) -> None:
    c = world.client("member")
    r = c.post("/i18n/setlang/", {"language": "zh-hans", "next": "/groups/"})
    assert r.status_code == 302
    page = c.get("/groups/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "我的群" in page and 'lang="zh-Hans"' in page
    c.post("/i18n/setlang/", {"language": "en", "next": "/groups/"})
    assert "Your groups" in c.get("/groups/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()


def test_unknown_pages_get_a_readable_404_in_the_visitors_language(world: World) -> None:
    r = Client().get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert r.status_code == 404
    assert "找不到这个页面" in r.content.decode()
    r = world.client("member").get("/groups/99999/chat/")
    assert r.status_code == 404
    assert "It may not exist, or it may be only for its members." in r.content.decode()


def test_an_invite_link_leads_a_new_person_through_sign_up_into_the_group(world: World) -> None:
    leader = world.users["leader"]
    invite = Invite.objects.create(
        group=world.group, created_by=leader, expires_at=timezone.now() + dt.timedelta(days=1)
    )
    c = Client()
    r = c.get(invite.get_absolute_url())
    assert r.status_code == 302
    login_page = c.get(r["Location"]).content.decode()
    signup_link = f"/accounts/signup/?next={invite.get_absolute_url()}"
    assert signup_link in login_page
    signup_page = c.get(signup_link).content.decode()
    assert f'name="next" value="{invite.get_absolute_url()}"' in signup_page
    r = c.post(
        "/accounts/signup/",
        {
            "username": "invited",
            "password": "sunflower-2026",
            "display_name": "Invited",
            "next": invite.get_absolute_url(),
        },
    )
    assert r["Location"] == invite.get_absolute_url()
    r = c.post(invite.get_absolute_url())
    assert r.status_code == 302 and r["Location"] == f"/groups/{world.group.pk}/chat/"
    assert c.get(f"/api/v1/groups/{world.group.pk}/messages").status_code == 200
