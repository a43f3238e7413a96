"""A phone's socket goes quiet (half-open), others keep talking, the member sends a message
over HTTP, then the socket reconnects: nothing the others said is skipped."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, WebSocketRoute, expect

from tongzhou.accounts.models import ApiToken

from ..conftest import LiveServer
from .conftest import group_with_member, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_messages_sent_while_the_socket_was_quiet_arrive_after_reconnect(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    leader, group = group_with_member("Quiet socket group", "member", "member-pass-2026")
    token = ApiToken.issue(leader)

    sockets: list[dict[str, Any]] = []

    def route(ws: WebSocketRoute) -> None:
        state: dict[str, Any] = {"ws": ws, "quiet": False, "url": ws.url}
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            if not state["quiet"]:
                ws.send(message)

        server.on_message(from_server)
        sockets.append(state)

    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
    page = ctx.new_page()
    page.route_web_socket(re.compile(r"/ws/groups/"), route)
    sign_in(page, asgi_server.url, "member", "member-pass-2026")
    page.goto(f"{asgi_server.url}/groups/{group.pk}/chat/")
    expect(page.locator("#conn")).to_have_text("Connected")

    def leader_says(text: str, cid: str) -> None:
        r = httpx.post(
            f"{asgi_server.url}/api/v1/groups/{group.pk}/messages",
            json={"client_id": cid, "text": text},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text

    leader_says("before the silence", "l0")
    expect(page.locator(".message .text", has_text="before the silence")).to_be_visible()

    sockets[-1]["quiet"] = True  # half-open: the server's frames no longer reach the phone
    leader_says("said in the silence 1", "l1")
    leader_says("said in the silence 2", "l2")
    page.get_by_role("textbox", name="Message", exact=True).fill("my own message")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".message .text", has_text="my own message")).to_be_visible()
    expect(page.locator(".message .text", has_text="said in the silence")).to_have_count(0)

    sockets[-1]["ws"].close(code=4000, reason="network change")
    expect(page.locator(".message .text", has_text="said in the silence 1")).to_have_count(1)
    expect(page.locator(".message .text", has_text="said in the silence 2")).to_have_count(1)
    assert len(sockets) == 2 and "after=" in sockets[-1]["url"]
    texts = page.locator(".message .text").all_text_contents()
    assert texts == [
        "before the silence",
        "said in the silence 1",
        "said in the silence 2",
        "my own message",
    ]
    page.screenshot(path=shots / "after-reconnect.png")
    ctx.close()
