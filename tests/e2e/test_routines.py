"""Daily routines and milestones on a phone (issue 10), real Chromium at 360 px: a member taps
"Done today" and sees the streak go up; a leader adds a routine for the group; a member
announces "毕业" and another member sees the card and reacts; sad news shows no celebration;
/today/ shows a reminder the clock fired. Chinese for some people, English for others.

Words are looked up in the project's catalogue for the reader's language (`says`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from playwright.sync_api import Browser, Locator, Page, expect

from tongzhou.accounts.actions import do_register, do_update_profile
from tongzhou.accounts.models import User
from tongzhou.chat.models import Message
from tongzhou.community import reminders
from tongzhou.community.models import CheckIn, Milestone, Reminder, ReminderSchedule, Routine
from tongzhou.community.routines import do_create_routine
from tongzhou.groups.actions import do_apply, do_create_group, do_decide
from tongzhou.groups.models import Group

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
ZONES = {"zh-CN": "Asia/Shanghai", "en-US": "America/New_York"}


@pytest.fixture(autouse=True)
def patient() -> Iterator[None]:
    expect.set_options(timeout=15_000)  # a shared 2-core machine: slow is not wrong
    yield
    expect.set_options(timeout=5_000)


def says(locale: str, msgid: str, plural: str | None = None, count: int = 0, **values: Any) -> str:
    """What a page shows a reader of this browser locale for `msgid`."""
    with translation.override(LANG[locale]):
        text = translation.ngettext(msgid, plural, count) if plural else translation.gettext(msgid)
    return text % values if values else text


def person(username: str, name: str, locale: str) -> User:
    user = do_register(username, PASSWORD, name)
    do_update_profile(user, {"timezone": ZONES[locale]})
    return User.objects.get(pk=user.pk)  # with the profile as saved


def join(leader: User, group: Group, username: str, name: str, locale: str) -> User:
    user = person(username, name, locale)
    do_decide(leader, do_apply(user, group, role="patient"), approve=True)
    return user


def phone(browser: Browser, server: LiveServer, username: str, locale: str) -> Page:
    context = browser.new_context(
        viewport=PHONE, locale=locale, timezone_id=ZONES[locale], device_scale_factor=2
    )
    page = context.new_page()
    sign_in(page, server.url, username, PASSWORD, labels=SIGN_IN[locale])
    expect(page).to_have_url(re.compile(r"/groups/$"))
    return page


def fits_the_phone(page: Page) -> None:
    """Nothing makes the page scroll sideways on a 360 px screen."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def big_enough(target: Locator) -> None:
    box = target.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44, box


def world() -> tuple[User, Group, User, User]:
    leader = person("lead", "老李", "zh-CN")
    group = do_create_group(leader, "鼻咽癌互助群")
    group.new_member_days = 0
    group.save(update_fields=["new_member_days"])
    chen = join(leader, group, "chen", "陈大哥", "zh-CN")
    amy = join(leader, group, "amy", "Amy", "en-US")
    return leader, group, chen, amy


def test_a_member_checks_in_and_a_leader_adds_a_routine_for_the_group(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    leader, group, chen, _amy = world()
    gid = group.pk
    irrigation = do_create_routine(
        leader, gid, own=False, title="鼻腔冲洗", time="08:00", note="温盐水，每侧 250 毫升"
    )
    today = reminders.local_day(chen)
    for days_ago in (1, 2):  # the two days before today
        CheckIn.objects.create(
            routine=irrigation, user=chen, day=today - dt.timedelta(days=days_ago)
        )

    # --- the member (Chinese): done today, the streak goes from 2 to 3 ---------------------
    zh = "zh-CN"
    page = phone(browser, asgi_server, "chen", zh)
    page.goto(f"{asgi_server.url}/groups/{gid}/routines/")
    card = page.locator(f"#routine-{irrigation.pk}")
    streak = card.get_by_test_id("streak")
    expect(streak).to_contain_text(says(zh, "%(n)s day in a row", "%(n)s days in a row", 2, n=2))
    done = card.get_by_role("button", name=re.compile(re.escape(says(zh, "Done today"))))
    expect(done).to_be_visible()
    big_enough(done)
    expect(card.locator(".dot.on")).to_have_count(2)
    page.screenshot(path=shots / "01-member-before-check-in.png", full_page=True)
    done.click()
    expect(page).to_have_url(re.compile(rf"#routine-{irrigation.pk}$"))
    expect(streak).to_contain_text(says(zh, "%(n)s day in a row", "%(n)s days in a row", 3, n=3))
    expect(card.locator(".dot.on")).to_have_count(3)
    expect(card.locator(".dot.today.on")).to_have_count(1)
    expect(card.locator(".done-line")).to_contain_text(says(zh, "Done today"))
    # Tapping again is not offered: "Undo" instead, once a day.
    expect(card.get_by_role("button", name=re.compile(says(zh, "Undo")))).to_be_visible()
    assert CheckIn.objects.filter(user=chen, routine=irrigation).count() == 3
    fits_the_phone(page)
    page.screenshot(path=shots / "02-member-streak-3.png", full_page=True)

    # --- the leader (Chinese) adds 20:00 mouth-opening exercises, weekdays only ---------------
    lead = phone(browser, asgi_server, "lead", zh)
    lead.goto(f"{asgi_server.url}/groups/{gid}/routines/")
    lead.get_by_text(says(zh, "Add a routine for the whole group")).click()
    form = lead.locator("details.add-routine").first
    form.get_by_label(says(zh, "What to do")).fill("张口锻炼")
    form.get_by_label(says(zh, "Time (in each person's own timezone)")).fill("20:00")
    for day in ("Sat", "Sun"):
        form.get_by_text(says(zh, day), exact=True).click()  # the day chips' labels
    form.get_by_label(says(zh, "Note (how, why; optional)")).fill("张到最大，坚持 10 秒")
    fits_the_phone(lead)
    lead.screenshot(path=shots / "03-leader-adds-routine.png", full_page=True)
    form.get_by_role("button", name=says(zh, "Add for everyone")).click()
    added = Routine.objects.get(title="张口锻炼")
    assert (added.time, added.weekdays) == (dt.time(20), "12345")
    expect(lead.locator(f"#routine-{added.pk}")).to_contain_text("20:00")
    # Every member is scheduled, at 20:00 in their own timezone.
    assert ReminderSchedule.objects.filter(routine=added).count() == 3

    # The member sees it on their page.
    page.goto(f"{asgi_server.url}/groups/{gid}/routines/")
    expect(page.locator(f"#routine-{added.pk}")).to_contain_text("张口锻炼")
    page.context.close()
    lead.context.close()


def test_a_member_announces_graduation_and_another_reacts_and_sad_news_stays_quiet(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    _leader, group, chen, amy = world()
    gid = group.pk

    # --- 陈大哥 announces 毕业 (Chinese) ------------------------------------------------------
    zh, en = "zh-CN", "en-US"
    page = phone(browser, asgi_server, "chen", zh)
    page.goto(f"{asgi_server.url}/groups/{gid}/milestones/")
    page.get_by_role("link", name=re.compile(says(zh, "Share good news"))).click()
    page.get_by_label(says(zh, "Finished treatment (毕业)")).check()
    page.get_by_label(says(zh, "A few words (optional)")).fill("33 次放疗全部做完，今天毕业了！")
    page.get_by_label(says(zh, "Remind me of this day each year")).check()
    expect(page.get_by_label(says(zh, "Also tell the group in the chat"))).to_be_checked()
    fits_the_phone(page)
    page.screenshot(path=shots / "04-announce-form.png", full_page=True)
    page.get_by_role("button", name=says(zh, "Share with the group")).click()
    expect(page).to_have_url(re.compile(rf"/groups/{gid}/milestones/\d+/#?$"))
    m = Milestone.objects.get(user=chen)
    assert m.kind == "graduation" and m.remind_yearly
    card = page.locator(f"#milestone-{m.pk}")
    expect(card).to_have_class(re.compile(r"\bcelebrate\b"))
    expect(card.locator(".milestone-emoji")).to_have_text("🎓")
    expect(card.locator(".milestone-headline")).to_have_text(says(zh, "Finished treatment (毕业)"))
    page.screenshot(path=shots / "05-graduation-card.png", full_page=True)
    # The chat has a short message from him pointing to the card.
    told = Message.objects.get(group=group, sender=chen, client_id=f"milestone-{m.pk}")
    assert f"/groups/{gid}/milestones/{m.pk}/" in told.text
    page.goto(f"{asgi_server.url}/groups/{gid}/chat/")
    expect(page.locator("#messages .message").filter(has_text="33 次放疗")).to_be_visible()
    page.context.close()

    # --- Amy (English) sees the card and claps, then chooses flowers --------------------------
    other = phone(browser, asgi_server, "amy", en)
    other.goto(f"{asgi_server.url}/groups/{gid}/milestones/")
    seen = other.locator(f"#milestone-{m.pk}")
    expect(seen).to_contain_text("陈大哥")
    expect(seen).to_contain_text("Finished treatment (毕业)")
    clap = seen.get_by_role("button", name=re.compile("Applause"))
    big_enough(clap)
    clap.click()
    seen = other.locator(f"#milestone-{m.pk}")
    expect(seen.get_by_role("button", name=re.compile("Applause"))).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(seen.get_by_role("button", name=re.compile("Applause"))).to_contain_text("1")
    seen.get_by_role("button", name=re.compile("Flowers")).click()
    seen = other.locator(f"#milestone-{m.pk}")
    expect(seen.get_by_role("button", name=re.compile("Flowers"))).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(seen.get_by_role("button", name=re.compile("Applause"))).to_have_attribute(
        "aria-pressed", "false"
    )
    assert list(m.reactions.values_list("user_id", "emoji")) == [(amy.pk, "💐")]
    fits_the_phone(other)
    other.screenshot(path=shots / "06-other-member-reacts.png", full_page=True)

    # --- Amy shares sad news: a quiet card, only a candle and folded hands -----------------
    other.goto(f"{asgi_server.url}/groups/{gid}/milestones/")
    other.get_by_role("link", name=re.compile("Share sad news")).click()
    expect(other.get_by_label("Sad news")).to_be_checked()
    expect(other.get_by_label("Also tell the group in the chat")).not_to_be_checked()
    other.get_by_label("A few words (optional)").fill("Auntie Zhang passed away last week.")
    other.get_by_role("button", name="Share with the group").click()
    sad = Milestone.objects.get(kind="sad")
    quiet = other.locator(f"#milestone-{sad.pk}")
    expect(quiet).to_have_class(re.compile(r"\bsad\b"))
    expect(quiet.locator(".react-chip")).to_have_count(2)
    expect(quiet.get_by_role("button", name=re.compile("Celebrate"))).to_have_count(0)
    expect(quiet.get_by_role("button", name=re.compile("Light a candle"))).to_be_visible()
    assert not Message.objects.filter(client_id=f"milestone-{sad.pk}").exists()
    other.context.close()

    page = phone(browser, asgi_server, "chen", zh)
    page.goto(f"{asgi_server.url}/groups/{gid}/milestones/{sad.pk}/")
    quiet = page.locator(f"#milestone-{sad.pk}")
    quiet.get_by_role("button", name=re.compile(says(zh, "Light a candle"))).click()
    quiet = page.locator(f"#milestone-{sad.pk}")
    expect(quiet.locator(".react-n")).to_have_count(0)  # no tally to compete on
    expect(quiet.locator(".quiet-count")).to_be_visible()
    fits_the_phone(page)
    page.screenshot(path=shots / "07-sad-news-card.png", full_page=True)
    page.context.close()


def test_today_shows_a_reminder_the_clock_fired(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    leader, group, _chen, amy = world()
    routine = do_create_routine(leader, group.pk, own=False, title="鼻腔冲洗", time="08:00")
    due = ReminderSchedule.objects.get(routine=routine, user=amy).next_at
    assert due is not None
    with quiet_fan_out():
        made = reminders.fire_due(due)
    mine = next(r for r in made if r.user_id == amy.pk)

    en = "en-US"
    page = phone(browser, asgi_server, "amy", en)
    page.goto(f"{asgi_server.url}/today/")
    item = page.locator(f"#reminder-{mine.pk}")
    expect(item).to_have_class(re.compile(r"\bunread\b"))
    expect(item.get_by_role("link", name="鼻腔冲洗")).to_have_attribute(
        "href", f"/today/#routine-{routine.pk}"
    )
    # 08:00 where Amy lives (New York).
    local = due.astimezone(reminders.zone_of(amy))
    assert local.hour == 8
    expect(item.locator("time")).to_contain_text(re.compile(r"\b8(:00)? a\.m\."))
    fits_the_phone(page)
    page.screenshot(path=shots / "08-today-reminder.png", full_page=True)
    item.get_by_role("button", name=re.compile("Mark as read")).click()
    expect(page.locator(f"#reminder-{mine.pk}")).not_to_have_class(re.compile(r"\bunread\b"))
    assert Reminder.objects.get(pk=mine.pk).read_at is not None
    page.screenshot(path=shots / "09-today-read.png", full_page=True)
    page.context.close()
