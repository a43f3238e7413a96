"""Mutual aid, suggestions and #topics on a phone (issue 10), in real Chromium at 360 px:
a member asks for company to an appointment, another offers help, the author marks it
fulfilled; a donation request waits for a moderator and carries the note about money; a
suggestion is voted for and the leader plans it; a #tag in the chat opens its topic page, and
a member follows the topic.

Words are looked up in the project's catalogue for the reader's language (`says`), so the
Chinese pages are checked against whatever the catalogue holds."""

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
from tongzhou.chat.actions import do_send_message
from tongzhou.community.models import AidRequest, Suggestion, TopicFollow
from tongzhou.groups.actions import do_apply, do_create_group, do_decide, do_set_role
from tongzhou.groups.models import Group, Membership

from ..conftest import LiveServer
from .conftest import quiet_fan_out, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "member-pass-2026"
ZONE = "Asia/Shanghai"
PHONE = {"width": 360, "height": 740}
LANG = {"zh-CN": "zh-hans", "en-US": "en"}
SIGN_IN = {
    "en-US": {"login_username": "Username", "password": "Password", "sign_in": "Sign in"},
    "zh-CN": {"login_username": "用户名", "password": "密码", "sign_in": "登录"},
}
EN, ZH = "en-US", "zh-CN"


@pytest.fixture(autouse=True)
def patient() -> Iterator[None]:
    expect.set_options(timeout=15_000)  # a shared 2-core machine: slow is not wrong
    yield
    expect.set_options(timeout=5_000)


def says(locale: str, msgid: str, **values: Any) -> str:
    with translation.override(LANG[locale]):
        text = translation.gettext(msgid)
    return text % values if values else text


def person(
    username: str, name: str, group: Group | None = None, leader: User | None = None
) -> User:
    user = do_register(username, PASSWORD, name)
    if group is not None and leader is not None:
        do_decide(leader, do_apply(user, group, role="patient"), approve=True)
    return user


def the_group() -> tuple[Group, dict[str, User]]:
    """老李 leads; 王姐 moderates; 小梅, 老张 and 阿芳 are members."""
    leader = person("lead", "老李")
    group = do_create_group(leader, "鼻咽癌互助群")
    people = {"lead": leader}
    for username, name in (("wangjie", "王姐"), ("xiaomei", "小梅"), ("laozhang", "老张")):
        people[username] = person(username, name, group, leader)
    people["afang"] = person("afang", "阿芳 Fang", group, leader)
    do_set_role(
        Membership.objects.get(group=group, user=leader),
        Membership.objects.get(group=group, user=people["wangjie"]),
        "moderator",
    )
    return group, people


def phone(browser: Browser, server: LiveServer, username: str, locale: str) -> Page:
    context = browser.new_context(
        viewport=PHONE, locale=locale, timezone_id=ZONE, device_scale_factor=2
    )
    page = context.new_page()
    sign_in(page, server.url, username, PASSWORD, labels=SIGN_IN[locale])
    expect(page).to_have_url(re.compile(r"/groups/$"))
    return page


def fits_the_phone(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def test_a_member_asks_for_company_another_offers_and_the_author_marks_it_fulfilled(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    group, _people = the_group()
    gid = group.pk
    title = "周一陪我去放疗 Company to radiotherapy on Monday"

    # 小梅 asks, on her phone in Chinese.
    mei = phone(browser, asgi_server, "xiaomei", ZH)
    mei.goto(f"{asgi_server.url}/groups/{gid}/aid/")
    expect(mei.get_by_role("heading", name=says(ZH, "Mutual aid"), exact=True)).to_be_visible()
    mei.get_by_role("link", name=says(ZH, "Ask for help")).click()
    mei.get_by_label(says(ZH, "Company to an appointment")).check()
    mei.get_by_label(says(ZH, "In one line: what do you need?")).fill(title)
    mei.get_by_label(says(ZH, "Details (optional)")).fill("第一次去，有点怕。9点在放疗科门口。")
    fits_the_phone(mei)
    mei.screenshot(path=shots / "01-ask-for-company.png", full_page=True)
    mei.get_by_role("button", name=says(ZH, "Post my request")).click()
    expect(mei).to_have_url(re.compile(rf"/groups/{gid}/aid/\d+/$"))
    expect(mei.locator("ul.flash")).to_contain_text(
        says(ZH, "Your request is open. The group can see it now.")
    )
    expect(mei.get_by_test_id("aid-status")).to_have_text(says(ZH, "Open"))
    expect(mei.get_by_test_id("money-note")).to_have_count(0)  # no money involved
    # Her own request offers her no "I can help".
    expect(mei.get_by_role("button", name=re.compile(says(ZH, "I can help")))).to_have_count(0)
    req = AidRequest.objects.get(title=title)

    # 老张 sees it in the list of open requests and offers to go with her (English).
    zhang = phone(browser, asgi_server, "laozhang", EN)
    zhang.goto(f"{asgi_server.url}/groups/{gid}/aid/")
    listed = zhang.get_by_test_id("aid-requests").get_by_role(
        "link", name=re.compile("Company to radiotherapy")
    )
    expect(listed).to_be_visible()
    zhang.screenshot(path=shots / "02-open-requests.png", full_page=True)
    listed.click()
    expect(zhang).to_have_url(f"{asgi_server.url}/groups/{gid}/aid/{req.pk}/")
    expect(zhang.get_by_role("button", name=says(EN, "Mark as fulfilled"))).to_have_count(0)
    zhang.get_by_role("button", name=re.compile(says(EN, "I can help"))).click()
    expect(zhang.locator("ul.flash")).to_contain_text(
        says(EN, "Thank you for offering help. They have been told.")
    )
    expect(zhang.get_by_role("button", name=re.compile(says(EN, "I can help")))).to_have_count(0)
    zhang.get_by_label(says(EN, "Write a reply")).fill("I have a check-up that morning too.")
    zhang.get_by_role("button", name=says(EN, "Post reply")).click()
    replies = zhang.locator("#replies .comment")
    expect(replies).to_have_count(2)
    expect(replies.nth(0)).to_contain_text(says(EN, "Can help"))
    fits_the_phone(zhang)
    zhang.screenshot(path=shots / "03-offered-help.png", full_page=True)

    # 小梅 is told (a reminder linking to the request), reads the offer and marks it fulfilled.
    from tongzhou.community.models import Reminder

    told = Reminder.objects.filter(user__username="xiaomei").order_by("id")
    assert [r.url for r in told] == [f"/groups/{gid}/aid/{req.pk}/"] * 2
    mei.goto(f"{asgi_server.url}{told[0].url}")
    expect(mei.locator("#replies .comment").first).to_contain_text("老张")
    mei.get_by_role("button", name=says(ZH, "Mark as fulfilled")).click()
    expect(mei.get_by_test_id("aid-status")).to_have_text(says(ZH, "Fulfilled"))
    expect(mei.locator("ul.flash")).to_contain_text(
        says(ZH, "Marked as fulfilled. Thank you, everyone who helped.")
    )
    expect(mei.get_by_role("button", name=says(ZH, "Open it again"))).to_be_visible()
    mei.screenshot(path=shots / "04-fulfilled.png", full_page=True)

    # The open list no longer shows it; the fulfilled list does.
    zhang.goto(f"{asgi_server.url}/groups/{gid}/aid/")
    expect(zhang.get_by_text("Company to radiotherapy")).to_have_count(0)
    zhang.get_by_role("link", name=re.compile(says(EN, "Fulfilled"))).click()
    expect(zhang.get_by_text("Company to radiotherapy")).to_be_visible()
    fits_the_phone(zhang)


def test_a_donation_request_waits_for_a_moderator_and_carries_the_money_note(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    group, _people = the_group()
    gid = group.pk
    title = "Raising money for 老张's radiotherapy"

    fang = phone(browser, asgi_server, "afang", EN)
    fang.goto(f"{asgi_server.url}/groups/{gid}/aid/new/")
    note = fang.locator(".money-note")
    expect(note).to_contain_text("Tongzhou never handles money.")
    fang.get_by_label(says(EN, "Donations (money)")).check()
    fang.get_by_label(says(EN, "In one line: what do you need?")).fill(title)
    fang.get_by_role("button", name=says(EN, "Post my request")).click()
    expect(fang.locator("ul.flash")).to_contain_text(
        says(EN, "Thank you. A moderator will look at your request before the group sees it.")
    )
    expect(fang.get_by_test_id("aid-status")).to_have_text(says(EN, "Waiting for a moderator"))
    expect(fang.get_by_test_id("money-note")).to_be_visible()
    fang.screenshot(path=shots / "01-donation-waits.png", full_page=True)
    req = AidRequest.objects.get(title=title)
    url = f"{asgi_server.url}/groups/{gid}/aid/{req.pk}/"

    # Another member cannot open it, nor find it in the list.
    zhang = phone(browser, asgi_server, "laozhang", EN)
    assert zhang.goto(url).status == 404  # type: ignore[union-attr]
    zhang.goto(f"{asgi_server.url}/groups/{gid}/aid/")
    expect(zhang.get_by_text(title)).to_have_count(0)

    # The moderator finds it waiting and approves it.
    wang = phone(browser, asgi_server, "wangjie", ZH)
    wang.goto(f"{asgi_server.url}/groups/{gid}/aid/")
    wang.get_by_role("link", name=re.compile(says(ZH, "Waiting for approval"))).click()
    wang.get_by_role("link", name=re.compile("Raising money")).click()
    expect(wang.get_by_test_id("money-note")).to_be_visible()
    fits_the_phone(wang)
    wang.screenshot(path=shots / "02-moderator-sees-it-waiting.png", full_page=True)
    wang.get_by_role("button", name=says(ZH, "Approve: show it to the group")).click()
    expect(wang.get_by_test_id("aid-status")).to_have_text(says(ZH, "Open"))

    # Now the group sees it, with the note about money in plain sight.
    zhang.goto(f"{asgi_server.url}/groups/{gid}/aid/")
    zhang.get_by_role("link", name=re.compile("Raising money")).click()
    note = zhang.get_by_test_id("money-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text(says(EN, "About money"))
    box = note.bounding_box()
    assert box is not None and box["y"] < PHONE["height"], "the note is on the first screen"
    fits_the_phone(zhang)
    zhang.screenshot(path=shots / "03-approved-with-money-note.png", full_page=True)


def test_a_suggestion_is_voted_for_and_the_leader_plans_it(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    group, _people = the_group()
    gid = group.pk
    idea = "每月一次线下聚会 A meetup every month"

    mei = phone(browser, asgi_server, "xiaomei", ZH)
    mei.goto(f"{asgi_server.url}/groups/{gid}/suggestions/")
    mei.get_by_label(says(ZH, "Your idea, in one line")).fill(idea)
    mei.get_by_role("button", name=says(ZH, "Post suggestion")).click()
    expect(mei).to_have_url(re.compile(rf"/groups/{gid}/suggestions/\d+/$"))
    s = Suggestion.objects.get(title=idea)

    # 老张 votes for it from the list; a second tap takes the vote back, a third gives it again.
    zhang = phone(browser, asgi_server, "laozhang", EN)
    zhang.goto(f"{asgi_server.url}/groups/{gid}/suggestions/")
    vote = zhang.get_by_test_id("suggestions").get_by_role(
        "button", name=re.compile("A meetup every month")
    )
    expect(vote).to_have_attribute("aria-pressed", "false")
    vote.click()
    expect(vote).to_have_attribute("aria-pressed", "true")
    expect(vote).to_contain_text("1")
    vote.click()
    expect(vote).to_have_attribute("aria-pressed", "false")
    vote.click()
    expect(vote).to_have_attribute("aria-pressed", "true")
    assert s.votes.count() == 1
    fits_the_phone(zhang)
    zhang.screenshot(path=shots / "01-voted.png", full_page=True)

    # The leader answers: planned.
    lead = phone(browser, asgi_server, "lead", EN)
    lead.goto(f"{asgi_server.url}/groups/{gid}/suggestions/{s.pk}/")
    lead.get_by_label(says(EN, "Status")).select_option("planned")
    lead.get_by_label(says(EN, "Your answer (needed when you decline)")).fill(
        "Good idea: the first Saturday of next month."
    )
    lead.get_by_role("button", name=says(EN, "Save answer")).click()
    expect(lead.get_by_test_id("suggestion-status")).to_have_text(says(EN, "Planned"))
    lead.screenshot(path=shots / "02-leader-answers.png", full_page=True)

    # 小梅 sees the answer; the list filtered to "planned" holds it.
    mei.goto(f"{asgi_server.url}/groups/{gid}/suggestions/{s.pk}/")
    expect(mei.get_by_test_id("suggestion-status")).to_have_text(says(ZH, "Planned"))
    expect(mei.get_by_test_id("answer")).to_contain_text("first Saturday")
    expect(mei.get_by_test_id("vote")).to_contain_text("1")
    fits_the_phone(mei)
    mei.screenshot(path=shots / "03-author-sees-planned.png", full_page=True)
    mei.goto(f"{asgi_server.url}/groups/{gid}/suggestions/?status=planned")
    expect(mei.get_by_test_id("suggestions")).to_contain_text("A meetup every month")


def test_a_tag_in_the_chat_opens_its_topic_page_and_a_member_follows_it(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    group, people = the_group()
    gid = group.pk
    with quiet_fan_out():
        do_send_message(
            people["laozhang"],
            gid,
            client_id="t1",
            text="#放疗 第三周：淡盐水漱口，嘴巴舒服多了。",
        )
        do_send_message(people["wangjie"], gid, client_id="t2", text="No tag here: C# and x.org/#a")

    mei = phone(browser, asgi_server, "xiaomei", ZH)
    mei.goto(f"{asgi_server.url}/groups/{gid}/chat/")
    expect(mei.locator("#conn")).to_have_attribute("data-state", "live")
    # She writes a tagged message herself, through the chat.
    mei.locator("#text").fill("请问 #放疗 期间能吃辣吗？")
    mei.locator("#send").click()
    mine = mei.locator("#messages .message").filter(has_text="能吃辣吗")
    expect(mine.get_by_role("link", name="#放疗")).to_be_visible()
    link = (
        mei.locator("#messages .message")
        .filter(has_text="淡盐水")
        .get_by_role("link", name="#放疗")
    )
    expect(link).to_have_attribute("href", f"/groups/{gid}/topics/%E6%94%BE%E7%96%97/")
    expect(
        mei.locator("#messages .message").filter(has_text="No tag here").locator("a.topic")
    ).to_have_count(0)
    mei.screenshot(path=shots / "01-tag-in-chat.png")
    link.click()

    expect(mei).to_have_url(re.compile(rf"/groups/{gid}/topics/"))
    expect(mei.get_by_role("heading", name="#放疗")).to_be_visible()
    listed = mei.get_by_test_id("topic-message")
    expect(listed).to_have_count(2)
    expect(listed.nth(0)).to_contain_text("能吃辣吗")  # newest first
    expect(listed.nth(1)).to_contain_text("淡盐水")
    mei.get_by_test_id("follow").click()
    expect(mei.locator("ul.flash")).to_contain_text(
        says(
            ZH,
            "You follow #%(tag)s. New messages in it will be in your reminders.",
            tag="放疗",
        )
    )
    expect(mei.get_by_test_id("follow")).to_have_text(says(ZH, "Stop following"))
    assert TopicFollow.objects.filter(user=people["xiaomei"], tag="放疗").exists()
    fits_the_phone(mei)
    mei.screenshot(path=shots / "02-topic-page-followed.png", full_page=True)

    # "See it in the chat" goes back to the message.
    listed.nth(1).get_by_role("link", name=says(ZH, "See it in the chat")).click()
    expect(mei).to_have_url(re.compile(rf"/groups/{gid}/chat/\?m=\d+"))
    expect(mei.locator("#messages .message").filter(has_text="淡盐水")).to_be_visible()

    # The topics list shows the followed topic first.
    mei.goto(f"{asgi_server.url}/groups/{gid}/topics/")
    expect(mei.get_by_test_id("followed-topics")).to_contain_text("#放疗")
    fits_the_phone(mei)
    mei.screenshot(path=shots / "03-topics.png", full_page=True)
