"""The knowledge base on a phone (issue 6): a member turns a question and its answer into an
entry; a moderator reviews it; another member finds it by search, typing traditional
characters; two chosen messages become an entry too; a newcomer taps a glossary word in the
chat and in an entry. Chinese for some people, English for others, 360 px wide, real Chromium.

The knowledge base's words are looked up in the project's own catalogue for the reader's
language (`says`), so the Chinese pages are checked against whatever the catalogue holds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from playwright.sync_api import Browser, Locator, Page, expect

from tongzhou.accounts.actions import do_register
from tongzhou.accounts.models import User
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.models import Message
from tongzhou.groups.actions import do_apply, do_create_group, do_decide, do_set_role
from tongzhou.groups.models import Group, Membership
from tongzhou.knowledge.actions import do_add_term
from tongzhou.knowledge.models import Entry

from ..conftest import LiveServer
from .conftest import quiet_fan_out, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "member-pass-2026"
LEADER_PASSWORD = "leader-pass-2026"
ZONE = "Asia/Shanghai"
GROUP = "鼻咽癌互助群"
PHONE = {"width": 360, "height": 740}
LANG = {"zh-CN": "zh-hans", "en-US": "en"}
SIGN_IN = {
    "en-US": {"login_username": "Username", "password": "Password", "sign_in": "Sign in"},
    "zh-CN": {"login_username": "用户名", "password": "密码", "sign_in": "登录"},
}

QUESTION = "放疗第三周了，嘴里溃疡疼得吃不下饭，怎么办？"
ANSWER = (
    "我放疗时也这样。饭前用医院开的利多卡因漱口水含一会儿，吃软的、凉的，会好很多。熬过去就毕业了！"
)
HOTEL = "医院对面的如家酒店有病友价，一晚两百左右，走过去五分钟。"
MICROWAVE = "住院部三楼茶水间有微波炉，可以热自己带的饭。"
GRADUATED = "别怕，我去年就毕业了，现在每半年复查一次。"
TERM = "毕业"
MEANING = "治疗全部结束，进入定期复查阶段。Treatment is over; only check-ups from now on."


@pytest.fixture(autouse=True)
def patient() -> Iterator[None]:
    expect.set_options(timeout=15_000)  # a shared 2-core machine: slow is not wrong
    yield
    expect.set_options(timeout=5_000)  # Playwright's default, for the tests that follow


def says(locale: str, msgid: str, **values: Any) -> str:
    """What a page shows a reader of this browser locale for `msgid`."""
    with translation.override(LANG[locale]):
        text = translation.gettext(msgid)
    return text % values if values else text


def member(leader: User, group: Group, username: str, name: str) -> User:
    user = do_register(username, PASSWORD, name)
    do_decide(leader, do_apply(user, group, role="patient"), approve=True)
    return user


def say(user: User, group: Group, cid: str, text: str, **extra: Any) -> int:
    with quiet_fan_out():
        sent, _created = do_send_message(user, group.pk, client_id=cid, text=text, **extra)
    return int(sent["id"])


def phone(browser: Browser, server: LiveServer, username: str, password: str, locale: str) -> Page:
    context = browser.new_context(
        viewport=PHONE, locale=locale, timezone_id=ZONE, device_scale_factor=2
    )
    page = context.new_page()
    sign_in(page, server.url, username, password, labels=SIGN_IN[locale])
    expect(page).to_have_url(re.compile(r"/groups/$"))
    return page


def open_chat(page: Page, server: LiveServer, gid: int) -> None:
    page.goto(f"{server.url}/groups/{gid}/chat/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def bubble(page: Page, text: str) -> Locator:
    return page.locator("#messages .message").filter(has_text=text)


def fits_the_phone(page: Page) -> None:
    """Nothing makes the page scroll sideways on a 360 px screen."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def sources(page: Page) -> Locator:
    return page.locator("article.entry ul.sources li")


def test_a_question_and_answer_become_an_entry_that_is_reviewed_found_and_explained(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    # --- the group, through the real actions --------------------------------------------
    leader = do_register("lead", LEADER_PASSWORD, "老李")
    group = do_create_group(leader, GROUP)
    gid = group.pk
    mei = member(leader, group, "xiaomei", "小梅")  # asks, and keeps the answer (Chinese)
    zhang = member(leader, group, "laozhang", "老张")  # answers
    wang = member(leader, group, "wangjie", "王姐")  # moderator (English)
    member(leader, group, "afang", "阿芳 Fang")  # searches from her own phone (English)
    member(leader, group, "xiaoxin", "小新")  # the newcomer (Chinese)
    lead = Membership.objects.get(group=group, user=leader)
    do_set_role(lead, Membership.objects.get(group=group, user=wang), "moderator")
    do_add_term(leader, gid, term=TERM, also="", meaning=MEANING)

    qid = say(mei, group, "q1", QUESTION, kind=Message.Kind.QUESTION)
    aid = say(zhang, group, "a1", ANSWER, reply_to=qid)
    hotel = say(zhang, group, "m1", HOTEL)
    microwave = say(leader, group, "m2", MICROWAVE)
    say(zhang, group, "m3", GRADUATED)

    # --- 1. the asker keeps the answered question (Chinese) ------------------------------
    zh = "zh-CN"
    asker = phone(browser, asgi_server, "xiaomei", PASSWORD, zh)
    open_chat(asker, asgi_server, gid)
    question = asker.locator(f"#m{qid}")
    expect(question.locator(".q-state")).to_have_text(says(zh, "answered"))
    keep = question.get_by_role("link", name=says(zh, "Save to knowledge"))
    expect(keep).to_be_visible()
    # Only an answered question offers it; the answer and ordinary messages can be selected.
    expect(asker.locator(f"#m{aid}").locator(".kb-question")).to_be_hidden()
    expect(asker.locator(f"#m{hotel}").locator(".kb-question")).to_be_hidden()
    # The ☐ on each message appears only in selection mode, so bubbles stay short.
    hotel_box = asker.locator(f"#m{hotel}").get_by_role(
        "button", name=says(zh, "Select for the knowledge base")
    )
    expect(hotel_box).to_be_hidden()
    asker.get_by_role("button", name=says(zh, "Select messages")).click()
    expect(hotel_box).to_be_visible()
    expect(asker.locator("#keep-count")).to_have_text(says(zh, "Tap ☐ on the messages to keep"))
    asker.locator("#keep-cancel").click()
    expect(hotel_box).to_be_hidden()
    question.scroll_into_view_if_needed()
    asker.screenshot(path=shots / "01-asker-chat-save-to-knowledge.png")
    keep.click()

    # The form is filled from the chat: the question as the title, the answer as the text.
    expect(asker).to_have_url(f"{asgi_server.url}/groups/{gid}/knowledge/new/?question={qid}")
    title = asker.get_by_label(says(zh, "Title"), exact=True)
    body = asker.get_by_label(says(zh, "Text"), exact=True)
    expect(title).to_have_value(QUESTION)
    expect(body).to_have_value(ANSWER)
    made_from = asker.locator("form ul.sources li")
    expect(made_from).to_have_count(2)
    expect(made_from.nth(0)).to_contain_text("小梅")
    expect(made_from.nth(1)).to_contain_text("老张")
    expect(made_from.nth(1)).to_contain_text("利多卡因")
    asker.get_by_label(says(zh, "Category"), exact=True).select_option(
        label=says(zh, "Treatment and side effects")
    )
    asker.get_by_label(says(zh, "Tags (comma separated, optional)")).fill("口腔溃疡")
    fits_the_phone(asker)
    asker.screenshot(path=shots / "02-asker-entry-form.png", full_page=True)
    asker.get_by_role("button", name=says(zh, "Save as a draft")).click()

    # The entry: a draft, with its sources and a way back to each in the chat.
    expect(asker).to_have_url(re.compile(rf"/groups/{gid}/knowledge/\d+/$"))
    entry_url = asker.url
    qa = Entry.objects.get(question_id=qid)
    assert entry_url.endswith(f"/groups/{gid}/knowledge/{qa.pk}/")
    expect(asker.locator("ul.flash")).to_contain_text(
        says(zh, "Saved as a draft. A moderator will review it.")
    )
    article = asker.locator("article.entry")
    expect(article.locator(".entry-title")).to_have_text(QUESTION)
    expect(article.locator(".entry-badges")).to_have_text(says(zh, "Draft, not reviewed yet"))
    expect(asker.get_by_test_id("review-line")).to_contain_text(
        says(zh, "Not reviewed yet: read it with care, and ask in the chat if unsure.")
    )
    expect(article.locator(".entry-meta").first).to_contain_text(
        says(zh, "Treatment and side effects")
    )
    expect(article.get_by_role("link", name="#口腔溃疡")).to_be_visible()
    expect(article.locator(".entry-body")).to_contain_text("利多卡因漱口水")
    expect(sources(asker)).to_have_count(2)
    expect(sources(asker).nth(0)).to_contain_text("小梅")
    expect(sources(asker).nth(1)).to_contain_text("老张")
    back = sources(asker).get_by_role("link", name=says(zh, "See it in the chat"))
    expect(back).to_have_count(2)
    expect(back.nth(1)).to_have_attribute("href", f"/groups/{gid}/chat/?m={aid}")
    # Only moderators review.
    expect(asker.get_by_role("button", name=says(zh, "Mark as reviewed"))).to_have_count(0)
    fits_the_phone(asker)
    asker.screenshot(path=shots / "03-asker-entry-draft.png", full_page=True)
    # "See it in the chat" opens the chat at the answer.
    back.nth(1).click()
    expect(asker.locator(f"#m{aid}")).to_have_class(re.compile(r"\bhighlight\b"))
    expect(asker.locator(f"#m{aid}")).to_be_in_viewport()
    asker.screenshot(path=shots / "04-asker-source-in-chat.png")
    asker.context.close()

    # --- 2. the moderator reviews it (English) -------------------------------------------
    en = "en-US"
    mod = phone(browser, asgi_server, "wangjie", PASSWORD, en)
    mod.goto(f"{asgi_server.url}/groups/{gid}/knowledge/")
    waiting = mod.get_by_test_id("entries").locator("li")
    expect(waiting).to_have_count(1)
    expect(waiting.first).to_contain_text(QUESTION)
    expect(waiting.first).to_contain_text("Draft, not reviewed yet")
    mod.screenshot(path=shots / "05-moderator-knowledge-list.png", full_page=True)
    waiting.first.get_by_role("link").click()
    expect(mod).to_have_url(entry_url)
    review = mod.get_by_role("button", name="Mark as reviewed")
    expect(review).to_be_visible()
    mod.screenshot(path=shots / "06-moderator-entry-before-review.png", full_page=True)
    review.click()
    expect(mod.locator("ul.flash")).to_contain_text("Saved.")
    expect(mod.get_by_test_id("review-line")).to_contain_text("Last reviewed by 王姐 on ")
    expect(mod.locator("article.entry .entry-badges")).to_have_text("✓ Reviewed")
    expect(review).to_have_count(0)  # nothing left to review
    fits_the_phone(mod)
    mod.screenshot(path=shots / "07-moderator-entry-reviewed.png", full_page=True)
    mod.context.close()

    # --- 3. another member finds it, typing traditional characters (English) --------------
    fang = phone(browser, asgi_server, "afang", PASSWORD, en)
    open_chat(fang, asgi_server, gid)
    fang.get_by_role("navigation", name="Main").get_by_role("link", name="Search").click()
    expect(fang).to_have_url(f"{asgi_server.url}/search/")
    box = fang.get_by_label("Words to find (Chinese or English)")
    box.fill("放療")
    fang.screenshot(path=shots / "08-searcher-types.png")
    box.press("Enter")
    results = fang.get_by_test_id("search-results").locator("li.result")
    expect(results.first).to_be_visible()
    first = results.first
    expect(first).to_have_class(re.compile(r"\bresult-entry\b"))
    expect(first.locator(".result-kind")).to_have_text(
        "📘 Knowledge · Treatment and side effects · ✓ Reviewed"
    )
    expect(first.locator(".title")).to_have_text(QUESTION)
    # The simplified word the entry holds is highlighted, in the title and in the text.
    expect(first.locator(".title mark")).to_have_text(["放疗"])
    expect(first.locator(".snippet mark").first).to_have_text("放疗")
    expect(first.locator(".snippet")).to_contain_text("放疗")
    expect(results.locator(".result-kind", has_text="Knowledge")).to_have_count(1)
    # The chat messages that say it follow: the answer and the question.
    expect(results.filter(has_text="利多卡因")).to_have_count(2)  # the entry and the answer
    fits_the_phone(fang)
    fang.screenshot(path=shots / "09-searcher-results.png", full_page=True)
    first.get_by_role("link").click()
    expect(fang).to_have_url(entry_url)
    expect(fang.get_by_test_id("review-line")).to_contain_text("Last reviewed by 王姐")
    fang.screenshot(path=shots / "10-searcher-opens-entry.png", full_page=True)

    # --- 4. she keeps two ordinary messages with "Select" (English) ----------------------
    open_chat(fang, asgi_server, gid)
    bar = fang.locator("#keep-bar")
    expect(bar).to_be_hidden()
    fang.get_by_role("button", name="Select messages").click()
    for mid in (hotel, microwave):
        select = fang.locator(f"#m{mid}").get_by_role(
            "button", name="Select for the knowledge base"
        )
        select.click()
        expect(fang.locator(f"#m{mid}").locator(".keep-button")).to_have_text("☑")
        expect(fang.locator(f"#m{mid}").locator(".keep-button")).to_have_attribute(
            "aria-pressed", "true"
        )
    expect(bar).to_be_visible()
    expect(bar.locator("#keep-count")).to_have_text("2 selected")
    go = bar.get_by_role("link", name="Save to knowledge")
    expect(go).to_be_in_viewport()
    fang.screenshot(path=shots / "11-searcher-selects-two.png")
    go.click()
    expect(fang).to_have_url(
        f"{asgi_server.url}/groups/{gid}/knowledge/new/?m={hotel}&m={microwave}"
    )
    chosen = fang.locator("form ul.sources li")
    expect(chosen).to_have_count(2)
    expect(chosen.nth(0)).to_contain_text(f"老张: {HOTEL}")
    expect(chosen.nth(1)).to_contain_text(f"老李: {MICROWAVE}")
    expect(fang.get_by_label("Title", exact=True)).to_have_value(HOTEL)
    expect(fang.get_by_label("Text", exact=True)).to_have_value(f"{HOTEL}\n\n{MICROWAVE}")
    fang.get_by_label("Title", exact=True).fill("住在医院附近：酒店和热饭")
    fang.get_by_label("Category", exact=True).select_option(
        label="Housing and travel for treatment"
    )
    fang.get_by_label("Tags (comma separated, optional)").fill("住宿, meals")
    fits_the_phone(fang)
    fang.screenshot(path=shots / "12-searcher-form-two-sources.png", full_page=True)
    fang.get_by_role("button", name="Save as a draft").click()
    expect(fang).to_have_url(re.compile(rf"/groups/{gid}/knowledge/\d+/$"))
    expect(fang.locator("article.entry .entry-title")).to_have_text("住在医院附近：酒店和热饭")
    expect(fang.locator("article.entry .entry-badges")).to_have_text("Draft, not reviewed yet")
    expect(sources(fang)).to_have_count(2)
    expect(sources(fang).nth(0)).to_contain_text("老张")
    expect(sources(fang).nth(1)).to_contain_text("老李")
    expect(sources(fang).get_by_role("link", name="See it in the chat")).to_have_count(2)
    expect(fang.locator("article.entry .entry-meta").first).to_contain_text("#住宿 · #meals")
    fang.screenshot(path=shots / "13-searcher-second-entry.png", full_page=True)
    fang.context.close()

    # --- 5. a newcomer taps a glossary word, in the chat and in the entry (Chinese) -------
    new = phone(browser, asgi_server, "xiaoxin", PASSWORD, zh)
    open_chat(new, asgi_server, gid)
    said = bubble(new, GRADUATED)
    word = said.locator("button.term")
    expect(word).to_have_count(1)
    expect(word).to_have_text(TERM)
    expect(said.locator(".text")).to_have_text(GRADUATED)  # the words are unchanged around it
    expect(bubble(new, HOTEL).locator("button.term")).to_have_count(0)
    said.scroll_into_view_if_needed()
    new.screenshot(path=shots / "14-newcomer-chat-term.png")
    word.click()
    pop = new.locator(".term-pop")
    expect(pop).to_be_visible()
    expect(pop).to_have_attribute("role", "dialog")
    expect(pop.get_by_role("heading")).to_have_text(TERM)
    expect(pop.locator(".term-meaning")).to_have_text(MEANING)
    expect(pop.get_by_role("link", name=says(zh, "All the group's words"))).to_have_attribute(
        "href", re.compile(rf"/groups/{gid}/glossary/#term-\d+$")
    )
    close = pop.get_by_role("button", name=says(zh, "Close"))
    expect(close).to_be_focused()
    expect(pop).to_be_in_viewport(ratio=1)
    new.screenshot(path=shots / "15-newcomer-term-popup.png")
    close.click()
    expect(pop).to_be_hidden()
    expect(word).to_be_focused()

    new.goto(entry_url)
    entry_body = new.locator("article.entry .entry-body")
    in_entry = entry_body.locator("button.term")
    expect(in_entry).to_have_count(1)
    expect(in_entry).to_have_text(TERM)
    expect(entry_body).to_contain_text(ANSWER)
    in_entry.click()
    expect(pop).to_be_visible()
    expect(pop.locator(".term-meaning")).to_have_text(MEANING)
    new.screenshot(path=shots / "16-newcomer-entry-term-popup.png")
    new.keyboard.press("Escape")
    expect(pop).to_be_hidden()
    expect(in_entry).to_be_focused()
    fits_the_phone(new)
    new.screenshot(path=shots / "17-newcomer-entry.png", full_page=True)
    new.context.close()
