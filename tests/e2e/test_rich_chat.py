"""The richer chat on a phone: mentions and notifications, permalinks and dates, pins and the
announcement, link cards — each seen live by another member in Chromium."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tongzhou.accounts.actions import do_register
from tongzhou.accounts.models import ApiToken, User
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.models import Message
from tongzhou.groups.actions import do_apply, do_decide
from tongzhou.groups.models import Group

from ..conftest import LiveServer
from ..media_samples import jpeg_with_gps
from .conftest import group_with_member, quiet_fan_out, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LEADER_PASSWORD = "leader-pass-2026"  # group_with_member's leader, "lead"
PASSWORD = "member-pass-2026"
ZONE = "Asia/Shanghai"


def open_chat(
    browser: Browser, server: LiveServer, user: str, password: str, gid: int, query: str = ""
) -> Page:
    """A phone-sized page, signed in, on the group's chat, connected."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="en-US", timezone_id=ZONE
    )
    page = context.new_page()
    sign_in(page, server.url, user, password)
    page.goto(f"{server.url}/groups/{gid}/chat/{query}")
    expect(page.locator("#conn")).to_have_text("Connected")
    return page


def send_as(user: User, group: Group, texts: list[str]) -> list[int]:
    with quiet_fan_out():
        return [
            do_send_message(user, group.pk, client_id=f"seed-{i}", text=text)[0]["id"]
            for i, text in enumerate(texts)
        ]


def send_over_api(server: LiveServer, user: User, group: Group, text: str) -> int:
    """As a phone would: through the server, so the server's own fan-out delivers it."""
    r = httpx.post(
        f"{server.url}/api/v1/groups/{group.pk}/messages",
        json={"client_id": f"api-{text[:20]}", "text": text},
        headers={"Authorization": f"Bearer {ApiToken.issue(user)}"},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


# Records each value the top bar's notification badge shows (0 when hidden) in
# window.badgeShown, so a test can tell it went up even if it has gone down since.
BADGE_WATCH = """() => {
  const badge = document.getElementById("notify-count");
  const shown = () => (badge.hidden ? 0 : Number(document.getElementById("notify-n").textContent));
  window.badgeShown = [shown()];
  new MutationObserver(() => window.badgeShown.push(shown())).observe(
    badge, { attributes: true, childList: true, subtree: true, characterData: true });
}"""


def message(page: Page, mid: int) -> Any:
    return page.locator(f"#m{mid}")


# --- 1. a mention with formatting, the toast, the badge and the notification --------------


def test_a_mention_with_formatting_reaches_the_member_as_toast_badge_and_notification(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    leader, group = group_with_member("Rich group", "meiling", PASSWORD)
    meifang = do_register("meifang", PASSWORD, "Meifang")  # a second "Mei…" to choose between
    do_decide(leader, do_apply(meifang, group, role="carer"), approve=True)
    lead = open_chat(browser, asgi_server, "lead", LEADER_PASSWORD, group.pk)
    mei = open_chat(browser, asgi_server, "meiling", PASSWORD, group.pk)
    expect(mei.locator("#notify-count")).to_be_hidden()

    box = lead.get_by_label("Message", exact=True)
    box.press_sequentially("@mei")
    options = lead.locator("#mention-list [role=option]")
    expect(options).to_have_count(2)  # Meiling and Meifang
    expect(options.first).to_have_attribute("aria-selected", "true")
    lead.screenshot(path=shots / "1-suggestions.png")
    names = options.all_text_contents()
    assert sorted(names) == ["Meifang", "Meiling"]
    for _ in range(names.index("Meiling")):
        box.press("ArrowDown")
    expect(lead.locator("#mention-list [aria-selected=true]")).to_have_text("Meiling")
    box.press("Enter")
    expect(lead.locator("#mention-list")).to_be_hidden()
    expect(box).to_have_value("@Meiling ")
    box.press_sequentially("please bring **the CT films** tomorrow:")
    box.press("Enter")  # a new line, not a send
    box.press_sequentially("- blood test report")
    box.press("Enter")
    box.press_sequentially("- appointment card")
    lead.screenshot(path=shots / "2-composed.png")
    # What Meiling's badge shows, as it changes (it may go back down soon: see below).
    mei.evaluate(BADGE_WATCH)
    lead.get_by_role("button", name="Send").click()
    expect(box).to_have_value("")

    # Meiling's page is open: a toast, the badge, and the message formatted with her name marked.
    toast = mei.locator("#toast")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("Leader mentioned you in Rich group")
    mei.wait_for_function("() => window.badgeShown.includes(1)")
    sent = mei.locator(".message").filter(has_text="please bring")
    expect(sent.locator(".text strong")).to_have_text("the CT films")
    expect(sent.locator(".text li")).to_have_text(["blood test report", "appointment card"])
    expect(sent.locator(".mention.me")).to_have_text("@Meiling")
    expect(sent).to_have_class(re.compile(r"\bmentions-me\b"))
    mei.screenshot(path=shots / "3-toast.png")
    mid = int(sent.get_attribute("data-id") or 0)
    # The sender sees the same formatting, but the mention is not theirs.
    mine = lead.locator(f"#m{mid}")
    expect(mine.locator(".text strong")).to_have_text("the CT films")
    expect(mine.locator(".mention")).to_have_text("@Meiling")
    expect(mine.locator(".mention.me")).to_have_count(0)

    # Shown in her open chat, the mention is read (the read marker passed it): the badge agrees.
    expect(mei.locator("#notify-count")).to_be_hidden()
    mei.locator("#toast-close").click()
    expect(toast).to_be_hidden()
    mei.get_by_label("Message", exact=True).fill("谢谢提醒，我会带上")
    mei.get_by_role("button", name="Send").click()
    thanks = lead.locator(".message").filter(has_text="谢谢提醒")
    expect(thanks).to_be_visible()

    # She leaves the chat; meanwhile the leader answers her.
    mei.locator("#notify-link").click()
    expect(mei).to_have_url(f"{asgi_server.url}/notifications/")
    items = mei.locator(".notification-list li")
    expect(items).to_have_count(1)
    expect(items).not_to_have_class("unread")
    thanks.get_by_role("button", name="Reply").click()
    lead.get_by_label("Message", exact=True).fill("不客气，明天见")
    lead.get_by_role("button", name="Send").click()
    reply = lead.locator(".message").filter(has_text="不客气")
    expect(reply.locator(".quote")).to_have_text("Meiling: 谢谢提醒，我会带上")
    rid = int(reply.get_attribute("data-id") or 0)

    mei.reload()
    expect(items).to_have_count(2)
    expect(mei.locator("#notify-n")).to_have_text("1")
    unread = mei.locator(".notification-list li.unread")
    expect(unread).to_have_count(1)
    expect(unread.locator(".what")).to_have_text("Leader replied to you in Rich group")
    expect(items.nth(1).locator(".what")).to_have_text("Leader mentioned you in Rich group")
    mei.screenshot(path=shots / "4-notifications.png")

    unread.get_by_role("link").click()
    expect(mei).to_have_url(re.compile(rf"/groups/{group.pk}/chat/\?m={rid}$"))
    landed = message(mei, rid)
    expect(landed).to_have_class(re.compile(r"\bhighlight\b"))
    expect(landed).to_be_in_viewport()
    expect(landed.locator(".quote")).to_have_text("Meiling: 谢谢提醒，我会带上")
    expect(mei.locator("#notify-count")).to_be_hidden()  # reading it there is reading it
    mei.screenshot(path=shots / "5-permalink.png")

    mei.goto(f"{asgi_server.url}/notifications/")
    expect(items).to_have_count(2)
    expect(mei.locator(".notification-list li.unread")).to_have_count(0)
    expect(mei.get_by_role("button", name="Mark all as read")).to_have_count(0)
    mei.context.close()
    lead.context.close()


# --- 2. a permalink far back, live messages held, and a jump to a date --------------------


def test_a_permalink_far_back_holds_live_messages_until_back_to_the_latest_and_dates_jump(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    leader, group = group_with_member("Long group", "reader", PASSWORD)
    ids = send_as(leader, group, [f"history {i:03d}" for i in range(130)])
    # Backdate the first 60: 0–29 ten days ago, 30–59 five days ago (noon, the readers' zone).
    zone = ZoneInfo(ZONE)
    today = timezone.now().astimezone(zone).date()
    days = {0: today - timedelta(days=10), 30: today - timedelta(days=5)}
    for start, day in days.items():
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=zone)
        for i in range(start, start + 30):
            Message.objects.filter(pk=ids[i]).update(created_at=noon + timedelta(minutes=i))

    lead = open_chat(browser, asgi_server, "lead", LEADER_PASSWORD, group.pk)
    page = open_chat(browser, asgi_server, "reader", PASSWORD, group.pk, f"?m={ids[10]}")
    target = message(page, ids[10])
    expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    expect(target.locator(".text")).to_have_text("history 010")
    expect(target).to_be_in_viewport()
    detached = page.locator("#detached")
    expect(detached).to_be_visible()
    expect(detached).to_contain_text("You are reading earlier messages.")
    expect(page.locator(".message").filter(has_text="history 129")).to_have_count(0)
    page.screenshot(path=shots / "1-permalink-far-back.png")

    new = send_over_api(asgi_server, leader, group, "刚从医院回来，结果很好")
    expect(message(lead, new)).to_be_visible()  # the fan-out has happened
    page.wait_for_timeout(500)  # and the reader's socket had time to receive it as well
    expect(message(page, new)).to_have_count(0)  # held: the reader's place is kept
    expect(target).to_be_in_viewport()

    page.get_by_role("button", name="Back to the latest").click()
    expect(message(page, new)).to_be_in_viewport()  # at the bottom, where the latest is
    expect(page.locator("#messages .message").last).to_have_id(f"m{new}")
    expect(message(page, ids[129])).to_be_attached()
    expect(detached).to_be_hidden()
    expect(page).to_have_url(f"{asgi_server.url}/groups/{group.pk}/chat/")
    page.screenshot(path=shots / "2-back-to-the-latest.png")

    # Jump to five days ago: the first message of that day, highlighted.
    page.get_by_role("button", name="Date").click()
    date_input = page.get_by_label("Show messages from this day")
    expect(date_input).to_be_focused()
    date_input.fill(days[30].isoformat())
    page.screenshot(path=shots / "3-date-form.png")
    page.get_by_role("button", name="Go").click()
    first = message(page, ids[30])
    expect(first).to_have_class(re.compile(r"\bhighlight\b"))
    expect(first.locator(".text")).to_have_text("history 030")
    expect(first).to_be_in_viewport()
    expect(page.locator("#date-form")).to_be_hidden()
    expect(detached).to_be_visible()
    assert page.locator(".message.highlight").count() == 1
    page.screenshot(path=shots / "4-date-jump.png")
    page.context.close()
    lead.context.close()


# --- 3. pins and the announcement, live -------------------------------------------------


def test_a_pin_and_the_announcement_reach_the_open_page_live(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    leader, group = group_with_member("Pin group", "ping", PASSWORD)
    tip = "放疗期间的饮食：少量多餐，多喝水，避免辛辣"
    ids = send_as(leader, group, [tip] + [f"chat {i:02d}" for i in range(40)])
    lead = open_chat(browser, asgi_server, "lead", LEADER_PASSWORD, group.pk)
    ping = open_chat(browser, asgi_server, "ping", PASSWORD, group.pk)
    pins_button = ping.locator("#pins-button")
    expect(pins_button).to_have_text(re.compile(r"^📌\s*Pinned\s*$"))
    expect(ping.locator(".message .pin-button:visible")).to_have_count(0)  # members cannot pin

    # The leader scrolls up to the tip and pins it.
    pinned = message(lead, ids[0])
    pinned.get_by_role("button", name="Pin").click()
    expect(pinned.get_by_role("button", name="Unpin")).to_be_visible()
    expect(pinned.locator(".pinned-tag")).to_be_visible()

    expect(pins_button).to_have_text(re.compile(r"Pinned\s+\(1\)"))  # live, no reload
    ping.screenshot(path=shots / "1-pinned-count.png")
    pins_button.click()
    expect(pins_button).to_have_attribute("aria-expanded", "true")
    items = ping.locator("#pins-list .pin-item")
    expect(items).to_have_count(1)
    expect(items.first).to_have_text(f"Leader: {tip}")
    ping.screenshot(path=shots / "2-pin-list.png")
    items.first.click()
    expect(ping.locator("#pins")).to_be_hidden()  # out of the way of the message
    expect(pins_button).to_have_attribute("aria-expanded", "false")
    target = message(ping, ids[0])
    expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    expect(target).to_be_in_viewport()
    expect(target.locator(".pinned-tag")).to_be_visible()
    ping.screenshot(path=shots / "3-jumped-to-pin.png")

    # The announcement, set on the settings page, opens above the member's chat.
    expect(ping.locator("#announcement")).to_be_hidden()
    lead.goto(f"{asgi_server.url}/groups/{group.pk}/settings/")
    lead.get_by_label("Announcement", exact=True).fill(
        "**周六下午三点**线上分享：放疗后的口腔护理\n- 请提前准备问题"
    )
    lead.get_by_role("button", name="Save announcement").click()
    announcement = ping.locator("#announcement")
    expect(announcement).to_be_visible()
    expect(announcement).to_have_attribute("open", "")
    expect(ping.locator("#announcement-text strong")).to_have_text("周六下午三点")
    expect(ping.locator("#announcement-text li")).to_have_text("请提前准备问题")
    ping.screenshot(path=shots / "4-announcement-live.png")
    ping.locator("#announcement summary").click()  # folded to one line, as formatted
    line = ping.locator("#announcement-line")
    expect(line).to_have_text("周六下午三点线上分享：放疗后的口腔护理")
    ping.screenshot(path=shots / "5-announcement-folded.png")
    ping.reload()  # seen: it stays folded, the same line
    expect(ping.locator("#conn")).to_have_text("Connected")
    expect(announcement).not_to_have_attribute("open", "")
    expect(line).to_have_text("周六下午三点线上分享：放疗后的口腔护理")
    ping.context.close()
    lead.context.close()


# --- 4. a link preview card made by the worker ------------------------------------------


@pytest.fixture
def article_site() -> Iterator[tuple[str, threading.Event]]:
    """A real web page with Open Graph tags, on 127.0.0.1. It answers only once the test
    sets the event, so the test can see the message arrive before any card."""
    release = threading.Event()
    picture = jpeg_with_gps(size=(800, 420))
    title, description = "鼻咽癌放疗期间的口腔护理", "护士长总结的十条经验：漱口、饮水与复查。"
    body = (
        "<!doctype html><html><head><title>fallback</title>"
        f'<meta property="og:title" content="{html.escape(title)}">'
        f'<meta property="og:description" content="{html.escape(description)}">'
        '<meta property="og:image" content="/card.jpg">'
        "</head><body>article</body></html>"
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path == "/card.jpg":
                content, kind = picture, "image/jpeg"
            else:
                release.wait(20)
                content, kind = body, "text/html; charset=utf-8"
            try:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
            except OSError:  # the fetcher hung up early, as it may
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"127.0.0.1:{httpd.server_address[1]}", release
    release.set()
    httpd.shutdown()
    httpd.server_close()


def test_a_link_is_sent_at_once_and_its_card_with_picture_follows_on_both_pages(
    asgi_server: LiveServer,
    worker: None,
    browser: Browser,
    shots: Path,
    settings: Any,
    article_site: tuple[str, threading.Event],
) -> None:
    host, release = article_site
    settings.LINK_PREVIEW_ALLOW_HOST = host
    _leader, group = group_with_member("Link group", "linh", PASSWORD)
    linh = open_chat(browser, asgi_server, "linh", PASSWORD, group.pk)
    lead = open_chat(browser, asgi_server, "lead", LEADER_PASSWORD, group.pk)

    url = f"http://{host}/articles/mouth-care"
    linh.get_by_label("Message", exact=True).fill(f"这篇很实用 {url}")
    linh.get_by_role("button", name="Send").click()
    pages = (linh, lead)
    for page in pages:  # the message is there at once; the page is still being fetched
        sent = page.locator(".message").filter(has_text="这篇很实用")
        expect(sent).to_be_visible()
        expect(sent.locator(".text a")).to_have_attribute("href", url)
        expect(sent.locator(".link-card")).to_be_hidden()
    lead.screenshot(path=shots / "1-sent-before-the-card.png")

    release.set()
    for page in pages:  # the card follows, in sight of the reader at the bottom, with its picture
        card = page.locator(".message").filter(has_text="这篇很实用").locator(".link-card")
        expect(card).to_be_visible(timeout=15_000)
        expect(card).to_have_attribute("href", url)
        expect(card.locator(".link-site")).to_have_text("127.0.0.1")
        title, desc = card.locator(".link-title"), card.locator(".link-desc")
        expect(title).to_have_text("鼻咽癌放疗期间的口腔护理")
        expect(desc).to_have_text("护士长总结的十条经验：漱口、饮水与复查。")
        img = card.locator("img")
        expect(img).to_have_attribute("src", re.compile(r"^/media/link/\d+$"))
        page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle())
        # The reader stays at the bottom as the card grows: its words are in sight (on a
        # 360 px phone the picture above them may already have scrolled up).
        for seen in (title, desc):
            expect(seen).to_be_in_viewport()
    linh.screenshot(path=shots / "2-card-sender.png")
    lead.screenshot(path=shots / "3-card-other-member.png")
    linh.context.close()
    lead.context.close()
