"""A safe space, as members and moderators meet it: held salesmen, crisis cards, worth-checking
notes, personal-data questions, reports, the moderators' actions and their audit log, badges
and rate limits. Through the API, on the real database."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import segno
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from tongzhou.accounts.models import User
from tongzhou.chat.models import Message
from tongzhou.groups import actions as group_actions
from tongzhou.groups.models import Membership
from tongzhou.notify.models import Notification
from tongzhou.safety.models import AuditEntry, Report

from .conftest import PASSWORD, World

pytestmark = pytest.mark.django_db


def send(c: Client, gid: int, text: str, cid: str | None = None, **extra: Any) -> Any:
    body = {"client_id": cid or f"c-{abs(hash(text))}", "text": text, **extra}
    return c.post(f"/api/v1/groups/{gid}/messages", body, content_type="application/json")


def post(c: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return c.post(url, body or {}, content_type="application/json")


def texts_seen_by(c: Client, gid: int) -> list[str]:
    return [m["text"] for m in c.get(f"/api/v1/groups/{gid}/messages").json()["messages"]]


def queue(world: World) -> list[dict[str, Any]]:
    r = world.client("moderator").get(f"/api/v1/groups/{world.group.pk}/moderation")
    assert r.status_code == 200
    return list(r.json()["reports"])


def audit_actions(world: World) -> list[str]:
    r = world.client("leader").get(f"/api/v1/groups/{world.group.pk}/audit")
    return [e["action"] for e in r.json()["entries"]]


def test_a_newcomers_wechat_id_is_held_until_a_moderator_approves(world: World) -> None:
    gid = world.group.pk
    sales = "大家好，我有好东西分享，加我微信 kfzj0520 了解"
    r = send(world.client("member"), gid, sales)
    assert r.status_code == 201
    assert r.json()["status"] == "held"
    assert [n["type"] for n in r.json()["notices"]] == ["held"]
    # Nobody else sees it; the sender does, marked as waiting.
    assert sales not in texts_seen_by(world.client("moderator"), gid)
    assert sales in texts_seen_by(world.client("member"), gid)
    held = queue(world)[0]
    assert held["held"] and held["automatic"] and "a WeChat ID" in held["signals"]
    # The moderators were told; the notification opens the queue.
    n = Notification.objects.get(user=world.users["leader"], kind="safety")
    assert n.reasons == ["held"]
    r = post(
        world.client("moderator"),
        f"/api/v1/groups/{gid}/reports/{held['id']}/decision",
        {"action": "approve"},
    )
    assert r.status_code == 200
    assert sales in texts_seen_by(world.client("leader"), gid)
    assert "approve" in audit_actions(world)
    assert queue(world) == []


def test_a_turned_down_message_is_never_shown_and_the_sender_sees_it_removed(
    world: World,
) -> None:
    gid = world.group.pk
    r = send(world.client("member"), gid, "抗癌神药 买三送一 私聊我")
    assert r.json()["status"] == "held"
    rid = queue(world)[0]["id"]
    r = post(
        world.client("leader"),
        f"/api/v1/groups/{gid}/reports/{rid}/decision",
        {"action": "reject"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "reason_required"
    post(
        world.client("leader"),
        f"/api/v1/groups/{gid}/reports/{rid}/decision",
        {"action": "reject", "reason": "advertising"},
    )
    mine = world.client("member").get(f"/api/v1/groups/{gid}/messages").json()["messages"]
    assert mine[-1]["deleted"] == "moderator" and mine[-1]["text"] == ""
    entry = AuditEntry.objects.get(action="reject")
    assert (entry.actor, entry.reason) == (world.users["leader"], "advertising")


def test_a_newcomers_link_waits_but_an_old_members_does_not(world: World) -> None:
    world.group.new_member_days = 3
    world.group.save()
    text = "Nice article on mouth care https://example.com/mouth-care"
    assert send(world.client("member"), world.group.pk, text, "n1").json()["status"] == "held"
    Membership.objects.filter(group=world.group, user=world.users["member"]).update(
        joined_at=timezone.now() - timedelta(days=10)
    )
    assert send(world.client("member"), world.group.pk, text, "n2").json()["status"] == "visible"


def test_flag_mode_shows_the_message_and_tells_the_moderators(world: World) -> None:
    world.group.spam_action = "flag"
    world.group.save()
    r = send(world.client("member"), world.group.pk, "加我微信 kfzj0520 了解抗癌好产品")
    assert r.json()["status"] == "visible"
    assert "加我微信" in texts_seen_by(world.client("moderator"), world.group.pk)[-1]
    assert queue(world)[0]["reason"] == "spam" and not queue(world)[0]["held"]


def test_the_same_text_in_two_groups_and_a_qr_code_are_held(world: World) -> None:
    outsider = world.client("outsider")
    app = group_actions.do_apply(world.users["outsider"], world.group, role="patient")  # type: ignore[arg-type]
    group_actions.do_decide(world.users["leader"], app, approve=True)  # type: ignore[arg-type]
    Membership.objects.filter(user=world.users["outsider"]).update(
        joined_at=timezone.now() - timedelta(days=30)
    )
    text = "Our support circle meets every Tuesday evening, everyone welcome"
    assert send(outsider, world.other_group.pk, text, "a").json()["status"] == "visible"
    assert send(outsider, world.group.pk, text, "b").json()["status"] == "held"
    buf = io.BytesIO()
    segno.make("https://u.wechat.com/EFxyz").save(buf, kind="png", scale=10)
    up = outsider.post(
        f"/api/v1/groups/{world.group.pk}/attachments",
        {"kind": "image", "file": SimpleUploadedFile("qr.png", buf.getvalue(), "image/png")},
    ).json()
    r = send(outsider, world.group.pk, "", "c", attachment=up["id"])
    assert r.json()["status"] == "held"
    assert "a QR code in the picture" in queue(world)[-1]["signals"]


def test_a_crisis_message_shows_its_sender_a_private_card_and_alerts_moderators(
    world: World,
) -> None:
    member = world.users["member"]
    member.profile.region = "uk"  # type: ignore[union-attr]
    member.profile.save()  # type: ignore[union-attr]
    r = send(world.client("member"), world.group.pk, "活着没意思，我不想再拖累家人了")
    assert r.status_code == 201 and r.json()["status"] == "visible"
    (card,) = [n for n in r.json()["notices"] if n["type"] == "crisis"]
    assert card["resources"]["region"] == "uk"
    assert "116 123" in [line["phone"] for line in card["resources"]["lines"]]
    # The leader and moderator are told privately; the other member is not.
    told = set(Notification.objects.filter(kind="safety").values_list("user_id", flat=True))
    assert told == {world.users["leader"].pk, world.users["moderator"].pk}  # type: ignore[union-attr]
    # Others see the message, and nothing of the alarm.
    other = world.client("moderator").get(f"/api/v1/groups/{world.group.pk}/messages").json()
    assert "crisis" not in str(other["messages"][-1])
    # A retry gets the same card (the phone may have missed the first answer).
    again = send(world.client("member"), world.group.pk, "活着没意思，我不想再拖累家人了")
    assert again.status_code == 200 and again.json()["notices"][0]["type"] == "crisis"
    assert queue(world)[0]["reason"] == "crisis"


def test_a_quack_claim_gets_a_calm_note_for_everyone(world: World) -> None:
    r = send(
        world.client("member"), world.group.pk, "老中医说不用化疗也能治好，喝碱性水就能把癌养没"
    )
    note_ids = {n["claim"] for n in r.json()["notes"]}
    assert len(note_ids) == 2  # no treatment needed; alkaline water
    seen = world.client("moderator").get(f"/api/v1/groups/{world.group.pk}/messages").json()
    notes = seen["messages"][-1]["notes"]
    assert {n["claim"] for n in notes} == note_ids and all(n["correction"] for n in notes)
    # Nothing was deleted, and the moderators were told.
    assert seen["messages"][-1]["text"].startswith("老中医")
    assert Notification.objects.filter(kind="safety", reasons=["claim"]).count() == 2
    # Quoting it to warn others gets no note.
    r = send(world.client("member"), world.group.pk, "有人说喝碱性水能治癌，大家千万别信")
    assert r.json()["notes"] == []
    # A moderator who finds the note wrong dismisses it, and it goes.
    for rep in queue(world):
        post(
            world.client("moderator"),
            f"/api/v1/groups/{world.group.pk}/reports/{rep['id']}/decision",
            {"action": "dismiss"},
        )
    seen = world.client("member").get(f"/api/v1/groups/{world.group.pk}/messages").json()
    assert seen["messages"][-2]["notes"] == []


def test_personal_data_is_asked_about_before_it_reaches_the_group(world: World) -> None:
    c = world.client("member")
    text = "我的身份证是11010519491231002X，大家帮我看看"
    r = send(c, world.group.pk, text, "pii")
    assert r.status_code == 422 and r.json()["error"]["code"] == "personal_data"
    assert "ID card" in r.json()["error"]["message"]
    assert not Message.objects.filter(text=text).exists()
    r = send(c, world.group.pk, text, "pii", confirm_personal_data=True)
    assert r.status_code == 201


def test_members_report_and_moderators_hide_warn_mute_and_remove(world: World) -> None:
    gid = world.group.pk
    mid = send(world.client("member"), gid, "你们这些人真烦").json()["id"]
    r = post(
        world.client("moderator"),
        f"/api/v1/groups/{gid}/reports",
        {"message": mid, "reason": "harassment", "note": "rude"},
    )
    assert r.status_code == 201
    # Members cannot read the queue or the audit log.
    assert world.client("member").get(f"/api/v1/groups/{gid}/moderation").status_code == 403
    assert world.client("member").get(f"/api/v1/groups/{gid}/audit").status_code == 403
    rid = queue(world)[0]["id"]
    assert queue(world)[0]["note"] == "rude"
    r = post(
        world.client("leader"),
        f"/api/v1/groups/{gid}/reports/{rid}/decision",
        {"action": "hide", "reason": "unkind"},
    )
    assert r.status_code == 200
    last = world.client("member").get(f"/api/v1/groups/{gid}/messages").json()["messages"][-1]
    assert (last["deleted"], last["text"]) == ("moderator", "")
    member_id = world.users["member"].pk  # type: ignore[union-attr]
    url = f"/api/v1/groups/{gid}/members/{member_id}/moderation"
    assert (
        post(world.client("moderator"), url, {"action": "warn", "reason": "be kind"}).status_code
        == 200
    )
    assert (
        post(
            world.client("moderator"), url, {"action": "mute", "reason": "cool off", "minutes": 60}
        ).status_code
        == 200
    )
    r = send(world.client("member"), gid, "hello again")
    assert r.status_code == 403 and r.json()["error"]["code"] == "muted"
    post(world.client("moderator"), url, {"action": "unmute"})
    assert send(world.client("member"), gid, "hello again").status_code == 201
    # A moderator may not ban; the leader removes.
    assert post(world.client("moderator"), url, {"action": "ban", "reason": "x"}).status_code == 403
    assert (
        post(world.client("leader"), url, {"action": "remove", "reason": "repeated"}).status_code
        == 200
    )
    log = world.client("leader").get(f"/api/v1/groups/{gid}/audit").json()["entries"]
    assert [e["action"] for e in log][:5] == ["remove", "unmute", "mute", "warn", "hide"]
    assert log[0]["reason"] == "repeated" and log[0]["actor"] == "Leader"
    assert log[2]["until"] is not None


def test_a_ban_signs_the_spammer_out_everywhere(world: World) -> None:
    gid = world.group.pk
    spammer: User = world.users["member"]  # type: ignore[assignment]
    c = Client()
    assert c.login(username=spammer.username, password=PASSWORD)
    r = post(
        world.client("leader"),
        f"/api/v1/groups/{gid}/members/{spammer.pk}/moderation",
        {"action": "ban", "reason": "spam bot"},
    )
    assert r.status_code == 200
    spammer.refresh_from_db()
    assert spammer.banned_at is not None and not spammer.is_active
    assert c.get(f"/api/v1/groups/{gid}/messages").status_code == 401
    assert not Client().login(username=spammer.username, password=PASSWORD)
    assert not Membership.objects.filter(user=spammer, status="active").exists()
    assert "ban" in audit_actions(world)


def test_a_professional_asks_for_a_badge_and_it_shows_on_their_messages(world: World) -> None:
    gid = world.group.pk
    r = post(
        world.client("member"), f"/api/v1/groups/{gid}/badge-request", {"profession": "doctor"}
    )
    assert r.json() == {"profession": "doctor", "verified": False}
    mid = send(world.client("member"), gid, "复查一般三个月一次").json()["id"]
    assert (
        world.client("leader")
        .get(f"/api/v1/groups/{gid}/messages")
        .json()["messages"][-1]["sender"]["badge"]
        is None
    )
    leader = Membership.objects.get(group=world.group, user=world.users["leader"])
    target = Membership.objects.get(group=world.group, user=world.users["member"])
    group_actions.do_set_verified_professional(leader, target, True)
    page = world.client("moderator").get(f"/api/v1/groups/{gid}/messages").json()["messages"]
    assert [m["sender"]["badge"] for m in page if m["id"] == mid] == ["Doctor"]
    assert "verify" in audit_actions(world)


@pytest.mark.rate_limits
def test_rate_limits_answer_clearly(world: World, settings: Any) -> None:
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "send_minute": (3, 60),
        "report_hour": (1, 3600),
    }
    c = world.client("member")
    for i in range(3):
        assert send(c, world.group.pk, f"msg {i}").status_code == 201
    r = send(c, world.group.pk, "one too many")
    assert r.status_code == 429 and "wait a minute" in r.json()["error"]["message"]
    mid = send(world.client("moderator"), world.group.pk, "hi").json()["id"]
    url = f"/api/v1/groups/{world.group.pk}/reports"
    assert post(c, url, {"message": mid, "reason": "other"}).status_code == 201
    assert post(c, url, {"message": mid, "reason": "other"}).status_code == 429


def test_display_names_and_applications_are_checked_for_selling(world: World) -> None:
    r = world.client("member").patch(
        "/api/v1/me/profile", {"display_name": "加V信kfzj0520"}, content_type="application/json"
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_display_name"
    seller = User.objects.create_user("seller", password=PASSWORD, display_name="Seller")
    app = group_actions.do_apply(
        seller, world.group, role="patient", note="卖灵芝孢子粉，加我微信 kfzj0520"
    )
    assert "contact:wechat" in app.flags


def test_crisis_lines_can_be_replaced_by_the_operator(tmp_path: Any, settings: Any) -> None:
    from tongzhou.safety import resources

    shipped = Client().get("/api/v1/crisis-resources?region=all").json()["regions"]
    assert {r["region"] for r in shipped} >= {"cn", "hk", "tw", "au", "uk", "us"}
    assert all(line["source"].startswith("https://") for r in shipped for line in r["lines"])
    custom = tmp_path / "lines.json"
    custom.write_text(
        '{"regions": {"nz": {"name": {"en": "New Zealand"}, "emergency": "111",'
        ' "lines": [{"name": {"en": "Need to talk?"}, "phone": "1737", "source": "https://1737.org.nz/"}]}}}',
        encoding="utf-8",
    )
    settings.CRISIS_RESOURCES = str(custom)
    settings.CRISIS_DEFAULT_REGION = "nz"
    resources._load.cache_clear()
    try:
        r = Client().get("/api/v1/crisis-resources")
        assert r.json()["regions"][0]["lines"][0]["phone"] == "1737"
    finally:
        resources._load.cache_clear()


def test_an_edit_is_checked_too_but_never_unsent(world: World) -> None:
    c = world.client("member")
    mid = send(c, world.group.pk, "Hello everyone", "e1").json()["id"]
    url = f"/api/v1/groups/{world.group.pk}/messages/{mid}"
    r = c.patch(url, {"text": "我的手机 13812345678"}, content_type="application/json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "personal_data"
    r = c.patch(url, {"text": "加我微信 kfzj0520 了解好产品"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "visible"
    (flag,) = queue(world)
    assert flag["reason"] == "spam" and not flag["held"] and flag["message"]["id"] == mid


def test_reports_and_warnings_are_in_the_data_export_and_erasure_drops_the_note(
    world: World,
) -> None:
    from tongzhou.privacy import do_delete_account, export_data

    mid = send(world.client("moderator"), world.group.pk, "hello", "x1").json()["id"]
    post(
        world.client("member"),
        f"/api/v1/groups/{world.group.pk}/reports",
        {"message": mid, "reason": "other", "note": "my chemo makes me touchy, sorry"},
    )
    member: User = world.users["member"]  # type: ignore[assignment]
    post(
        world.client("leader"),
        f"/api/v1/groups/{world.group.pk}/members/{member.pk}/moderation",
        {"action": "warn", "reason": "please be kind"},
    )
    exported = export_data(member)["safety.json"]
    assert exported["reports_made"][0]["note"] == "my chemo makes me touchy, sorry"
    assert exported["moderator_actions_about_you"][0]["reason"] == "please be kind"
    do_delete_account(member, PASSWORD, "keep")
    assert Report.objects.get(message_id=mid).note == ""


def test_the_crisis_page_is_open_to_anyone() -> None:
    r = Client().get("/help/crisis/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "116 123" in body and "12356" in body and 'href="tel:988"' in body


@pytest.mark.rate_limits
def test_applications_are_limited_per_day(world: World, settings: Any) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "application_day": (2, 86400)}
    someone = User.objects.create_user("wanderer", password=PASSWORD, display_name="Wanderer")
    groups = [
        group_actions.do_create_group(world.users["leader"], f"G{i}")  # type: ignore[arg-type]
        for i in range(3)
    ]
    c = Client()
    c.force_login(someone)
    for g in groups[:2]:
        r = post(c, f"/api/v1/groups/{g.pk}/applications", {"role": "patient"})
        assert r.status_code == 201
    r = post(c, f"/api/v1/groups/{groups[2].pk}/applications", {"role": "patient"})
    assert r.status_code == 429 and "tomorrow" in r.json()["error"]["message"]


def test_dismissing_a_claim_note_leaves_a_crisis_alert_open(world: World) -> None:
    gid = world.group.pk
    text = "喝碱性水能治癌，可是我已经撑不下去了，不想活了"
    mid = send(world.client("member"), gid, text, "both").json()["id"]
    reasons = {r["reason"]: r["id"] for r in queue(world)}
    assert set(reasons) == {"misinformation", "crisis"}
    post(
        world.client("moderator"),
        f"/api/v1/groups/{gid}/reports/{reasons['misinformation']}/decision",
        {"action": "dismiss"},
    )
    assert [r["reason"] for r in queue(world)] == ["crisis"]
    # The alert stays unread for the moderators until someone has reached out.
    assert Notification.objects.filter(message_id=mid, kind="safety", read_at=None).exists()
    post(
        world.client("leader"),
        f"/api/v1/groups/{gid}/reports/{reasons['crisis']}/decision",
        {"action": "done", "reason": "called her"},
    )
    assert queue(world) == []
    assert not Notification.objects.filter(message_id=mid, kind="safety", read_at=None).exists()


def test_moderators_see_a_held_picture_and_members_do_not(world: World) -> None:
    buf = io.BytesIO()
    segno.make("https://u.wechat.com/EFxyz").save(buf, kind="png", scale=10)
    member = world.client("member")
    up = member.post(
        f"/api/v1/groups/{world.group.pk}/attachments",
        {"kind": "image", "file": SimpleUploadedFile("qr.png", buf.getvalue(), "image/png")},
    ).json()
    assert send(member, world.group.pk, "", "qr", attachment=up["id"]).json()["status"] == "held"
    assert world.client("moderator").get(f"/media/{up['id']}/").status_code == 200
    assert world.client("member").get(f"/media/{up['id']}/").status_code == 200  # the sender
    other = User.objects.create_user("other2", password=PASSWORD, display_name="Other")
    app = group_actions.do_apply(other, world.group, role="patient")
    group_actions.do_decide(world.users["leader"], app, approve=True)  # type: ignore[arg-type]
    c = Client()
    c.force_login(other)
    assert c.get(f"/media/{up['id']}/").status_code == 404
