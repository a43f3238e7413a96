"""Script injection, end to end, in real Chromium.

Every payload in tests/data/xss_payloads.txt is put in every field a person controls, and every
page that shows that field is opened. Nothing may run: no dialog, no `window.__xss`. Nothing may
become markup: no `[data-xss]` node, no `on*` attribute, no `javascript:`/`data:` URL, no
script/iframe/object/embed/base/meta/svg/... element that our templates did not write. And each
payload must be shown back literally, as text or as a form value, so a page that drops or
mangles it does not pass. Chat messages are the one formatted field: each must show the text of
the HTML the server makes of it (its light Markdown, read by a separate HTML parser), and that
text must keep every word typed. Link cards show what a linked page says of itself: the sweep
serves a page named after each payload, and the worker fetches it as it would any site.

Pages are opened with the Content-Security-Policy bypassed: the policy is the second wall, and
this sweep tests the first one, escaping. Data is set up through the real actions; a handful of
payloads is also typed through the real forms. A payload too long for a field is cut to the
field's limit (the cut text is itself a payload: a half-open tag). Per-field and per-page
counts are written to artifacts/e2e/<test>/coverage.txt.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import re
import threading
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import PIL.Image
import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Dialog,
    Page,
    Request,
    ViewportSize,
    expect,
)
from playwright.sync_api import (
    TimeoutError as PlaywrightTimeout,
)

from tongzhou.accounts.actions import do_register, do_update_profile
from tongzhou.accounts.models import ApiToken, User
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.mentions import find_mentions
from tongzhou.chat.models import LinkPreview
from tongzhou.chat.render import plain_text, to_html
from tongzhou.groups.actions import (
    do_accept_invite,
    do_add_join_question,
    do_apply,
    do_create_group,
    do_create_invite,
    do_decide,
    do_update_group,
)
from tongzhou.groups.models import Application, Group, Membership
from tongzhou.text import clean

from ..conftest import LiveServer
from .conftest import quiet_fan_out

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "sweep-pass-2026"
VIEWPORT: ViewportSize = {"width": 1000, "height": 900}

# --- the payloads ---------------------------------------------------------------------------

PAYLOAD_FILE = Path(__file__).resolve().parents[1] / "data" / "xss_payloads.txt"
PLACEHOLDERS = {
    "{NUL}": "\x00",
    "{TAB}": "\t",
    "{LF}": "\n",
    "{CR}": "\r",
    "{FF}": "\f",
    "{ZWSP}": "\u200b",
    "{RLO}": "\u202e",
}
FAMILY_LINE = re.compile(r"^# ([a-z-]+): ")


@dataclass(frozen=True)
class Payload:
    index: int
    family: str
    text: str


def planted_person(i: int, sweep: Sweep) -> User:
    """Someone whose display name is payload i, planted as stored: a name holding a link is
    refused today (a salesman's trick) but may predate that rule, and must show safely."""
    person = do_register(f"u{i:03d}", PASSWORD, f"Person {i}")
    person.display_name = clean(sweep.put("display name", i))  # as sign-up stores it
    person.save(update_fields=["display_name"])
    return person


def load_payloads() -> list[Payload]:
    payloads: list[Payload] = []
    family = "unnamed"
    for line in PAYLOAD_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            m = FAMILY_LINE.match(line)
            if m:
                family = m.group(1)
            continue
        if not line.strip():
            continue
        text = line
        for mark, char in PLACEHOLDERS.items():
            text = text.replace(mark, char)
        payloads.append(Payload(len(payloads), family, text))
    return payloads


PAYLOADS = load_payloads()
N = len(PAYLOADS)

# The most each field keeps (the models' and actions' limits).
CAPS = {
    "display name": 40,
    "profile cancer type": 80,
    "profile stage": 40,
    "profile hospital": 120,
    "group name": 80,
    "group description": 2000,
    "join question": 300,
    "application cancer type": 80,
    "application hospital": 120,
    "application stage": 40,
    "application note": 2000,
    "application answer": 1000,
    "rejection reason": 1000,
    "message": 4000,
    "token name": 60,
    # What a linked page says of itself; a card keeps this much of it (and "…").
    "link title": 200,
    "link description": 300,
    "link site name": 100,
    "link page (unescaped)": 300,
    # A refused form echoes what was sent, whatever its length (the input's maxlength only
    # stops typing): every payload fits.
    "sign-up username": 1000,
    "sign-up display name": 1000,
    "sign-up next": 1000,
    "sign-in username": 1000,
    "sign-in next": 1000,
}


def test_payload_list_covers_the_families() -> None:
    families = {p.family for p in PAYLOADS}
    assert N >= 120, N
    assert len({p.text for p in PAYLOADS}) == N, "duplicate payloads"
    assert families >= {
        "script",
        "case-whitespace-null",
        "malformed",
        "events",
        "urls",
        "encoded",
        "breakout",
        "element-close",
        "js-template",
        "css",
        "svg-mathml",
        "embedding",
        "form-hijack",
        "markdown",
        "chinese-fullwidth",
    }
    b64_alert = base64.b64encode(b"<script>alert(1)</script>").decode()
    sinks = (
        "alert",
        "confirm(",
        "prompt(",
        "__xss",
        "data-xss",
        "dataset.xss",
        "msgbox",
        b64_alert,
    )
    for p in PAYLOADS:
        assert any(s in p.text for s in sinks), f"payload {p.index} has no watched sink"
        assert p.text == p.text.strip() and not p.text.startswith("#"), p.index


# --- watching a page ------------------------------------------------------------------------

# Runs in the page after it has loaded: lists what should not be there, and returns the text
# a person sees plus every form value, to prove the payloads were shown rather than dropped.
INSPECT_JS = """
async (scopes) => {
  // Pages are inspected after "load": injected images have failed and their handlers run by
  // then. A handler that would run later cannot hide: its node or attribute is found below,
  // and a dialog is caught whenever it opens.
  await new Promise((r) => setTimeout(r, 0));
  const problems = [];
  const head = document.head;
  const BAD_TAGS = new Set(["iframe", "frame", "frameset", "object", "embed", "applet", "base",
    "style", "svg", "math", "img", "image", "video", "audio", "source", "track", "details",
    "marquee", "isindex", "keygen", "portal", "xmp", "plaintext", "noscript", "noembed",
    "listing", "x", "xss", "animate", "set", "foreignobject", "use", "mtext", "mglyph", "mi",
    "desc", "param", "bgsound", "layer", "ilayer", "xml"]);
  const URL_ATTRS = new Set(["href", "src", "action", "formaction", "data", "xlink:href",
    "poster", "background", "codebase", "dynsrc", "lowsrc", "ping", "to", "values", "from",
    "by", "srcset", "content"]);
  const show = (el) => el.outerHTML.slice(0, 140);
  const ids = new Set();
  for (const el of document.querySelectorAll("*")) {
    const tag = el.localName.toLowerCase();
    if (el.hasAttribute("data-xss")) problems.push(`a node with data-xss: ${show(el)}`);
    if (tag === "script") {
      const ok = (el.type === "application/json" && ["chat-config", "chat-i18n"].includes(el.id)) ||
        (el.type === "module" && (el.getAttribute("src") || "").startsWith("/static/"));
      if (!ok) problems.push(`a script we did not write: ${show(el)}`);
    } else if (tag === "meta") {
      const ok = el.parentElement === head && !el.hasAttribute("http-equiv") &&
        (el.hasAttribute("charset") ||
         ["viewport", "color-scheme", "theme-color", "description"].includes(el.getAttribute("name")));
      if (!ok) problems.push(`a meta we did not write: ${show(el)}`);
    } else if (tag === "link") {
      const href = el.getAttribute("href") || "";
      const ok = el.parentElement === head && (
        (["stylesheet", "icon", "apple-touch-icon"].includes(el.rel) && href.startsWith("/static/")) ||
        (el.rel === "manifest" && href === "/manifest.webmanifest"));
      if (!ok) problems.push(`a link we did not write: ${show(el)}`);
    } else if (tag === "template") {
      if (el.id !== "message-template") problems.push(`a template we did not write: ${show(el)}`);
    } else if (tag === "img" && (["attached-img", "viewer-img"].includes(el.id) ||
        (el.parentElement.classList.contains("picture") &&
         (el.getAttribute("src") || "").startsWith("/media/")) ||
        (el.parentElement.matches(".bubble > a.link-card") &&
         (!el.hasAttribute("src") || el.getAttribute("src").startsWith("/media/link/"))))) {
      // the chat's own pictures: the composer preview, the viewer, a sent picture, a link
      // card's picture (our copy, or none yet)
    } else if (tag === "details" && el.id === "announcement" &&
        el.parentElement.classList.contains("chat-head")) {
      // the chat's announcement (a second one would be a second id)
    } else if (tag === "details" && el.classList.contains("lang-menu") &&
        el.parentElement.matches("header.topbar")) {
      // the language menu in the top bar
    } else if (tag === "details" && ((el.classList.contains("moderate") && el.parentElement.matches("li.member")) ||
        (el.classList.contains("worth-checking") && el.parentElement.matches(".bubble > .notes")))) {
      // a moderator's actions on the members list; a claim's note under a message
    } else if (BAD_TAGS.has(tag)) {
      problems.push(`an injected <${tag}>: ${show(el)}`);
    }
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      if (name.startsWith("on")) problems.push(`an event-handler attribute ${name}: ${show(el)}`);
      // (An empty style="" is left on form fields by the driver's own clicks and typing.)
      const set = name !== "style" || a.value.trim() !== "";
      if (set && ["style", "srcdoc", "formaction", "autofocus", "http-equiv"].includes(name)) {
        problems.push(`an attribute ${name}: ${show(el)}`);
      }
      const squashed = a.value.replace(/[\\u0000-\\u0020\\u007f-\\u00a0]/g, "").toLowerCase();
      if (URL_ATTRS.has(name) && /^(javascript|data|vbscript):/.test(squashed)) {
        problems.push(`a script URL in ${name}: ${show(el)}`);
      }
    }
    if (el.id) {
      if (ids.has(el.id)) problems.push(`a second element with id ${el.id}: ${show(el)}`);
      ids.add(el.id);
    }
    if (tag === "form" && el.hasAttribute("action") && !el.getAttribute("action").startsWith("/")) {
      problems.push(`a form posting elsewhere: ${show(el)}`);
    }
  }
  if (typeof window.__xss !== "undefined") problems.push("window.__xss was set");
  if (document.baseURI.split("#")[0] !== location.href.split("#")[0]) {
    problems.push(`the base URL changed to ${document.baseURI}`);
  }
  if (window.frames.length) problems.push(`${window.frames.length} frame(s) in the page`);
  const valuesIn = (root) => [...root.querySelectorAll("input, textarea")].map((e) => e.value);
  const scoped = {};
  for (const sel of scopes) {
    const els = [...document.querySelectorAll(sel)];
    scoped[sel] = {
      text: els.map((e) => e.innerText).join("\\n"),
      values: els.flatMap((e) => valuesIn(e)),
      count: els.length,
    };
  }
  return {
    problems,
    text: document.body.innerText,
    values: valuesIn(document),
    title: document.title,
    scoped,
  };
}
"""


def squash(text: str) -> str:
    """What survives any faithful rendering: white space is laid out, NUL becomes nothing or
    U+FFFD, and a text field drops line breaks. Every other character must stay as it was."""
    return "".join(ch for ch in text if not ch.isspace() and ch not in "\x00\ufffd")


@dataclass(frozen=True)
class Expect:
    """Payload `index`, kept in `field` as `text`, must be shown on the page: as visible text,
    as an input's or textarea's value, or in the window title; inside `scope` if given."""

    field: str
    index: int
    text: str
    where: str = "text"
    scope: str | None = None


@dataclass
class Visit:
    """One page view: open `path`, or submit the form on the page the tab shows with `form`
    (set by script, so no length or `required` check is in the way, as for a hand-made POST);
    `before` runs first (e.g. to sign the tab's context in as someone else)."""

    kind: str
    expects: list[Expect]
    path: str | None = None
    form: dict[str, str] | None = None
    before: Callable[[], None] | None = None
    shot: Path | None = None  # a screenshot of the page after the check


SUBMIT_JS = """
([sel, values]) => {
  const f = document.querySelector(sel);
  f.noValidate = true;
  for (const [k, v] of Object.entries(values)) f.elements.namedItem(k).value = v;
  setTimeout(() => f.requestSubmit(), 0);
}
"""


@dataclass
class Sweep:
    """Places payloads, watches the tabs, inspects each page view, and keeps the count of what
    was placed where and shown where, and every finding."""

    base_url: str
    folder: Path
    findings: list[str] = field(default_factory=list)
    placed: dict[str, dict[int, bool]] = field(default_factory=lambda: defaultdict(dict))
    shown: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    labels: dict[Page, str] = field(default_factory=dict)
    views: int = 0

    def put(self, field_name: str, i: int) -> str:
        """Payload i as `field_name` keeps it: cut to the field's limit, white space stripped."""
        e = self.expect(field_name, i)
        self.placed[field_name][e.index] = e.text != PAYLOADS[e.index].text
        return e.text

    def expect(
        self, field_name: str, i: int, where: str = "text", scope: str | None = None
    ) -> Expect:
        p = PAYLOADS[i % N]
        cap = CAPS[field_name]
        text = p.text if len(p.text) <= cap else p.text[:cap].strip()
        return Expect(field_name, p.index, text, where, scope)

    def watch(self, context: BrowserContext) -> Page:
        """A tab that reports any dialog, script error, or request for something our pages
        never load (an injected image, frame, script or style)."""
        page = context.new_page()
        page.on("dialog", lambda d: self._on_dialog(page, d))
        page.on("pageerror", lambda e: self.finding(page, f"script error {e}"))
        page.on("request", lambda r: self._on_request(page, r))
        return page

    def finding(self, page: Page, text: str) -> None:
        self.findings.append(f"{self.labels.get(page, page.url)}: {text}")

    def _on_dialog(self, page: Page, dialog: Dialog) -> None:
        self.finding(page, f"a {dialog.type} dialog opened, saying {dialog.message!r}")
        dialog.dismiss()

    def _on_request(self, page: Page, request: Request) -> None:
        url = request.url
        kind = request.resource_type
        if url.startswith(("ws://", "wss://")):
            return
        if not url.startswith(self.base_url + "/"):
            self.finding(page, f"a request to another origin: {url[:120]}")
            return
        path = url[len(self.base_url) :]
        if kind in ("image", "media") and path.startswith("/media/"):
            return  # members' pictures and voice messages, served by us
        if kind in ("image", "media", "font", "texttrack", "object") or (
            kind in ("script", "stylesheet") and not path.startswith("/static/")
        ):
            self.finding(page, f"an injected {kind} request: {url[:120]}")

    def visit(self, page: Page, path: str, kind: str, expects: Iterable[Expect]) -> None:
        self.labels[page] = f"{kind} {path}"
        page.goto(self.base_url + path)
        self.check(page, kind, expects)

    def run(self, page: Page, visits: Iterable[Visit]) -> None:
        """Page views one after another in one tab. (More tabs at once are slower on a
        two-core machine: laying out a page is the cost, not waiting for the server.)"""
        for v in visits:
            if v.before is not None:
                v.before()
            self.labels[page] = f"{v.kind} {v.path or '(form sent)'}"
            if v.path is not None:
                page.goto(self.base_url + v.path)
            else:
                with page.expect_navigation():
                    page.evaluate(SUBMIT_JS, ["main form", v.form])
            self.check(page, v.kind, v.expects)
            if v.shot is not None:
                page.screenshot(path=v.shot, full_page=True)

    def check(self, page: Page, kind: str, expects: Iterable[Expect]) -> None:
        """Nothing injected, nothing run, and every expected payload shown literally."""
        self.views += 1
        expects = list(expects)
        seen = page.evaluate(INSPECT_JS, sorted({e.scope for e in expects if e.scope}))
        for problem in seen["problems"]:
            self.finding(page, problem)
        texts: dict[str | None, str] = {None: squash(seen["text"])}
        values: dict[str | None, set[str]] = {None: {squash(v) for v in seen["values"]}}
        for sel, got in seen["scoped"].items():
            if not got["count"]:
                self.finding(page, f"nothing matches {sel}")
            texts[sel] = squash(got["text"])
            values[sel] = {squash(v) for v in got["values"]}
        title = squash(seen["title"])
        for e in expects:
            want = squash(e.text)
            if e.where == "text":
                ok = want in texts[e.scope]
            elif e.where == "value":
                ok = want in values[e.scope]
            else:
                ok = want in title
            if ok:
                self.shown[(e.field, kind)].add(e.index)
            else:
                self.finding(
                    page,
                    f"{e.field} (payload {e.index}, {PAYLOADS[e.index].family}) is not shown "
                    f"literally as {e.where}: {e.text!r}",
                )

    def report(self) -> str:
        lines = [f"{N} payloads; {self.views} page views checked", ""]
        lines.append("placed per field (cut to the field's limit):")
        for name, placed in sorted(self.placed.items()):
            cut = sum(placed.values())
            lines.append(f"  {name:26} {len(placed):4} payloads ({cut} cut to {CAPS[name]})")
        lines.append("")
        lines.append("shown literally, per field and page (distinct payloads):")
        for (name, kind), shown in sorted(self.shown.items()):
            lines.append(f"  {name:26} {kind:40} {len(shown):4}")
        text = "\n".join(lines)
        (self.folder / "coverage.txt").write_text(text + "\n", encoding="utf-8")
        (self.folder / "findings.txt").write_text("\n".join(self.findings) + "\n", encoding="utf-8")
        print(text)  # shown with -s or -rP
        return text

    def assert_clean(self, *pages: Page) -> None:
        for page in pages:  # a handler that fires late still gets its chance
            page.wait_for_timeout(200)
            self.check(page, "last page, again", [])
        self.report()
        if self.findings:
            shown = "\n".join(self.findings[:80])
            more = f"\n... and {len(self.findings) - 80} more" if len(self.findings) > 80 else ""
            pytest.fail(f"{len(self.findings)} injection findings:\n{shown}{more}", pytrace=False)


def signed_in(browser: Browser, server: LiveServer, user: User | None) -> BrowserContext:
    """A browser context, signed in as `user` by a session made on the server side."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", bypass_csp=True)
    if user is not None:
        sign_in_as(context, server, user)
    return context


def sign_in_as(context: BrowserContext, server: LiveServer, user: User) -> None:
    client = Client()
    client.force_login(user)
    context.clear_cookies()
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": server.url,
            }
        ]
    )


def membership(user: User, group: Group) -> Membership:
    return Membership.objects.get(group=group, user=user)


def chunks(seq: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


# --- the detectors themselves -----------------------------------------------------------------

CANARY = "http://tongzhou.test"
TAG_START = re.compile(r"<[A-Za-z/!?]")


def test_the_sweep_notices_a_page_that_does_not_escape(browser: Browser, shots: Path) -> None:
    """A sweep that finds nothing proves something only if it can find something.

    Pasted escaped, all payloads on one page give no finding and are all shown literally.
    Pasted raw (as text and inside a value attribute), one at a time into a page, every payload
    with markup in it gives a finding. Served raw, a family to a page, under our real
    Content-Security-Policy, they run (the policy is bypassed here, so that escaping alone is
    tested) and between them trip every detector."""
    from tongzhou.security import CONTENT_SECURITY_POLICY

    def rows(items: list[str]) -> str:
        return "".join(f"<li>{t}</li><li><input value='{t}'></li>" for t in items)

    def page_with(items: list[str]) -> str:
        return (
            "<!doctype html><title>canary</title><body><main>"
            f'<form id="composer" action="/send"></form><ul>{rows(items)}</ul></main></body>'
        )

    families = sorted({p.family for p in PAYLOADS})
    pages = {
        f"/family/{f}": page_with([p.text for p in PAYLOADS if p.family == f]) for f in families
    }
    pages["/escaped"] = page_with([escape(p.text, quote=True) for p in PAYLOADS])
    pages["/blank"] = page_with([])

    def serve(route: Any) -> None:
        body = pages.get(route.request.url[len(CANARY) :])
        if body is None:
            route.fulfill(status=404, body="")
        else:
            route.fulfill(
                status=200,
                content_type="text/html; charset=utf-8",
                headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
                body=body,
            )

    context = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    context.route(f"{CANARY}/**", serve)

    escaped = Sweep(CANARY, shots)
    page = escaped.watch(context)
    escaped.visit(
        page, "/escaped", "escaped", [escaped.expect("message", p.index) for p in PAYLOADS]
    )
    assert escaped.findings == [], escaped.findings[:10]
    assert len(escaped.shown[("message", "escaped")]) == N

    raw = Sweep(CANARY, shots)
    page = raw.watch(context)
    raw.visit(page, "/blank", "raw, one at a time", [])
    missed = []
    for p in PAYLOADS:
        before = len(raw.findings)
        raw.labels[page] = f"raw payload {p.index}"
        page.evaluate(
            """(html) => {
                delete window.__xss;
                document.querySelector("main ul").innerHTML = html;
            }""",
            rows([p.text]),
        )
        raw.check(page, "raw, one at a time", [raw.expect("message", p.index)])
        if TAG_START.search(p.text) and len(raw.findings) == before:
            missed.append(p.text)
    assert missed == [], f"the sweep missed these payloads pasted raw: {missed}"
    for f in families:
        raw.visit(page, f"/family/{f}", "raw, served", [])
    raw.report()
    found = "\n".join(raw.findings)
    for sign in (
        "dialog opened",
        "window.__xss was set",
        "a node with data-xss",
        "an event-handler attribute",
        "a script we did not write",
        "a meta we did not write",
        "an injected <iframe>",
        "an injected <svg>",
        "a script URL in href",
        "an attribute style",
        "the base URL changed",
        "frame(s) in the page",
        "a second element with id",
        "a form posting elsewhere",
        "a request to another origin",
        "an injected image request",
        "is not shown literally",
    ):
        assert sign in found, f"the sweep did not notice: {sign}"
    context.close()


# --- pages of people, groups and applications -------------------------------------------------

# A group's name shows on six kinds of page of its own, and each view shows one group: group i
# is opened on GROUP_PAGES[i % 6] (the groups holding join questions also on their group page
# and settings), so each payload is seen on one of them and each kind sees a sixth of the
# payloads, while the directory shows every name at once.
GROUP_PAGES = ("group page", "chat header", "members header", "settings", "review queue", "invite")
QUESTIONS_PER_GROUP = 10


def test_people_group_and_application_pages_show_payloads_as_text(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    sweep = Sweep(asgi_server.url, shots)
    lead = do_register("lead", PASSWORD, "Lead")
    reader = do_register("reader", PASSWORD, "Reader")
    outsider = do_register("outsider", PASSWORD, "Outsider")

    # N people: display name payload i; profile fields payloads i+1, i+2, i+3, shown to members.
    people: list[User] = []
    for i in range(N):
        person = planted_person(i, sweep)
        do_update_profile(
            person,
            {
                "cancer_type": sweep.put("profile cancer type", i + 1),
                "stage": sweep.put("profile stage", i + 2),
                "hospital": sweep.put("profile hospital", i + 3),
                "cancer_type_visibility": "members",
                "stage_visibility": "members",
                "hospital_visibility": "members",
                "health_consent": True,
            },
        )
        people.append(person)

    # Everyone in one members hub.
    hub = do_create_group(lead, "Members hub", "Everyone")
    do_update_group(membership(lead, hub), member_cap=1000)
    invite = do_create_invite(membership(lead, hub), hours=24, max_uses=None)
    for person in [reader, *people]:
        do_accept_invite(person, invite.token)

    # N groups named and described with payloads; the first ones ask payload questions. The
    # outsider applied to each and was turned down with a payload reason.
    groups: list[Group] = []
    question_groups = math.ceil(N / QUESTIONS_PER_GROUP)
    invites: dict[int, str] = {}
    for i in range(N):
        g = do_create_group(lead, sweep.put("group name", i), sweep.put("group description", i + 7))
        lm = membership(lead, g)
        if i < question_groups:
            for j in range(QUESTIONS_PER_GROUP):
                do_add_join_question(lm, sweep.put("join question", i * QUESTIONS_PER_GROUP + j))
        app = do_apply(outsider, g, role="patient", answers=["yes"] * g.join_questions.count())
        do_decide(lead, app, approve=False, reason=sweep.put("rejection reason", i + 13))
        if GROUP_PAGES[i % len(GROUP_PAGES)] == "invite":
            invites[i] = do_create_invite(lm, hours=24, max_uses=None).token
        groups.append(g)

    # A review hub with ten payload questions and a pending application from each person, every
    # field a payload; and decided hubs where each person was turned down with a payload reason.
    review = do_create_group(lead, "Review hub", "")
    for j in range(QUESTIONS_PER_GROUP):
        do_add_join_question(membership(lead, review), sweep.put("join question", N - 1 - j))
    apps: list[Application] = []
    for i, person in enumerate(people):
        apps.append(
            do_apply(
                person,
                review,
                role="carer",
                diagnosis=sweep.put("application cancer type", i + 1),
                hospital=sweep.put("application hospital", i + 2),
                stage=sweep.put("application stage", i + 3),
                note=sweep.put("application note", i + 4),
                answers=[
                    sweep.put("application answer", i + 5 + k) for k in range(QUESTIONS_PER_GROUP)
                ],
                health_consent=True,
            )
        )
    decided_hubs: list[tuple[Group, list[int]]] = []
    for k, idx in enumerate(chunks(list(range(N)), 30)):  # the queue lists the last 30 decided
        hub_k = do_create_group(lead, f"Decided hub {k}", "")
        for i in idx:
            app = do_apply(people[i], hub_k, role="patient")
            do_decide(lead, app, approve=False, reason=sweep.put("rejection reason", i))
        decided_hubs.append((hub_k, idx))
    # API token names, listed on the security page.
    security_path = reverse("accounts:security")
    for i in range(N):
        ApiToken.issue(reader, name=sweep.put("token name", i))

    lead_page = sweep.watch(signed_in(browser, asgi_server, lead))
    outsider_page = sweep.watch(signed_in(browser, asgi_server, outsider))
    reader_page = sweep.watch(signed_in(browser, asgi_server, reader))

    # The directory: every group's name (both lists) and description (the "find a group" list).
    sweep.visit(
        outsider_page,
        "/groups/",
        "directory (not a member)",
        [sweep.expect("group name", i) for i in range(N)]
        + [sweep.expect("group description", i + 7) for i in range(N)],
    )
    outsider_page.screenshot(path=shots / "01-directory.png")
    sweep.visit(
        lead_page,
        "/groups/",
        "directory (member)",
        [sweep.expect("group name", i) for i in range(N)],
    )

    # Each group's own pages.
    as_lead: list[Visit] = []
    as_outsider: list[Visit] = []
    question_pks = {g.pk: [q.pk for q in g.join_questions.all()] for g in groups[:question_groups]}
    for i, g in enumerate(groups):
        kinds = {GROUP_PAGES[i % len(GROUP_PAGES)]}
        if i < question_groups:
            kinds |= {"group page", "settings"}
        name = [sweep.expect("group name", i), sweep.expect("group name", i, where="title")]
        desc = sweep.expect("group description", i + 7)
        reason = sweep.expect("rejection reason", i + 13)
        q_index = [i * QUESTIONS_PER_GROUP + j for j in range(len(question_pks.get(g.pk, [])))]
        questions = [sweep.expect("join question", q) for q in q_index]
        if "group page" in kinds:  # the applicant's status page, with the form to apply again
            status_page = Visit(
                "group page", [*name, desc, reason, *questions], path=f"/groups/{g.pk}/"
            )
            as_outsider.append(status_page)
            if (
                i < question_groups
            ):  # Applying again with payloads everywhere, refused: all of it is echoed.
                echo = {
                    "role": "",  # refused: no role chosen
                    "diagnosis": sweep.put("application cancer type", i + 50),
                    "hospital": sweep.put("application hospital", i + 51),
                    "stage": sweep.put("application stage", i + 52),
                    "note": sweep.put("application note", i + 53),
                }
                for pk, q in zip(question_pks[g.pk], q_index, strict=True):
                    echo[f"q{pk}"] = sweep.put("application answer", q + 100)
                refused = Visit(
                    "group page (application refused, echoed)",
                    [
                        sweep.expect("application cancer type", i + 50, where="value"),
                        sweep.expect("application hospital", i + 51, where="value"),
                        sweep.expect("application stage", i + 52, where="value"),
                        sweep.expect("application note", i + 53, where="value"),
                        *(
                            sweep.expect("application answer", q + 100, where="value")
                            for q in q_index
                        ),
                        *questions,
                    ],
                    form=echo,
                    shot=shots / "02-application-echo.png" if i == 0 else None,
                )
                as_outsider.append(refused)
        if "chat header" in kinds:
            as_lead.append(Visit("chat header", name, path=f"/groups/{g.pk}/chat/"))
        if "members header" in kinds:
            as_lead.append(Visit("members header", name, path=f"/groups/{g.pk}/members/"))
        if "settings" in kinds:
            settings_expects = [
                *name,
                sweep.expect("group name", i, where="value"),
                sweep.expect("group description", i + 7, where="value"),
                *questions,
            ]
            as_lead.append(Visit("settings", settings_expects, path=f"/groups/{g.pk}/settings/"))
        if "review queue" in kinds:
            path = f"/groups/{g.pk}/applications/"
            as_lead.append(Visit("review queue", [*name, reason], path=path))
        if "invite" in kinds:
            path = f"/groups/invite/{invites[i]}/"
            as_outsider.append(Visit("invite", [*name, desc], path=path))
    sweep.run(lead_page, as_lead)
    sweep.run(outsider_page, as_outsider)

    # The members list, as a plain member and as the leader: every display name and profile.
    member_fields = [
        e
        for i in range(N)
        for e in (
            sweep.expect("display name", i),
            sweep.expect("profile cancer type", i + 1),
            sweep.expect("profile stage", i + 2),
            sweep.expect("profile hospital", i + 3),
        )
    ]
    sweep.visit(reader_page, f"/groups/{hub.pk}/members/", "members list (member)", member_fields)
    reader_page.screenshot(path=shots / "03-members.png")
    sweep.visit(lead_page, f"/groups/{hub.pk}/members/", "members list (leader)", member_fields)
    if security_path:
        sweep.visit(
            reader_page,
            security_path,
            "security page",
            [sweep.expect("token name", i) for i in range(N)],
        )

    # The review queue: each card shows one person's name, answers and notes.
    questions_v = [sweep.expect("join question", N - 1 - j) for j in range(QUESTIONS_PER_GROUP)]
    card_expects: list[Expect] = []
    for i, app in enumerate(apps):
        card = f'[data-testid="application-{app.pk}"]'
        card_expects += [
            sweep.expect("display name", i, scope=card),
            sweep.expect("application cancer type", i + 1, scope=card),
            sweep.expect("application hospital", i + 2, scope=card),
            sweep.expect("application stage", i + 3, scope=card),
            sweep.expect("application note", i + 4, scope=card),
            *(
                sweep.expect("application answer", i + 5 + k, scope=card)
                for k in range(QUESTIONS_PER_GROUP)
            ),
            *(Expect(q.field, q.index, q.text, scope=card) for q in questions_v),
        ]
    sweep.visit(lead_page, f"/groups/{review.pk}/applications/", "review queue", card_expects)
    lead_page.screenshot(path=shots / "04-review-queue.png")
    sweep.run(
        lead_page,
        [
            Visit(
                "review queue (decided)",
                [sweep.expect("rejection reason", i) for i in idx]
                + [sweep.expect("display name", i) for i in idx],
                path=f"/groups/{hub_k.pk}/applications/",
            )
            for hub_k, idx in decided_hubs
        ],
    )

    # Each person's own profile page (every eighth person: one sign-in each).
    person_page = sweep.watch(signed_in(browser, asgi_server, None))

    def signing_in(person: User) -> Callable[[], None]:
        return lambda: sign_in_as(person_page.context, asgi_server, person)

    sweep.run(
        person_page,
        [
            Visit(
                "own profile page",
                [
                    sweep.expect("display name", i, where="value"),
                    sweep.expect("profile cancer type", i + 1, where="value"),
                    sweep.expect("profile stage", i + 2, where="value"),
                    sweep.expect("profile hospital", i + 3, where="value"),
                ],
                path="/accounts/profile/",
                before=signing_in(people[i]),
            )
            for i in range(0, N, 8)
        ],
    )

    # Typed through the real forms.
    # A moderator turns an applicant down with a typed payload reason; the flash names them.
    typed_reason = 17
    sweep.labels[lead_page] = "review queue, reason typed"
    lead_page.goto(f"{asgi_server.url}/groups/{review.pk}/applications/")
    card_0 = lead_page.get_by_test_id(f"application-{apps[0].pk}")
    card_0.get_by_label(re.compile("^Reason")).fill(sweep.put("rejection reason", typed_reason))
    card_0.get_by_role("button", name="Do not approve").click()
    expect(lead_page.get_by_role("status")).to_contain_text("was not approved")
    sweep.check(
        lead_page,
        "review queue (typed)",
        [
            sweep.expect("display name", 0, scope=".flash"),
            sweep.expect("rejection reason", typed_reason, scope="ul.list"),
        ],
    )
    # The leader makes a person a moderator; the flash names them.
    sweep.labels[lead_page] = "members list, make moderator"
    lead_page.goto(f"{asgi_server.url}/groups/{hub.pk}/members/")
    lead_page.locator(f'li.member:has(input[name="user"][value="{people[1].pk}"])').get_by_role(
        "button", name="Make moderator"
    ).click()
    expect(lead_page.get_by_role("status")).to_contain_text("role is changed")
    sweep.check(
        lead_page, "members list (typed)", [sweep.expect("display name", 1, scope=".flash")]
    )

    # The leader starts a group by typing a payload name and description, and adds a question.
    typed_group = (5, 44)
    sweep.labels[lead_page] = "start a group, typed"
    lead_page.goto(f"{asgi_server.url}/groups/new/")
    lead_page.get_by_label("Group name").fill(sweep.put("group name", typed_group[0]))
    lead_page.get_by_label("What is this group for?").fill(
        sweep.put("group description", typed_group[1])
    )
    lead_page.get_by_role("button", name="Create group").click()
    expect(lead_page).to_have_url(re.compile(r"/settings/$"))
    typed_q = 61
    lead_page.get_by_label("New question").fill(sweep.put("join question", typed_q))
    lead_page.get_by_role("button", name="Add question").click()
    expect(lead_page.get_by_role("status")).to_contain_text("Saved")
    sweep.check(
        lead_page,
        "settings (typed)",
        [
            sweep.expect("group name", typed_group[0]),
            sweep.expect("group name", typed_group[0], where="value"),
            sweep.expect("group description", typed_group[1], where="value"),
            sweep.expect("join question", typed_q),
        ],
    )
    new_gid = int(lead_page.url.rstrip("/").split("/")[-2])

    # The outsider applies to it by typing payloads into every field.
    typed_app = {"diagnosis": 70, "hospital": 71, "stage": 72, "answer": 73, "note": 74}
    sweep.labels[outsider_page] = "apply, typed"
    outsider_page.goto(f"{asgi_server.url}/groups/{new_gid}/")
    outsider_page.get_by_label("I am a").select_option("patient")
    outsider_page.get_by_label("Cancer type").fill(
        sweep.put("application cancer type", typed_app["diagnosis"])
    )
    outsider_page.get_by_label("Treatment hospital").fill(
        sweep.put("application hospital", typed_app["hospital"])
    )
    outsider_page.get_by_label("Stage").fill(sweep.put("application stage", typed_app["stage"]))
    consent = outsider_page.locator("#id_health_consent")
    if consent.count():
        consent.check()
    outsider_page.get_by_label(sweep.put("join question", typed_q)).fill(
        sweep.put("application answer", typed_app["answer"])
    )
    outsider_page.get_by_label("Anything else").fill(
        sweep.put("application note", typed_app["note"])
    )
    outsider_page.get_by_role("button", name="Send application").click()
    expect(outsider_page.get_by_test_id("application-status")).to_have_text("Waiting for review")
    sweep.check(outsider_page, "group page (typed application)", [])
    sweep.visit(
        lead_page,
        f"/groups/{new_gid}/applications/",
        "review queue (typed)",
        [
            sweep.expect("application cancer type", typed_app["diagnosis"]),
            sweep.expect("application hospital", typed_app["hospital"]),
            sweep.expect("application stage", typed_app["stage"]),
            sweep.expect("application answer", typed_app["answer"]),
            sweep.expect("application note", typed_app["note"]),
            sweep.expect("join question", typed_q),
        ],
    )
    lead_page.screenshot(path=shots / "05-typed-application.png", full_page=True)

    # A person types payloads into their profile; then a refused save echoes what they typed.
    typed_profile = {"display": 23, "cancer": 24, "stage": 25, "hospital": 26}
    sign_in_as(person_page.context, asgi_server, people[4])
    sweep.labels[person_page] = "profile, typed"
    person_page.goto(f"{asgi_server.url}/accounts/profile/")
    person_page.get_by_label("Display name").fill(
        sweep.put("display name", typed_profile["display"])
    )
    person_page.locator("#id_cancer_type").fill(
        sweep.put("profile cancer type", typed_profile["cancer"])
    )
    person_page.locator("#id_stage").fill(sweep.put("profile stage", typed_profile["stage"]))
    person_page.locator("#id_hospital").fill(
        sweep.put("profile hospital", typed_profile["hospital"])
    )
    person_page.get_by_role("button", name="Save", exact=True).click()
    expect(person_page.get_by_role("status")).to_contain_text("saved")
    sweep.check(
        person_page,
        "own profile page (typed)",
        [
            sweep.expect("display name", typed_profile["display"], where="value"),
            sweep.expect("profile cancer type", typed_profile["cancer"], where="value"),
            sweep.expect("profile stage", typed_profile["stage"], where="value"),
            sweep.expect("profile hospital", typed_profile["hospital"], where="value"),
        ],
    )
    echo_p = {"cancer": 27, "stage": 28, "hospital": 29}
    person_page.locator("#id_cancer_type").fill(sweep.put("profile cancer type", echo_p["cancer"]))
    person_page.locator("#id_stage").fill(sweep.put("profile stage", echo_p["stage"]))
    person_page.locator("#id_hospital").fill(sweep.put("profile hospital", echo_p["hospital"]))
    person_page.locator("#id_diagnosis_year").fill("1800")  # a number, but out of range
    person_page.get_by_role("button", name="Save", exact=True).click()
    expect(person_page.get_by_role("alert")).to_contain_text("year")
    sweep.check(
        person_page,
        "own profile page (refused, echoed)",
        [
            sweep.expect("profile cancer type", echo_p["cancer"], where="value"),
            sweep.expect("profile stage", echo_p["stage"], where="value"),
            sweep.expect("profile hospital", echo_p["hospital"], where="value"),
        ],
    )
    person_page.screenshot(path=shots / "06-profile-echo.png", full_page=True)

    sweep.assert_clean(lead_page, outsider_page, person_page)


# --- sign-up and sign-in forms: what they echo on error --------------------------------------


def test_sign_up_and_sign_in_forms_echo_payloads_as_text(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    sweep = Sweep(asgi_server.url, shots)
    host = asgi_server.url.split("//", 1)[1]
    context = signed_in(browser, asgi_server, None)
    page = sweep.watch(context)

    # Typed: a real sign-up whose display name is a payload, then that name on the profile.
    typed_name = 40
    sweep.labels[page] = "sign-up, typed"
    page.goto(f"{asgi_server.url}/accounts/signup/")
    page.get_by_label("Username (for signing in)").fill("typed.person")
    page.get_by_label("Display name (what others see)").fill(sweep.put("display name", typed_name))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/groups/$"))
    sweep.visit(
        page,
        "/accounts/profile/",
        "own profile page",
        [sweep.expect("display name", typed_name, where="value")],
    )
    context.clear_cookies()

    # Typed: refused sign-ups and sign-ins echo what was typed.
    for i in (0, 41, 87, 120):
        sweep.labels[page] = "sign-up refused, typed"
        page.goto(f"{asgi_server.url}/accounts/signup/")
        page.get_by_label("Username (for signing in)").fill(sweep.put("sign-up username", i))
        # The field stops typing at 40 characters.
        page.get_by_label("Display name (what others see)").fill(sweep.put("display name", i + 1))
        page.get_by_label("Password").fill("x")
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("alert")).to_be_visible()
        sweep.check(
            page,
            "sign-up refused (typed)",
            [
                sweep.expect("sign-up username", i, where="value"),
                sweep.expect("display name", i + 1, where="value"),
            ],
        )
    page.screenshot(path=shots / "01-signup-echo.png", full_page=True)
    for i in (3, 58):
        sweep.labels[page] = "sign-in refused, typed"
        page.goto(f"{asgi_server.url}/accounts/login/")
        page.get_by_label("Username", exact=True).fill(sweep.put("sign-in username", i))
        page.get_by_label("Password", exact=True).fill("wrong-password-1")
        page.get_by_role("button", name="Sign in").last.click()
        expect(page.get_by_role("alert")).to_be_visible()
        sweep.check(
            page, "sign-in refused (typed)", [sweep.expect("sign-in username", i, where="value")]
        )

    # The rest sent by script, as a hand-made POST would be. Payloads go in threes (a, b, c):
    # a refused sign-up echoes a as username, b as display name, c as `next`; a refused
    # sign-in echoes c as username and b as `next` (only when it is a safe local address).
    # So every payload is echoed by one of the three name fields.
    threes = [(i, (i + 1) % N, (i + 2) % N) for i in range(0, N, 3)]
    page.goto(f"{asgi_server.url}/accounts/signup/")
    sweep.run(
        page,
        [
            Visit(
                "sign-up refused",
                [
                    sweep.expect("sign-up username", a, where="value"),
                    sweep.expect("sign-up display name", b, where="value"),
                    sweep.expect("sign-up next", c, where="value"),
                ],
                form={
                    "username": sweep.put("sign-up username", a),
                    "display_name": sweep.put("sign-up display name", b),
                    "password": "x",
                    "next": sweep.put("sign-up next", c),
                },
            )
            for a, b, c in threes
        ],
    )
    page.goto(f"{asgi_server.url}/accounts/login/")
    sign_ins = []
    for _a, b, c in threes:
        next_text = sweep.put("sign-in next", b)
        expects = [sweep.expect("sign-in username", c, where="value")]
        if url_has_allowed_host_and_scheme(next_text, allowed_hosts={host}):
            expects.append(sweep.expect("sign-in next", b, where="value"))
        form = {
            "username": sweep.put("sign-in username", c),
            "password": "wrong-password-1",
            "next": next_text,
        }
        sign_ins.append(Visit("sign-in refused", expects, form=form))
    sweep.run(page, sign_ins)
    page.screenshot(path=shots / "02-signin-echo.png", full_page=True)

    # `next` in the address of the sign-up page, as in a link someone was sent.
    sweep.run(
        page,
        [
            Visit(
                "sign-up page (next in address)",
                [sweep.expect("sign-up next", i, where="value")],
                path="/accounts/signup/?"
                + str(httpx.QueryParams({"next": sweep.put("sign-up next", i)})),
            )
            for i in range(1, N, 12)
        ],
    )

    sweep.assert_clean(page)


# --- the chat page: rendered by chat.js from history, live, and as typed ----------------------

MESSAGE_JS = """
() => [...document.querySelectorAll("#messages .message")].map((li) => ({
  id: Number(li.dataset.id),
  sender: li.querySelector(".sender-name").textContent,
  text: li.querySelector(".text").textContent,
  quote: li.querySelector(".quote").hidden ? null : li.querySelector(".quote").textContent,
}))
"""

WORD = re.compile(r"[^\W_]+")
# An ordered list's numbers are drawn by the browser (CSS markers), not kept as text.
LIST_NUMBER = re.compile(r"(?m)^[ \t>*+-]*\d{1,9}[.)](?=[ \t]|$)")


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nodes: list[str] = []
        self.hrefs: list[str] = []

    def handle_data(self, data: str) -> None:
        self.nodes.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


@dataclass(frozen=True)
class Formatted:
    """A message's text as the server formats it (its light Markdown, sanitised), and what
    that HTML says as text: its text nodes, as an HTML parser (not ours) reads them."""

    html: str
    nodes: tuple[str, ...]
    hrefs: tuple[str, ...]

    @property
    def text(self) -> str:
        """The textContent a browser gives the HTML."""
        return "".join(self.nodes)

    def lost_words(self, typed: str) -> list[str]:
        """Words of the typed text that are neither shown nor a link's address: Markdown may
        take its own syntax away, never a word. (Emphasis can join two words into one text,
        "a*b*c" into "abc", so a word counts as kept in a text node or in the whole text.)"""
        need = Counter(WORD.findall(LIST_NUMBER.sub(" ", typed)))
        nodes = Counter(w for node in self.nodes for w in WORD.findall(node))
        links = Counter(w for href in self.hrefs for w in WORD.findall(unquote(href)))
        return sorted((need - ((nodes | Counter(WORD.findall(self.text))) + links)).elements())


def formatted(group: Group, text: str) -> Formatted:
    """What the server should send as `html` for `text` (already cleaned) in `group`."""
    html = to_html(text, find_mentions(group.pk, text))
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    return Formatted(html, tuple(parser.nodes), tuple(parser.hrefs))


def test_chat_renders_payloads_as_text_from_history_live_and_typed(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    sweep = Sweep(asgi_server.url, shots)
    lead = do_register("lead", PASSWORD, "Lead")
    reader = do_register("reader", PASSWORD, "Reader")
    hub = do_create_group(lead, "Chat hub", "")
    do_update_group(membership(lead, hub), member_cap=1000)
    invite = do_create_invite(membership(lead, hub), hours=24, max_uses=None)
    # Rendering is what is swept: nothing is held for a moderator here (safety has its own
    # tests), and payloads that look like phone numbers are sent as if the sender said yes.
    Group.objects.filter(pk=hub.pk).update(new_member_days=0, spam_action="flag")
    people = [planted_person(i, sweep) for i in range(N)]
    for person in [reader, *people]:
        do_accept_invite(person, invite.token)

    # History: person i says payload i, replying to the message before it. The server keeps
    # typed text without invisible control characters (tongzhou.text.clean) and sends it also
    # as HTML, its light Markdown: chat.js must show the text of that HTML, character for
    # character, and that text must keep every word typed. Names and quotes stay plain text.
    names = [clean(sweep.put("display name", i)) for i in range(N)]
    sent = [sweep.put("message", i) for i in range(N)]
    texts = [clean(t) for t in sent]
    shown_as = [formatted(hub, t) for t in texts]
    formatted_ones = [i for i in range(N) if shown_as[i].text != texts[i]]
    # Enough payloads look different formatted, so a page showing the typed text fails.
    assert len(formatted_ones) >= 10, formatted_ones
    for i in range(N):
        if lost := shown_as[i].lost_words(texts[i]):
            sweep.findings.append(f"formatting payload {i} lost the words {lost}: {texts[i]!r}")
    history_ids: list[int] = []
    with quiet_fan_out():
        for i, person in enumerate(people):
            message, _created = do_send_message(
                person,
                hub.pk,
                client_id=f"h{i}",
                text=sent[i],
                confirm_personal_data=True,
                reply_to=history_ids[-1] if history_ids else None,
            )
            check_html(sweep, "sent (history)", i, message["html"], shown_as[i])
            history_ids.append(message["id"])
    expected = [
        {
            "id": history_ids[i],
            "sender": names[i],
            "text": shown_as[i].text,
            "quote": f"{names[i - 1]}: {plain_text(texts[i - 1], 120)}" if i else None,
        }
        for i in range(N)
    ]

    page = sweep.watch(signed_in(browser, asgi_server, reader))
    sweep.labels[page] = "chat, history"
    page.goto(f"{asgi_server.url}/groups/{hub.pk}/chat/")
    expect(page.locator("#conn")).to_have_text("Connected")
    messages = page.locator("#messages .message")
    load_all(page, N)
    sweep.check(page, "chat (history)", [])
    got = page.evaluate(MESSAGE_JS)
    compare_messages(sweep, "chat (history)", got, expected, formatted_ones)
    page.screenshot(path=shots / "01-chat-history.png")

    # Live: each person sends payload i again over the API (as the phone app does), replying to
    # the next one's history message; the reader's page gets them over the WebSocket.
    lead_page = sweep.watch(signed_in(browser, asgi_server, lead))
    sweep.labels[lead_page] = "chat, leader"
    lead_page.goto(f"{asgi_server.url}/groups/{hub.pk}/chat/")
    expect(lead_page.locator("#conn")).to_have_text("Connected")
    with httpx.Client(base_url=asgi_server.url, timeout=30) as http:
        for i, person in enumerate(people):
            token = ApiToken.issue(person)
            j = (i + 1) % N
            r = http.post(
                f"/api/v1/groups/{hub.pk}/messages",
                json={"client_id": f"live-{i}", "text": sent[i], "reply_to": history_ids[j]},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 201, r.text
            check_html(sweep, "sent (API)", i, r.json()["html"], shown_as[i])
            expected.append(
                {
                    "id": r.json()["id"],
                    "sender": names[i],
                    "text": shown_as[i].text,
                    "quote": f"{names[j]}: {plain_text(texts[j], 120)}",
                }
            )
    expect(messages).to_have_count(2 * N, timeout=30_000)
    expect(lead_page.locator(f"#m{expected[-1]['id']}")).to_be_attached()
    sweep.labels[page] = "chat, live"
    sweep.check(page, "chat (live)", [])
    compare_messages(sweep, "chat (live)", page.evaluate(MESSAGE_JS), expected, formatted_ones)
    sweep.labels[lead_page] = "chat, live, leader"
    sweep.check(lead_page, "chat (live)", [])
    compare_messages(
        sweep, "chat (live)", lead_page.evaluate(MESSAGE_JS), expected[N:], formatted_ones
    )

    # Typed: the reader types payloads into the composer, some formatted; both pages show them.
    typed = [0, 14, 36, 60, 99, 150 % N, 190 % N, N - 1, *formatted_ones[::4]]
    for i in typed:
        page.get_by_role("textbox", name="Message", exact=True).fill(sweep.put("message", i))
        page.get_by_role("button", name="Send", exact=True).click()
        send_anyway = page.locator("#pii-send")
        with contextlib.suppress(PlaywrightTimeout):  # asked only when it looks like a number
            send_anyway.wait_for(state="visible", timeout=800)
            send_anyway.click()
        expect(page.get_by_role("textbox", name="Message", exact=True)).to_have_value("")
    expect(messages).to_have_count(2 * N + len(typed))
    typed_ids = page.evaluate(MESSAGE_JS)[-len(typed) :]
    expect(lead_page.locator(f"#m{typed_ids[-1]['id']}")).to_be_attached()
    for p, kind in ((page, "chat (typed, own page)"), (lead_page, "chat (typed, live)")):
        sweep.labels[p] = kind
        sweep.check(
            p, kind, [Expect("message", i, shown_as[i].text, scope="#messages") for i in typed]
        )
        tail = p.evaluate(MESSAGE_JS)[-len(typed) :]
        for i, m in zip(typed, tail, strict=True):
            if (m["sender"], m["text"]) != ("Reader", shown_as[i].text):
                sweep.findings.append(f"{kind}: typed payload {i} shown as {m!r}")
            elif i in formatted_ones:
                sweep.shown[("message (formatted)", kind)].add(i)
    page.screenshot(path=shots / "02-chat-typed.png")

    # Replying to a payload person's formatted message shows their name and the message's text
    # (without its formatting) in the composer.
    target = formatted_ones[0]
    sweep.labels[page] = "chat, reply"
    page.locator(f'#messages .message[data-id="{history_ids[target]}"]').get_by_role(
        "button", name="Reply"
    ).click()
    want = f"Replying to {names[target]}: {shown_as[target].text.strip()[:60]}"
    got_reply = page.locator("#replying-text").text_content()
    if got_reply == want:
        sweep.shown[("display name", "chat (reply bar)")].add(target)
        sweep.shown[("message", "chat (reply bar)")].add(target)
    else:
        sweep.findings.append(f"chat reply bar shows {got_reply!r}, not {want!r}")
    sweep.check(page, "chat (replying)", [])
    lead_page.screenshot(path=shots / "03-chat-leader.png")

    sweep.assert_clean(page, lead_page)


def load_all(page: Page, count: int) -> None:
    """The chat shows the newest 50 messages first; older pages come on request."""
    messages = page.locator("#messages .message")
    older = page.get_by_role("button", name="Load older messages")
    for _ in range(count // 50 + 5):
        if messages.count() >= count:
            break
        if older.is_visible():
            older.click()
        page.wait_for_timeout(150)
    expect(messages).to_have_count(count)


def check_html(sweep: Sweep, kind: str, index: int, html: str, want: Formatted) -> None:
    """The server sent, as the message's `html`, what its formatting makes of the text."""
    if html != want.html:
        sweep.findings.append(
            f"{kind}: html of payload {index} is {json.dumps(html)}, not {json.dumps(want.html)}"
        )


def compare_messages(
    sweep: Sweep,
    kind: str,
    got: list[dict[str, Any]],
    expected: list[dict[str, Any]],
    formatted_ones: Iterable[int] = (),
) -> None:
    """Each message's sender, text and quote, character for character, as chat.js set them."""
    by_id = {m["id"]: m for m in got}
    formatted_set = set(formatted_ones)
    for i, want in enumerate(expected):
        have = by_id.get(want["id"])
        index = i % N
        if have is None:
            sweep.findings.append(f"{kind}: message {want['id']} (payload {index}) not shown")
            continue
        for key in ("sender", "text", "quote"):
            if have[key] != want[key]:
                sweep.findings.append(
                    f"{kind}: {key} of payload {index} shown as {json.dumps(have[key])}, "
                    f"not {json.dumps(want[key])}"
                )
                break
        else:
            sweep.shown[("display name", kind)].add(index)
            sweep.shown[("message", kind)].add(index)
            if index in formatted_set:
                sweep.shown[("message (formatted)", kind)].add(index)
            if want["quote"] is not None:
                sweep.shown[("message (reply quote)", kind)].add(index)


# --- link cards: what a linked page says about itself -------------------------------------------

RAW_EVERY = 8  # payload i with i % RAW_EVERY == 3 also gets a page that does not escape it
# Where a page declares its encoding: (encoding, in the Content-Type header or a meta tag).
ENCODINGS = (("utf-8", "header"), ("utf-8", "meta"), ("gb18030", "header"), ("gbk", "meta"))
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")

CARD_JS = """
() => [...document.querySelectorAll("#messages .message")].map((li) => {
  const card = li.querySelector(".link-card");  // none at all for a message without a preview
  if (!card) return { id: Number(li.dataset.id), shown: false };
  return {
    id: Number(li.dataset.id),
    shown: !card.hidden,
    href: card.getAttribute("href"),
    site_name: card.querySelector(".link-site").textContent,
    title: card.querySelector(".link-title").textContent,
    description: card.querySelector(".link-desc").textContent,
  };
})
"""


def payload_page(i: int, raw: bool) -> tuple[bytes, str]:
    """Page i, named after payload i, and its Content-Type. The payload is its <title> and, by
    turns, its og:title or twitter:title; its og:description or description; its site name;
    and its og:image (every tenth page has a real picture instead). Escaped as a real site's
    templates would, in the encoding Chinese sites use, declared where they declare it; or,
    if `raw`, written in as it is."""
    text = PAYLOADS[i].text
    attr = text if raw else escape(text, quote=True)
    data = text if raw else escape(text, quote=False)
    encoding, declared = ("utf-8", "header") if raw else ENCODINGS[i % len(ENCODINGS)]
    head = [f'<meta charset="{encoding}">' if declared == "meta" else "", f"<title>{data}</title>"]
    if i % 3 == 1:
        head.append(f'<meta property="og:title" content="{attr}">')
    elif i % 3 == 2:
        head.append(f'<meta name="twitter:title" content="{attr}">')
    description = 'property="og:description"' if i % 2 == 0 else 'name="description"'
    head.append(f'<meta {description} content="{attr}">')
    head.append(f'<meta property="og:site_name" content="{attr}">')
    image = "/picture.png" if i % 10 == 5 else attr
    head.append(f'<meta property="og:image" content="{image}">')
    page = f"<!doctype html><html><head>{''.join(head)}</head><body><h1>{data}</h1></body></html>"
    content_type = f"text/html; charset={encoding}" if declared == "header" else "text/html"
    return page.encode(encoding, "xmlcharrefreplace"), content_type


@dataclass
class PayloadSite:
    """A web site on 127.0.0.1: /e/<i> is payload_page(i), /raw/<i> the unescaped one."""

    port: int
    hits: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, i: int, raw: bool) -> str:
        return f"http://{self.host}/{'raw' if raw else 'e'}/{i}"


@pytest.fixture
def payload_site() -> Iterator[PayloadSite]:
    """The site, running, and let past the link-preview guard against private addresses."""
    buffer = io.BytesIO()
    PIL.Image.new("RGB", (32, 24), (200, 60, 60)).save(buffer, "PNG")
    picture = buffer.getvalue()
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            hits.append(self.path)
            m = re.fullmatch(r"/(e|raw)/(\d+)", self.path)
            status = 200
            if m and int(m.group(2)) < N:
                body, content_type = payload_page(int(m.group(2)), raw=m.group(1) == "raw")
            elif self.path == "/picture.png":
                body, content_type = picture, "image/png"
            else:  # most og:image addresses: a payload taken for a path
                status, body, content_type = 404, b"<title>not here</title>", "text/html"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    site = PayloadSite(int(httpd.server_address[1]), hits)
    with override_settings(LINK_PREVIEW_ALLOW_HOST=site.host):
        yield site
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def visible(text: str) -> str:
    """What a card must keep of a page's words: squash, less control characters (a card
    shows them as spaces) and bidirectional overrides (a card drops them)."""
    return BIDI.sub("", "".join(ch for ch in squash(text) if unicodedata.category(ch) != "Cc"))


def keeps(value: str, page_text: str) -> bool:
    """A card's title, description or site name says what the page said, or, cut to the
    card's length (ending in "…"), how it began."""
    if value.endswith("…") and not page_text.endswith("…"):
        return visible(page_text).startswith(visible(value[:-1]))
    return visible(value) == visible(page_text)


# A card's fields, as the API names them and as coverage.txt counts them.
CARD_FIELDS = (
    ("title", "link title"),
    ("description", "link description"),
    ("site_name", "link site name"),
)


def test_link_cards_show_what_linked_pages_say_as_text(
    asgi_server: LiveServer,
    worker: None,
    payload_site: PayloadSite,
    browser: Browser,
    shots: Path,
) -> None:
    """Every payload names a linked page (its title, description, site name); the worker
    fetches each page and makes a card, which the chat shows live and from history. Nothing
    runs; each card shows what the API says, and the API says what the page said."""
    sweep = Sweep(asgi_server.url, shots)
    lead = do_register("lead", PASSWORD, "Lead")
    reader = do_register("reader", PASSWORD, "Reader")
    hub = do_create_group(lead, "Link hub", "")
    join_by_invite(lead, hub, reader)
    page = sweep.watch(signed_in(browser, asgi_server, reader))
    sweep.labels[page] = "chat, link cards arriving"
    page.goto(f"{asgi_server.url}/groups/{hub.pk}/chat/")
    expect(page.locator("#conn")).to_have_text("Connected")

    # The leader shares a link to each page: bare, in angle brackets, or behind words.
    links = [(i, False) for i in range(N)] + [(i, True) for i in range(3, N, RAW_EVERY)]
    page_of: dict[int, tuple[int, bool]] = {}  # message id -> (payload, raw)
    token = ApiToken.issue(lead)
    with httpx.Client(base_url=asgi_server.url, timeout=30) as http:
        auth = {"Authorization": f"Bearer {token}"}
        for k, (i, raw) in enumerate(links):
            url = payload_site.url(i, raw)
            text = (f"看看这篇 {url}", f"<{url}>", f"[病友推荐的文章]({url})")[k % 3]
            r = http.post(
                f"/api/v1/groups/{hub.pk}/messages",
                json={"client_id": f"link-{k}", "text": text},
                headers=auth,
            )
            assert r.status_code == 201, r.text
            page_of[r.json()["id"]] = (i, raw)
            if raw:
                sweep.put("link page (unescaped)", i)
            else:
                for _key, name in CARD_FIELDS:
                    sweep.put(name, i)
        wait_for_cards(hub)
        cards = api_cards(http, hub, auth)

    # What the API says, against what each page said.
    assert set(cards) == set(page_of), "a message went missing"
    for message_id, (i, raw) in page_of.items():
        card = cards[message_id]
        if raw:
            continue  # broken markup may say anything, or nothing; it must only stay text
        if card is None:
            sweep.findings.append(f"no card for the page of payload {i}")
            continue
        if card["url"] != payload_site.url(i, raw):
            sweep.findings.append(f"the card of payload {i} links to {card['url']!r}")
        for key, name in CARD_FIELDS:
            if not card[key] or not keeps(card[key], PAYLOADS[i].text):
                sweep.findings.append(
                    f"the API's {name} for payload {i} ({PAYLOADS[i].family}) is "
                    f"{card[key]!r}, not what the page said: {PAYLOADS[i].text!r}"
                )
    made = sum(card is not None for card in cards.values())
    with_picture = sum(bool(card and card["image_url"]) for card in cards.values())
    assert with_picture >= N // 10 - 1, f"{with_picture} cards with a picture"

    # Live: the cards arrived on the open page as the worker made them.
    shown_cards = page.locator("#messages .link-card:not([hidden])")
    expect(page.locator("#messages .message")).to_have_count(len(links), timeout=30_000)
    expect(shown_cards).to_have_count(made, timeout=30_000)
    sweep.check(page, "chat (link cards, live)", [])
    compare_cards(sweep, "chat (link cards, live)", page, cards, page_of)
    page.screenshot(path=shots / "01-link-cards-live.png")

    # History: the page opened afresh shows them from the first answer.
    sweep.labels[page] = "chat, link cards from history"
    page.reload()
    expect(page.locator("#conn")).to_have_text("Connected")
    load_all(page, len(links))
    expect(shown_cards).to_have_count(made)
    sweep.check(page, "chat (link cards, history)", [])
    compare_cards(sweep, "chat (link cards, history)", page, cards, page_of)
    with_image = next(m for m, (i, raw) in page_of.items() if i % 10 == 5 and not raw)
    page.locator(f"#m{with_image}").scroll_into_view_if_needed()
    page.screenshot(path=shots / "02-link-cards-history.png")

    fetched = {h for h in payload_site.hits if re.fullmatch(r"/(e|raw)/\d+", h)}
    assert len(fetched) == len(links), f"the worker fetched {len(fetched)} of {len(links)} pages"
    sweep.assert_clean(page)


def join_by_invite(lead: User, group: Group, person: User) -> None:
    invite = do_create_invite(membership(lead, group), hours=24, max_uses=None)
    do_accept_invite(person, invite.token)


def wait_for_cards(group: Group, seconds: float = 120) -> None:
    """Until the worker has fetched every page (made a card, or given up on one)."""
    deadline = time.monotonic() + seconds
    pending = LinkPreview.objects.filter(message__group=group, status=LinkPreview.Status.PENDING)
    while pending.exists():
        assert time.monotonic() < deadline, f"{pending.count()} cards still being made"
        time.sleep(0.25)


def api_cards(
    http: httpx.Client, group: Group, auth: dict[str, str]
) -> dict[int, dict[str, Any] | None]:
    """Every message's link_preview, as the API lists them."""
    cards: dict[int, dict[str, Any] | None] = {}
    after = 0
    while True:
        r = http.get(
            f"/api/v1/groups/{group.pk}/messages",
            params={"after": after, "limit": 200},
            headers=auth,
        )
        assert r.status_code == 200, r.text
        messages = r.json()["messages"]
        if not messages:
            return cards
        for m in messages:
            cards[m["id"]] = m["link_preview"]
        after = messages[-1]["id"]


def compare_cards(
    sweep: Sweep,
    kind: str,
    page: Page,
    cards: dict[int, dict[str, Any] | None],
    page_of: dict[int, tuple[int, bool]],
) -> None:
    """Each card shows, as text, the API's title, description and site name for its message."""
    for have in page.evaluate(CARD_JS):
        want = cards.get(have["id"])
        i, raw = page_of[have["id"]]
        if want is None:
            if have["shown"]:
                sweep.findings.append(f"{kind}: a card for payload {i} that the API has not")
            continue
        if not have["shown"]:
            sweep.findings.append(f"{kind}: the card for payload {i} is not shown")
            continue
        wrong = [
            f"{key} {json.dumps(have[key])}, not {json.dumps(want[key])}"
            for key in ("href", "site_name", "title", "description")
            if have[key] != want["url" if key == "href" else key]
        ]
        if wrong:
            sweep.findings.append(f"{kind}: the card for payload {i} shows " + "; ".join(wrong))
        elif raw:
            sweep.shown[("link page (unescaped)", kind)].add(i)
        else:
            for key, name in CARD_FIELDS:
                if want[key] and keeps(want[key], PAYLOADS[i].text):
                    sweep.shown[(name, kind)].add(i)
