"""Edits within two minutes, deletions (by the sender or a moderator), reactions, and how
every change reaches open sockets and reconnecting clients."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from tongzhou import storage
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.attachments import do_upload
from tongzhou.chat.changes import do_edit_message, do_react
from tongzhou.chat.models import Attachment, Message

from .conftest import World, build_world
from .media_samples import jpeg_with_gps
from .test_realtime import connect


def url(world: World, mid: int, tail: str = "") -> str:
    return f"/api/v1/groups/{world.group.pk}/messages/{mid}{tail}"


def sent(world: World, role: str = "member", text: str = "第一次化疗") -> dict[str, Any]:
    message, _ = do_send_message(
        world.users[role], world.group.pk, client_id=f"c-{text}", text=text
    )  # type: ignore[arg-type]
    return dict(message)


def history(client: Client, world: World) -> dict[int, dict[str, Any]]:
    page = client.get(f"/api/v1/groups/{world.group.pk}/messages").json()
    return {m["id"]: m for m in page["messages"]}


def test_the_sender_edits_within_two_minutes_and_others_see_it_marked(world: World) -> None:
    m = sent(world)
    r = world.client("member").patch(
        url(world, m["id"]), {"text": "第一次化疗（更正）"}, content_type="application/json"
    )
    assert r.status_code == 200, r.content
    assert r.json()["text"] == "第一次化疗（更正）" and r.json()["edited"] is True
    seen = history(world.client("leader"), world)[m["id"]]
    assert seen["text"] == "第一次化疗（更正）" and seen["edited"] is True
    # Nobody else may edit it, the leader included.
    r = world.client("leader").patch(
        url(world, m["id"]), {"text": "x"}, content_type="application/json"
    )
    assert r.status_code == 403
    r = world.client("member").patch(
        url(world, m["id"]), {"text": "  "}, content_type="application/json"
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "empty_message"


def test_an_edit_after_two_minutes_is_refused_in_the_members_language(world: World) -> None:
    m = sent(world)
    Message.objects.filter(pk=m["id"]).update(created_at=timezone.now() - dt.timedelta(seconds=121))
    r = world.client("member").patch(
        url(world, m["id"]),
        {"text": "late"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "edit_window_passed"
    assert "2 分钟" in r.json()["error"]["message"]
    assert Message.objects.get(pk=m["id"]).text == "第一次化疗"


def test_deleting_your_own_message_leaves_only_the_fact(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    member = world.users["member"]
    picture = do_upload(member, world.group.pk, "image", jpeg_with_gps())  # type: ignore[arg-type]
    m, _ = do_send_message(
        member, world.group.pk, client_id="p", text="my scan", attachment=picture.pk
    )  # type: ignore[arg-type]
    reply, _ = do_send_message(
        world.users["leader"],
        world.group.pk,
        client_id="r",
        text="get well",
        reply_to=m["id"],  # type: ignore[arg-type]
    )
    with django_capture_on_commit_callbacks(execute=True):
        r = world.client("member").delete(url(world, m["id"]))
    assert r.status_code == 200
    assert (
        r.json()["deleted"] == "sender"
        and r.json()["text"] == ""
        and r.json()["attachment"] is None
    )
    assert not Attachment.objects.filter(pk=picture.pk).exists()
    assert not any(storage._path(n).exists() for n in picture.files())
    seen = history(world.client("moderator"), world)
    assert seen[m["id"]]["deleted"] == "sender" and seen[m["id"]]["text"] == ""
    assert seen[reply["id"]]["reply_preview"]["text"] == "[Message deleted]"
    r = world.client("member").delete(url(world, m["id"]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "message_deleted"


def test_members_cannot_delete_others_but_moderators_remove_them_visibly(world: World) -> None:
    m = sent(world, "leader", "buy this miracle cure")
    assert world.client("member").delete(url(world, m["id"])).status_code == 403
    r = world.client("moderator").delete(url(world, m["id"]))
    assert r.status_code == 200 and r.json()["deleted"] == "moderator"
    assert (
        "miracle"
        not in world.client("member")
        .get(f"/api/v1/groups/{world.group.pk}/messages")
        .content.decode()
    )


def test_reactions_toggle_once_per_person_and_emoji(world: World) -> None:
    m = sent(world)
    react = lambda role, emoji, on=True: world.client(role).post(  # noqa: E731
        url(world, m["id"], "/reactions"),
        {"emoji": emoji, "on": on},
        content_type="application/json",
    )
    assert react("leader", "💪").json()["reactions"] == [
        {"emoji": "💪", "users": [world.users["leader"].pk]}
    ]  # type: ignore[union-attr]
    react("leader", "💪")  # twice is still once
    react("moderator", "💪")
    r = react("moderator", "🙏")
    assert r.json()["reactions"] == [  # in the picker's order, not the order given
        {"emoji": "🙏", "users": [world.users["moderator"].pk]},  # type: ignore[union-attr]
        {"emoji": "💪", "users": [world.users["leader"].pk, world.users["moderator"].pk]},  # type: ignore[union-attr]
    ]
    r = react("leader", "💪", False)
    assert r.json()["reactions"][1]["users"] == [world.users["moderator"].pk]  # type: ignore[union-attr]
    bad = react("member", "💩")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_reaction"
    assert react("outsider", "💪").status_code == 404


def test_the_history_tells_the_newest_change_so_a_client_can_catch_up(world: World) -> None:
    m = sent(world)
    before = (
        world.client("leader").get(f"/api/v1/groups/{world.group.pk}/messages").json()["change_seq"]
    )
    do_react(world.users["leader"], world.group.pk, m["id"], "👍", True)  # type: ignore[arg-type]
    after = (
        world.client("leader").get(f"/api/v1/groups/{world.group.pk}/messages").json()["change_seq"]
    )
    assert after == before + 1


@pytest.mark.django_db(transaction=True)
async def test_open_sockets_get_changes_live_and_a_reconnect_gets_the_missed_ones() -> None:
    world = await database_sync_to_async(build_world)()
    m, _ = await database_sync_to_async(do_send_message)(
        world.users["member"], world.group.pk, client_id="a", text="original"
    )
    live, _ = await connect(world, "leader", after=m["id"])
    await database_sync_to_async(do_edit_message)(
        world.users["member"], world.group.pk, m["id"], "fixed"
    )
    event = await live.receive_json_from(timeout=3)
    assert event["type"] == "message.updated" and event["message"]["text"] == "fixed"
    seq = event["change_seq"]
    await live.disconnect()
    # While away: a reaction and a new message.
    await database_sync_to_async(do_react)(
        world.users["moderator"], world.group.pk, m["id"], "🤗", True
    )
    new, _ = await database_sync_to_async(do_send_message)(
        world.users["member"], world.group.pk, client_id="b", text="later"
    )
    from channels.testing import WebsocketCommunicator

    from tongzhou.accounts.models import ApiToken
    from tongzhou.asgi import application

    token = await database_sync_to_async(ApiToken.issue)(world.users["leader"])
    back = WebsocketCommunicator(
        application,
        f"/ws/groups/{world.group.pk}/?after={m['id']}&changes_after={seq}",
        headers=[(b"authorization", f"Bearer {token}".encode())],
    )
    assert (await back.connect())[0]
    got = [await back.receive_json_from(timeout=3), await back.receive_json_from(timeout=3)]
    assert {e["type"] for e in got} == {"message.new", "message.updated"}
    updated = next(e for e in got if e["type"] == "message.updated")
    assert updated["message"]["reactions"][0]["emoji"] == "🤗" and updated["change_seq"] == seq + 1
    assert next(e for e in got if e["type"] == "message.new")["message"]["id"] == new["id"]
    assert await back.receive_nothing(timeout=0.3)
    await back.disconnect()
