"""Questions on a phone (issue 5): a newcomer asks; after T1 a likely helper, in another
browser, is asked and answers; the newcomer marks the answer that helped; the leader's
time-to-answer page shows it. And "asked before" while typing, and the open-questions list."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tongzhou.accounts.actions import do_register, do_update_profile
from tongzhou.accounts.models import ApiToken, User
from tongzhou.chat.actions import do_send_message
from tongzhou.groups.actions import do_apply, do_create_group, do_decide
from tongzhou.groups.models import Group
from tongzhou.notify.actions import do_update_email_settings
from tongzhou.notify.models import Notification
from tongzhou.questions import search
from tongzhou.questions.actions import do_mark_helpful

from ..conftest import LiveServer
from .conftest import quiet_fan_out, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "member-pass-2026"
ZONE = "Asia/Shanghai"
GROUP = "鼻咽癌互助群"
EN = {"login_username": "Username", "password": "Password", "sign_in": "Sign in"}
ZH = {"login_username": "用户名", "password": "密码", "sign_in": "登录"}
# The top bar's notification badge, each value it shows (0 when hidden), in window.badgeShown.
BADGE_WATCH = """() => {
  const badge = document.getElementById("notify-count");
  const shown = () => (badge.hidden ? 0 : Number(document.getElementById("notify-n").textContent));
  window.badgeShown = [shown()];
  new MutationObserver(() => window.badgeShown.push(shown())).observe(
    badge, { attributes: true, childList: true, subtree: true, characterData: true });
}"""


@pytest.fixture(autouse=True)
def fresh_and_patient() -> Iterator[None]:
    search.forget()  # the per-process "asked before" indexes start from this test's database
    expect.set_options(timeout=15_000)  # a shared 2-core machine: slow is not wrong
    yield
    expect.set_options(timeout=5_000)  # Playwright's default, for the tests that follow


def member(leader: User, group: Group, username: str, name: str, **health: str) -> User:
    """A member, approved by the leader, with a display name and (optionally) health details
    that the routing may use: cancer type is visible to members by default, and so is phase."""
    user = do_register(username, PASSWORD, name)
    do_decide(leader, do_apply(user, group, role="patient"), approve=True)
    if health:
        do_update_profile(user, {**health, "health_consent": True})
    return user


def phone(browser: Browser, server: LiveServer, username: str, password: str, locale: str) -> Page:
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, locale=locale, timezone_id=ZONE
    )
    page = context.new_page()
    sign_in(page, server.url, username, password, labels=ZH if locale == "zh-CN" else EN)
    expect(page).to_have_url(re.compile(r"/groups/$"))
    return page


def open_chat(page: Page, server: LiveServer, gid: int) -> None:
    page.goto(f"{server.url}/groups/{gid}/chat/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def bubble(page: Page, text: str) -> Locator:
    return page.locator("#messages .message").filter(has_text=text)


def tall_enough(target: Locator) -> None:
    """A tap target at least 44 CSS pixels high (WCAG 2.5.5)."""
    box = target.bounding_box()
    assert box is not None and box["height"] >= 44, (target, box)


def say(user: User, group: Group, cid: str, text: str, reply_to: int | None = None) -> int:
    with quiet_fan_out():
        sent, _created = do_send_message(
            user, group.pk, client_id=cid, text=text, reply_to=reply_to
        )
    return int(sent["id"])


# --- 1. asked, routed to a likely helper, answered, marked helpful, counted --------------


def test_a_newcomer_s_question_reaches_a_likely_helper_who_answers_and_it_is_resolved(
    asgi_server: LiveServer, worker: None, browser: Browser, shots: Path
) -> None:
    leader = do_register("lead", "leader-pass-2026", "Leader")
    group = do_create_group(leader, GROUP)
    member(leader, group, "xiaomei", "小梅", cancer_type="鼻咽癌", phase="new")
    helper = member(leader, group, "laozhang", "老张", cancer_type="鼻咽癌", phase="finished")
    bystander = member(leader, group, "aqing", "阿青", cancer_type="乳腺癌", phase="treatment")
    # Nobody is asked to help in their quiet hours (22:00–08:00 unless changed), and the suite
    # may run at any hour: the other members have none. The helper clears hers herself below.
    for user in (leader, bystander):
        do_update_email_settings(user.pk, {"quiet_start": None, "quiet_end": None})

    # The leader asks for help at once (T1 = 0 minutes) from one likely helper.
    lead = phone(browser, asgi_server, "lead", "leader-pass-2026", "en-US")
    lead.goto(f"{asgi_server.url}/groups/{group.pk}/settings/")
    routing = lead.locator("section#routing")
    expect(routing.get_by_role("heading")).to_have_text("Unanswered questions")
    routing.get_by_label("Ask likely helpers after (minutes)").fill("0")
    routing.get_by_label("How many helpers to ask").fill("1")
    expect(routing.get_by_label("Ask moderators and professionals after (minutes)")).to_have_value(
        "30"
    )
    routing.scroll_into_view_if_needed()
    lead.screenshot(path=shots / "1-leader-routing-settings.png")
    routing.get_by_role("button", name="Save").click()
    expect(lead.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(routing.get_by_label("Ask likely helpers after (minutes)")).to_have_value("0")
    expect(routing.get_by_label("How many helpers to ask")).to_have_value("1")

    # The experienced member wants to be asked at any hour, and has the chat open.
    zhang = phone(browser, asgi_server, "laozhang", PASSWORD, "en-US")
    zhang.goto(f"{asgi_server.url}/notifications/settings/")
    zhang.get_by_label("From").fill("")
    zhang.get_by_label("Until").fill("")
    zhang.get_by_role("button", name="Save").first.click()
    expect(zhang.get_by_role("status").filter(has_text="saved")).to_be_visible()
    expect(zhang.get_by_label("From")).to_have_value("")
    open_chat(zhang, asgi_server, group.pk)
    zhang.evaluate(BADGE_WATCH)

    # The newcomer, in Chinese, says what troubles her and ticks "This is a question": the
    # words alone would not have made it one.
    mei = phone(browser, asgi_server, "xiaomei", PASSWORD, "zh-CN")
    open_chat(mei, asgi_server, group.pk)
    asked = "放疗第三周了，嘴里溃疡疼得吃不下饭，晚上也睡不好"
    mei.get_by_role("textbox", name="消息").fill(asked)
    mei.locator("#is-question").check()
    tall_enough(mei.locator("#send"))
    mei.screenshot(path=shots / "2-newcomer-composes.png")
    mei.locator("#send").click()
    sent = bubble(mei, asked)
    expect(sent).to_have_class(re.compile(r"\bq-open\b"))
    qid = int(sent.get_attribute("data-id") or 0)
    mine = mei.locator(f"#m{qid}")  # replies quote it: from here on, by its id
    expect(mine.locator(".kind-tag")).to_have_text("❓ 提问 · 还没人回答")
    expect(mei.locator("#is-question")).not_to_be_checked()
    mei.screenshot(path=shots / "3-newcomer-asked.png")

    # After T1 the worker asks the likely helper: a toast saying why, and the badge.
    toast = zhang.locator("#toast")
    expect(toast).to_be_visible(timeout=30_000)
    expect(toast).to_contain_text(f"小梅 asked in {GROUP}. Can you help? {asked}")
    expect(toast).to_contain_text("You have the same cancer type as the person asking.")
    expect(toast).to_contain_text("You are further along in treatment and recovery.")
    zhang.wait_for_function("() => window.badgeShown.includes(1)")
    zhang.screenshot(path=shots / "4-helper-toast.png")
    helps = Notification.objects.filter(kind=Notification.Kind.HELP, message_id=qid)
    assert list(helps.values_list("user_id", flat=True)) == [helper.pk]  # K = 1: the likeliest

    # The toast leads to the question; the helper answers it.
    zhang.locator("#toast-link").click()
    expect(toast).to_be_hidden()
    question = zhang.locator(f"#m{qid}")
    expect(question).to_have_class(re.compile(r"\bhighlight\b"))
    expect(question.locator(".q-state")).to_have_text("no answer yet")
    question.get_by_role("button", name="Reply").click()
    expect(zhang.locator("#replying")).to_contain_text("Replying to 小梅")
    answer = "我放疗时也这样。饭前用医院开的利多卡因漱口水含一会儿，吃软的、凉的，会好很多。"
    zhang.get_by_label("Message", exact=True).fill(answer)
    zhang.get_by_role("button", name="Send").click()
    reply = bubble(zhang, "利多卡因")
    expect(reply.locator(".quote")).to_have_text(f"小梅: {asked}")
    expect(reply.locator(".helpful-button")).to_be_hidden()  # only the asker marks it
    expect(question.locator(".q-state")).to_have_text("answered")
    # Answering is reading: the read marker passed the question, and the badge agrees.
    expect(zhang.locator("#notify-count")).to_be_hidden()

    # The newcomer sees the answer live, and the button to say it helped.
    theirs = bubble(mei, "利多卡因")
    helpful = theirs.locator(".helpful-button")
    expect(helpful).to_be_visible()
    expect(helpful).to_have_text("这个回答帮到了我")
    expect(mine).to_have_class(re.compile(r"\bq-answered\b"))
    expect(mine.locator(".q-state")).to_have_text("已有回答")
    tall_enough(helpful)
    mei.locator("#toast-close").click()  # "老张 replied to you": out of the way
    mei.screenshot(path=shots / "5-newcomer-sees-answer.png")
    helpful.click()
    expect(theirs.locator(".helped-tag")).to_have_text("✓ 帮到了提问的人")
    expect(mine.locator(".q-state")).to_have_text("已解决")
    expect(theirs.locator(".helpful-button")).to_have_text("取消“帮到了我”")  # she may take it back
    mei.screenshot(path=shots / "6-newcomer-resolved.png")
    # The helper sees it too, without a reload.
    expect(reply.locator(".helped-tag")).to_have_text("✓ Helped the asker")
    expect(question.locator(".q-state")).to_have_text("resolved")
    zhang.screenshot(path=shots / "7-helper-sees-helped.png")

    # The helper's notification list says why they were asked.
    zhang.goto(f"{asgi_server.url}/notifications/")
    item = zhang.locator(".notification-list li").filter(has_text="Can you help")
    expect(item.locator(".what")).to_have_text(f"小梅 asked in {GROUP}. Can you help?")
    expect(item.locator(".why")).to_contain_text("Why you:")
    expect(item.locator(".why")).to_contain_text("same cancer type")
    zhang.screenshot(path=shots / "8-helper-notifications.png", full_page=True)

    # The leader's time-to-answer page counts it: asked, answered well within 3 minutes.
    lead.goto(f"{asgi_server.url}/groups/{group.pk}/questions/")
    expect(lead.get_by_test_id("open-questions")).to_have_count(0)
    lead.get_by_role("link", name="Time to answer").click()
    expect(lead).to_have_url(f"{asgi_server.url}/groups/{group.pk}/questions/metrics/")
    totals = lead.get_by_test_id("answer-totals")
    figure = {
        (div.locator("dt").text_content() or ""): (div.locator("dd").text_content() or "")
        for div in totals.locator("div").all()
    }
    assert figure["Questions"] == "1"
    assert figure["Answered within 3 minutes"] == "100%"
    assert figure["Answered within 1 hour"] == "100%"
    assert figure["Still without an answer"] == "0"
    assert re.fullmatch(r"\d+(\.\d)? min", figure["Median time to first answer"])
    charts = lead.locator("svg.chart")
    expect(charts).to_have_count(2)
    for chart in charts.all():
        bars = chart.locator("rect")
        expect(bars).to_have_count(12)  # twelve weeks, this one last
        assert float(bars.last.get_attribute("height") or 0) > 0
    this_week = lead.get_by_test_id("weeks").locator("tbody tr").first  # newest first
    expect(this_week.locator("td").nth(0)).to_have_text("1")
    expect(this_week.locator("td").nth(3)).to_have_text("100%")
    expect(this_week.locator("td").nth(5)).to_have_text("0")
    lead.screenshot(path=shots / "9-leader-metrics.png", full_page=True)
    for page in (lead, zhang, mei):
        page.context.close()


# --- 2. asked before, while typing and after sending; the open list ---------------------


def test_asked_before_offers_the_earlier_answer_and_the_open_list_follows_the_question(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    leader = do_register("lead", "leader-pass-2026", "Leader")
    group = do_create_group(leader, GROUP)
    aqing = member(leader, group, "aqing", "阿青")
    zhang = member(leader, group, "laozhang", "老张")
    member(leader, group, "xiaomei", "小梅")
    # Earlier in the group: a question on dry mouth, with the answer that helped, and two
    # others (one answered, one that helped), as a group's history has.
    earlier = "放疗后口干怎么缓解？"
    helped = "多喝水，随身带保温杯；睡觉开加湿器，含片西洋参也有用。"
    q1 = say(aqing, group, "h1", earlier)
    a1 = say(zhang, group, "h2", helped, reply_to=q1)
    q2 = say(aqing, group, "h3", "复查要带哪些资料？")
    a2 = say(leader, group, "h4", "出院小结、上次的片子和报告，还有医保卡。", reply_to=q2)
    say(zhang, group, "h5", "化疗期间白细胞低怎么办？")
    with quiet_fan_out():
        do_mark_helpful(aqing, group.pk, q1, a1)
        do_mark_helpful(aqing, group.pk, q2, a2)

    mei = phone(browser, asgi_server, "xiaomei", PASSWORD, "zh-CN")
    # The open list before she asks: only the one nobody has answered.
    mei.goto(f"{asgi_server.url}/groups/{group.pk}/questions/")
    expect(mei.locator("nav.tabs a[aria-current=page]")).to_have_attribute(
        "href", f"/groups/{group.pk}/questions/"
    )
    listed = mei.get_by_test_id("open-questions").locator("li")
    expect(listed.locator(".q-text")).to_have_text(["化疗期间白细胞低怎么办？"])
    open_chat(mei, asgi_server, group.pk)

    # She types her own words for the same worry (口渴 for 口干, no word of the earlier question
    # but 放疗): the earlier question and its helpful answer.
    typed = "放疗结束后总是口渴怎么办"
    box = mei.get_by_role("textbox", name="消息")
    box.press_sequentially(typed, delay=30)
    panel = mei.locator("#asked-before")
    expect(panel).to_be_visible()
    expect(panel.locator(".asked-title")).to_have_text("群里以前问过")
    expect(panel.locator(".asked-question")).to_have_text([earlier])  # only the one on dry mouth
    expect(panel.locator(".asked-answer")).to_have_text([f"✓ 老张: {helped}"])
    for target in (".asked-close", ".asked-question", ".asked-answer"):
        tall_enough(panel.locator(target).first)
    mei.screenshot(path=shots / "1-asked-before-typing.png")

    # Reading the earlier answer in the chat keeps what she typed; the panel folds away so the
    # answer has the room.
    panel.locator(".asked-answer").first.click()
    expect(mei.locator(f"#m{a1}")).to_have_class(re.compile(r"\bhighlight\b"))
    expect(panel).to_be_hidden()
    expect(mei.locator(f"#m{a1}")).to_be_in_viewport(ratio=1)
    expect(box).to_have_value(typed)
    mei.screenshot(path=shots / "2-earlier-answer-opened.png")

    # She asks anyway (the server sees it is a question); the panel says it may be answered.
    mei.locator("#send").click()
    sent = bubble(mei, typed)
    expect(sent).to_have_class(re.compile(r"\bq-open\b"))
    expect(box).to_have_value("")
    expect(panel).to_be_visible()
    expect(panel.locator(".asked-title")).to_have_text("您的问题以前可能有人回答过：")
    expect(panel.locator(".asked-question")).to_have_text([earlier])
    qid = int(sent.get_attribute("data-id") or 0)
    mei.screenshot(path=shots / "3-asked-before-after-sending.png")
    panel.locator(".asked-close").click()
    expect(panel).to_be_hidden()

    # The open list has her question first, with no answer yet.
    mei.locator(f"nav.tabs a[href='/groups/{group.pk}/questions/']").click()
    expect(mei).to_have_url(f"{asgi_server.url}/groups/{group.pk}/questions/")
    expect(listed.locator(".q-text")).to_have_text([typed, "化疗期间白细胞低怎么办？"])
    expect(listed.first).to_have_class(re.compile(r"\bopen\b"))
    expect(listed.first.locator(".tag")).to_have_text("还没人回答")
    expect(listed.first.locator(".meta")).to_contain_text("小梅")
    mei.screenshot(path=shots / "4-open-list.png", full_page=True)

    # Answered from another phone: still open until she says it helped.
    token = ApiToken.issue(zhang)
    r = httpx.post(
        f"{asgi_server.url}/api/v1/groups/{group.pk}/messages",
        json={
            "client_id": "zhang-1",
            "text": "我也口干，含冰块、用加湿器都有用。",
            "reply_to": qid,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    mei.reload()
    expect(listed.locator(".q-text")).to_have_text(["化疗期间白细胞低怎么办？", typed])
    expect(listed.nth(1)).to_have_class(re.compile(r"\banswered\b"))
    expect(listed.nth(1).locator(".tag")).to_have_text("1 个回答")

    # From the list to the question, then to the answer, which she marks as the one that helped.
    listed.nth(1).get_by_role("link").click()
    expect(mei.locator(f"#m{qid}")).to_have_class(re.compile(r"\bhighlight\b"))
    expect(mei.locator("#conn")).to_have_attribute("data-state", "live")
    answer = bubble(mei, "含冰块")
    answer.locator(".helpful-button").click()
    expect(answer.locator(".helped-tag")).to_be_visible()
    expect(mei.locator(f"#m{qid}")).to_have_class(re.compile(r"\bq-resolved\b"))
    mei.screenshot(path=shots / "5-marked-helpful.png")

    mei.goto(f"{asgi_server.url}/groups/{group.pk}/questions/")
    expect(listed.locator(".q-text")).to_have_text(["化疗期间白细胞低怎么办？"])
    mei.screenshot(path=shots / "6-open-list-after.png", full_page=True)
    mei.context.close()
