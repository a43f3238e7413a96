from __future__ import annotations

import pytest
from django.test import Client

from tongzhou.chat.actions import do_send_message
from tongzhou.chat.models import Message
from tongzhou.groups.models import Membership

from .conftest import World

pytestmark = pytest.mark.django_db


def send(c: Client, gid: int, **body: object):  # type: ignore[no-untyped-def]
    return c.post(f"/api/v1/groups/{gid}/messages", body, content_type="application/json")


def test_send_answers_with_everything_the_server_decided(world: World) -> None:
    c = world.client("member")
    r = send(
        c, world.group.pk, client_id="a1", text="  放疗第三周口腔溃疡怎么办？  ", kind="question"
    )
    assert r.status_code == 201, r.json()
    m = r.json()
    assert m["text"] == "放疗第三周口腔溃疡怎么办？"
    assert m["kind"] == "question" and m["status"] == "visible" and m["notices"] == []
    assert m["sender"] == {"id": world.users["member"].pk, "display_name": "Member", "badge": None}  # type: ignore[union-attr]
    assert m["group"] == world.group.pk and m["created_at"]


def test_a_retried_client_id_never_duplicates(world: World) -> None:
    c = world.client("member")
    first = send(c, world.group.pk, client_id="retry-1", text="hello")
    again = send(c, world.group.pk, client_id="retry-1", text="hello")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Message.objects.filter(client_id="retry-1").count() == 1
    # The same client_id from another person is a different message.
    other = send(world.client("leader"), world.group.pk, client_id="retry-1", text="hello")
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"client_id": "e1", "text": "   "}, 400, "empty_message"),
        ({"client_id": "e2", "text": "字" * 4001}, 413, "message_too_long"),
        ({"client_id": "e3", "text": "hi", "kind": "shout"}, 400, "invalid_kind"),
        ({"client_id": "", "text": "hi"}, 400, "invalid_client_id"),
        ({"client_id": "e4", "text": ["not", "text"]}, 422, "invalid_input"),
        ({"text": "no id"}, 422, "invalid_input"),
        ({"client_id": "e5", "text": "hi", "reply_to": 999999}, 400, "reply_not_found"),
    ],
)
def test_bad_sends_are_refused_clearly_and_nothing_is_stored(
    world: World, body: dict[str, object], status: int, code: str
) -> None:
    r = send(world.client("member"), world.group.pk, **body)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]
    assert Message.objects.count() == 0


def test_exactly_4000_characters_is_fine(world: World) -> None:
    r = send(world.client("member"), world.group.pk, client_id="long", text="字" * 4000)
    assert r.status_code == 201


def test_unknown_group_is_404(world: World) -> None:
    r = send(world.client("member"), 987654, client_id="x", text="hi")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_a_foreign_group_looks_exactly_like_a_missing_one(world: World) -> None:
    """Ids cannot be probed: the answer for "not yours" is byte-for-byte the "no such" one."""
    client = world.client("outsider")
    missing = 987654
    for path in ("/api/v1/groups/{}/messages", "/api/v1/groups/{}/members"):
        real = client.get(path.format(world.group.pk))
        fake = client.get(path.format(missing))
        assert (real.status_code, real.content) == (fake.status_code, fake.content)
        assert real.status_code == 404
    real = send(client, world.group.pk, client_id="p", text="probe")
    fake = send(client, missing, client_id="p", text="probe")
    assert (real.status_code, real.content) == (fake.status_code, fake.content)


def test_reply_must_be_in_the_same_group(world: World) -> None:
    outsider = world.users["outsider"]
    other_msg, _ = do_send_message(outsider, world.other_group.pk, client_id="o", text="elsewhere")  # type: ignore[arg-type]
    r = send(
        world.client("member"), world.group.pk, client_id="r", text="re", reply_to=other_msg["id"]
    )
    assert r.status_code == 400
    mine = send(world.client("member"), world.group.pk, client_id="q", text="question").json()
    r = send(
        world.client("leader"), world.group.pk, client_id="a", text="answer", reply_to=mine["id"]
    )
    assert r.json()["reply_to"] == mine["id"]
    assert r.json()["reply_preview"]["text"] == "question"


def test_history_pages_in_id_order(world: World) -> None:
    leader = world.users["leader"]
    ids = [
        do_send_message(leader, world.group.pk, client_id=f"h{i}", text=f"m{i}")[0]["id"]
        for i in range(30)
    ]  # type: ignore[arg-type]
    c = world.client("member")
    url = f"/api/v1/groups/{world.group.pk}/messages"
    newest = c.get(url, {"limit": 10}).json()["messages"]
    assert [m["id"] for m in newest] == ids[-10:]
    older = c.get(url, {"limit": 10, "before": newest[0]["id"]}).json()["messages"]
    assert [m["id"] for m in older] == ids[10:20]
    after = c.get(url, {"after": ids[4], "limit": 3}).json()["messages"]
    assert [m["id"] for m in after] == ids[5:8]
    assert c.get(url, {"limit": "lots"}).status_code == 422


def test_messages_of_another_group_never_leak(world: World) -> None:
    do_send_message(
        world.users["outsider"], world.other_group.pk, client_id="o", text="other group secret"
    )  # type: ignore[arg-type]
    r = world.client("member").get(f"/api/v1/groups/{world.group.pk}/messages")
    assert "other group secret" not in r.content.decode()


def test_unread_marker_moves_forward_only(world: World) -> None:
    leader = world.users["leader"]
    ids = [
        do_send_message(leader, world.group.pk, client_id=f"u{i}", text="x")[0]["id"]
        for i in range(5)
    ]  # type: ignore[arg-type]
    c = world.client("member")
    url = f"/api/v1/groups/{world.group.pk}/read"
    assert c.post(url, {"last_read_id": ids[2]}, content_type="application/json").json() == {
        "last_read_id": ids[2]
    }
    assert c.post(url, {"last_read_id": ids[0]}, content_type="application/json").json() == {
        "last_read_id": ids[2]
    }
    assert c.post(url, {"last_read_id": 10**9}, content_type="application/json").json() == {
        "last_read_id": ids[-1]
    }
    page = c.get("/groups/").content.decode()
    assert 'class="badge"' not in page
    do_send_message(leader, world.group.pk, client_id="u-new", text="new")  # type: ignore[arg-type]
    page = c.get("/groups/").content.decode()
    assert 'class="badge"' in page
    assert (
        Membership.objects.get(group=world.group, user=world.users["member"]).last_read_id
        == ids[-1]
    )


def test_chat_page_carries_the_unread_marker_position(world: World) -> None:
    page = world.client("member").get(f"/groups/{world.group.pk}/chat/").content.decode()
    assert 'id="chat-config"' in page and '"lastReadId": 0' in page


def test_invisible_control_characters_are_dropped_not_stored(world: World) -> None:
    """NUL cannot be stored by PostgreSQL (a 500 before this); nobody types it on purpose."""
    r = send(
        world.client("member"), world.group.pk, client_id="nul", text="放疗\x00第三周\x07\r\n好"
    )
    assert r.status_code == 201 and r.json()["text"] == "放疗第三周\n好"
    r = world.client("member").patch(
        "/api/v1/me/profile", {"display_name": "A\x00B"}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["display_name"] == "AB"
    r = send(world.client("member"), world.group.pk, client_id="\x00", text="hi")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_client_id"
