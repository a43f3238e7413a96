"""The app on a phone (issue 9): installable, pages kept for offline reading, messages written
offline delivered once, read aloud, talk instead of type, bigger text. Real Chromium at 360 px.

Speech: headless Chromium has no voices, so the page's calls to speechSynthesis.speak are
recorded (and still made) to see what would be read and in which language."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tongzhou.accounts.actions import do_register
from tongzhou.accounts.models import Profile, User
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.models import Message
from tongzhou.groups.actions import do_apply, do_decide
from tongzhou.groups.models import Group
from tongzhou.knowledge.actions import do_add_term, do_create_entry

from ..conftest import LiveServer
from .conftest import group_with_member, quiet_fan_out, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "member-pass-2026"
PHONE = {"width": 360, "height": 740}
LANG = {"zh-CN": "zh-hans", "en-US": "en", "zh-TW": "zh-hant"}
SIGN_IN = {
    "en-US": {"login_username": "Username", "password": "Password", "sign_in": "Sign in"},
    "zh-CN": {"login_username": "用户名", "password": "密码", "sign_in": "登录"},
}
ENTRY_TITLE = "放疗期间口腔溃疡怎么办"
ENTRY_BODY = "饭前用医院开的漱口水含一会儿，吃软的、凉的食物。"

SPY = """
window.__spoken = [];
if (window.speechSynthesis) {
  const speak = speechSynthesis.speak.bind(speechSynthesis);
  speechSynthesis.speak = (u) => { window.__spoken.push({ text: u.text, lang: u.lang }); speak(u); };
}
"""


@pytest.fixture(autouse=True)
def patient() -> Iterator[None]:
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def says(locale: str, msgid: str, **values: Any) -> str:
    with translation.override(LANG[locale]):
        text = translation.gettext(msgid)
    return text % values if values else text


def phone(browser: Browser, server: LiveServer, username: str, locale: str) -> Page:
    context = browser.new_context(viewport=PHONE, locale=locale, device_scale_factor=2)
    context.add_init_script(SPY)
    page = context.new_page()
    sign_in(page, server.url, username, PASSWORD, labels=SIGN_IN[locale])
    expect(page).to_have_url(re.compile(r"/groups/$"))
    return page


def controlled(page: Page) -> None:
    """Wait until the service worker has taken this page over (first visit: after claim)."""
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller")


def kept(page: Page) -> int:
    """How many pages the service worker keeps for offline reading (evaluate awaits)."""
    return int(
        page.evaluate("async () => (await (await caches.open('tongzhou-pages')).keys()).length")
    )


def until(condition: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def open_chat(page: Page, server: LiveServer, gid: int) -> None:
    page.goto(f"{server.url}/groups/{gid}/chat/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def fits(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def second_member(leader: User, group: Group, username: str, name: str) -> User:
    user = do_register(username, PASSWORD, name)
    do_decide(leader, do_apply(user, group, role="patient"), approve=True)
    return user


def test_the_app_installs_keeps_pages_offline_and_sends_what_was_written_offline_once(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    leader, group = group_with_member("同舟互助群", "xiaomei", PASSWORD)
    gid = group.pk
    second_member(leader, group, "laozhang", "老张")
    entry = do_create_entry(leader, gid, title=ENTRY_TITLE, body=ENTRY_BODY, category="treatment")
    do_add_term(leader, gid, term="毕业", also="", meaning="治疗全部结束，进入定期复查。")
    with quiet_fan_out():
        do_send_message(leader, gid, client_id="hello", text="大家好，欢迎新朋友。")

    en = "en-US"
    page = phone(browser, asgi_server, "xiaomei", en)
    context: BrowserContext = page.context

    # --- installable: Chromium's own installability check has nothing to object to -----
    open_chat(page, asgi_server, gid)
    controlled(page)
    cdp = context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright's contexts are incognito windows, where Chromium never offers to install.
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []
    manifest = page.request.get(f"{asgi_server.url}/manifest.webmanifest").json()
    assert manifest["display"] == "standalone" and manifest["start_url"].startswith("/")
    for icon in manifest["icons"]:
        r = page.request.get(f"{asgi_server.url}{icon['src']}")
        assert r.ok and r.headers["content-type"] == "image/png"
        width, height = Image.open(io.BytesIO(r.body())).size
        assert f"{width}x{height}" == icon["sizes"]

    # --- pages the member opened are kept: the entry and the glossary -------------------
    page.goto(f"{asgi_server.url}/groups/{gid}/knowledge/{entry.pk}/")
    expect(page.locator("#entry-title")).to_have_text(ENTRY_TITLE)
    page.goto(f"{asgi_server.url}/groups/{gid}/glossary/")
    expect(page.get_by_text("治疗全部结束")).to_be_visible()
    until(lambda: kept(page) >= 3)

    # --- the other member watches the chat ------------------------------------------------
    other = phone(browser, asgi_server, "laozhang", "zh-CN")
    open_chat(other, asgi_server, gid)

    # --- the network goes: the chat says so, and a message waits in the outbox -----------
    open_chat(page, asgi_server, gid)
    context.set_offline(True)
    expect(page.locator("#conn")).to_have_attribute("data-state", "offline")
    expect(page.locator("#conn")).to_have_text(
        says(en, "No connection. What you write is sent when you are back online.")
    )
    offline_text = "I wrote this on the bus with no signal."
    page.locator("#text").fill(offline_text)
    page.locator("#send").click()
    queued = page.locator("#messages .message.queued").filter(has_text=offline_text)
    expect(queued).to_contain_text(
        says(en, "Waiting for the network: it will be sent when you are back online.")
    )
    expect(page.locator("#text")).to_have_value("")
    assert not Message.objects.filter(text=offline_text).exists()
    page.screenshot(path=str(shots / "1-queued-offline.png"))

    # --- still offline: the kept entry opens, a page never opened says it is not kept ----
    page.goto(f"{asgi_server.url}/groups/{gid}/knowledge/{entry.pk}/")
    expect(page.locator("#entry-title")).to_have_text(ENTRY_TITLE)
    expect(page.locator("#entry-body")).to_contain_text(ENTRY_BODY)
    page.screenshot(path=str(shots / "2-entry-offline.png"))
    page.goto(f"{asgi_server.url}/groups/{gid}/questions/")
    expect(page.get_by_role("heading", level=1)).to_have_text(says(en, "No connection"))
    listed = page.locator("#offline-list a")
    expect(listed.filter(has_text=ENTRY_TITLE)).to_have_count(1)
    fits(page)
    page.screenshot(path=str(shots / "3-offline-page.png"))

    # --- the chat opens offline from the phone, with the message still waiting -----------
    page.goto(f"{asgi_server.url}/groups/{gid}/chat/")
    expect(queued).to_have_count(1)

    # --- back online: it is sent once, and the other member sees it once -----------------
    context.set_offline(False)
    mine = page.locator("#messages .message:not(.queued)").filter(has_text=offline_text)
    expect(mine).to_have_count(1)
    expect(queued).to_have_count(0)
    expect(other.locator("#messages .message").filter(has_text=offline_text)).to_have_count(1)
    assert Message.objects.filter(text=offline_text).count() == 1
    # The chat was opened without a network: its history comes once the network is back.
    expect(
        page.locator("#messages .message").filter(has_text="大家好，欢迎新朋友。")
    ).to_have_count(1)

    # --- a send whose answer is lost on the way back: it is retried, and arrives once ----
    lost_text = "The answer to this one never reached my phone."
    dropped: list[str] = []

    def drop_answer(route: Any) -> None:
        if route.request.method == "POST" and not dropped:
            route.fetch()  # the server gets it and saves it...
            dropped.append(route.request.post_data_json["client_id"])
            route.abort("connectionreset")  # ...but the phone never hears back
            return
        route.continue_()

    page.route(re.compile(r".*/api/v1/groups/\d+/messages$"), drop_answer)
    page.locator("#text").fill(lost_text)
    page.locator("#send").click()
    expect(
        page.locator("#messages .message:not(.queued)").filter(has_text=lost_text)
    ).to_have_count(1)
    expect(page.locator("#messages .message.queued")).to_have_count(0)
    assert Message.objects.filter(text=lost_text).count() == 1
    assert Message.objects.get(text=lost_text).client_id == dropped[0]
    expect(other.locator("#messages .message").filter(has_text=lost_text)).to_have_count(1)
    page.unroute(re.compile(r".*/api/v1/groups/\d+/messages$"))
    page.screenshot(path=str(shots / "4-delivered.png"))

    # --- signing out makes the phone forget the kept pages and the outbox ----------------
    page.goto(f"{asgi_server.url}/accounts/profile/")
    page.locator("form.signout-row button").click()
    expect(page).to_have_url(re.compile(r"/$"))
    kept_after = page.evaluate(
        """async () => (await (await caches.open("tongzhou-pages")).keys()).length"""
    )
    assert kept_after == 0
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.includes('outbox'))") == []
    context.close()
    other.context.close()


def test_read_aloud_talk_instead_of_type_and_bigger_text(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    leader, group = group_with_member("Head and neck group", "xiaomei", PASSWORD)
    gid = group.pk
    entry = do_create_entry(leader, gid, title=ENTRY_TITLE, body=ENTRY_BODY, category="treatment")
    do_add_term(leader, gid, term="毕业", also="", meaning="治疗全部结束，进入定期复查。")
    with quiet_fan_out():
        zh_id = do_send_message(
            leader, gid, client_id="zh", text="今天复查结果很好，我毕业了，谢谢大家！"
        )[0]["id"]
        en_id = do_send_message(leader, gid, client_id="en", text="Drink water before bed.")[0][
            "id"
        ]

    zh = "zh-CN"
    page = phone(browser, asgi_server, "xiaomei", zh)

    # --- read aloud: each message in its own language ------------------------------------
    open_chat(page, asgi_server, gid)
    read = says(zh, "Read aloud")
    page.locator(f"#m{zh_id}").get_by_role("button", name=read).click()
    page.locator(f"#m{en_id}").get_by_role("button", name=read).click()
    spoken = page.evaluate("() => window.__spoken")
    assert spoken == [
        {"text": "今天复查结果很好，我毕业了，谢谢大家！", "lang": "zh-CN"},
        {"text": "Drink water before bed.", "lang": "en-US"},
    ]

    # --- a glossary word tapped in a message --------------------------------------------
    page.locator(f"#m{zh_id} .term").click()
    page.locator(".term-pop").get_by_role("button", name=read).click()
    said = page.evaluate("() => window.__spoken.at(-1)")
    assert (
        said["lang"] == "zh-CN" and said["text"].startswith("毕业") and "定期复查" in said["text"]
    )

    # --- a knowledge entry and a glossary word ---------------------------------------------
    page.goto(f"{asgi_server.url}/groups/{gid}/knowledge/{entry.pk}/")
    page.get_by_role("button", name=read).click()
    said = page.evaluate("() => window.__spoken.at(-1)")
    assert said["lang"] == "zh-CN" and ENTRY_TITLE in said["text"] and ENTRY_BODY in said["text"]
    page.goto(f"{asgi_server.url}/groups/{gid}/glossary/")
    page.get_by_role("button", name=says(zh, "Read “%(w)s” aloud", w="毕业")).click()
    said = page.evaluate("() => window.__spoken.at(-1)")
    assert said["text"].startswith("毕业") and "定期复查" in said["text"]

    # --- talk instead of type: one big hold-to-talk button, remembered -------------------
    open_chat(page, asgi_server, gid)
    page.get_by_role("button", name=says(zh, "Talk instead of typing")).click()
    hold = page.locator("#voice-button")
    expect(hold).to_be_focused()
    expect(page.locator("#text")).to_be_hidden()
    box = hold.bounding_box()
    assert box and box["height"] >= 72 and box["width"] >= PHONE["width"] * 0.6, box
    page.screenshot(path=str(shots / "1-voice-mode.png"))
    page.reload()
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator("#text")).to_be_hidden()
    page.get_by_role("button", name=says(zh, "Type instead of talking")).click()
    expect(page.locator("#text")).to_be_visible()

    # --- the largest text and high contrast, chosen once, on every page -------------------
    page.goto(f"{asgi_server.url}/accounts/profile/")
    page.get_by_label(says(zh, "Largest")).check()
    page.get_by_label(says(zh, "High contrast (black on white, stronger lines)")).check()
    page.get_by_role("button", name=says(zh, "Save reading settings")).click()
    expect(page.get_by_text(says(zh, "Saved. Every page now uses these settings."))).to_be_visible()
    profile = Profile.objects.get(user__username="xiaomei")
    assert (profile.text_size, profile.high_contrast) == ("largest", True)
    for path in (
        "/groups/",
        f"/groups/{gid}/chat/",
        f"/groups/{gid}/knowledge/{entry.pk}/",
        "/accounts/profile/",
    ):
        page.goto(f"{asgi_server.url}{path}")
        expect(page.locator("html")).to_have_class(re.compile(r"\btext-largest\b.*\bcontrast\b"))
        assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "26px"
        fits(page)
    open_chat(page, asgi_server, gid)
    page.screenshot(path=str(shots / "2-largest-text-chat.png"))
    # The composer still has room: the box to type in is at least two lines of big text.
    box = page.locator("#text").bounding_box()
    assert box and box["height"] >= 52, box

    # --- switching to Traditional: the offline page is kept again, in Traditional ---------
    controlled(page)
    page.locator(".lang-menu summary").click()
    page.get_by_role("button", name="繁體中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    page.wait_for_function("() => localStorage.getItem('tongzhou-lang') === 'zh-Hant'")
    page.context.set_offline(True)
    page.goto(f"{asgi_server.url}/groups/{gid}/questions/")
    expect(page.get_by_role("heading", level=1)).to_have_text(says("zh-TW", "No connection"))
    page.context.set_offline(False)
    page.context.close()


def test_the_first_load_of_the_chat_page_is_small_and_all_from_the_server(
    asgi_server: LiveServer, browser: Browser
) -> None:
    """At most 200 KB over the wire for a phone that never opened Tongzhou: the page, its
    scripts, styles and icons, the history, and what the service worker keeps at install."""
    leader, group = group_with_member("同舟互助群", "xiaomei", PASSWORD)
    with quiet_fan_out():
        for i in range(50):  # a full first page of history
            do_send_message(
                leader, group.pk, client_id=f"m{i}", text=f"第{i}条：复查前要空腹吗？" * 3
            )
    signing = phone(browser, asgi_server, "xiaomei", "zh-CN")
    state = signing.context.storage_state()
    signing.context.close()

    context = browser.new_context(viewport=PHONE, locale="zh-CN", storage_state=state)
    seen: list[tuple[str, int, str]] = []

    def count(request: Any) -> None:
        sizes = request.sizes()
        encoding = (request.response() and request.response().headers.get("content-encoding")) or ""
        seen.append(
            (request.url, sizes["responseBodySize"] + sizes["responseHeadersSize"], encoding)
        )

    context.on("requestfinished", count)
    page = context.new_page()
    open_chat(page, asgi_server, group.pk)
    controlled(page)
    page.wait_for_load_state("networkidle")
    total = sum(size for _url, size, _enc in seen)
    listing = "\n".join(f"{size:>8} {enc or '-':5} {url}" for url, size, enc in seen)
    assert total <= 200 * 1024, f"{total} bytes:\n{listing}"
    # Nothing from another origin (no fonts, scripts or trackers from elsewhere).
    assert all(url.startswith(asgi_server.url) for url, _size, _enc in seen), listing
    # Text is sent compressed.
    texts = [(url, enc) for url, _s, enc in seen if url.endswith((".js", ".css", "/chat/"))]
    assert texts and all(enc == "gzip" for _url, enc in texts), listing
    # The worker's install fetched its files too (so they are in the total above).
    assert any(url.endswith("/offline/") for url, _s, _e in seen), listing
    print(f"first load: {total} bytes in {len(seen)} requests\n{listing}")
    context.close()


def test_a_shared_phone_forgets_the_last_members_pages_and_outbox(
    asgi_server: LiveServer, browser: Browser
) -> None:
    """A family phone: one member's session simply ends (no sign-out), another signs in."""
    leader, group = group_with_member("同舟互助群", "xiaomei", PASSWORD)
    second_member(leader, group, "laozhang", "老张")
    entry = do_create_entry(
        leader, group.pk, title=ENTRY_TITLE, body=ENTRY_BODY, category="treatment"
    )
    page = phone(browser, asgi_server, "xiaomei", "en-US")
    open_chat(page, asgi_server, group.pk)
    controlled(page)
    page.goto(f"{asgi_server.url}/groups/{group.pk}/knowledge/{entry.pk}/")
    until(lambda: kept(page) >= 2)
    page.evaluate(
        "() => localStorage.setItem('tongzhou-outbox-1-2', JSON.stringify([{client_id: 'x', text: 'unsent'}]))"
    )
    page.context.clear_cookies()  # the session is gone; nobody pressed Sign out
    sign_in(page, asgi_server.url, "laozhang", PASSWORD)
    expect(page).to_have_url(re.compile(r"/groups/$"))
    until(lambda: kept(page) == 0)
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.includes('outbox'))") == []
    page.context.close()
