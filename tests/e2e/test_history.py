"""Older messages load as you scroll up; every open tab of a member receives live messages."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tongzhou.accounts.models import ApiToken
from tongzhou.chat.actions import do_send_message

from ..conftest import LiveServer
from .conftest import group_with_member, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_scroll_up_pages_history_and_all_tabs_get_live_messages(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    leader, group = group_with_member("History group", "reader", "reader-pass-2026")
    for i in range(120):
        do_send_message(leader, group.pk, client_id=f"h{i}", text=f"history {i:03d}")

    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
    page = ctx.new_page()
    sign_in(page, asgi_server.url, "reader", "reader-pass-2026")
    page.goto(f"{asgi_server.url}/groups/{group.pk}/chat/")
    expect(page.locator("#conn")).to_have_text("Connected")
    messages = page.locator(".message .text")
    expect(messages.last).to_have_text("history 119")
    assert messages.count() in (50, 100)  # the newest page (and, at the top, the one before)

    older = page.get_by_role("button", name="Load older messages")
    for _ in range(20):  # tap the button until the start is reached (scrolling may beat us)
        if messages.count() == 120:
            break
        if older.is_visible():
            try:
                older.click(timeout=2000)
            except PlaywrightTimeoutError:
                pass
        page.wait_for_timeout(200)
    expect(messages).to_have_count(120)
    expect(older).to_be_hidden()
    assert messages.all_text_contents() == [f"history {i:03d}" for i in range(120)]
    # Everything is unread for this reader, so the marker moves above the very first message.
    first_items = page.locator("#messages > li").evaluate_all(
        "els => els.slice(0, 2).map(e => e.className)"
    )
    assert first_items[0] == "unread-marker" and "message" in first_items[1]
    page.screenshot(path=shots / "history-top.png")

    # A second tab of the same member: both receive the next message live, once.
    second = ctx.new_page()
    second.goto(f"{asgi_server.url}/groups/{group.pk}/chat/")
    expect(second.locator("#conn")).to_have_text("Connected")
    # Sent through the server (as a phone would), so the server's own fan-out delivers it.
    token = ApiToken.issue(leader)
    r = httpx.post(
        f"{asgi_server.url}/api/v1/groups/{group.pk}/messages",
        json={"client_id": "live-1", "text": "live to every tab"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    for tab in (page, second):
        expect(tab.locator(".message .text", has_text="live to every tab")).to_have_count(1)
    ctx.close()
