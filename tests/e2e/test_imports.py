"""Bringing the old chat along, in real Chromium on a phone (issue 11): the leader uploads a
WhatsApp export (the upload's progress shows), sees what was read and a damaged line with
its number, chooses a name for one sender, imports, and follows the progress to the result;
a member reads the History, finds an old answer through search, and claims their old name;
the leader confirms; a moderator turns an answered question into a knowledge draft."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from playwright.sync_api import Browser, Page, expect

from tongzhou.accounts.actions import do_register
from tongzhou.accounts.models import User
from tongzhou.chat.models import Message
from tongzhou.groups.actions import do_apply, do_create_group, do_decide, do_set_role
from tongzhou.groups.models import Group, Membership
from tongzhou.imports.models import Candidate, ImportedPerson
from tongzhou.knowledge.models import Entry

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
EN, ZH = "en-US", "zh-CN"

EXPORT = (
    "\ufeff"
    + "\r\n".join(
        [
            "12/03/2023, 09:01 - Messages and calls are end-to-end encrypted. No one outside of this chat can read them.",
            "12/03/2023, 09:02 - 王 芳 joined using this group's invite link",
            "12/03/2023, 09:05 - 王 芳: 请问放疗后口干怎么办？有什么好办法吗",
            "12/03/2023, 09:07 - 李姐: 多喝水，用漱口水，我放疗后口干了半年，慢慢会好的",
            "12/03/2023, 09:08 - 老张: 可以试试含片，医生开的那种，挺有用的 😊",
            "12/03/2023, 09:09 - 王 芳: 谢谢",
            "13/03/2023, 10:00 - 李姐: <Media omitted>",
            "13/03/2023, 10:01 - 老张: 今天复查结果出来了，一切正常",
            "记得带片子",
        ]
    )
    + "\r\n"
)


@pytest.fixture(autouse=True)
def patient() -> Iterator[None]:
    expect.set_options(timeout=20_000)  # a shared 2-core machine: slow is not wrong
    yield
    expect.set_options(timeout=5_000)


def says(locale: str, msgid: str, **values: Any) -> str:
    with translation.override(LANG[locale]):
        text = translation.gettext(msgid)
    return text % values if values else text


def the_group() -> tuple[Group, dict[str, User]]:
    leader = do_register("lead", PASSWORD, "老李")
    group = do_create_group(leader, "鼻咽癌互助群")
    people = {"lead": leader}
    for username, name in (("wangjie", "王姐"), ("lijie", "李姐姐")):
        user = do_register(username, PASSWORD, name)
        do_decide(leader, do_apply(user, group, role="patient"), approve=True)
        people[username] = user
    do_set_role(
        Membership.objects.get(group=group, user=leader),
        Membership.objects.get(group=group, user=people["wangjie"]),
        "moderator",
    )
    return group, people


def phone(browser: Browser, server: LiveServer, username: str, locale: str) -> Page:
    context = browser.new_context(
        viewport=PHONE, locale=locale, timezone_id="Asia/Shanghai", device_scale_factor=2
    )
    page = context.new_page()
    sign_in(page, server.url, username, PASSWORD, labels=SIGN_IN[locale])
    expect(page).to_have_url(re.compile(r"/groups/$"))
    return page


def fits_the_phone(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def test_a_leader_imports_the_old_chat_and_the_group_uses_it(
    asgi_server: LiveServer, worker: None, browser: Browser, shots: Path, tmp_path: Path
) -> None:
    group, people = the_group()
    gid = group.pk
    export = tmp_path / "WhatsApp Chat with 鼻咽癌互助群.txt"
    export.write_bytes(EXPORT.encode())

    lead = phone(browser, asgi_server, "lead", EN)
    lead.goto(f"{asgi_server.url}/groups/{gid}/settings/")
    lead.get_by_role("link", name=says(EN, "Import a chat history")).click()
    expect(lead).to_have_url(f"{asgi_server.url}/groups/{gid}/import/")
    lead.get_by_label(says(EN, "The export file")).set_input_files(str(export))
    lead.get_by_label(re.compile(says(EN, "The timezone of the times in the file"))).select_option(
        "Asia/Shanghai"
    )
    fits_the_phone(lead)
    lead.screenshot(path=shots / "01-upload.png", full_page=True)
    lead.get_by_role("button", name=says(EN, "Upload and read")).click()
    expect(lead).to_have_url(re.compile(rf"/groups/{gid}/import/\d+/$"))
    # The worker reads it; the page follows without a reload by hand.
    expect(lead.get_by_test_id("import-messages")).to_have_text("6")
    expect(lead.get_by_test_id("import-status")).to_contain_text(
        says(EN, "Read: check the names, then import")
    )
    lead.get_by_label(says(EN, "Name shown for %(name)s") % {"name": "王 芳"}).fill("小王")
    fits_the_phone(lead)
    lead.screenshot(path=shots / "02-check-names.png", full_page=True)
    lead.get_by_role("button", name=says(EN, "Import now")).click()
    result = lead.get_by_test_id("import-result")
    expect(result).to_contain_text("6 messages added")
    lead.screenshot(path=shots / "03-imported.png", full_page=True)
    assert Message.objects.filter(status="history", sender__display_name="小王").count() == 2

    # 李姐姐 (Chinese) reads the history, finds the old answer by search, claims her name.
    li = phone(browser, asgi_server, "lijie", ZH)
    li.goto(f"{asgi_server.url}/groups/{gid}/knowledge/")
    li.get_by_role("link", name=re.compile(says(ZH, "Earlier history"))).click()
    history = li.get_by_test_id("history")
    expect(history).to_contain_text("请问放疗后口干怎么办")
    expect(history).to_contain_text("今天复查结果出来了，一切正常\n记得带片子")
    expect(li.locator(".history-media")).to_have_count(1)
    fits_the_phone(li)
    li.screenshot(path=shots / "04-history-zh.png", full_page=True)
    li.goto(f"{asgi_server.url}/search/?q=漱口水&group={gid}")
    li.get_by_role("link", name=re.compile("漱口水")).first.click()
    expect(li).to_have_url(re.compile(rf"/groups/{gid}/history/\?month=2023-03&page=1#m-\d+$"))
    li.goto(f"{asgi_server.url}/groups/{gid}/history/people/")
    row = li.locator("li", has_text="李姐").filter(has=li.get_by_role("button"))
    row.get_by_role("button", name=says(ZH, "These were mine")).click()
    expect(li.locator("ul.flash")).to_contain_text(says(ZH, "Asked. The leader will confirm it."))

    lead.goto(f"{asgi_server.url}/groups/{gid}/history/people/")
    waiting = lead.get_by_test_id("pending-claims")
    expect(waiting).to_contain_text("李姐姐")
    lead.screenshot(path=shots / "05-confirm-claim.png", full_page=True)
    waiting.get_by_role("button", name=says(EN, "Confirm")).click()
    expect(lead.locator("ul.flash")).to_be_visible()
    assert ImportedPerson.objects.get(name="李姐").claimed_by == people["lijie"]
    assert Message.objects.filter(status="history", sender=people["lijie"]).count() == 2

    # 王姐 (moderator) makes the answered question into a knowledge draft.
    wang = phone(browser, asgi_server, "wangjie", EN)
    wang.goto(f"{asgi_server.url}/groups/{gid}/knowledge/")
    wang.get_by_role("link", name=re.compile(says(EN, "To review from the history"))).click()
    cands = wang.get_by_test_id("candidates")
    expect(cands).to_contain_text("请问放疗后口干怎么办")
    fits_the_phone(wang)
    wang.screenshot(path=shots / "06-review.png", full_page=True)
    cands.get_by_role("link", name=says(EN, "Make an entry")).first.click()
    wang.get_by_label(says(EN, "Category")).select_option("treatment")
    wang.get_by_role("button", name=says(EN, "Save as a draft")).click()
    expect(wang).to_have_url(re.compile(rf"/groups/{gid}/knowledge/\d+/$"))
    entry = Entry.objects.get(group=group)
    assert entry.sources.count() >= 3
    assert Candidate.objects.get(group=group).status == "used"
