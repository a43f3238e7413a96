"""Events on a phone (issue 10): the leader announces a meetup with one place; a member says she
is going, a second lands on the waiting list; questions are sent in and an upvote reorders
them; the reminder before the start reaches the member's day page; the leader answers; the
calendar file downloads; when the first member cannot come, the one waiting moves up and is
told. Real Chromium, 360 px wide, the members' own timezone (Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from icalendar import Calendar
from playwright.sync_api import Browser, Locator, Page, expect

from tongzhou.accounts.actions import do_register, do_update_profile
from tongzhou.community.models import Event, Reminder
from tongzhou.community.reminders import fire_due
from tongzhou.groups.actions import do_apply, do_create_group, do_decide

from ..conftest import LiveServer
from .conftest import quiet_fan_out, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "member-pass-2026"
ZONE = "Asia/Shanghai"
PHONE = {"width": 360, "height": 740}
TITLE = "Spring tea in the park"
FIRST_Q = "Is there somewhere to sit in the shade?"
SECOND_Q = "Can I bring my daughter? She looks after me."
ANSWER = "Yes, family are welcome. There are benches under the trees by the lake."


@pytest.fixture(autouse=True)
def patient() -> Iterator[None]:
    expect.set_options(timeout=15_000)  # a shared 2-core machine: slow is not wrong
    yield
    expect.set_options(timeout=5_000)


def phone(browser: Browser, server: LiveServer, username: str) -> Page:
    context = browser.new_context(
        viewport=PHONE,  # type: ignore[arg-type]
        locale="en-US",
        timezone_id=ZONE,
        device_scale_factor=2,
        accept_downloads=True,
    )
    page = context.new_page()
    sign_in(page, server.url, username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/groups/$"))
    return page


def fits_the_phone(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def questions(page: Page) -> Locator:
    return page.locator("[data-testid=questions] > li .q-text")


def test_an_event_from_announcement_to_reminder_questions_answer_and_calendar(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    base = asgi_server.url
    leader = do_register("lead", PASSWORD, "老李 Lao Li")
    group = do_create_group(leader, "鼻咽癌互助群")
    gid = group.pk
    people = {}
    for username, name in (("xiaomei", "小梅"), ("laozhang", "老张"), ("wangjie", "王姐")):
        people[username] = do_register(username, PASSWORD, name)
        do_decide(leader, do_apply(people[username], group, role="patient"), approve=True)
    for user in (leader, *people.values()):
        do_update_profile(user, {"timezone": ZONE})
    zone = ZoneInfo(ZONE)
    day = (timezone.now().astimezone(zone) + dt.timedelta(days=3)).date()
    start = dt.datetime.combine(day, dt.time(10, 0), tzinfo=zone)

    # --- 1. the leader announces a meetup with one place ---------------------------------
    lead = phone(browser, asgi_server, "lead")
    lead.goto(f"{base}/groups/{gid}/events/")
    lead.get_by_role("link", name="New event").click()
    lead.get_by_label("Meetup in person").check()
    lead.get_by_label("Title").fill(TITLE)
    lead.get_by_label("Starts").fill(f"{day.isoformat()}T10:00")
    lead.get_by_label("Ends").fill(f"{day.isoformat()}T12:00")
    lead.get_by_label("Place (for a meetup), or where to join online").fill(
        "Yuexiu Park, north gate"
    )
    lead.get_by_label("Places (meetups; empty: no limit)").fill("1")
    expect(lead.get_by_text("Times are in your timezone: Asia/Shanghai")).to_be_visible()
    fits_the_phone(lead)
    lead.screenshot(path=str(shots / "1-leader-new-event.png"), full_page=True)
    lead.get_by_role("button", name="Announce the event").click()
    expect(lead.get_by_role("heading", name=TITLE)).to_be_visible()
    event = Event.objects.get(title=TITLE)
    assert event.starts_at == start and event.capacity == 1 and event.kind == "meetup"
    expect(lead.get_by_test_id("when")).to_contain_text("10 a.m.")
    expect(lead.get_by_test_id("when")).to_contain_text("Asia/Shanghai")
    page_url = f"{base}/groups/{gid}/events/{event.pk}/"

    # --- 2. one member takes the place, the next one waits --------------------------------
    mei = phone(browser, asgi_server, "xiaomei")
    mei.goto(f"{base}/groups/{gid}/events/")
    mei.get_by_role("link", name=re.compile(TITLE)).click()
    expect(mei).to_have_url(page_url)
    mei.get_by_role("button", name="I'm going").click()
    expect(mei.get_by_test_id("rsvp-state")).to_contain_text("You are going.")
    expect(mei.get_by_test_id("attendees")).to_have_text("小梅")

    zhang = phone(browser, asgi_server, "laozhang")
    zhang.goto(page_url)
    expect(zhang.get_by_text("1 of 1 taken")).to_be_visible()
    zhang.get_by_role("button", name="Join the waiting list").click()
    expect(zhang.get_by_test_id("rsvp-state")).to_contain_text(
        "You are on the waiting list: number 1."
    )
    fits_the_phone(zhang)
    zhang.screenshot(path=str(shots / "2-waiting-list.png"), full_page=True)

    # --- 3. questions: sent in, then an upvote puts the second one first -----------------
    zhang.get_by_label("Your question").fill(FIRST_Q)
    zhang.get_by_role("button", name="Send the question").click()
    expect(questions(zhang)).to_have_text([FIRST_Q])
    mei.reload()
    mei.get_by_label("Your question").fill(SECOND_Q)
    mei.get_by_role("button", name="Send the question").click()
    expect(mei.get_by_text("Your question is in.")).to_be_visible()
    expect(questions(mei)).to_have_text([FIRST_Q, SECOND_Q])  # no votes yet: oldest first
    # Nobody votes for their own question: there is no button for it.
    own = mei.locator("[data-testid=questions] > li").filter(has_text=SECOND_Q)
    expect(own.get_by_role("button", name=re.compile("Votes"))).to_have_count(0)

    wang = phone(browser, asgi_server, "wangjie")
    wang.goto(page_url)
    second = wang.locator("[data-testid=questions] > li").filter(has_text=SECOND_Q)
    second.get_by_role("button", name=re.compile("Votes: 0")).click()
    expect(questions(wang)).to_have_text([SECOND_Q, FIRST_Q])
    voted = wang.locator("[data-testid=questions] > li").first.get_by_role("button")
    expect(voted).to_have_attribute("aria-pressed", "true")
    expect(voted).to_contain_text("Votes: 1")
    fits_the_phone(wang)
    wang.screenshot(path=str(shots / "3-upvoted.png"), full_page=True)

    # --- 4. the reminder an hour before the start reaches the member's day ---------------
    with quiet_fan_out():
        assert not [r for r in fire_due(start - dt.timedelta(hours=2)) if r.key.startswith("event")]
        made = [r for r in fire_due(start - dt.timedelta(minutes=45)) if r.key.startswith("event")]
    assert [r.user_id for r in made] == [people["xiaomei"].pk]  # going; not the one waiting
    reminder = Reminder.objects.get(user=people["xiaomei"], key__startswith=f"event:{event.pk}")
    assert reminder.title.startswith(f"{TITLE} starts at") and "10 a.m." in reminder.title
    mei.goto(f"{base}/today/")
    link = mei.get_by_role("link", name=re.compile(f"{TITLE} starts at"))
    expect(link).to_be_visible()
    fits_the_phone(mei)
    mei.screenshot(path=str(shots / "4-reminder-today.png"), full_page=True)
    link.click()
    expect(mei).to_have_url(page_url)

    # --- 5. the leader answers the question most people want answered --------------------
    lead.goto(page_url)
    top = lead.locator("[data-testid=questions] > li").first
    expect(top.locator(".q-text")).to_have_text(SECOND_Q)
    top.locator("summary").click()
    top.get_by_label("Answer").fill(ANSWER)
    top.get_by_role("button", name="Save the answer").click()
    expect(lead.get_by_text("The answer is saved.")).to_be_visible()
    mei.reload()
    answered = mei.locator("[data-testid=questions] > li").filter(has_text=SECOND_Q)
    expect(answered.get_by_test_id("answer")).to_contain_text("老李 Lao Li answered:")
    expect(answered.get_by_test_id("answer")).to_contain_text(ANSWER)
    fits_the_phone(mei)
    mei.screenshot(path=str(shots / "5-answered.png"), full_page=True)

    # --- 6. the calendar file -------------------------------------------------------------
    with mei.expect_download() as download:
        mei.get_by_role("link", name="Add to my calendar").click()
    assert download.value.suggested_filename == f"event-{event.pk}.ics"
    item = Calendar.from_ical(Path(download.value.path()).read_bytes()).walk("VEVENT")[0]
    assert str(item["summary"]) == TITLE
    assert item.decoded("dtstart") == start
    assert str(item["location"]) == "Yuexiu Park, north gate"
    assert page_url in str(item["description"])

    # --- 7. she cannot come after all: the one waiting moves up and is told ---------------
    mei.get_by_role("button", name="I can't come after all").click()
    expect(mei.get_by_test_id("rsvp-state")).to_contain_text("You said you are not coming.")
    zhang.goto(f"{base}/today/")
    opened = zhang.get_by_role("link", name=re.compile(f"A place opened for you: {TITLE}"))
    expect(opened).to_be_visible()
    opened.click()
    expect(zhang.get_by_test_id("rsvp-state")).to_contain_text("You are going.")
    expect(zhang.get_by_test_id("attendees")).to_have_text("老张")
    zhang.screenshot(path=str(shots / "6-moved-up.png"), full_page=True)

    # --- 8. the group's events page: coming up, with who is coming ------------------------
    lead.goto(f"{base}/groups/{gid}/events/")
    listed = lead.get_by_test_id("upcoming").get_by_role("link", name=re.compile(TITLE))
    expect(listed).to_contain_text("Meetup in person")
    expect(listed).to_contain_text("Coming: 1 · Places: 1")
    fits_the_phone(lead)
    lead.screenshot(path=str(shots / "7-events-list.png"), full_page=True)
