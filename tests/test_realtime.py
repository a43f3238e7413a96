"""Who receives what over the WebSocket, and that nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest
import websockets
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from tongzhou.accounts.models import ApiToken
from tongzhou.asgi import application
from tongzhou.chat.actions import do_send_message
from tongzhou.groups.actions import do_remove_member
from tongzhou.groups.models import Membership
from tongzhou.realtime import group_channel

from .conftest import ROLES, LiveServer, World, build_world

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(
    world: World, role: str, after: int | None = None
) -> tuple[WebsocketCommunicator, bool]:
    user = world.users[role]
    headers = []
    if user is not None:
        token = await database_sync_to_async(ApiToken.issue)(user)
        headers.append((b"authorization", f"Bearer {token}".encode()))
    path = f"/ws/groups/{world.group.pk}/" + (f"?after={after}" if after is not None else "")
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _sub = await comm.connect()
    return comm, connected


async def next_close_code(comm: WebsocketCommunicator) -> int | None:
    out = await comm.receive_output(timeout=3)
    return out.get("code") if out["type"] == "websocket.close" else None


@pytest.mark.parametrize("role", ROLES)
async def test_websocket_access(role: str) -> None:
    world = await database_sync_to_async(build_world)()
    comm, connected = await connect(world, role, after=0)
    if role in ("member", "moderator", "leader"):
        assert connected
        await comm.send_json_to(
            {"type": "send", "client_id": f"ws-{role}", "text": "hello over ws"}
        )
        got = await comm.receive_json_from(timeout=3)
        types = {got["type"]}
        got2 = await comm.receive_json_from(timeout=3)
        types.add(got2["type"])
        assert types == {"ack", "message.new"}
    else:
        expected = 4401 if role == "anonymous" else 4403
        assert await next_close_code(comm) == expected
    await comm.disconnect()


async def test_members_receive_live_and_outsiders_do_not() -> None:
    world = await database_sync_to_async(build_world)()
    member, _ = await connect(world, "member")
    moderator, _ = await connect(world, "moderator")
    msg, _c = await database_sync_to_async(do_send_message)(
        world.users["leader"], world.group.pk, client_id="live", text="大家好"
    )
    for comm in (member, moderator):
        event = await comm.receive_json_from(timeout=3)
        assert event == {"type": "message.new", "message": msg}
    # Nothing else arrives (no duplicates).
    assert await member.receive_nothing(timeout=0.3)
    await member.disconnect()
    await moderator.disconnect()


async def test_session_cookie_needs_our_origin() -> None:
    world = await database_sync_to_async(build_world)()
    client = Client()
    await database_sync_to_async(client.force_login)(world.users["member"])
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    path = f"/ws/groups/{world.group.pk}/"
    good = WebsocketCommunicator(
        application, path, headers=[(b"cookie", cookie), (b"origin", b"http://localhost")]
    )
    assert (await good.connect())[0]
    assert await good.receive_nothing(timeout=0.2)
    await good.disconnect()
    evil = WebsocketCommunicator(
        application, path, headers=[(b"cookie", cookie), (b"origin", b"https://evil.example")]
    )
    await evil.connect()
    assert await next_close_code(evil) == 4401


async def test_removal_closes_open_sockets_at_once() -> None:
    world = await database_sync_to_async(build_world)()
    member, _ = await connect(world, "member")
    other, _ = await connect(world, "moderator")

    def remove() -> None:
        leader = Membership.objects.get(group=world.group, user=world.users["leader"])
        do_remove_member(
            leader, Membership.objects.get(group=world.group, user=world.users["member"])
        )

    await database_sync_to_async(remove)()
    assert await next_close_code(member) == 4403
    assert await other.receive_nothing(timeout=0.3)  # others stay connected
    await database_sync_to_async(do_send_message)(
        world.users["leader"], world.group.pk, client_id="after", text="still here"
    )
    assert (await other.receive_json_from(timeout=3))["message"]["text"] == "still here"
    await other.disconnect()


async def test_late_or_lost_event_is_filled_from_the_database() -> None:
    """If message 2's event arrives before message 1's (or 1's is lost), the socket still
    delivers 1 then 2, each once."""
    world = await database_sync_to_async(build_world)()
    comm, _ = await connect(world, "member")
    layer = get_channel_layer()
    first, _c = await database_sync_to_async(do_send_message)(
        world.users["leader"], world.group.pk, client_id="g1", text="one"
    )
    assert (await comm.receive_json_from(timeout=3))["message"]["id"] == first["id"]

    def write_quietly(text: str, cid: str) -> dict[str, Any]:
        from tongzhou.chat.models import Message
        from tongzhou.chat.serialize import message_dict

        m = Message.objects.create(
            group=world.group, sender=world.users["leader"], client_id=cid, text=text
        )
        return dict(message_dict(m))

    lost = await database_sync_to_async(write_quietly)("lost event", "g2")
    late = await database_sync_to_async(write_quietly)("late event", "g3")
    await layer.group_send(
        group_channel(world.group.pk),
        {"type": "message.new", "message": late, "prev_id": lost["id"]},
    )
    got = [await comm.receive_json_from(timeout=3), await comm.receive_json_from(timeout=3)]
    assert [g["message"]["text"] for g in got] == ["lost event", "late event"]
    # The lost event turning up late changes nothing.
    await layer.group_send(
        group_channel(world.group.pk),
        {"type": "message.new", "message": lost, "prev_id": first["id"]},
    )
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


def post_messages(server: LiveServer, token: str, gid: int, prefix: str, count: int) -> list[int]:
    """Send `count` messages through the real server, one after another; their ids."""
    ids = []
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as h:
        for i in range(count):
            r = h.post(
                f"/api/v1/groups/{gid}/messages",
                json={"client_id": f"{prefix}{i}", "text": f"{prefix}{i}"},
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    return ids


def test_reconnect_mid_burst_gets_every_message_exactly_once(asgi_server: LiveServer) -> None:
    """A real server and a real client: the socket drops during a burst of 120 sends and the
    client reconnects with after=<last id seen>."""
    world = build_world()
    gid = world.group.pk
    reader_token = ApiToken.issue(world.users["member"])  # type: ignore[arg-type]
    sender_token = ApiToken.issue(world.users["leader"])  # type: ignore[arg-type]
    total = 120
    sent_ids: list[int] = []

    def burst() -> None:
        sent_ids.extend(post_messages(asgi_server, sender_token, gid, "b", total))

    async def read() -> list[int]:
        url = f"{asgi_server.ws_url}/ws/groups/{gid}/"
        headers = {"Authorization": f"Bearer {reader_token}"}
        received: list[int] = []
        sender = threading.Thread(target=burst)
        async with websockets.connect(url + "?after=0", additional_headers=headers) as ws:
            sender.start()
            while len(received) < 30:
                received.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["message"]["id"])
        # Dropped mid-burst; the sender carries on while we are away.
        await asyncio.sleep(0.3)
        async with websockets.connect(
            f"{url}?after={received[-1]}", additional_headers=headers
        ) as ws:
            while len(received) < total:
                received.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["message"]["id"])
            sender.join(timeout=60)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.5)  # and nothing more
        return received

    received = asyncio.run(read())
    assert len(sent_ids) == total
    assert received == sorted(sent_ids)
    assert len(set(received)) == total


def test_concurrent_senders_arrive_in_id_order_without_gaps(asgi_server: LiveServer) -> None:
    """Three people send at once; a connected member receives every message once, in id order."""
    world = build_world()
    gid = world.group.pk
    senders = [world.users[r] for r in ("leader", "moderator", "member")]
    tokens = [ApiToken.issue(u) for u in senders]  # type: ignore[arg-type]
    reader_token = ApiToken.issue(world.users["member"])  # type: ignore[arg-type]
    per_sender = 25
    total = per_sender * len(tokens)

    def send_all(n: int, token: str) -> None:
        post_messages(asgi_server, token, gid, f"c{n}-", per_sender)

    async def read() -> list[int]:
        url = f"{asgi_server.ws_url}/ws/groups/{gid}/?after=0"
        got: list[int] = []
        async with websockets.connect(
            url, additional_headers={"Authorization": f"Bearer {reader_token}"}
        ) as ws:
            threads = [threading.Thread(target=send_all, args=(n, t)) for n, t in enumerate(tokens)]
            for t in threads:
                t.start()
            while len(got) < total:
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 15))["message"]["id"])
            for t in threads:
                t.join(timeout=60)
        return got

    got = asyncio.run(read())
    from tongzhou.chat.models import Message

    stored = list(Message.objects.filter(group_id=gid).order_by("id").values_list("id", flat=True))
    assert got == stored
    assert len(stored) == total
