"""Sessions and tokens a person can see and end; every way in closes when it should."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets
from django.test import Client

from tongzhou.accounts.actions import do_deactivate
from tongzhou.accounts.models import ApiToken, SignInFailure, User, UserSession
from tongzhou.accounts.sessions import device_label
from tongzhou.groups.actions import do_remove_member
from tongzhou.groups.models import Membership

from .conftest import PASSWORD, LiveServer, World, build_world

PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36"
)
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44"
)


def sign_in(ua: str, username: str = "member1") -> Client:
    c = Client(HTTP_USER_AGENT=ua)
    r = c.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert r.status_code == 302, r.content[:300]
    return c


def test_device_labels_are_recognisable_and_keep_no_version_noise() -> None:
    assert device_label(PHONE_UA) == "Chrome · Android"
    assert device_label(WECHAT_UA) == "WeChat · iPhone"
    assert device_label("python-httpx/0.27.0") == "python-httpx"
    assert device_label("") == ""


def test_a_member_sees_each_signed_in_device_and_which_one_this_is(world: World) -> None:
    phone = sign_in(PHONE_UA)
    wechat = sign_in(WECHAT_UA)
    sessions = phone.get("/api/v1/me/sessions").json()
    assert sorted(s["device"] for s in sessions) == ["Chrome · Android", "WeChat · iPhone"]
    assert [s["device"] for s in sessions if s["current"]] == ["Chrome · Android"]
    assert all(s["started_at"] and len(s["id"]) == 16 for s in sessions)
    # The id is not the session key: it cannot be replayed as a cookie.
    keys = set(UserSession.objects.values_list("session_key", flat=True))
    assert not {s["id"] for s in sessions} & keys
    page = wechat.get("/accounts/security/").content.decode()
    assert "Chrome · Android" in page and "WeChat · iPhone" in page


def test_ending_a_session_signs_that_device_out_only(world: World) -> None:
    phone = sign_in(PHONE_UA)
    lost = sign_in(WECHAT_UA)
    sessions = phone.get("/api/v1/me/sessions").json()
    lost_id = next(s["id"] for s in sessions if not s["current"])
    r = phone.delete(f"/api/v1/me/sessions/{lost_id}")
    assert r.status_code == 204
    assert lost.get("/api/v1/me").status_code == 401
    assert lost.get("/accounts/profile/").status_code == 302  # back to sign-in
    assert phone.get("/api/v1/me").status_code == 200
    again = phone.delete(f"/api/v1/me/sessions/{lost_id}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "session_not_found"


def test_sign_out_everywhere_else_from_the_page(world: World) -> None:
    phone = sign_in(PHONE_UA)
    others = [sign_in(WECHAT_UA) for _ in range(3)]
    r = phone.post("/accounts/security/", {"action": "end_others"})
    assert r.status_code == 302
    assert all(o.get("/api/v1/me").status_code == 401 for o in others)
    assert phone.get("/api/v1/me").status_code == 200
    assert UserSession.objects.filter(user=world.users["member"]).count() == 1


def test_password_change_ends_other_sessions_and_tokens_but_not_this_one(world: World) -> None:
    phone = sign_in(PHONE_UA)
    laptop = sign_in(WECHAT_UA)
    member = world.users["member"]
    old_token = ApiToken.issue(member, "old app")  # type: ignore[arg-type]
    r = phone.post(
        "/api/v1/me/password",
        {"current_password": PASSWORD, "new_password": "a whole new horse 2027"},
        content_type="application/json",
    )
    assert r.status_code == 204
    assert phone.get("/api/v1/me").status_code == 200
    assert laptop.get("/api/v1/me").status_code == 401
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {old_token}").status_code == 401
    assert Client().login(username="member1", password="a whole new horse 2027")


def test_password_change_through_a_token_keeps_that_token(world: World) -> None:
    laptop = sign_in(WECHAT_UA)
    member = world.users["member"]
    token = ApiToken.issue(member, "this app")  # type: ignore[arg-type]
    other = ApiToken.issue(member, "another app")  # type: ignore[arg-type]
    c = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    r = c.post(
        "/api/v1/me/password",
        {"current_password": PASSWORD, "new_password": "a whole new horse 2027"},
        content_type="application/json",
    )
    assert r.status_code == 204
    assert c.get("/api/v1/me").status_code == 200
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 401
    assert laptop.get("/api/v1/me").status_code == 401


def test_wrong_current_password_changes_nothing_and_counts_as_a_failure(world: World) -> None:
    phone = sign_in(PHONE_UA)
    laptop = sign_in(WECHAT_UA)
    for _ in range(5):
        r = phone.post(
            "/api/v1/me/password",
            {"current_password": "guess", "new_password": "a whole new horse 2027"},
            content_type="application/json",
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "wrong_password"
    assert SignInFailure.objects.filter(username="member1").count() == 5
    r = phone.post(
        "/api/v1/me/password",
        {"current_password": PASSWORD, "new_password": "a whole new horse 2027"},
        content_type="application/json",
    )
    assert r.status_code == 429  # someone guessing at an open laptop is stopped
    assert laptop.get("/api/v1/me").status_code == 200
    assert Client().login(username="member1", password=PASSWORD)


def test_weak_new_password_is_refused_in_the_members_language(world: World) -> None:
    phone = sign_in(PHONE_UA)
    r = phone.post(
        "/accounts/security/",
        {"action": "password", "current_password": PASSWORD, "new_password": "123"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert r.status_code == 400
    assert "密码" in r.content.decode()
    assert phone.get("/api/v1/me").status_code == 200


def test_tokens_are_listed_by_name_and_revocable(world: World) -> None:
    c = Client()
    r = c.post(
        "/api/v1/auth/token",
        {"username": "member1", "password": PASSWORD, "name": "tablet"},
        content_type="application/json",
    )
    token = r.json()["token"]
    app = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    listed = app.get("/api/v1/me/tokens").json()
    assert [(t["name"], t["current"]) for t in listed] == [("tablet", True)]
    assert token not in json.dumps(listed)  # only the digest is kept; it is never shown
    phone = sign_in(PHONE_UA)
    page = phone.get("/accounts/security/").content.decode()
    assert "tablet" in page
    r = phone.post("/accounts/security/", {"action": "revoke_token", "token": listed[0]["id"]})
    assert r.status_code == 302
    assert app.get("/api/v1/me").status_code == 401
    assert phone.get("/api/v1/me/tokens").json() == []


def test_deactivated_accounts_are_locked_out_everywhere(world: World) -> None:
    phone = sign_in(PHONE_UA)
    member = world.users["member"]
    token = ApiToken.issue(member)  # type: ignore[arg-type]
    do_deactivate(member)  # type: ignore[arg-type]
    assert phone.get("/api/v1/me").status_code == 401
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    r = Client().post(
        "/api/v1/auth/token",
        {"username": "member1", "password": PASSWORD},
        content_type="application/json",
    )
    assert r.status_code == 401


# Open sockets close too: within 5 s, and nothing more arrives on them.


def http_sign_in(server: LiveServer, username: str = "member1") -> httpx.Client:
    h = httpx.Client(base_url=server.url, headers={"User-Agent": PHONE_UA})
    page = h.get("/accounts/login/").text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf
    r = h.post(
        "/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf.group(1)},
    )
    assert r.status_code == 302, r.text[:300]
    return h


def csrf_headers(h: httpx.Client) -> dict[str, str]:
    return {"X-CSRFToken": h.cookies["csrftoken"], "Referer": str(h.base_url)}


def ws_headers(h: httpx.Client) -> dict[str, str]:
    return {"Cookie": f"sessionid={h.cookies['sessionid']}", "Origin": "http://localhost"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_out(server: LiveServer, world: World, h: httpx.Client) -> None:
    page = h.get("/accounts/profile/").text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf
    assert h.post("/accounts/logout/", data={"csrfmiddlewaretoken": csrf.group(1)}).is_redirect


def end_from_elsewhere(server: LiveServer, world: World, h: httpx.Client) -> None:
    token = ApiToken.issue(world.users["member"])  # type: ignore[arg-type]
    with httpx.Client(base_url=server.url, headers=bearer(token)) as other:
        sid = next(s["id"] for s in other.get("/api/v1/me/sessions").json())
        assert other.delete(f"/api/v1/me/sessions/{sid}").status_code == 204


def change_password_elsewhere(server: LiveServer, world: World, h: httpx.Client) -> None:
    token = ApiToken.issue(world.users["member"])  # type: ignore[arg-type]
    with httpx.Client(base_url=server.url, headers=bearer(token)) as other:
        r = other.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": "a whole new horse 2027"},
        )
        assert r.status_code == 204


def deactivate(server: LiveServer, world: World, h: httpx.Client) -> None:
    do_deactivate(User.objects.get(username="member1"))


def remove_from_group(server: LiveServer, world: World, h: httpx.Client) -> None:
    leader = Membership.objects.get(group=world.group, user=world.users["leader"])
    target = Membership.objects.get(group=world.group, user=world.users["member"])
    do_remove_member(leader, target)


ENDINGS: dict[str, tuple[Callable[[LiveServer, World, httpx.Client], None], int]] = {
    "sign_out": (sign_out, 4401),
    "session_ended_from_another_device": (end_from_elsewhere, 4401),
    "password_changed_elsewhere": (change_password_elsewhere, 4401),
    "account_deactivated": (deactivate, 4401),
    "removed_from_group": (remove_from_group, 4403),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_an_open_socket_closes_within_5s_and_gets_nothing_more(
    asgi_server: LiveServer, ending: str
) -> None:
    world = build_world()
    gid = world.group.pk
    trigger, code = ENDINGS[ending]
    h = http_sign_in(asgi_server)
    leader_token = ApiToken.issue(world.users["leader"])  # type: ignore[arg-type]

    def leader_posts(text: str) -> None:
        with httpx.Client(base_url=asgi_server.url, headers=bearer(leader_token)) as lc:
            r = lc.post(f"/api/v1/groups/{gid}/messages", json={"client_id": text, "text": text})
            assert r.status_code == 201

    async def run() -> tuple[list[str], int | None, float]:
        received: list[str] = []
        url = f"{asgi_server.ws_url}/ws/groups/{gid}/"
        async with websockets.connect(url, additional_headers=ws_headers(h)) as ws:
            await asyncio.to_thread(leader_posts, "before")
            received.append(json.loads(await asyncio.wait_for(ws.recv(), 5))["message"]["text"])
            started = time.monotonic()
            await asyncio.to_thread(trigger, asgi_server, world, h)
            await asyncio.to_thread(leader_posts, "after")
            try:
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    received.append(frame["message"]["text"])
            except websockets.ConnectionClosed:
                pass
            return received, ws.close_code, time.monotonic() - started

    received, close_code, seconds = asyncio.run(run())
    assert received == ["before"]
    assert close_code == code
    assert seconds < 5
    # And the next HTTP call with that browser's cookie is refused too (or, after a removal,
    # the group's messages are no longer theirs to read).
    r = h.get(f"/api/v1/groups/{gid}/messages")
    assert r.status_code == (404 if ending == "removed_from_group" else 401)


def test_a_revoked_tokens_socket_closes_within_5s(asgi_server: LiveServer) -> None:
    world = build_world()
    gid = world.group.pk
    member = world.users["member"]
    token = ApiToken.issue(member, "app")  # type: ignore[arg-type]
    manager = ApiToken.issue(member, "manager")  # type: ignore[arg-type]
    token_id = ApiToken.objects.get(name="app").pk

    def revoke() -> Any:
        with httpx.Client(base_url=asgi_server.url, headers=bearer(manager)) as c:
            assert c.delete(f"/api/v1/me/tokens/{token_id}").status_code == 204

    async def run() -> tuple[int | None, float]:
        url = f"{asgi_server.ws_url}/ws/groups/{gid}/"
        async with websockets.connect(url, additional_headers=bearer(token)) as ws:
            started = time.monotonic()
            await asyncio.to_thread(revoke)
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            return ws.close_code, time.monotonic() - started

    code, seconds = asyncio.run(run())
    assert code == 4401 and seconds < 5
