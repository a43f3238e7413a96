"""Every page passes axe-core, has big enough touch targets and fits a phone, in every language
and with the largest text and high contrast; keyboard focus is visible; motion can be turned off.

One world (the demo group and a few extras), one server per test, one browser context per role.
Each test collects every finding on every page before it fails, so one run lists them all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyotp
import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.community_cases import insight as insight_cases
from tongzhou.accounts.actions import do_register, do_update_profile
from tongzhou.accounts.models import User
from tongzhou.accounts.twofactor import confirm_setup, start_setup
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.attachments import do_upload
from tongzhou.chat.models import Message
from tongzhou.community.demo import demo_ids
from tongzhou.demo import DEMO_PASSWORD, load_demo
from tongzhou.groups.actions import do_create_invite
from tongzhou.groups.models import Group, Membership
from tongzhou.imports.demo import ids as import_ids
from tongzhou.imports.models import Candidate, ImportedPerson, TermCandidate
from tongzhou.insight.demo import ids as research_ids
from tongzhou.knowledge.actions import do_edit_entry
from tongzhou.knowledge.models import Entry
from tongzhou.notify.models import Notification
from tongzhou.safety.actions import do_report
from tongzhou.safety.models import Report

from .. import media_samples as samples
from ..conftest import LiveServer
from ..test_access_matrix import PAGE_CASES
from .conftest import quiet_fan_out

if TYPE_CHECKING:
    from playwright._impl._api_structures import SetCookieParam

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
PHONE: ViewportSize = {"width": 360, "height": 740}
ZOOMED: ViewportSize = {"width": 640, "height": 400}  # a 1280 × 800 desktop at 200% zoom
TARGET = 44  # CSS px, WCAG 2.5.5
BROWSER_LOCALE = {"en": "en-US", "zh-hans": "zh-CN", "zh-hant": "zh-TW"}
SEP = "\n    "


# --- pages -------------------------------------------------------------------------------------

# Who opens each page of the access matrix: someone it is meant for, who sees the most on it.
ROLE_FOR = {
    "group_detail": "outsider",  # members are sent on to the chat; others see the apply form
    "invite": "outsider",
    "login_code": "anonymous",
    "dm_conversation": "chen",  # one of the two in the demo's direct conversation  # reached by a password step of a member with two-step sign-in
}
ROLE_FOR.update(dict.fromkeys(insight_cases.RESEARCHER_PAGES, "researcher"))  # the demo's
# A download, not a page: nothing for axe to read.
NOT_PAGES = {"export"}
EXTRA_PAGES: list[tuple[str, str, str]] = [
    ("home", "/", "anonymous"),
    ("sign_in", "/accounts/login/", "anonymous"),
    ("sign_up", "/accounts/signup/", "anonymous"),
    ("crisis_help", "/help/crisis/", "anonymous"),
    ("not_found", "/no-such-page/", "anonymous"),
    ("crisis_help_member", "/help/crisis/", "leader"),
    ("offline", "/offline/", "leader"),
    ("group_detail_applicant", "/groups/{gid}/", "applicant"),
    ("chat_member", "/groups/{gid}/chat/", "carer"),  # what a member sees: report buttons
]
# What opens on a page (most of it rendered by the chat's scripts), checked open, one after the
# other: (what, the button that opens it).
PANELS: dict[str, list[tuple[str, str]]] = {
    # The top bar's menus (the language menu), signed out and in; there may be none.
    "home": [("top bar menu", "header details > summary")],
    "directory": [("top bar menu", "header details > summary")],
    "chat": [
        ("pinned messages", "#pins-button"),
        ("jump to a date", "#date-button"),
        ("emoji", "#emoji-button"),
        ("reactions", "#messages .message:last-child .react-button"),
    ],
    "chat_member": [("report", "#messages .message:not(.mine) .report-button")],
}


def all_pages() -> list[tuple[str, str, str]]:
    """(name, path with placeholders, role) for every page of PAGE_CASES and the signed-out ones."""
    pages = [
        (name, path, ROLE_FOR.get(name, "leader"))
        for name, path, _expected in PAGE_CASES
        if name not in NOT_PAGES
    ]
    return pages + EXTRA_PAGES


@dataclass
class World:
    group: Group
    users: dict[str, User]
    ids: dict[str, Any]

    def url(self, path: str) -> str:
        return path.format(**self.ids)


def build_world() -> World:
    """The demo group (weeks of chat, questions, pins, knowledge, glossary, a held advert), plus
    a picture and a voice message, a member's report, a reply to the leader, an edited entry,
    an invite, someone from outside and someone with two-step sign-in."""
    with quiet_fan_out():
        load_demo()
        users = {u.username: u for u in User.objects.all()}
        leader = users["leader"]
        group = Group.objects.get(memberships__user=leader, memberships__role="leader")
        lm = Membership.objects.get(group=group, user=leader)
        users["outsider"] = do_register("outsider", DEMO_PASSWORD, "Outsider 外人")
        for kind, data in (("image", samples.jpeg_with_gps()), ("voice", samples.recording(1.5))):
            attachment = do_upload(users["chen"], group.pk, kind, data)
            do_send_message(
                users["chen"],
                group.pk,
                client_id=f"a11y-{kind}",
                text="",
                attachment=attachment.pk,
            )
        last_of_leader = Message.objects.filter(group=group, sender=leader).latest("id")
        do_send_message(
            users["carer"],
            group.pk,
            client_id="a11y-reply",
            text="谢谢李哥！Thank you, I will wrap up warm.",
            reply_to=last_of_leader.pk,
        )
        chen_says = Message.objects.filter(group=group, sender=users["chen"]).latest("id")
        carer_in = Membership.objects.get(group=group, user=users["carer"])
        do_report(
            users["carer"], carer_in, message_id=chen_says.pk, reason="other", note="Please look"
        )
        entry = Entry.objects.filter(group=group).order_by("id").first()
        assert entry is not None
        do_edit_entry(
            leader,
            group.pk,
            entry.pk,
            body=entry.body + "\n\n复查时也带上这些。Bring them to check-ups too.",
            note="补充 · added a line",
        )
        invite = do_create_invite(lm, hours=48, max_uses=5)
    two_step = do_register("twostep", DEMO_PASSWORD, "Two Step")
    device = start_setup(two_step)
    confirm_setup(two_step, pyotp.TOTP(device.secret).now())
    users["twostep"] = two_step
    return World(
        group=group,
        users=users,
        ids={
            "gid": group.pk,
            "eid": entry.pk,
            "token": invite.token,
            **demo_ids(group),
            **import_ids(group),
            **research_ids(group),
        },
    )


# --- the browser side ------------------------------------------------------------------------

TOUCH_TARGETS_JS = """
(min) => {
  const SEL = 'a[href], button, input:not([type="hidden"]), select, textarea, summary, ' +
    '[role="button"], label';
  const tiny = (el) => {  // nothing to see: no size, or cut away (.sr-only)
    const r = el.getBoundingClientRect();
    const cs = getComputedStyle(el);
    return r.width <= 1 || r.height <= 1 || (cs.position === 'absolute' && cs.clip !== 'auto');
  };
  // Inside a closed <details> or a hidden dialog counts as not shown.
  const shown = (el) => !tiny(el) &&
    el.checkVisibility({ visibilityProperty: true, opacityProperty: true });
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    for (const c of el.classList) s += '.' + c;
    const t = (el.innerText || el.value || el.getAttribute('aria-label') || '')
      .trim().replace(/\\s+/g, ' ').slice(0, 40);
    return t ? `${s} "${t}"` : s;
  };
  // WCAG 2.5.5's exception: a target inside a sentence or block of text.
  const inlineInText = (el) => {
    if (!['A', 'BUTTON'].includes(el.tagName)) return false;
    const d = getComputedStyle(el).display;
    if (d !== 'inline' && d !== 'inline-block') return false;
    let block = el.parentElement;
    while (block && ['inline', 'contents'].includes(getComputedStyle(block).display)) {
      block = block.parentElement;
    }
    if (!block || /flex|grid/.test(getComputedStyle(block).display)) return false;
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    let other = '';
    for (let n = walker.nextNode(); n; n = walker.nextNode()) if (!el.contains(n)) other += n.data;
    return /[\\p{L}\\p{N}]/u.test(other);
  };
  // An inline element is as big as its biggest piece: a link wrapped onto two lines is two
  // short targets, not one tall one.
  const big = (el) => {
    const inline = getComputedStyle(el).display === 'inline';
    const rects = inline ? [...el.getClientRects()] : [el.getBoundingClientRect()];
    return rects.some((r) => r.width >= min - 0.5 && r.height >= min - 0.5);
  };
  const out = [];
  for (const el of document.querySelectorAll(SEL)) {
    if (el.tagName === 'LABEL') {
      // A label is a target when it wraps its control or stands in for a hidden one.
      const c = el.control;
      if (!c || !(el.contains(c) || tiny(c))) continue;
    }
    if (!shown(el) || big(el) || inlineInText(el)) continue;
    // A checkbox or radio button is tapped through its label, when that is big enough.
    if (el.labels && [...el.labels].some((l) => shown(l) && big(l))) continue;
    const r = el.getBoundingClientRect();
    out.push(`${name(el)}: ${Math.round(r.width)}×${Math.round(r.height)}`);
  }
  return out;
}
"""

REFLOW_JS = """
() => {
  const vw = window.innerWidth;
  const out = [];
  const sw = document.documentElement.scrollWidth;
  if (sw > vw + 1) out.push(`the page scrolls sideways: ${sw} px wide in a ${vw} px window`);
  // Only what is meant to scroll sideways may reach past the window's edge inside it: the
  // tab strips (the group's, the community pages') and a wide table. Anything else cut off
  // there cannot be seen or tapped.
  const inSideways = (el) => el.parentElement.closest('.tabs, .subtabs:not(.choices), .table-wrap') !== null;
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    for (const c of el.classList) s += '.' + c;
    const t = (el.innerText || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    return t ? `${s} "${t}"` : s;
  };
  const out_of = new Set();
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) continue;
    if (r.right <= vw + 1 && r.left >= -1) continue;
    if (!el.checkVisibility({ visibilityProperty: true })) continue;
    if (inSideways(el)) continue;
    out_of.add(el);
    if (out_of.has(el.parentElement)) continue;  // its parent is already named
    out.push(`${name(el)} sticks out: ${Math.round(r.left)}..${Math.round(r.right)} of ${vw}`);
  }
  return out;
}
"""

CHAT_ROOM_JS = """
() => {
  // Whatever is open above it, the chat keeps room to read a few messages, and room to read
  // them while writing (the page may scroll to get there).
  const log = document.getElementById('log').getBoundingClientRect().height;
  const composer = document.getElementById('composer').getBoundingClientRect().height;
  const need = Math.min(160, innerHeight / 3);
  const out = [];
  if (log < need) {
    out.push(`the messages get ${Math.round(log)} px of a ${innerHeight} px window (need ${need})`);
  }
  if (log + composer > innerHeight + 1) {
    out.push(`the messages (${Math.round(log)} px) and the box to write in ` +
      `(${Math.round(composer)} px) do not fit a ${innerHeight} px window together`);
  }
  return out;
}
"""

AXE_JS = """
async (tags) => {
  const result = await axe.run(document, {
    runOnly: { type: 'tag', values: tags },
    resultTypes: ['violations'],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({
      target: n.target.join(' '), html: n.html.slice(0, 300),
      summary: (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 300),
    })),
  }));
}
"""


def axe_findings(page: Page) -> list[str]:
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(AXE_JS, AXE_TAGS)
    lines = []
    for v in violations:
        nodes = SEP.join(
            f"  {n['target']}  {n['html']}{SEP}    {n['summary']}" for n in v["nodes"][:8]
        )
        more = f"{SEP}  ... and {len(v['nodes']) - 8} more" if len(v["nodes"]) > 8 else ""
        lines.append(f"axe {v['id']} ({v['impact']}): {v['help']}{SEP}{nodes}{more}")
    return lines


# Counts the page's own fetches, so that "settled" needs no half-second of network silence.
COUNT_FETCHES_JS = """
(() => {
  let pending = 0;
  const fetch = window.fetch;
  window.fetch = function (...args) {
    pending += 1;
    return fetch.apply(this, args).finally(() => { pending -= 1; });
  };
  Object.defineProperty(window, '__pendingFetches', { get: () => pending });
})();
"""

SETTLED_JS = """
async () => {
  await document.fonts.ready;
  const end = Date.now() + 10000;
  while (window.__pendingFetches > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
}
"""


def settle(page: Page, url: str, name: str) -> None:
    """Open the page and wait until it is what a person sees: loaded, the page's own fetches
    answered, fonts in, painted; the chat with its messages shown and connected."""
    response = page.goto(url, wait_until="load")
    assert response is not None
    if name != "not_found":
        assert response.status == 200, (url, response.status)
    if "/chat/" in url:
        expect(page.locator("#messages .message").first).to_be_visible()
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    page.evaluate(SETTLED_JS)


def language_cookie(server: LiveServer, language: str) -> SetCookieParam:
    return {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": server.url}


def session_cookie(server: LiveServer, user: User) -> SetCookieParam:
    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": server.url,
    }


def open_context(
    browser: Browser,
    server: LiveServer,
    language: str,
    viewport: ViewportSize,
    user: User | None,
    **options: Any,
) -> BrowserContext:
    """A phone (or zoomed desktop) in `language`, signed in as `user`. The page's
    Content-Security-Policy is bypassed only so that axe can be injected."""
    context = browser.new_context(
        viewport=viewport,
        locale=BROWSER_LOCALE.get(language, language),
        bypass_csp=True,
        # The service worker's precaching would only slow the pages down here.
        service_workers="block",
        **options,
    )
    context.add_init_script(COUNT_FETCHES_JS)
    cookies = [language_cookie(server, language)]
    if user is not None:
        cookies.append(session_cookie(server, user))
    context.add_cookies(cookies)
    return context


def reach_code_page(page: Page, server: LiveServer) -> None:
    """The password step of a member with two-step sign-in, which leads to the code page."""
    page.goto(f"{server.url}/accounts/login/")
    page.locator("#id_username").fill("twostep")
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/accounts/login/code/")


# --- every page, per variant -------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    language: str
    viewport: ViewportSize = field(default_factory=lambda: PHONE)
    text_size: str = "normal"
    high_contrast: bool = False
    axe: bool = True  # axe-core and touch targets
    reflow: bool = True

    @property
    def html_classes(self) -> list[str]:
        """What the member's setting puts on <html> (accounts/context.py)."""
        size = [] if self.text_size == "normal" else [f"text-{self.text_size}"]
        return size + (["contrast"] if self.high_contrast else [])

    @property
    def id(self) -> str:
        size = f"{self.viewport['width']}x{self.viewport['height']}"
        extra = "" if self.text_size == "normal" else f"-{self.text_size}"
        return f"{self.language}-{size}{extra}{'-contrast' if self.high_contrast else ''}"


VARIANTS = [Variant(code) for code, _name in settings.LANGUAGES] + [
    # Older eyes: the largest text and high contrast on a small phone.
    Variant("zh-hans", text_size="largest", high_contrast=True),
    # English has the longest words; only layout is checked here (axe ran on the same pages).
    Variant("en", text_size="largest", axe=False),
    # A desktop at 200% zoom.
    Variant("en", viewport=ZOOMED, axe=False),
]


def check_page(page: Page, variant: Variant) -> list[str]:
    found: list[str] = []
    if variant.axe:
        found += axe_findings(page)
        found += [
            f"touch target under {TARGET}×{TARGET} px: {t}"
            for t in page.evaluate(TOUCH_TARGETS_JS, TARGET)
        ]
    if variant.reflow:
        found += page.evaluate(REFLOW_JS)
    return found


@pytest.fixture
def world(transactional_db: Any) -> World:
    return build_world()


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_every_page(
    asgi_server: LiveServer, browser: Browser, world: World, variant: Variant, shots: Path
) -> None:
    assert AXE.exists(), "run `npm ci` at the repository root (scripts/test does)"
    if variant.text_size != "normal" or variant.high_contrast:
        for user in world.users.values():
            do_update_profile(
                user, {"text_size": variant.text_size, "high_contrast": variant.high_contrast}
            )
    contexts: dict[str, BrowserContext] = {}
    pages: dict[str, Page] = {}

    def page_for(role: str) -> Page:
        if role not in pages:
            user = None if role == "anonymous" else world.users[role]
            contexts[role] = open_context(
                browser, asgi_server, variant.language, variant.viewport, user
            )
            pages[role] = contexts[role].new_page()
        return pages[role]

    findings: dict[str, list[str]] = {}  # finding: pages it is on
    visited = 0
    for name, path, role in all_pages():
        page = page_for(role)
        url = f"{asgi_server.url}{world.url(path)}"
        if name == "login_code":
            page.context.clear_cookies()
            page.context.add_cookies([language_cookie(asgi_server, variant.language)])
            reach_code_page(page, asgi_server)
        settle(page, url, name)
        visited += 1
        found = check_page(page, variant)
        if name == "chat":
            found += page.evaluate(CHAT_ROOM_JS)
            page.screenshot(path=shots / "chat.png")
        for panel, button in PANELS.get(name, []):
            opener = page.locator(button).first
            if panel == "top bar menu" and opener.count() == 0:
                continue
            opener.click()
            page.evaluate(SETTLED_JS)
            found += [f"[{panel} open] {f}" for f in check_page(page, variant) if f not in found]
        if role != "anonymous" and name != "offline":
            have = page.evaluate("() => document.documentElement.className")
            assert set(variant.html_classes) <= set(have.split()), (name, have)
        for finding in found:
            findings.setdefault(finding, []).append(f"{name} ({role}) {world.url(path)}")
        if found:
            page.screenshot(path=shots / f"{name}.png", full_page=True)
    for context in contexts.values():
        context.close()
    assert visited == len(all_pages())

    # Each finding once, with the pages it is on: one fix in the layout shows as one line.
    report = "\n".join(
        f"on {len(where)} page(s): {', '.join(where)}{SEP}{finding}"
        for finding, where in sorted(findings.items(), key=lambda item: (-len(item[1]), item[0]))
    )
    (shots / "findings.txt").write_text(report + "\n", encoding="utf-8")
    pages_with = {p for where in findings.values() for p in where}
    if findings:
        pytest.fail(
            f"{len(findings)} distinct findings on {len(pages_with)} of {visited} pages "
            f"({variant.id}; screenshots in {shots}):\n{report}",
            pytrace=False,
        )


# --- keyboard --------------------------------------------------------------------------------

FOCUS_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const r = el.getBoundingClientRect();
  const cs0 = getComputedStyle(el);
  const hidden = r.width <= 1 || r.height <= 1 || (cs0.position === 'absolute' && cs0.clip !== 'auto');
  // A visually hidden control (a file input) shows its focus on the label that stands for it.
  const bearer = hidden && el.labels && el.labels.length ? el.labels[0] : el;
  const cs = getComputedStyle(bearer);
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  for (const c of el.classList) s += '.' + c;
  const t = (el.innerText || el.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ');
  return {
    id: el.id,
    name: t ? `${s} "${t.slice(0, 30)}"` : s,
    shown: (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) ||
      (cs.boxShadow && cs.boxShadow !== 'none'),
  };
}
"""


def tab_through(page: Page, until: str, limit: int = 80) -> list[dict[str, Any]]:
    """Press Tab from the top of the page until the element with id `until` has focus."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    stops: list[dict[str, Any]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS_JS)
        if stop is None:
            continue
        stops.append(stop)
        if stop["id"] == until:
            return stops
    raise AssertionError(f"Tab never reached #{until}: {[s['name'] for s in stops]}")


def in_order(stops: list[dict[str, Any]], ids: list[str]) -> None:
    seen = [s["id"] for s in stops]
    positions = [seen.index(i) if i in seen else -1 for i in ids]
    assert -1 not in positions and positions == sorted(positions), (ids, [s["name"] for s in stops])


def test_keyboard_reaches_the_main_controls_with_visible_focus(
    asgi_server: LiveServer, browser: Browser, world: World, shots: Path
) -> None:
    visitor = open_context(browser, asgi_server, "en", PHONE, None).new_page()
    settle(visitor, f"{asgi_server.url}/accounts/login/", "sign_in")
    stops = tab_through(visitor, "id_password")
    visitor.keyboard.press("Tab")
    stops.append(visitor.evaluate(FOCUS_JS))
    assert "sign in" in stops[-1]["name"].lower(), stops[-1]
    in_order(stops, ["id_username", "id_password"])
    no_ring = [s["name"] for s in stops if not s["shown"]]

    leader = open_context(browser, asgi_server, "en", PHONE, world.users["leader"]).new_page()
    settle(leader, f"{asgi_server.url}/groups/{world.group.pk}/chat/", "chat")
    stops = tab_through(leader, "send", limit=600)
    in_order(stops, ["pins-button", "date-button", "log", "text", "send"])
    # The message list is a stop of its own, and each message's buttons are reachable. (A long
    # way to the box to write in: every message's buttons come first.)
    assert any("reply-button" in s["name"] for s in stops), [s["name"] for s in stops]
    leader.keyboard.press("Tab")
    stops.append(leader.evaluate(FOCUS_JS))
    leader.screenshot(path=shots / "chat-focus.png")
    no_ring += [s["name"] for s in stops if not s["shown"]]
    assert not no_ring, f"focused without a visible focus indicator: {no_ring}"


# --- motion ----------------------------------------------------------------------------------

MOTION_JS = """
() => {
  // What moves: the recording dot and a message jumped to (both shown as the app shows them).
  document.getElementById('recording').hidden = false;
  document.querySelector('#messages .message').classList.add('highlight');
  const seconds = (list) => Math.max(...list.split(',').map((t) => parseFloat(t) || 0));
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const cs = getComputedStyle(el);
    const anim = cs.animationName !== 'none' ? seconds(cs.animationDuration) : 0;
    const trans = cs.transitionProperty !== 'none' ? seconds(cs.transitionDuration) : 0;
    if (anim > 0 || trans > 0) {
      let s = el.tagName.toLowerCase();
      for (const c of el.classList) s += '.' + c;
      out.push(`${s}: animation ${cs.animationName} ${anim}s, transition ${trans}s`);
    }
  }
  return out;
}
"""


@pytest.fixture
def chat_with_motion(
    asgi_server: LiveServer, browser: Browser, world: World
) -> Iterator[dict[str, Page]]:
    url = f"{asgi_server.url}/groups/{world.group.pk}/chat/"
    contexts = {
        motion: open_context(
            browser, asgi_server, "en", PHONE, world.users["leader"], reduced_motion=motion
        )
        for motion in ("no-preference", "reduce")
    }
    pages = {motion: context.new_page() for motion, context in contexts.items()}
    for page in pages.values():
        settle(page, url, "chat")
    yield pages
    for context in contexts.values():
        context.close()


def test_reduced_motion_stops_animations(chat_with_motion: dict[str, Page]) -> None:
    moving = chat_with_motion["no-preference"].evaluate(MOTION_JS)
    # The check sees motion where there is some: the recording dot pulses, the jumped-to message
    # flashes.
    assert any(m.startswith("span.rec-dot") for m in moving), moving
    assert any(m.startswith("div.bubble") for m in moving), moving
    still = chat_with_motion["reduce"].evaluate(MOTION_JS)
    assert still == [], f"still moving with reduced motion: {json.dumps(still, indent=1)}"


def test_the_world_has_what_the_pages_show(world: World) -> None:
    """The pages above are worth checking only with something on them."""
    group = world.group
    assert Message.objects.filter(group=group, kind="question").exists()
    assert Message.objects.filter(group=group, attachment__isnull=False).count() == 2
    assert Message.objects.filter(group=group, attachment__isnull=True).exists()
    assert Entry.objects.filter(group=group).count() >= 5
    assert group.glossary.exists()
    assert group.applications.filter(status="pending").exists()
    assert Report.objects.filter(group=group, status="open", reporter__isnull=False).exists()
    assert Report.objects.filter(group=group, status="open", reporter__isnull=True).exists()
    assert Entry.objects.get(pk=world.ids["eid"]).revisions.count() >= 2
    assert Notification.objects.filter(user=world.users["leader"]).exists()
    # The imported history: messages, a claim for the leader, suggestions for review.
    assert Message.objects.filter(group=group, status="history").count() >= 10
    assert ImportedPerson.objects.filter(group=group, claim_requested_by__isnull=False).exists()
    assert Candidate.objects.filter(group=group, status="open").exists()
    assert TermCandidate.objects.filter(group=group, status="open").exists()
