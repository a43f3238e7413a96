"""Reactions, a quick correction and deletions, seen live by the other member in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from ..conftest import LiveServer
from .conftest import group_with_member, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_chat(browser: Browser, server: LiveServer, user: str, password: str, gid: int) -> Page:
    page = browser.new_context(viewport={"width": 390, "height": 800}, locale="en-US").new_page()
    page.on("dialog", lambda d: d.accept())  # the "delete for everyone?" question
    sign_in(page, server.url, user, password)
    page.goto(f"{server.url}/groups/{gid}/chat/")
    expect(page.locator("#conn")).to_have_text("Connected")
    return page


def test_react_edit_delete_and_a_moderators_removal_reach_the_other_member_live(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    _leader, group = group_with_member("Changes group", "fang", "fang-pass-2026")
    fang = open_chat(browser, asgi_server, "fang", "fang-pass-2026", group.pk)
    lead = open_chat(browser, asgi_server, "lead", "leader-pass-2026", group.pk)

    fang.get_by_label("Message", exact=True).fill("明天第一次放疗，有点怕")
    fang.get_by_role("button", name="Send").click()
    theirs = lead.locator(".message").filter(has_text="明天第一次放疗")
    expect(theirs).to_be_visible()

    theirs.get_by_role("button", name="React").click()
    theirs.get_by_role("button", name="React with 💪").click()
    chip = fang.locator(".message.mine .chip")
    expect(chip).to_have_text("💪 1")  # arrived live
    expect(theirs.locator(".chip")).to_have_attribute("aria-pressed", "true")
    chip.click()  # Fang adds hers to the same one
    expect(theirs.locator(".chip")).to_have_text("💪 2")
    lead.screenshot(path=shots / "1-reactions.png")

    mine = fang.locator(".message.mine").filter(has_text="明天第一次放疗")
    mine.get_by_role("button", name="Edit").click()
    expect(fang.locator("#replying-text")).to_have_text("Editing your message")
    fang.get_by_label("Message", exact=True).fill("明天第一次放疗，有点紧张")
    fang.get_by_role("button", name="Send").click()
    edited = lead.locator(".message").filter(has_text="有点紧张")
    expect(edited.locator(".edited")).to_be_visible()
    expect(edited.locator(".chip")).to_have_text("💪 2")  # reactions survive the edit
    assert lead.locator(".message").count() == 1  # changed in place, not added

    fang.locator(".message.mine").get_by_role("button", name="Delete").click()
    expect(lead.locator(".message.deleted .text")).to_have_text("This message was deleted.")
    expect(lead.locator(".message.deleted .chip")).to_have_count(0)

    # The leader removes an off-topic message of Fang's (a salesman's is held, see
    # test_safety_journey.py); Fang sees it removed.
    fang.get_by_label("Message", exact=True).fill("周末一起去爬山吧，不聊病了")
    fang.get_by_role("button", name="Send").click()
    ad = lead.locator(".message").filter(has_text="一起去爬山")
    ad.get_by_role("button", name="Remove").click()
    expect(fang.locator(".message.deleted .text").last).to_have_text("Removed by a moderator.")
    expect(fang.locator(".message").filter(has_text="一起去爬山")).to_have_count(0)
    fang.screenshot(path=shots / "2-deleted-and-removed.png")
