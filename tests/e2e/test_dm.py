"""Direct messages on phones (issue 10): two members chat live; one reports a pushy message
and blocks the sender, whose next send is refused; a newcomer's "Message" is refused with the
reason; the report reaches the moderation page and is marked handled. Real Chromium, 360 px,
one member reading Chinese and one English."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone, translation
from playwright.sync_api import Browser, Page, expect

from tongzhou.accounts.actions import do_register
from tongzhou.accounts.models import User
from tongzhou.community.models import DirectReport
from tongzhou.groups.actions import do_apply, do_create_group, do_decide
from tongzhou.groups.models import Group, Membership

from ..conftest import LiveServer
from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "member-pass-2026"
PHONE = {"width": 360, "height": 740}
LANG = {"zh-CN": "zh-hans", "en-US": "en"}
SIGN_IN = {
    "en-US": {"login_username": "Username", "password": "Password", "sign_in": "Sign in"},
    "zh-CN": {"login_username": "用户名", "password": "密码", "sign_in": "登录"},
}
HELLO = "小芳你好，听说你爸爸下周开始放疗，有什么想问的尽管问我。"
THANKS = "Thank you 陈大哥! What should he eat during radiotherapy?"
SOFT = "吃软的、凉的，少吃辣。"
PUSHY = "对了，我有朋友卖灵芝孢子粉，效果很好，你考虑一下？"
AFTER = "你怎么不回我了？"


@pytest.fixture(autouse=True)
def patient() -> Iterator[None]:
    expect.set_options(timeout=15_000)  # a shared 2-core machine: slow is not wrong
    yield
    expect.set_options(timeout=5_000)


def says(locale: str, msgid: str, **values: Any) -> str:
    with translation.override(LANG[locale]):
        text = translation.gettext(msgid)
    return text % values if values else text


def member(leader: User, group: Group, username: str, name: str, days: int) -> User:
    user = do_register(username, PASSWORD, name)
    do_decide(leader, do_apply(user, group, role="patient"), approve=True)
    Membership.objects.filter(group=group, user=user).update(
        joined_at=timezone.now() - dt.timedelta(days=days)
    )
    return user


def phone(browser: Browser, server: LiveServer, username: str, password: str, locale: str) -> Page:
    context = browser.new_context(
        viewport=PHONE, locale=locale, timezone_id="Asia/Shanghai", device_scale_factor=2
    )
    page = context.new_page()
    sign_in(page, server.url, username, password, labels=SIGN_IN[locale])
    expect(page).to_have_url(re.compile(r"/groups/$"))
    return page


def fits_the_phone(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def live(page: Page) -> None:
    expect(page.locator("#dm")).to_have_attribute("data-live", "1")


def bubble(page: Page, text: str) -> Any:
    return page.locator("#dm-messages .message").filter(has_text=text)


def test_two_members_chat_live_then_a_block_a_newcomer_and_a_report(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    leader = do_register("lead", "leader-pass-2026", "老李")
    group = do_create_group(leader, "鼻咽癌互助群")
    gid = group.pk
    chen = member(leader, group, "laochen", "陈大哥", 120)
    fang = member(leader, group, "xiaofang", "小芳 Fang", 40)
    member(leader, group, "xiaoxin", "小新", 1)

    zh, en = "zh-CN", "en-US"
    # --- 1. 陈大哥 writes to 小芳 from the member list ------------------------------------
    a = phone(browser, asgi_server, "laochen", PASSWORD, zh)
    a.goto(f"{asgi_server.url}/groups/{gid}/members/")
    a.get_by_role("link", name=says(zh, "Message %(name)s", name="小芳 Fang")).click()
    expect(a).to_have_url(re.compile(rf"/messages/new/{fang.pk}/\?group={gid}$"))
    a.get_by_label(says(zh, "Your message")).fill(HELLO)
    fits_the_phone(a)
    a.screenshot(path=shots / "01-chen-writes-first.png", full_page=True)
    a.get_by_role("button", name=says(zh, "Send")).click()
    expect(a).to_have_url(re.compile(r"/messages/\d+/$"))
    conv_url = a.url
    expect(bubble(a, HELLO)).to_have_count(1)
    live(a)

    # --- 2. 小芳 sees it waiting, opens it, and they talk live ---------------------------
    b = phone(browser, asgi_server, "xiaofang", PASSWORD, en)
    b.goto(f"{asgi_server.url}/messages/")
    row = b.get_by_test_id("dm-inbox").get_by_role("link").filter(has_text="陈大哥")
    expect(row.get_by_test_id("dm-unread")).to_contain_text("1")
    fits_the_phone(b)
    b.screenshot(path=shots / "02-fang-inbox-unread.png", full_page=True)
    row.click()
    expect(b).to_have_url(conv_url)
    expect(bubble(b, HELLO)).to_have_count(1)
    # Read aloud, as in the group chat: on a message from the page and on one that came live.
    expect(bubble(b, HELLO).get_by_role("button", name=says(en, "Read aloud"))).to_be_visible()
    live(b)
    b.get_by_label(says(en, "Your message")).fill(THANKS)
    b.get_by_role("button", name=says(en, "Send")).click()
    expect(bubble(a, THANKS)).to_have_count(1)  # live, no reload
    expect(bubble(a, THANKS).get_by_role("button", name=says(zh, "Read aloud"))).to_be_visible()
    expect(b.get_by_label(says(en, "Your message"))).to_have_value("")
    box = a.get_by_label(says(zh, "Your message"))
    box.fill(SOFT)
    box.press("Enter")  # Enter sends
    expect(bubble(b, SOFT)).to_have_count(1)
    expect(bubble(a, SOFT)).to_have_count(1)  # once, though it came back over the socket too
    fits_the_phone(a)
    fits_the_phone(b)
    a.screenshot(path=shots / "03-chen-live.png", full_page=True)
    b.screenshot(path=shots / "04-fang-live.png", full_page=True)

    # --- 3. a pushy message: 小芳 reports it, then blocks 陈大哥 ---------------------------
    box.fill(PUSHY)
    box.press("Enter")
    pushy = bubble(b, PUSHY)
    expect(pushy).to_have_count(1)
    pushy.get_by_text(says(en, "Report this message")).click()
    pushy.get_by_label(says(en, "What is wrong?")).select_option("spam")
    pushy.get_by_label(says(en, "Anything the moderators should know (optional)")).fill(
        "He keeps selling me supplements"
    )
    b.screenshot(path=shots / "05-fang-reports.png", full_page=True)
    pushy.get_by_role("button", name=says(en, "Send the report")).click()
    expect(b.locator("ul.flash")).to_contain_text(
        says(
            en,
            "Thank you. The group's leader and moderators will see this one message, and "
            "nothing else of your conversation.",
        )
    )
    block = says(en, "Block %(name)s", name="陈大哥")
    b.locator("details.dm-block > summary").click()
    b.get_by_role("button", name=block).click()
    expect(b.get_by_test_id("dm-you-blocked")).to_be_visible()
    expect(b.locator("#dm-composer")).to_have_count(0)
    b.screenshot(path=shots / "06-fang-blocked.png", full_page=True)

    # 陈大哥 is not told; his next send is refused with the plain words.
    box.fill(AFTER)
    box.press("Enter")
    refusal = says(
        zh,
        "You cannot send direct messages to this member. They may have switched direct "
        "messages off.",
    )
    expect(a.get_by_test_id("dm-error")).to_have_text(refusal)
    expect(bubble(a, AFTER)).to_have_count(0)
    expect(box).to_have_value(AFTER)  # kept, not lost
    fits_the_phone(a)
    a.screenshot(path=shots / "07-chen-refused.png", full_page=True)
    a.reload()  # nothing arrived meanwhile, and his page says nothing of being blocked
    expect(bubble(a, AFTER)).to_have_count(0)
    expect(a.get_by_test_id("dm-you-blocked")).to_have_count(0)
    expect(a.locator("#dm-composer")).to_be_visible()

    # --- 4. a newcomer's "Message" is refused with the reason ---------------------------
    c = phone(browser, asgi_server, "xiaoxin", PASSWORD, en)
    c.goto(f"{asgi_server.url}/groups/{gid}/members/")
    c.get_by_role("link", name=says(en, "Message %(name)s", name="陈大哥")).click()
    expect(c.locator(".error-text")).to_contain_text(group.name)
    expect(c.locator(".error-text")).to_contain_text("7")
    assert "7 days after joining" in c.locator(".error-text").inner_text()
    fits_the_phone(c)
    c.screenshot(path=shots / "08-newcomer-refused.png", full_page=True)

    # --- 5. the report reaches the moderation page, and only that message ---------------
    lead = phone(browser, asgi_server, "lead", "leader-pass-2026", zh)
    lead.goto(f"{asgi_server.url}/groups/{gid}/moderation/")
    report = lead.get_by_test_id("dm-report")
    expect(report).to_have_count(1)
    expect(report.locator(".reported-message")).to_have_text(PUSHY)
    expect(report).to_contain_text("陈大哥")
    expect(report).to_contain_text("He keeps selling me supplements")
    section = lead.get_by_test_id("dm-reports").inner_text()
    assert HELLO not in section and THANKS not in section and SOFT not in section
    fits_the_phone(lead)
    report.scroll_into_view_if_needed()
    lead.screenshot(path=shots / "09-leader-sees-the-report.png", full_page=True)
    report.get_by_role("button", name=says(zh, "Mark as handled")).click()
    expect(lead.get_by_test_id("dm-report")).to_have_count(0)
    assert DirectReport.objects.get().handled_by_id == leader.pk
    # The leader cannot open the conversation itself.
    response = lead.goto(conv_url)
    assert response is not None and response.status == 404
    expect(lead.locator("#dm-messages")).to_have_count(0)
    assert Membership.objects.filter(user=chen, status="active").exists()
