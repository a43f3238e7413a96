"""Direct messages: who may start one, blocks both ways, read-only when no group is shared,
rate limits, retried sends, reports that hand one message to one group's moderators, the
data export, and live delivery over the socket."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from tongzhou.accounts.actions import do_deactivate, do_update_profile
from tongzhou.accounts.models import ApiToken, User
from tongzhou.asgi import application
from tongzhou.community import dm
from tongzhou.community.models import Conversation, DirectMessage, DirectReport
from tongzhou.groups import actions as group_actions
from tongzhou.groups.models import Group, Membership
from tongzhou.privacy import export_data
from tongzhou.realtime import publish_to_user
from tongzhou.safety.models import AuditEntry

from .conftest import World, build_world, make_user

WEEKS_AGO = dt.timedelta(days=30)


def api(user: User | None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def post(c: Client, url: str, body: dict[str, Any]) -> Any:
    return c.post(url, body, content_type="application/json")


def joined(group: Group, user: User, ago: dt.timedelta) -> None:
    Membership.objects.filter(group=group, user=user).update(joined_at=timezone.now() - ago)


def start(c: Client, to: User, text: str = "你好，想问问放疗的事", cid: str = "c1") -> Any:
    return post(c, "/api/v1/dm/conversations", {"user": to.pk, "client_id": cid, "text": text})


@pytest.fixture
def w(db: Any) -> World:
    world = build_world()
    for role in ("member", "moderator", "leader"):
        joined(world.group, world.users[role], WEEKS_AGO)  # type: ignore[arg-type]
    return world


def new_member(world: World, name: str = "newbie1") -> User:
    """Someone approved into the group today."""
    user = make_user(name, "Newbie")
    app = group_actions.do_apply(user, world.group, role="patient")
    group_actions.do_decide(world.users["leader"], app, approve=True)  # type: ignore[arg-type]
    return user


def u(world: World, role: str) -> User:
    user = world.users[role]
    assert user is not None
    return user


# --- who may start ---------------------------------------------------------------------------


def test_a_member_of_some_weeks_starts_and_both_see_it(w: World) -> None:
    member, mod = u(w, "member"), u(w, "moderator")
    r = start(api(member), mod)
    assert r.status_code == 201, r.json()
    conv = r.json()["conversation"]
    assert conv["with"]["display_name"] == mod.display_name
    assert conv["group"]["id"] == w.group.pk
    inbox = api(mod).get("/api/v1/dm/conversations").json()
    assert inbox["unread"] == 1
    assert inbox["conversations"][0]["with"]["id"] == member.pk
    assert inbox["conversations"][0]["last_message"]["text"] == "你好，想问问放疗的事"
    assert dm.unread_dm_count(mod.pk) == 1 and dm.unread_dm_count(member.pk) == 0


def test_a_new_member_cannot_start_and_is_told_when_they_can(w: World) -> None:
    newbie = new_member(w)
    r = start(api(newbie), u(w, "member"))
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "dm_too_new"
    assert "7 days" in error["message"] and w.group.name in error["message"]
    assert not Conversation.objects.exists()
    # The page says the same, at once, before anything is written.
    page = api(newbie).get(f"/messages/new/{u(w, 'member').pk}/?group={w.group.pk}")
    assert page.status_code == 403
    assert "7 days after joining" in page.content.decode()


def test_the_leader_sets_the_waiting_days(w: World) -> None:
    newbie = new_member(w)
    joined(w.group, newbie, dt.timedelta(days=2))
    leader = api(u(w, "leader"))
    r = leader.patch(
        f"/api/v1/groups/{w.group.pk}", {"dm_min_days": 1}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["safety"]["dm_min_days"] == 1
    assert start(api(newbie), u(w, "member")).status_code == 201
    # The settings page's form saves it too.
    r = leader.post(
        f"/groups/{w.group.pk}/settings/",
        {"action": "safety", "spam_action": "hold", "new_member_days": "3", "dm_min_days": "14"},
    )
    assert r.status_code == 302
    w.group.refresh_from_db()
    assert w.group.dm_min_days == 14
    # A member cannot change it.
    r = api(u(w, "member")).patch(
        f"/api/v1/groups/{w.group.pk}", {"dm_min_days": 0}, content_type="application/json"
    )
    assert r.status_code == 403


@pytest.mark.parametrize("role", ["leader", "moderator", "professional"])
def test_leaders_moderators_and_verified_professionals_may_start_at_once(
    w: World, role: str
) -> None:
    if role == "leader":  # a group founded today; its first member joins at once
        newbie = make_user("founder1", "Founder")
        group = group_actions.do_create_group(newbie, "New group", "")
        to = make_user("joiner1", "Joiner")
        app = group_actions.do_apply(to, group, role="patient")
        group_actions.do_decide(newbie, app, approve=True)
    else:
        newbie, to = new_member(w, "fresh1"), u(w, "member")
        leader_in = Membership.objects.get(group=w.group, user=u(w, "leader"))
        mine = Membership.objects.get(group=w.group, user=newbie)
        if role == "professional":
            do_update_profile(newbie, {"role": "professional"})
            group_actions.do_set_verified_professional(leader_in, mine, True)
        else:
            group_actions.do_set_role(leader_in, mine, role)
    r = start(api(newbie), to)
    assert r.status_code == 201, r.json()


def test_someone_who_switched_direct_messages_off_gets_none(w: World) -> None:
    member, mod = u(w, "member"), u(w, "moderator")
    do_update_profile(mod, {"dm_open": False})
    r = start(api(member), mod)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "dm_unavailable"
    assert r.json()["error"]["message"] == str(dm.unavailable().message)


def test_no_shared_group_is_not_found(w: World) -> None:
    r = start(api(u(w, "member")), u(w, "outsider"))
    assert r.status_code == 404
    r = start(api(u(w, "outsider")), u(w, "member"))
    assert r.status_code == 404
    assert api(u(w, "member")).get(f"/messages/new/{u(w, 'outsider').pk}/").status_code == 404


def test_rate_limit_on_starting_new_conversations(w: World) -> None:
    sender = api(u(w, "leader"))
    others = [new_member(w, f"friend{i}") for i in range(3)]
    limits = {**settings.RATE_LIMITS, "dm_start_hour": (2, 3600)}
    with override_settings(RATE_LIMITS=limits):
        assert start(sender, others[0], cid="a").status_code == 201
        assert start(sender, others[1], cid="b").status_code == 201
        r = start(sender, others[2], cid="c")
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        # Replies are not new conversations.
        conv = Conversation.objects.filter(user_b=others[0]).first() or Conversation.objects.get(
            user_a=others[0]
        )
        r = post(
            sender,
            f"/api/v1/dm/conversations/{conv.pk}/messages",
            {"client_id": "d", "text": "还在吗"},
        )
        assert r.status_code == 201


def test_a_retried_send_lands_once(w: World) -> None:
    member, mod = u(w, "member"), u(w, "moderator")
    first = start(api(member), mod, cid="same")
    again = start(api(member), mod, cid="same")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    conv = first.json()["conversation"]["id"]
    url = f"/api/v1/dm/conversations/{conv}/messages"
    one = post(api(mod), url, {"client_id": "r1", "text": "你好"})
    two = post(api(mod), url, {"client_id": "r1", "text": "你好"})
    assert (one.status_code, two.status_code) == (201, 200)
    assert DirectMessage.objects.count() == 2


def test_once_started_a_new_member_may_reply(w: World) -> None:
    newbie = new_member(w)
    r = start(api(u(w, "member")), newbie)
    assert r.status_code == 201
    conv = r.json()["conversation"]["id"]
    r = post(
        api(newbie),
        f"/api/v1/dm/conversations/{conv}/messages",
        {"client_id": "n1", "text": "谢谢你来问候我"},
    )
    assert r.status_code == 201, r.json()


# --- safety checks ---------------------------------------------------------------------------


def test_a_new_members_contact_details_are_refused(w: World) -> None:
    newbie = new_member(w)
    w.group.new_member_days = 3
    w.group.save(update_fields=["new_member_days"])
    conv = start(api(u(w, "member")), newbie).json()["conversation"]["id"]
    r = post(
        api(newbie),
        f"/api/v1/dm/conversations/{conv}/messages",
        {"client_id": "n1", "text": "加我微信 kfzj0520 详聊"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "dm_contact_refused"
    assert not DirectMessage.objects.filter(sender=newbie).exists()


def test_crisis_words_show_the_sender_the_crisis_lines(w: World) -> None:
    r = start(api(u(w, "member")), u(w, "moderator"), text="我真的撑不下去了，不想活了")
    assert r.status_code == 201
    notices = r.json()["notices"]
    assert notices and notices[0]["type"] == "crisis"
    assert notices[0]["resources"]["lines"]
    # The group's moderators are not handed anything of a private conversation.
    assert not DirectReport.objects.exists()


# --- blocks ----------------------------------------------------------------------------------


def _conversation(w: World) -> int:
    r = start(api(u(w, "member")), u(w, "moderator"))
    assert r.status_code == 201
    return int(r.json()["conversation"]["id"])


def test_a_block_stops_messages_both_ways_and_the_blocked_is_not_told(w: World) -> None:
    member, mod = u(w, "member"), u(w, "moderator")
    conv = _conversation(w)
    url = f"/api/v1/dm/conversations/{conv}/messages"
    assert post(api(member), "/api/v1/dm/blocks", {"user": mod.pk}).status_code == 201
    # The blocked person: the same words as for someone who switched messages off.
    r = post(api(mod), url, {"client_id": "b1", "text": "为什么不回我"})
    assert r.status_code == 403
    assert r.json()["error"] == {
        "code": "dm_unavailable",
        "message": str(dm.unavailable().message),
    }
    assert "block" not in r.json()["error"]["message"].lower()
    assert start(api(mod), member, cid="b2").json()["error"]["code"] == "dm_unavailable"
    # The blocker cannot write either, and is told why.
    r = post(api(member), url, {"client_id": "b3", "text": "hello"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "dm_you_blocked"
    blocks = api(member).get("/api/v1/dm/blocks").json()["blocked"]
    assert [b["user"]["id"] for b in blocks] == [mod.pk]
    assert api(mod).get("/api/v1/dm/blocks").json()["blocked"] == []
    # Unblocked: both write again.
    assert api(member).delete(f"/api/v1/dm/blocks/{mod.pk}").status_code == 204
    assert post(api(mod), url, {"client_id": "b4", "text": "好的"}).status_code == 201
    assert post(api(member), url, {"client_id": "b5", "text": "嗯"}).status_code == 201


def test_block_and_unblock_from_the_pages(w: World) -> None:
    member, mod = u(w, "member"), u(w, "moderator")
    conv = _conversation(w)
    c = api(member)
    assert c.post(f"/messages/{conv}/", {"action": "block"}).status_code == 302
    page = c.get(f"/messages/{conv}/").content.decode()
    assert 'data-testid="dm-you-blocked"' in page and 'id="dm-composer"' not in page
    listed = c.get("/messages/blocked/").content.decode()
    assert mod.display_name in listed
    # The blocked person still sees the box; their send is refused with the plain words.
    r = api(mod).post(f"/messages/{conv}/", {"action": "send", "text": "在吗", "client_id": "x"})
    assert r.status_code == 400
    assert str(dm.unavailable().message) in r.content.decode()
    assert c.post("/messages/blocked/", {"user": mod.pk}).status_code == 302
    assert dm.is_blocked(member.pk, mod.pk) is False


def test_blocking_a_stranger_is_not_found(w: World) -> None:
    r = post(api(u(w, "member")), "/api/v1/dm/blocks", {"user": u(w, "outsider").pk})
    assert r.status_code == 404


# --- read-only, removed and deleted ---------------------------------------------------------


def test_no_longer_sharing_a_group_makes_it_read_only(w: World) -> None:
    member, mod = u(w, "member"), u(w, "moderator")
    conv = _conversation(w)
    leader_in = Membership.objects.get(group=w.group, user=u(w, "leader"))
    group_actions.do_remove_member(leader_in, Membership.objects.get(group=w.group, user=member))
    # Both can still read it...
    for who in (member, mod):
        r = api(who).get(f"/api/v1/dm/conversations/{conv}/messages")
        assert r.status_code == 200 and len(r.json()["messages"]) == 1
        assert api(who).get(f"/api/v1/dm/conversations/{conv}").json()["read_only"] is True
    # ...and neither can write.
    for who in (member, mod):
        r = post(
            api(who),
            f"/api/v1/dm/conversations/{conv}/messages",
            {"client_id": f"ro-{who.pk}", "text": "hello"},
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "conversation_read_only"
    page = api(mod).get(f"/messages/{conv}/").content.decode()
    assert 'data-testid="dm-read-only"' in page


def test_a_deleted_account_takes_its_conversations_away(w: World) -> None:
    member, mod = u(w, "member"), u(w, "moderator")
    conv = _conversation(w)
    do_deactivate(member)
    assert api(mod).get(f"/api/v1/dm/conversations/{conv}").json()["read_only"] is True
    member.delete()
    assert api(mod).get("/api/v1/dm/conversations").json() == {"conversations": [], "unread": 0}
    assert api(mod).get(f"/messages/{conv}/").status_code == 404


def test_nobody_else_reads_a_conversation(w: World) -> None:
    conv = _conversation(w)
    for role in ("leader", "outsider", "removed", "applicant"):
        c = api(u(w, role))
        assert c.get(f"/api/v1/dm/conversations/{conv}/messages").status_code == 404
        assert c.get(f"/messages/{conv}/").status_code == 404
    assert api(u(w, "leader")).get("/api/v1/dm/conversations").json()["conversations"] == []


# --- reports -------------------------------------------------------------------------------


def test_a_report_hands_only_that_message_to_that_groups_moderators(w: World) -> None:
    member, mod, leader = u(w, "member"), u(w, "moderator"), u(w, "leader")
    friend = new_member(w, "friend1")
    joined(w.group, friend, WEEKS_AGO)
    r = start(api(friend), member, text="最近怎么样？")
    conv = r.json()["conversation"]["id"]
    url = f"/api/v1/dm/conversations/{conv}/messages"
    bad = post(api(friend), url, {"client_id": "bad", "text": "你这种人活该得病"}).json()
    post(api(member), url, {"client_id": "ok", "text": "请你别这样说话"})
    r = post(
        api(member),
        f"/api/v1/dm/messages/{bad['message']['id']}/report",
        {"reason": "harassment", "note": "他骂我"},
    )
    assert r.status_code == 201, r.json()
    for moderator in (leader, mod):
        reports = api(moderator).get(f"/api/v1/groups/{w.group.pk}/dm-reports").json()["reports"]
        assert len(reports) == 1
        assert reports[0]["message"]["text"] == "你这种人活该得病"
        assert reports[0]["message"]["sender"]["id"] == friend.pk
        assert reports[0]["note"] == "他骂我"
        shown = json.dumps(reports, ensure_ascii=False)
        assert "最近怎么样" not in shown and "请你别这样说话" not in shown
        page = api(moderator).get(f"/groups/{w.group.pk}/moderation/").content.decode()
        assert "你这种人活该得病" in page
        assert "最近怎么样" not in page and "请你别这样说话" not in page
    # Nobody else: a plain member, another group's leader.
    assert api(member).get(f"/api/v1/groups/{w.group.pk}/dm-reports").status_code == 403
    rival = User.objects.get(username="otherlead")
    assert api(rival).get(f"/api/v1/groups/{w.group.pk}/dm-reports").status_code == 404
    assert api(rival).get(f"/api/v1/groups/{w.other_group.pk}/dm-reports").json()["reports"] == []
    # One cannot report one's own message.
    mine = DirectMessage.objects.get(client_id="ok")
    r = post(api(member), f"/api/v1/dm/messages/{mine.pk}/report", {"reason": "other"})
    assert r.status_code == 403


def test_moderators_mark_a_report_handled_or_warn_the_sender(w: World) -> None:
    member, leader = u(w, "member"), u(w, "leader")
    friend = new_member(w, "friend2")
    joined(w.group, friend, WEEKS_AGO)
    r = start(api(friend), member, text="你真烦")
    dmid = r.json()["message"]["id"]
    post(api(member), f"/api/v1/dm/messages/{dmid}/report", {"reason": "harassment"})
    # From the moderation page: a warning needs a reason; then it is handled and in the log.
    c = api(leader)
    r = c.post(f"/groups/{w.group.pk}/dm-reports/{dmid}/", {"action": "warn", "reason": ""})
    assert r.status_code == 302
    assert DirectReport.objects.get().handled_at is None
    r = c.post(
        f"/groups/{w.group.pk}/dm-reports/{dmid}/",
        {"action": "warn", "reason": "请友善地私信"},
    )
    assert r.status_code == 302
    assert DirectReport.objects.get().handled_at is not None
    assert AuditEntry.objects.filter(member=friend, action=AuditEntry.Action.WARN).exists()
    assert c.get(f"/api/v1/groups/{w.group.pk}/dm-reports").json()["reports"] == []


# --- reading, export -----------------------------------------------------------------------


def test_opening_the_conversation_reads_it(w: World) -> None:
    member, mod = u(w, "member"), u(w, "moderator")
    conv = _conversation(w)
    inbox = api(mod).get("/messages/").content.decode()
    assert 'data-testid="dm-unread"' in inbox and member.display_name in inbox
    page = api(mod).get(f"/messages/{conv}/").content.decode()
    assert "你好，想问问放疗的事" in page
    assert dm.unread_dm_count(mod.pk) == 0
    assert 'data-testid="dm-unread"' not in api(mod).get("/messages/").content.decode()


def test_the_data_export_holds_ones_own_conversations(w: World) -> None:
    member, mod = u(w, "member"), u(w, "moderator")
    _conversation(w)
    data = export_data(member)["direct_messages.json"]
    assert data["conversations"][0]["with"] == mod.display_name
    assert data["conversations"][0]["messages"][0]["from_you"] is True
    assert export_data(u(w, "leader"))["direct_messages.json"]["conversations"] == []


def test_the_members_page_offers_a_message_button(w: World) -> None:
    page = api(u(w, "member")).get(f"/groups/{w.group.pk}/members/").content.decode()
    assert f"/messages/new/{u(w, 'moderator').pk}/?group={w.group.pk}" in page
    assert f"/messages/new/{u(w, 'member').pk}/" not in page  # not to oneself


# --- live ----------------------------------------------------------------------------------


async def _socket(user: User, query: str = "") -> WebsocketCommunicator:
    token = await database_sync_to_async(ApiToken.issue)(user)
    comm = WebsocketCommunicator(
        application,
        "/ws/messages/" + query,
        headers=[(b"authorization", f"Bearer {token}".encode())],
    )
    connected, _sub = await comm.connect()
    assert connected
    return comm


@pytest.mark.django_db(transaction=True)
async def test_the_socket_delivers_live_to_both_and_replays_what_was_missed() -> None:
    world = await database_sync_to_async(build_world)()
    member, mod = world.users["member"], world.users["moderator"]
    assert member is not None and mod is not None
    await database_sync_to_async(
        lambda: Membership.objects.filter(group=world.group).update(
            joined_at=timezone.now() - WEEKS_AGO
        )
    )()
    theirs = await _socket(mod)
    mine = await _socket(member)
    conv, first, _c, _n = await database_sync_to_async(dm.do_start_conversation)(
        member, mod.pk, client_id="live-1", text="在吗？"
    )
    got = await theirs.receive_json_from(timeout=3)
    assert got["type"] == "dm.new" and got["message"]["text"] == "在吗？"
    assert got["conversation"] == conv.pk and got["unread"] == 1
    echo = await mine.receive_json_from(timeout=3)  # the sender's other tabs
    assert echo["message"]["id"] == first["id"] and echo["unread"] == 0
    # Events for other features on the person's channel do not break the socket.
    await database_sync_to_async(publish_to_user)(mod.pk, {"type": "something.later"})
    await database_sync_to_async(publish_to_user)(
        mod.pk, {"type": "reminder.new", "reminder": {"id": 1, "title": "漱口"}}
    )
    assert (await theirs.receive_json_from(timeout=3))["type"] == "reminder.new"
    # A reply over the socket itself: acknowledged, and delivered to the other.
    await theirs.send_json_to(
        {"type": "send", "conversation": conv.pk, "client_id": "ws-1", "text": "在的"}
    )
    kinds = set()
    for _ in range(2):
        kinds.add((await theirs.receive_json_from(timeout=3))["type"])
    assert kinds == {"ack", "dm.new"}
    assert (await mine.receive_json_from(timeout=3))["message"]["text"] == "在的"
    await theirs.disconnect()
    await mine.disconnect()
    # Reconnecting with the last id seen: what came meanwhile, from the database.
    await database_sync_to_async(dm.do_send_dm)(member, conv.pk, client_id="live-2", text="好")
    back = await _socket(mod, f"?conversation={conv.pk}&after={first['id']}")
    texts = [(await back.receive_json_from(timeout=3))["message"]["text"] for _ in range(2)]
    assert texts == ["在的", "好"]
    assert await back.receive_nothing(timeout=0.3)
    await back.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_socket_refuses_strangers_and_closes_when_signed_out() -> None:
    world = await database_sync_to_async(build_world)()
    comm = WebsocketCommunicator(application, "/ws/messages/")
    await comm.connect()
    out = await comm.receive_output(timeout=3)
    assert out["type"] == "websocket.close" and out["code"] == 4401
    member = world.users["member"]
    assert member is not None
    sock = await _socket(member)
    await database_sync_to_async(ApiToken.objects.filter(user=member).delete)()
    await database_sync_to_async(publish_to_user)(member.pk, {"type": "auth.changed"})
    out = await sock.receive_output(timeout=3)
    assert out["type"] == "websocket.close" and out["code"] == 4401


def test_the_demo_has_conversations_and_a_reported_advert(db: Any) -> None:
    from tongzhou.community.demo import demo_ids
    from tongzhou.demo import load_demo

    load_demo()
    leader = User.objects.get(username="leader")
    group = Group.objects.get(memberships__user=leader, memberships__role="leader")
    ids = demo_ids(group)
    chen, carer = User.objects.get(username="chen"), User.objects.get(username="carer")
    assert dm.existing_conversation(chen.pk, carer.pk) is not None
    assert dm.unread_dm_count(carer.pk) == 1
    c = api(leader)
    for url in (
        "/messages/",
        f"/messages/{ids['convid']}/",
        f"/messages/new/{ids['dmuid']}/",
        "/messages/blocked/",
    ):
        assert c.get(url).status_code == 200, url
    moderation = c.get(f"/groups/{group.pk}/moderation/").content.decode()
    assert "进口灵芝孢子粉" in moderation and 'data-testid="dm-report"' in moderation
    # The carer's own conversation with chen is not on the leader's pages.
    assert "放疗前一定先去看牙科" not in moderation
    assert "放疗前一定先去看牙科" not in c.get("/messages/").content.decode()
