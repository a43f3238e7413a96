"""Insight with consent in real Chromium on a phone (issue 12): a member says yes to research
in Chinese; the leader starts a project and names a researcher; the researcher draws a
sample and codes messages with the keyboard, seeing codes instead of names; the leader's
dashboard renders with the group's figures."""

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
from tongzhou.chat.actions import do_send_message
from tongzhou.groups.actions import do_apply, do_create_group, do_decide
from tongzhou.groups.models import Group
from tongzhou.insight.actions import do_decide_consent
from tongzhou.insight.models import Coding, Project, ResearchConsent

from ..conftest import LiveServer
from .conftest import quiet_fan_out, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "member-pass-2026"
PHONE = {"width": 360, "height": 740}
LANG = {"zh-CN": "zh-hans", "en-US": "en"}
SIGN_IN = {
    "en-US": {"login_username": "Username", "password": "Password", "sign_in": "Sign in"},
    "zh-CN": {"login_username": "用户名", "password": "密码", "sign_in": "登录"},
}
EN, ZH = "en-US", "zh-CN"
CHAT = [
    ("wangjie", "请问放疗后口干怎么办？"),
    ("lijie", "多喝水，用漱口水，我放疗后口干了半年，慢慢会好的"),
    ("wangjie", "谢谢李姐姐，我试试"),
    ("lijie", "加油，你一定可以的！"),
]


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
    group.new_member_days = 0
    group.save(update_fields=["new_member_days"])
    people = {"lead": leader, "res": do_register("res", PASSWORD, "Dr Research")}
    for username, name in (("wangjie", "王姐"), ("lijie", "李姐姐")):
        user = do_register(username, PASSWORD, name)
        do_decide(leader, do_apply(user, group, role="patient"), approve=True)
        people[username] = user
    with quiet_fan_out():
        for i, (who, text) in enumerate(CHAT):
            do_send_message(people[who], group.pk, client_id=f"e2e-{i}", text=text)
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


def test_consent_project_coding_and_dashboard(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    group, people = the_group()
    gid, url = group.pk, asgi_server.url
    do_decide_consent(people["wangjie"], gid, messages=True, health=False, quotes=False)

    # 李姐姐 says yes in Chinese, from the Members tab.
    li = phone(browser, asgi_server, "lijie", ZH)
    li.goto(f"{url}/groups/{gid}/members/")
    li.get_by_role("link", name=says(ZH, "Research and consent")).click()
    expect(li.get_by_test_id("consent-text")).to_be_visible()
    li.get_by_label(
        says(ZH, "Researchers may study my messages in this group, under a code instead of my name")
    ).check()
    fits_the_phone(li)
    li.screenshot(path=shots / "01-consent-zh.png", full_page=True)
    li.get_by_role("button", name=says(ZH, "Save my choice")).click()
    expect(li.locator("ul.flash")).to_contain_text(
        says(ZH, "Saved. You can change this at any time.")
    )
    mine = ResearchConsent.objects.filter(user=people["lijie"]).latest("decided_at")
    assert (mine.messages, mine.health, mine.quotes) == (True, False, False)

    # The leader starts a project and names the researcher.
    lead = phone(browser, asgi_server, "lead", EN)
    lead.goto(f"{url}/groups/{gid}/settings/")
    lead.get_by_role("link", name=says(EN, "Research projects")).click()
    expect(lead.get_by_test_id("consent-counts")).to_contain_text("2")
    lead.get_by_text(says(EN, "Start a project")).click()
    lead.get_by_label(says(EN, "Title")).fill("Peer support after radiotherapy")
    lead.get_by_label(says(EN, "Purpose (members read this)")).fill(
        "Which kinds of support members give each other after radiotherapy."
    )
    lead.get_by_label(says(EN, "Ends on")).fill(
        (timezone.localdate() + dt.timedelta(days=120)).isoformat()
    )
    lead.get_by_role("button", name=says(EN, "Start")).click()
    expect(lead).to_have_url(re.compile(rf"/groups/{gid}/research/projects/\d+/$"))
    lead.get_by_label(says(EN, "The researcher's user name on this server")).fill("res")
    lead.get_by_role("button", name=says(EN, "Give access")).click()
    expect(lead.get_by_test_id("researchers")).to_contain_text("Dr Research")
    fits_the_phone(lead)
    lead.screenshot(path=shots / "02-project-admin.png", full_page=True)
    project = Project.objects.get(group=group)

    # Members see who has access.
    li.goto(f"{url}/groups/{gid}/research/")
    expect(li.get_by_test_id("research-access")).to_contain_text("Dr Research")

    # The researcher draws a sample and codes with the keyboard.
    res = phone(browser, asgi_server, "res", EN)
    res.get_by_test_id("research-link").click()
    res.get_by_role("link", name="Peer support after radiotherapy").click()
    res.get_by_label(says(EN, "How many")).fill("10")
    res.get_by_role("button", name=says(EN, "Add to the set")).click()
    expect(res.locator("ul.flash")).to_contain_text("4")
    res.get_by_role("link", name=says(EN, "Start coding")).click()
    unit = res.get_by_test_id("unit-text")
    expect(unit).to_contain_text("请问放疗后口干怎么办")
    body = res.locator("main").inner_text()
    assert "王姐" not in body and "李姐姐" not in body  # names become codes, even in text
    assert re.search(r"P00\d", body)
    fits_the_phone(res)
    res.screenshot(path=shots / "03-coding.png", full_page=True)
    res.locator("body").click(position={"x": 5, "y": 5})
    res.keyboard.press("0")  # the 10th code: Question
    res.keyboard.press("Enter")
    expect(unit).to_contain_text("多喝水")
    res.keyboard.press("1")  # informational
    res.keyboard.press("Enter")
    expect(unit).to_contain_text("谢谢")
    res.keyboard.press("Enter")  # no code applies
    expect(unit).to_contain_text("加油")
    res.keyboard.press("8")  # verbal persuasion
    res.keyboard.press("2")  # emotional
    res.keyboard.press("Enter")
    expect(res.get_by_test_id("all-done")).to_be_visible()
    coded = {
        c.unit.message.text: sorted(c.codes.values_list("key", flat=True))
        for c in Coding.objects.filter(unit__project=project)
    }
    assert coded == {
        CHAT[0][1]: ["qa.question"],
        CHAT[1][1]: ["support.informational"],
        CHAT[2][1]: [],
        CHAT[3][1]: ["efficacy.persuasion", "support.emotional"],
    }
    res.get_by_role("link", name=says(EN, "Agreement"), exact=True).click()
    expect(res.get_by_test_id("saturation")).to_contain_text("4")
    res.screenshot(path=shots / "04-agreement.png", full_page=True)

    # The leader's dashboard renders with the group's figures, in both languages.
    lead.goto(f"{url}/groups/{gid}/insight/")
    expect(lead.locator("svg[role=img]").first).to_be_visible()
    expect(lead.locator("main")).to_contain_text("4")
    fits_the_phone(lead)
    lead.screenshot(path=shots / "05-dashboard-en.png", full_page=True)
    li.goto(f"{url}/groups/{gid}/insight/")  # a member: not theirs
    expect(li.locator("main")).to_contain_text(
        says(ZH, "Only the group's leader and moderators can do this.")
    )
