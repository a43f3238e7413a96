"""Safety on a phone (the safety app): a member in despair is shown crisis lines privately while
the leader is alerted; a newcomer's WeChat advert waits for a moderator, who approves it; a
moderator removes a message and finds it in the audit log; a member reports a message; and a
phone number makes the sender think twice. Each person in their own browser, 360 px wide,
real Chromium, Chinese for some people and English for others.

Words the pages show come from the project's own catalogue for the reader's language
(`says`), as in test_knowledge_journey.py; the crisis card is also checked to be really in
Chinese on a Chinese page, since that is whom it is for.

A few things a person should see but might not (a page wider than the phone, a note that
never shows) do not stop the journey: they are gathered (`Findings`) and fail the test at
its end, all together. A held message that a moderator approves should reach open pages
live; when it does not, the test reloads, goes on, and says so in a warning."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone, translation
from playwright.sync_api import Browser, Dialog, Locator, Page, ViewportSize, expect

from tongzhou.accounts.actions import do_register
from tongzhou.accounts.models import User
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.models import Message
from tongzhou.groups.actions import do_apply, do_create_group, do_decide, do_set_role
from tongzhou.groups.models import Group, Membership
from tongzhou.safety.models import AuditEntry, Report
from tongzhou.safety.resources import resources_for

from ..conftest import LiveServer
from .conftest import quiet_fan_out, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "member-pass-2026"
LEADER_PASSWORD = "leader-pass-2026"
ZONE = "Asia/Shanghai"
GROUP = "鼻咽癌互助群"
PHONE: ViewportSize = {"width": 360, "height": 740}
LANG = {"zh-CN": "zh-hans", "en-US": "en"}
SIGN_IN = {
    "en-US": {"login_username": "Username", "password": "Password", "sign_in": "Sign in"},
    "zh-CN": {"login_username": "用户名", "password": "密码", "sign_in": "登录"},
}
EN, ZH = "en-US", "zh-CN"
HAN = re.compile(r"[\u4e00-\u9fff]")

DESPAIR = "活着没意思，我不想再拖累家人了"
ADVERT = "加我微信 kfzj0520 了解抗癌好产品"
MOBILE = "我的手机 13812345678 有事打我"
WELCOME = "欢迎新朋友！有问题随时问。"
UNKIND = "天天在群里哭哭啼啼的，烦不烦，别在这儿丢人了"
OFF_TOPIC = "今晚谁一起看球？我请客喝啤酒"
HELLO = "大家好，我是阿芳，乳腺癌术后第二年。"

# The top bar's notification badge, each value it shows (0 when hidden), in window.badgeShown.
BADGE_WATCH = """() => {
  const badge = document.getElementById("notify-count");
  const shown = () => (badge.hidden ? 0 : Number(document.getElementById("notify-n").textContent));
  window.badgeShown = [shown()];
  new MutationObserver(() => window.badgeShown.push(shown())).observe(
    badge, { attributes: true, childList: true, subtree: true, characterData: true });
}"""
# Every time the crisis card opens on this page, in window.crisisOpened.
CARD_WATCH = """() => {
  const card = document.getElementById("crisis-card");
  window.crisisOpened = [];
  new MutationObserver(() => { if (card.open) window.crisisOpened.push(Date.now()); }).observe(
    card, { attributes: true, attributeFilter: ["open"] });
}"""


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
    """A member approved just now: new, so the salesman checks watch their contact details."""
    user = do_register(username, PASSWORD, name)
    do_decide(leader, do_apply(user, group, role="patient"), approve=True)
    return user


def promote(group: Group, leader: User, user: User) -> None:
    lead = Membership.objects.get(group=group, user=leader)
    do_set_role(lead, Membership.objects.get(group=group, user=user), "moderator")


def say(user: User, group: Group, cid: str, text: str) -> int:
    with quiet_fan_out():
        sent, _created = do_send_message(user, group.pk, client_id=cid, text=text)
    return int(sent["id"])


def phone(browser: Browser, server: LiveServer, username: str, password: str, locale: str) -> Page:
    context = browser.new_context(
        viewport=PHONE, locale=locale, timezone_id=ZONE, device_scale_factor=2
    )
    page = context.new_page()
    sign_in(page, server.url, username, password, labels=SIGN_IN[locale])
    expect(page).to_have_url(re.compile(r"/groups/$"))
    return page


Phones = Callable[[str, str, str], Page]


@pytest.fixture
def phones(browser: Browser, asgi_server: LiveServer) -> Iterator[Phones]:
    """Each person's own phone (a browser context), signed in; all put away at the end, pass
    or fail, before the server stops."""
    made: list[Page] = []

    def open_phone(username: str, password: str, locale: str) -> Page:
        page = phone(browser, asgi_server, username, password, locale)
        made.append(page)
        return page

    yield open_phone
    for page in made:
        page.context.close()


def open_chat(page: Page, server: LiveServer, gid: int) -> None:
    page.goto(f"{server.url}/groups/{gid}/chat/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def bubble(page: Page, text: str) -> Locator:
    return page.locator("#messages .message").filter(has_text=text)


def composer(page: Page, locale: str) -> Locator:
    return page.get_by_role("textbox", name=says(locale, "Message"), exact=True)


def send(page: Page, locale: str, text: str) -> None:
    composer(page, locale).fill(text)
    page.get_by_role("button", name=says(locale, "Send"), exact=True).click()


def queue(page: Page) -> Locator:
    return page.get_by_test_id("queue").get_by_test_id("report")


# What sticks out past the right edge (not counting rows that scroll sideways on purpose).
WIDEST = """() => {
  const edge = document.documentElement.clientWidth + 1;
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (["auto", "scroll", "hidden"].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  return [...document.body.querySelectorAll("*")]
    .filter((el) => el.getBoundingClientRect().right > edge && !scrolls(el))
    .filter((el) => ![...el.children].some((c) => c.getBoundingClientRect().right > edge))
    .slice(0, 5)
    .map((el) => `<${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}`
      + `${el.className ? "." + String(el.className).trim().split(/\\s+/).join(".") : ""}>`
      + ` "${el.textContent.trim().slice(0, 40)}" ends at ${Math.round(el.getBoundingClientRect().right)} px`);
}"""


class Findings:
    """What a person should have seen and did not, noted as the journey goes on."""

    def __init__(self) -> None:
        self.missed: list[str] = []

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.missed.append(what)

    def fits_the_phone(self, page: Page) -> None:
        """Nothing makes the page scroll sideways on a 360 px screen."""
        width = page.evaluate("() => document.documentElement.scrollWidth")
        self.check(
            width <= PHONE["width"], f"{page.url} is {width} px wide: {page.evaluate(WIDEST)}"
        )

    def done(self) -> None:
        assert not self.missed, "\n".join(self.missed)


def arrives_live(what: Locator, seconds: float) -> bool:
    try:
        expect(what).to_be_visible(timeout=seconds * 1000)
    except AssertionError:
        return False
    return True


# --- 1. crisis: the card for the sender alone, an alert for the leader -------------------


def test_a_member_in_despair_sees_crisis_lines_privately_and_the_leader_is_alerted(
    asgi_server: LiveServer, phones: Phones, shots: Path
) -> None:
    seen = Findings()
    leader = do_register("lead", LEADER_PASSWORD, "老李 Li")
    group = do_create_group(leader, GROUP)
    gid = group.pk
    mei = member(leader, group, "xiaomei", "小梅")  # in despair (Chinese)
    member(leader, group, "afang", "阿芳 Fang")  # an ordinary member (Chinese)
    say(leader, group, "w1", WELCOME)

    # The leader has the chat open (English) and watches the badge.
    lead = phones("lead", LEADER_PASSWORD, EN)
    open_chat(lead, asgi_server, gid)
    lead.evaluate(BADGE_WATCH)
    expect(lead.locator("#notify-count")).to_be_hidden()

    # Another member has it open too, and watches the crisis card.
    fang = phones("afang", PASSWORD, ZH)
    open_chat(fang, asgi_server, gid)
    fang.evaluate(CARD_WATCH)

    # She writes what she feels and sends it.
    sender = phones("xiaomei", PASSWORD, ZH)
    open_chat(sender, asgi_server, gid)
    send(sender, ZH, DESPAIR)
    expect(bubble(sender, DESPAIR)).to_be_visible()

    # The crisis card: hers alone, with numbers to tap.
    card = sender.locator("dialog#crisis-card")
    expect(card).to_be_visible()
    expect(card).to_have_attribute("open", "")
    with translation.override("zh-hans"):
        cn = resources_for("cn")  # her region (the server's default): mainland China
    # In her language: the words too, not only the numbers' names (the page is zh-Hans, and a
    # screen reader reads the card with a Chinese voice).
    expect(card.locator("#crisis-title")).to_have_text(
        says(ZH, "You don't have to carry this alone")
    )
    expect(card.locator("#crisis-title")).to_have_text(HAN)
    expect(card.locator("#crisis-text")).to_have_text(HAN)
    expect(card.locator("#crisis-region")).to_have_text(cn["name"])
    expect(card.locator("#crisis-region")).to_have_text("中国大陆")
    calls = card.locator("#crisis-lines a")
    expect(calls).to_have_count(len(cn["lines"]))
    for i, line in enumerate(cn["lines"]):
        number = line["phone"]
        expect(calls.nth(i)).to_have_text(number)
        scheme = "sms" if line["sms"] else "tel"
        expect(calls.nth(i)).to_have_attribute("href", f"{scheme}:{number.replace(' ', '')}")
        expect(card.locator("#crisis-lines li").nth(i)).to_contain_text(line["name"])
    expect(card.get_by_role("link", name="12356")).to_have_attribute("href", "tel:12356")
    expect(card.locator("#crisis-lines")).to_contain_text("全国心理援助热线")
    expect(card.locator("#crisis-emergency")).to_have_text(f"☎ {cn['emergency']}")
    expect(card.get_by_role("link", name=says(ZH, "Lines in other places"))).to_have_attribute(
        "href", "/help/crisis/"
    )
    expect(sender.locator("html")).to_have_attribute("lang", "zh-Hans")
    sender.screenshot(path=shots / "01-sender-crisis-card.png")
    card.get_by_role("button", name=says(ZH, "Close"), exact=True).click()
    expect(card).to_be_hidden()
    expect(bubble(sender, DESPAIR)).to_be_visible()  # her message went to the group
    expect(composer(sender, ZH)).to_have_value("")

    # The other member sees the message, never the card.
    said = bubble(fang, DESPAIR)
    expect(said).to_be_visible()
    expect(said.locator(".sender-name")).to_have_text("小梅")
    fang.wait_for_timeout(1_000)  # a card that would follow the message has had its chance
    expect(fang.locator("#crisis-card")).to_be_hidden()
    assert fang.evaluate("() => document.getElementById('crisis-card').open") is False
    assert fang.evaluate("() => window.crisisOpened") == []
    fang.screenshot(path=shots / "02-other-member-no-card.png")

    # The leader: a live toast for the moderators, and the badge went up.
    toast = lead.locator("#toast")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text(f"For the moderators of {GROUP}: {DESPAIR}")
    expect(toast).to_contain_text("Someone may be in crisis: please reach out to them privately.")
    expect(lead.locator("#toast-link")).to_have_attribute("href", f"/groups/{gid}/moderation/")
    lead.wait_for_function("() => window.badgeShown.includes(1)")
    expect(bubble(lead, DESPAIR)).to_be_visible()
    lead.screenshot(path=shots / "03-leader-toast.png")

    # The toast leads to the moderation page, where the report waits.
    lead.locator("#toast-link").click()
    expect(lead).to_have_url(f"{asgi_server.url}/groups/{gid}/moderation/")
    reports = queue(lead)
    expect(reports).to_have_count(1)
    crisis = reports.first
    expect(crisis).to_have_class(re.compile(r"\bcrisis\b"))
    expect(crisis.locator(".title .tag")).to_have_text("Someone may be in crisis")
    expect(crisis).to_contain_text("小梅")
    expect(crisis).to_contain_text("Found by the automatic checks")
    expect(crisis).to_contain_text("Found: words of despair or of ending their life")
    expect(crisis.locator("blockquote")).to_have_text(DESPAIR)
    expect(crisis).to_contain_text("They were shown crisis lines privately.")
    reached = crisis.get_by_role("button", name="I have reached out")
    expect(reached).to_be_visible()
    lead.screenshot(path=shots / "04-leader-moderation-crisis.png", full_page=True)
    seen.fits_the_phone(lead)
    reached.click()
    expect(lead.locator("ul.flash")).to_contain_text("Done. It is in the audit log.")
    expect(lead.get_by_test_id("queue-empty")).to_be_visible()
    done = Report.objects.get(message__text=DESPAIR)
    assert (done.status, done.member_id, done.handled_by_id) == (
        Report.Status.DONE,
        mei.pk,
        leader.pk,
    )

    lead.goto(f"{asgi_server.url}/groups/{gid}/audit/")
    entry = lead.get_by_test_id("audit").locator("li.audit-entry").first
    expect(entry.locator(".title")).to_have_text("Reached out after a crisis alert: 小梅")
    expect(entry.locator(".meta")).to_contain_text("by 老李 Li")
    lead.screenshot(path=shots / "05-leader-audit-crisis.png", full_page=True)
    seen.fits_the_phone(lead)

    seen.done()


# --- 2. a newcomer's advert waits for a moderator, who approves it -----------------------


def test_a_newcomers_wechat_advert_is_held_until_a_moderator_approves_it(
    asgi_server: LiveServer, phones: Phones, shots: Path
) -> None:
    seen = Findings()
    leader = do_register("lead", LEADER_PASSWORD, "Leader")
    group = do_create_group(leader, GROUP)
    gid = group.pk
    wang = member(leader, group, "wangjie", "王姐")
    promote(group, leader, wang)
    member(leader, group, "xiaoma", "小马")  # joined a moment ago, like every member here
    member(leader, group, "afang", "阿芳 Fang")
    say(leader, group, "w1", WELCOME)

    fang = phones("afang", PASSWORD, EN)
    open_chat(fang, asgi_server, gid)

    # The salesman sends his advert: he sees it, marked as waiting; nobody else does.
    seller = phones("xiaoma", PASSWORD, EN)
    open_chat(seller, asgi_server, gid)
    send(seller, EN, ADVERT)
    mine = bubble(seller, ADVERT)
    expect(mine).to_be_visible()
    expect(mine).to_have_class(re.compile(r"\bheld\b"))
    tag = mine.locator(".held-tag")
    expect(tag).to_be_visible()
    expect(tag).to_have_text("⏳ Waiting for a moderator: only you can see it")
    # Told why, in a note under the text box (the page holds it; is it shown?).
    why = seller.locator("#composer-status")
    expect(why).to_contain_text(
        "Your message will show in the group once a moderator has looked at it."
    )
    seen.check(
        why.is_visible(), "the sender is never shown why the message waits (#composer-status)"
    )
    expect(mine.get_by_role("button", name="Report")).to_be_hidden()
    expect(composer(seller, EN)).to_have_value("")
    held = Message.objects.get(text=ADVERT)
    assert held.status == Message.Status.HELD
    seller.screenshot(path=shots / "01-sender-held-tag.png")

    fang.wait_for_timeout(1_500)  # a push, had there been one, has arrived by now
    expect(bubble(fang, ADVERT)).to_have_count(0)
    expect(bubble(fang, WELCOME)).to_be_visible()
    fang.reload()  # and the history from the server does not hold it either
    expect(fang.locator("#conn")).to_have_attribute("data-state", "live")
    expect(bubble(fang, WELCOME)).to_be_visible()
    expect(bubble(fang, ADVERT)).to_have_count(0)
    fang.screenshot(path=shots / "02-other-member-does-not-see-it.png")

    # The moderator finds it in the queue and approves it.
    mod = phones("wangjie", PASSWORD, EN)
    mod.goto(f"{asgi_server.url}/groups/{gid}/moderation/")
    reports = queue(mod)
    expect(reports).to_have_count(1)
    waiting = reports.first
    expect(waiting).to_contain_text("Held: waiting for approval")
    expect(waiting).to_contain_text("Selling, advertising or spam")
    expect(waiting).to_contain_text("小马")
    expect(waiting).to_contain_text("Found by the automatic checks")
    expect(waiting).to_contain_text("a WeChat ID")
    expect(waiting).to_contain_text("from a member who joined in the last few days")
    expect(waiting.locator("blockquote")).to_have_text(ADVERT)
    approve = waiting.get_by_role("button", name="Approve: show it to the group")
    expect(approve).to_be_visible()
    expect(waiting.get_by_role("button", name="Turn it down")).to_be_visible()
    mod.screenshot(path=shots / "03-moderator-queue-held.png", full_page=True)
    seen.fits_the_phone(mod)
    approve.click()
    expect(mod.locator("ul.flash")).to_contain_text("Done. It is in the audit log.")
    expect(mod.get_by_test_id("queue-empty")).to_be_visible()
    held.refresh_from_db()
    assert held.status == Message.Status.VISIBLE

    # The other member's open chat shows it in its place (a message.updated event) ...
    live_misses = []
    shown = bubble(fang, ADVERT)
    if not arrives_live(shown, 8):
        live_misses.append("the other member's open chat did not show the approved message")
        fang.screenshot(path=shots / "04a-other-member-live-miss.png")
        fang.reload()
        expect(fang.locator("#conn")).to_have_attribute("data-state", "live")
    expect(shown).to_be_visible()
    expect(shown.locator(".sender-name")).to_have_text("小马")
    expect(shown.locator(".held-tag")).to_be_hidden()
    expect(fang.locator("#messages .message")).to_have_count(2)
    fang.screenshot(path=shots / "04-other-member-sees-approved.png")

    # ... and the sender's tag goes.
    try:
        expect(mine.locator(".held-tag")).to_be_hidden(timeout=5_000)
    except AssertionError:
        live_misses.append("the sender's open chat kept the 'Waiting for a moderator' tag")
        seller.screenshot(path=shots / "05a-sender-live-miss.png")
        seller.reload()
        expect(seller.locator("#conn")).to_have_attribute("data-state", "live")
    expect(bubble(seller, ADVERT).locator(".held-tag")).to_be_hidden()
    seller.screenshot(path=shots / "05-sender-approved.png")

    expect(bubble(seller, ADVERT)).not_to_have_class(re.compile(r"\bheld\b"))

    # The approval is in the audit log.
    mod.goto(f"{asgi_server.url}/groups/{gid}/audit/")
    approved = mod.get_by_test_id("audit").locator("li.audit-entry").first
    expect(approved).to_have_attribute("data-action", "approve")
    expect(approved.locator(".title")).to_have_text("Approved a held message: 小马")
    expect(approved.locator(".meta")).to_contain_text("by 王姐")
    mod.screenshot(path=shots / "06-moderator-audit-approved.png", full_page=True)
    seen.fits_the_phone(mod)
    entry = AuditEntry.objects.get(group=group, action=AuditEntry.Action.APPROVE)
    assert (entry.actor_id, entry.message_id) == (wang.pk, held.pk)
    if live_misses:  # the journey works after a reload; the live part is reported, not hidden
        warnings.warn(
            "Approval did not arrive live: " + "; ".join(live_misses), UserWarning, stacklevel=1
        )
    seen.done()


# --- 3. a moderator removes a message; a member reports one -------------------------------


def test_a_member_reports_a_message_and_a_moderators_removal_is_in_the_audit_log(
    asgi_server: LiveServer, phones: Phones, shots: Path
) -> None:
    seen = Findings()
    leader = do_register("lead", LEADER_PASSWORD, "Leader")
    group = do_create_group(leader, GROUP)
    gid = group.pk
    wang = member(leader, group, "wangjie", "王姐")
    promote(group, leader, wang)
    zhang = member(leader, group, "laozhang", "老张")
    fang_user = member(leader, group, "afang", "阿芳 Fang")
    say(fang_user, group, "h1", HELLO)
    unkind = say(zhang, group, "u1", UNKIND)
    off_topic = say(zhang, group, "o1", OFF_TOPIC)

    mod = phones("wangjie", PASSWORD, EN)
    open_chat(mod, asgi_server, gid)
    mod.evaluate(BADGE_WATCH)

    # A member reports the unkind message from under it.
    fang = phones("afang", PASSWORD, EN)
    open_chat(fang, asgi_server, gid)
    expect(bubble(fang, HELLO).get_by_role("button", name="Report")).to_be_hidden()  # her own
    target = fang.locator(f"#m{unkind}")
    report = target.get_by_role("button", name="Report")
    expect(report).to_be_visible()
    report.click()
    dialog = fang.locator("dialog#report-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Tell the moderators")
    reasons = dialog.get_by_role("radio")
    expect(reasons).to_have_count(len(Report.Reason.choices))
    for radio in reasons.all():  # nothing is chosen for the reporter
        expect(radio).not_to_be_checked()
    expect(dialog.get_by_role("heading")).to_be_in_viewport()
    fang.screenshot(path=shots / "01-member-report-dialog.png")
    dialog.get_by_label("Unkind or harassing").check()
    note = "她这样说让刚确诊的病友很难受"
    dialog.get_by_label("Anything the moderators should know (optional)").fill(note)
    expect(dialog.get_by_role("button", name="Send the report")).to_be_in_viewport()
    fang.screenshot(path=shots / "01b-member-report-filled.png")
    dialog.get_by_role("button", name="Send the report").click()
    expect(dialog).to_be_hidden()
    expect(fang.locator("#composer-status")).to_have_text(
        "Thank you. The moderators will look at it."
    )
    fang.screenshot(path=shots / "02-member-reported.png")

    # The moderator is told at once.
    toast = mod.locator("#toast")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text(f"For the moderators of {GROUP}: {UNKIND}")
    expect(toast).to_contain_text("A member reported something.")
    mod.wait_for_function("() => window.badgeShown.includes(1)")
    mod.locator("#toast-close").click()

    # The moderator removes the off-topic message from the chat (and confirms).
    asked: list[str] = []

    def accept(d: Dialog) -> None:
        asked.append(d.message)
        d.accept("off topic")  # the reason, for the audit log

    mod.once("dialog", accept)
    remove = mod.locator(f"#m{off_topic}").get_by_role("button", name="Remove", exact=True)
    expect(remove).to_be_visible()
    mod.locator(f"#m{off_topic}").scroll_into_view_if_needed()
    remove.click()
    expect(mod.locator(f"#m{off_topic} .text")).to_have_text("Removed by a moderator.")
    assert asked == [
        "Remove this message from the group? Members will see that a moderator removed it. "
        "Why? (for the audit log)"
    ]
    expect(mod.locator(f"#m{off_topic}")).not_to_contain_text(OFF_TOPIC)
    # The member sees that it went, live, and not what it said.
    expect(fang.locator(f"#m{off_topic} .text")).to_have_text("Removed by a moderator.")
    expect(fang.locator(f"#m{off_topic}")).not_to_contain_text(OFF_TOPIC)
    mod.screenshot(path=shots / "03-moderator-removed.png")

    # The report waits in the queue, with who sent it.
    mod.goto(f"{asgi_server.url}/groups/{gid}/moderation/")
    reports = queue(mod)
    expect(reports).to_have_count(1)
    reported = reports.first
    expect(reported.locator(".title .tag")).to_have_text("Unkind or harassing")
    expect(reported).to_contain_text("老张")
    expect(reported).to_contain_text("Reported by 阿芳 Fang")
    expect(reported).to_contain_text(f"Note from the reporter: {note}")
    expect(reported.locator("blockquote")).to_have_text(UNKIND)
    expect(reported.get_by_role("link", name="See it in the chat")).to_have_attribute(
        "href", f"/groups/{gid}/chat/?m={unkind}"
    )
    expect(reported.get_by_role("button", name="Hide the message")).to_be_visible()
    mod.screenshot(path=shots / "04-moderator-queue-report.png", full_page=True)
    seen.fits_the_phone(mod)

    # The removal is in the audit log, under the moderator's name.
    mod.goto(f"{asgi_server.url}/groups/{gid}/audit/")
    entries = mod.get_by_test_id("audit").locator("li.audit-entry")
    expect(entries.first).to_have_attribute("data-action", "hide")  # the newest first
    expect(entries).to_have_count(2)  # and, before it, her own promotion to moderator
    expect(entries.nth(1)).to_have_attribute("data-action", "role")
    hid = entries.first
    expect(hid.locator(".title")).to_have_text("Hid a message: 老张")
    expect(hid.locator(".meta")).to_contain_text("by 王姐")
    expect(hid.locator(".meta")).to_contain_text(f"message {off_topic}")
    expect(hid).to_contain_text("Why: off topic")
    mod.screenshot(path=shots / "05-moderator-audit-log.png", full_page=True)
    seen.fits_the_phone(mod)
    seen.done()


# --- 4. a phone number: the sender is asked first ----------------------------------------


def test_a_phone_number_is_sent_only_after_the_sender_says_so(
    asgi_server: LiveServer, phones: Phones, shots: Path
) -> None:
    seen = Findings()
    leader = do_register("lead", LEADER_PASSWORD, "Leader")
    group = do_create_group(leader, GROUP)
    gid = group.pk
    mei = member(leader, group, "xiaomei", "小梅")
    # A member of a month: her own number is hers to share (a newcomer's would also be held
    # for a moderator as contact details, which journey 2 covers).
    Membership.objects.filter(group=group, user=mei).update(
        joined_at=timezone.now() - timedelta(days=30)
    )
    say(leader, group, "w1", WELCOME)

    page = phones("xiaomei", PASSWORD, ZH)
    open_chat(page, asgi_server, gid)
    box = page.locator("#pii-confirm")
    expect(box).to_be_hidden()
    send(page, ZH, MOBILE)

    # Asked before it goes: nothing sent yet.
    expect(box).to_be_visible()
    expect(box).to_have_attribute("role", "alertdialog")
    expect(page.locator("#pii-text")).to_contain_text(says(ZH, "a phone number"))
    edit = box.get_by_role("button", name=says(ZH, "Edit the message"))
    anyway = box.get_by_role("button", name=says(ZH, "Send anyway"))
    expect(anyway).to_be_focused()
    expect(edit).to_be_visible()
    expect(box).to_be_in_viewport()
    expect(bubble(page, MOBILE)).to_have_count(0)
    assert not Message.objects.filter(text=MOBILE).exists()
    page.screenshot(path=shots / "01-sender-personal-data-question.png")
    seen.fits_the_phone(page)

    # "Edit the message": back to the text, unsent.
    edit.click()
    expect(box).to_be_hidden()
    text = composer(page, ZH)
    expect(text).to_have_value(MOBILE)
    expect(text).to_be_focused()
    expect(page.get_by_role("button", name=says(ZH, "Send"), exact=True)).to_be_enabled()
    page.wait_for_timeout(500)
    expect(bubble(page, MOBILE)).to_have_count(0)
    assert not Message.objects.filter(text=MOBILE).exists()
    page.screenshot(path=shots / "02-sender-back-to-edit.png")

    # Send again, and this time "Send anyway".
    page.get_by_role("button", name=says(ZH, "Send"), exact=True).click()
    expect(box).to_be_visible()
    anyway.click()
    expect(box).to_be_hidden()
    sent = bubble(page, MOBILE)
    expect(sent).to_have_count(1)
    expect(sent.locator(".text")).to_have_text(MOBILE)
    expect(sent.locator(".held-tag")).to_be_hidden()
    expect(text).to_have_value("")
    expect(page.locator("#send-error")).to_be_hidden()
    assert Message.objects.get(text=MOBILE).status == Message.Status.VISIBLE
    page.screenshot(path=shots / "03-sender-sent-anyway.png")
    seen.done()
