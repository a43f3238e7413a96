"""Events and expert sessions as members meet them: announcing, coming (and the waiting list),
questions with votes and answers, the chat thread, the calendar file, the reminders before the
start, and the knowledge entry afterwards. Real database, real client, no mocks."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from tests.conftest import ROLES, World, make_user
from tongzhou.accounts.actions import do_update_profile
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.models import Message
from tongzhou.community import events
from tongzhou.community.models import Event, MessageTopic, Reminder, Rsvp
from tongzhou.community.reminders import fire_due
from tongzhou.errors import UserError
from tongzhou.groups import actions as group_actions
from tongzhou.groups.models import Membership
from tongzhou.knowledge.models import Entry

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def u(world: World, role: str) -> Any:
    return world.users[role]


def api(world: World, role: str) -> Client:
    return world.client(role)


def later(days: float = 2, hour: int | None = None) -> dt.datetime:
    at = timezone.now() + dt.timedelta(days=days)
    return at.replace(hour=hour, minute=0, second=0, microsecond=0) if hour is not None else at


def event(world: World, **kw: Any) -> Event:
    start = kw.pop("starts_at", later())
    fields = {
        "kind": "qa",
        "title": "Ask the dietitian",
        "starts_at": start,
        "ends_at": start + dt.timedelta(hours=1),
        **kw,
    }
    return events.do_create_event(u(world, "leader"), world.group.pk, **fields)


def meetup(world: World, capacity: int | None = 2, **kw: Any) -> Event:
    return event(
        world, kind="meetup", title="Tea in the park", place="Yuexiu Park", capacity=capacity, **kw
    )


def join(world: World, name: str) -> Any:
    """Another approved member of the group."""
    user = make_user(name)
    app = group_actions.do_apply(user, world.group, role="patient")
    group_actions.do_decide(u(world, "leader"), app, approve=True)
    return user


def rsvp(world: World, user: Any, ev: Event, going: bool = True) -> Rsvp:
    return events.do_rsvp(user, world.group.pk, ev.pk, going)


def status_of(ev: Event, user: Any) -> str:
    return Rsvp.objects.get(event=ev, user=user).status


def end_it(ev: Event) -> None:
    """The event happened last week (its rows kept as they were)."""
    back = timezone.now() - dt.timedelta(days=7)
    Event.objects.filter(pk=ev.pk).update(starts_at=back, ends_at=back + dt.timedelta(hours=1))
    ev.refresh_from_db()


def set_zone(user: Any, name: str) -> None:
    do_update_profile(user, {"timezone": name})


# --- announcing ------------------------------------------------------------------------------


def test_a_time_typed_without_zone_is_the_creators_own_and_kept_in_utc(world: World) -> None:
    set_zone(u(world, "leader"), "America/New_York")
    r = api(world, "leader").post(
        f"/api/v1/groups/{world.group.pk}/events",
        {
            "kind": "qa",
            "title": "Ask the nurse",
            "starts_at": "2031-06-01T10:00",
            "ends_at": "2031-06-01T11:30",
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.json()
    made = Event.objects.get(pk=r.json()["id"])
    # 10:00 in New York (summer, UTC-4) is 14:00 UTC.
    assert made.starts_at == dt.datetime(2031, 6, 1, 14, 0, tzinfo=UTC)
    assert made.ends_at == dt.datetime(2031, 6, 1, 15, 30, tzinfo=UTC)
    assert made.topic == f"event{made.pk}"  # a topic of its own when none was given
    assert r.json()["capacity"] is None and r.json()["remind_minutes"] == 60


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"ends_at": "2031-06-01T09:00"}, "ends_before_start"),
        ({"starts_at": "2020-01-01T10:00", "ends_at": "2020-01-01T11:00"}, "start_in_past"),
        ({"kind": "meetup", "place": "Park", "capacity": 0}, "capacity_too_small"),
        ({"kind": "meetup", "place": ""}, "place_needed"),
        ({"kind": "party"}, "invalid_kind"),
        ({"starts_at": "next Tuesday"}, "invalid_starts_at"),
        ({"title": "  "}, "empty_title"),
        ({"topic": "two words"}, "invalid_topic"),
        ({"remind_minutes": -5}, "invalid_remind"),
    ],
)
def test_a_wrong_event_is_refused_with_a_reason(
    world: World, change: dict[str, Any], code: str
) -> None:
    body = {
        "kind": "qa",
        "title": "Ask the nurse",
        "starts_at": "2031-06-01T10:00",
        "ends_at": "2031-06-01T11:00",
        **change,
    }
    r = api(world, "moderator").post(
        f"/api/v1/groups/{world.group.pk}/events", body, content_type="application/json"
    )
    assert r.status_code == 400, r.json()
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]
    assert not Event.objects.exists()


def test_a_members_cannot_announce_and_another_groups_event_does_not_exist(world: World) -> None:
    with pytest.raises(UserError) as refused:
        events.do_create_event(
            u(world, "member"),
            world.group.pk,
            kind="qa",
            title="Mine",
            starts_at=later(),
            ends_at=later(3),
        )
    assert refused.value.status == 403
    ev = event(world)
    other = world.other_group.pk
    r = api(world, "outsider").get(f"/api/v1/groups/{other}/events/{ev.pk}")
    assert r.status_code == 404


def test_the_topic_is_stored_as_the_chat_stores_tags(world: World) -> None:
    ev = event(world, topic="#Diet")
    assert ev.topic == "diet"


# --- coming, the waiting list ----------------------------------------------------------------


def test_a_full_meetup_keeps_a_waiting_list_that_moves_up_when_someone_cancels(
    world: World,
) -> None:
    ev = meetup(world, capacity=2)
    a, b, c, d = (join(world, n) for n in ("amei", "bobo", "cuicui", "dong"))
    for person in (a, b, c, d):
        rsvp(world, person, ev)
    assert [status_of(ev, p) for p in (a, b, c, d)] == ["going", "going", "waiting", "waiting"]
    assert events.waiting_position(ev, c.pk) == 1 and events.waiting_position(ev, d.pk) == 2

    rsvp(world, b, ev, going=False)  # b cannot come after all: c gets the place

    assert status_of(ev, b) == "cancelled" and status_of(ev, c) == "going"
    assert events.waiting_position(ev, d.pk) == 1
    told = Reminder.objects.get(user=c, key=f"event:{ev.pk}:place")
    assert (
        "Tea in the park" in told.title and told.url == f"/groups/{world.group.pk}/events/{ev.pk}/"
    )
    assert not Reminder.objects.filter(user=d).exists()
    # Saying yes again puts b at the end of the queue, not ahead of d.
    rsvp(world, b, ev)
    assert status_of(ev, b) == "waiting" and events.waiting_position(ev, b.pk) == 2
    # A waiting member who gives up just leaves the queue.
    rsvp(world, d, ev, going=False)
    assert events.waiting_position(ev, b.pk) == 1


def test_more_places_move_the_first_waiting_up_and_fewer_send_nobody_away(world: World) -> None:
    ev = meetup(world, capacity=1)
    a, b, c = (join(world, n) for n in ("amei", "bobo", "cuicui"))
    for person in (a, b, c):
        rsvp(world, person, ev)
    r = api(world, "leader").patch(
        f"/api/v1/groups/{world.group.pk}/events/{ev.pk}",
        {"capacity": 2},
        content_type="application/json",
    )
    assert r.status_code == 200, r.json()
    assert r.json()["going"] == 2 and r.json()["waiting"] == 1
    assert status_of(ev, b) == "going" and status_of(ev, c) == "waiting"
    assert Reminder.objects.filter(user=b, key=f"event:{ev.pk}:place").exists()
    events.do_update_event(u(world, "leader"), world.group.pk, ev.pk, capacity=1)
    assert status_of(ev, a) == "going" and status_of(ev, b) == "going"  # nobody is bumped
    # Removing the limit lets everyone waiting in.
    api(world, "leader").patch(
        f"/api/v1/groups/{world.group.pk}/events/{ev.pk}",
        {"capacity": None},
        content_type="application/json",
    )
    assert status_of(ev, c) == "going"


def test_a_removed_members_yes_holds_no_place(world: World) -> None:
    ev = meetup(world, capacity=1)
    leaving, waiting = join(world, "leaving"), join(world, "waiting")
    rsvp(world, leaving, ev)
    rsvp(world, waiting, ev)
    assert status_of(ev, waiting) == "waiting"
    lm = Membership.objects.get(group=world.group, user=u(world, "leader"))
    group_actions.do_remove_member(lm, Membership.objects.get(group=world.group, user=leaving))
    assert events.counts(ev) == {"going": 0, "waiting": 1}
    assert events.attendees(ev) == []
    # The next change on the event moves the one waiting up, before anyone new.
    rsvp(world, u(world, "member"), ev)
    assert status_of(ev, waiting) == "going" and status_of(ev, u(world, "member")) == "waiting"
    assert Reminder.objects.filter(user=waiting, key=f"event:{ev.pk}:place").exists()
    assert not Reminder.objects.filter(user=leaving).exists()


def test_the_api_tells_a_member_where_they_are_on_the_waiting_list(world: World) -> None:
    ev = meetup(world, capacity=1)
    rsvp(world, u(world, "leader"), ev)
    r = api(world, "member").post(
        f"/api/v1/groups/{world.group.pk}/events/{ev.pk}/rsvp",
        {"going": True},
        content_type="application/json",
    )
    assert r.status_code == 200, r.json()
    assert r.json()["my_rsvp"] == {"status": "waiting", "position": 1}
    assert [p["display_name"] for p in r.json()["attendees"]] == ["Leader"]


def test_no_rsvp_to_a_cancelled_or_finished_event(world: World) -> None:
    ev = event(world)
    events.do_cancel_event(u(world, "leader"), world.group.pk, ev.pk)
    with pytest.raises(UserError) as refused:
        rsvp(world, u(world, "member"), ev)
    assert refused.value.code == "event_cancelled" and refused.value.status == 409
    past = event(world, title="Last week")
    end_it(past)
    with pytest.raises(UserError) as refused:
        rsvp(world, u(world, "member"), past)
    assert refused.value.code == "event_over"


def test_cancelling_tells_everyone_coming_or_waiting_once(world: World) -> None:
    ev = meetup(world, capacity=1)
    rsvp(world, u(world, "member"), ev)
    rsvp(world, u(world, "moderator"), ev)  # waiting
    rsvp(world, u(world, "leader"), ev, going=False)
    events.do_cancel_event(u(world, "leader"), world.group.pk, ev.pk)
    events.do_cancel_event(u(world, "leader"), world.group.pk, ev.pk)
    told = Reminder.objects.filter(key=f"event:{ev.pk}:cancelled")
    assert sorted(told.values_list("user_id", flat=True)) == sorted(
        [u(world, "member").pk, u(world, "moderator").pk]
    )
    assert all(t.title.startswith("Cancelled: Tea in the park") for t in told)


# --- questions ---------------------------------------------------------------------------------


def test_one_vote_each_taken_back_at_will_and_none_for_ones_own(world: World) -> None:
    ev = event(world)
    gid = world.group.pk
    q = events.do_ask(u(world, "member"), gid, ev.pk, "Is soy milk all right?")
    url = f"/api/v1/groups/{gid}/events/{ev.pk}/questions/{q.pk}/vote"
    for _twice in range(2):
        r = api(world, "moderator").post(url, {"on": True}, content_type="application/json")
        assert r.status_code == 200, r.json()
    assert r.json()["votes"] == 1 and r.json()["voted"] is True
    r = api(world, "moderator").post(url, {"on": False}, content_type="application/json")
    assert r.json()["votes"] == 0 and r.json()["voted"] is False
    r = api(world, "member").post(url, {"on": True}, content_type="application/json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "own_question"
    assert q.votes.count() == 0


def test_questions_come_most_votes_first(world: World) -> None:
    ev = event(world)
    gid = world.group.pk
    first = events.do_ask(u(world, "member"), gid, ev.pk, "Asked first")
    second = events.do_ask(u(world, "moderator"), gid, ev.pk, "Asked second")
    r = api(world, "member").get(f"/api/v1/groups/{gid}/events/{ev.pk}")
    assert [q["text"] for q in r.json()["questions"]] == ["Asked first", "Asked second"]
    events.do_vote(u(world, "leader"), gid, ev.pk, second.pk)
    r = api(world, "member").get(f"/api/v1/groups/{gid}/events/{ev.pk}")
    assert [q["id"] for q in r.json()["questions"]] == [second.pk, first.pk]
    assert r.json()["questions"][0]["votes"] == 1


def test_the_speaker_side_answers_members_do_not(world: World) -> None:
    ev = event(world)
    gid = world.group.pk
    q = events.do_ask(u(world, "member"), gid, ev.pk, "How much protein?")
    url = f"/api/v1/groups/{gid}/events/{ev.pk}/questions/{q.pk}/answer"
    pro = join(world, "drzhang")
    r = Client()
    r.force_login(pro)
    refused = r.post(url, {"text": "About 1.2 g per kg"}, content_type="application/json")
    assert refused.status_code == 403
    Membership.objects.filter(group=world.group, user=pro).update(
        verified_professional_at=timezone.now()
    )
    ok = r.post(url, {"text": "About 1.2 g per kg"}, content_type="application/json")
    assert ok.status_code == 200, ok.json()
    assert ok.json()["answer"] == "About 1.2 g per kg"
    assert ok.json()["answered_by"]["display_name"] == "Drzhang"
    again = api(world, "moderator").post(
        url, {"text": "1.2–1.5 g per kg of body weight"}, content_type="application/json"
    )
    assert again.json()["answer"] == "1.2–1.5 g per kg of body weight"


def test_a_hidden_question_is_gone_for_members_but_kept_for_moderators(world: World) -> None:
    ev = event(world)
    gid = world.group.pk
    q = events.do_ask(u(world, "member"), gid, ev.pk, "Buy my herbal cure, 100% works")
    r = api(world, "moderator").post(
        f"/api/v1/groups/{gid}/events/{ev.pk}/questions/{q.pk}/hide",
        {"on": True},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["hidden"] is True
    seen = api(world, "member").get(f"/api/v1/groups/{gid}/events/{ev.pk}").json()
    assert seen["questions"] == []
    page = api(world, "member").get(f"/groups/{gid}/events/{ev.pk}/")
    assert "herbal cure" not in page.content.decode()
    vote = api(world, "leader").post(
        f"/api/v1/groups/{gid}/events/{ev.pk}/questions/{q.pk}/vote",
        {"on": True},
        content_type="application/json",
    )
    assert vote.status_code == 200  # moderators still reach it
    r = api(world, "moderator").get(f"/api/v1/groups/{gid}/events/{ev.pk}")
    assert r.json()["questions"][0]["hidden"] is True


def test_questions_until_the_end_not_after(world: World) -> None:
    ev = event(world)
    end_it(ev)
    r = api(world, "member").post(
        f"/api/v1/groups/{world.group.pk}/events/{ev.pk}/questions",
        {"text": "Too late?"},
        content_type="application/json",
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "event_over"


# --- what members see: times in their own zone, the thread ----------------------------------


def test_each_member_sees_the_time_in_their_own_timezone(world: World) -> None:
    start = dt.datetime(2031, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, 22:00 in New York
    ev = event(world, starts_at=start, ends_at=start + dt.timedelta(hours=1))
    set_zone(u(world, "member"), "America/New_York")
    set_zone(u(world, "moderator"), "Asia/Shanghai")
    ny = api(world, "member").get(f"/groups/{world.group.pk}/events/{ev.pk}/").content.decode()
    sh = api(world, "moderator").get(f"/groups/{world.group.pk}/events/{ev.pk}/").content.decode()
    assert "May 31, 2031, 10 p.m." in ny and "America/New_York" in ny
    assert "June 1, 2031, 10 a.m." in sh and "Asia/Shanghai" in sh
    assert "10 a.m." not in ny and "10 p.m." not in sh
    listing = api(world, "member").get(f"/groups/{world.group.pk}/events/").content.decode()
    assert "May 31, 2031, 10 p.m." in listing


def test_the_page_form_reads_times_in_the_leaders_zone_and_shows_them_back(world: World) -> None:
    set_zone(u(world, "leader"), "Europe/London")
    c = api(world, "leader")
    r = c.post(
        f"/groups/{world.group.pk}/events/new/",
        {
            "kind": "meetup",
            "title": "Walk by the river",
            "starts_at": "2031-01-10T09:30",
            "ends_at": "2031-01-10T11:00",
            "place": "",
            "capacity": "",
            "remind_minutes": "120",
        },
    )
    assert r.status_code == 400  # a meetup needs a place: the form comes back with the reason
    assert "A meetup needs a place" in r.content.decode()
    assert 'value="Walk by the river"' in r.content.decode()
    r = c.post(
        f"/groups/{world.group.pk}/events/new/",
        {
            "kind": "meetup",
            "title": "Walk by the river",
            "starts_at": "2031-01-10T09:30",
            "ends_at": "2031-01-10T11:00",
            "place": "Riverside gate",
            "capacity": "8",
            "remind_minutes": "120",
        },
    )
    assert r.status_code == 302
    made = Event.objects.get(title="Walk by the river")
    assert made.starts_at == dt.datetime(2031, 1, 10, 9, 30, tzinfo=UTC)  # London in winter
    assert made.capacity == 8 and made.remind_minutes == 120
    form = c.get(f"/groups/{world.group.pk}/events/{made.pk}/edit/").content.decode()
    assert 'value="2031-01-10T09:30"' in form


def test_the_events_page_lists_upcoming_first_then_past(world: World) -> None:
    soon = event(world, title="Soon", starts_at=later(1))
    later_one = event(world, title="Later", starts_at=later(5))
    old = event(world, title="Old talk")
    end_it(old)
    r = api(world, "member").get(f"/api/v1/groups/{world.group.pk}/events")
    assert [e["id"] for e in r.json()["upcoming"]] == [soon.pk, later_one.pk]
    assert [e["id"] for e in r.json()["past"]] == [old.pk]
    page = api(world, "member").get(f"/groups/{world.group.pk}/events/").content.decode()
    assert page.index("Soon") < page.index("Later") < page.index("Old talk")


def test_the_event_page_gathers_its_chat_thread(world: World) -> None:
    ev = event(world, topic="diet")
    gid = world.group.pk
    said: list[int] = []
    for i, text in enumerate(["#diet see you at eight", "#diet deleted later", "no tag here"]):
        m = do_send_message(u(world, "member"), gid, client_id=f"t{i}", text=text)[0]
        said.append(int(m["id"]))
    # The topics feature indexes tags as messages are sent; make sure of our two here.
    for mid in said[:2]:
        MessageTopic.objects.get_or_create(message_id=mid, group=world.group, tag="diet")
    Message.objects.filter(pk=said[1]).update(deleted_at=timezone.now())
    r = api(world, "member").get(f"/api/v1/groups/{gid}/events/{ev.pk}").json()
    assert [m["id"] for m in r["topic_messages"]] == [said[0]]
    assert r["topic_messages"][0]["url"] == f"/groups/{gid}/chat/?m={said[0]}"
    page = api(world, "member").get(f"/groups/{gid}/events/{ev.pk}/").content.decode()
    assert "see you at eight" in page and "deleted later" not in page


# --- the calendar file -----------------------------------------------------------------------


def test_the_calendar_file_reads_back_with_the_event(world: World) -> None:
    start = dt.datetime(2031, 6, 1, 2, 0, tzinfo=UTC)
    ev = meetup(world, starts_at=start, ends_at=start + dt.timedelta(hours=2))
    url = f"/groups/{world.group.pk}/events/{ev.pk}/event.ics"
    r = api(world, "member").get(url)
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/calendar")
    assert r["Content-Disposition"] == f'attachment; filename="event-{ev.pk}.ics"'
    item = Calendar.from_ical(r.content).walk("VEVENT")[0]
    assert item.decoded("dtstart") == start
    assert item.decoded("dtstart").utcoffset() == dt.timedelta(0)
    assert item.decoded("dtend") == start + dt.timedelta(hours=2)
    assert str(item["summary"]) == "Tea in the park"
    assert str(item["location"]) == "Yuexiu Park"
    assert f"http://testserver/groups/{world.group.pk}/events/{ev.pk}/" in str(item["description"])
    assert str(item["status"]) == "CONFIRMED"
    uid = str(item["uid"])
    events.do_cancel_event(u(world, "leader"), world.group.pk, ev.pk)
    again = Calendar.from_ical(api(world, "moderator").get(url).content).walk("VEVENT")[0]
    assert str(again["uid"]) == uid  # the same event in the member's calendar, now cancelled
    assert str(again["status"]) == "CANCELLED"


@pytest.mark.parametrize("role", ROLES)
def test_calendar_file_access(world: World, role: str) -> None:
    ev = event(world, title="Members only")
    r = world.client(role).get(f"/groups/{world.group.pk}/events/{ev.pk}/event.ics")
    want = {"anonymous": 302, "member": 200, "moderator": 200, "leader": 200}.get(role, 404)
    assert r.status_code == want
    if want != 200:
        assert b"Members only" not in r.content


# --- reminders -------------------------------------------------------------------------------


def test_a_reminder_once_per_member_coming_and_again_when_the_event_moves(world: World) -> None:
    start = later(2, hour=12)
    ev = event(world, starts_at=start, ends_at=start + dt.timedelta(hours=1), remind_minutes=60)
    member, moderator, leader = u(world, "member"), u(world, "moderator"), u(world, "leader")
    set_zone(member, "Asia/Shanghai")
    rsvp(world, member, ev)
    rsvp(world, moderator, ev)
    rsvp(world, leader, ev, going=False)
    removed_one = join(world, "leaving")
    rsvp(world, removed_one, ev)
    lm = Membership.objects.get(group=world.group, user=leader)
    group_actions.do_remove_member(lm, Membership.objects.get(group=world.group, user=removed_one))

    assert events.due_reminders(start - dt.timedelta(minutes=61)) == []  # not yet
    made = events.due_reminders(start - dt.timedelta(minutes=59))
    assert sorted(r.user_id for r in made) == sorted([member.pk, moderator.pk])
    mine = next(r for r in made if r.user_id == member.pk)
    local = start.astimezone(ZoneInfo("Asia/Shanghai"))
    assert mine.title.startswith("Ask the dietitian starts at")
    # 12:00 UTC is 8 p.m. on the member's own day in Shanghai.
    assert f" {local.day}, {local.year}, 8 p.m." in mine.title
    assert mine.url == f"/groups/{world.group.pk}/events/{ev.pk}/"
    assert mine.due_at == start - dt.timedelta(minutes=60)
    # Again at the same time, or later: nothing new.
    assert events.due_reminders(start - dt.timedelta(minutes=59)) == []
    assert events.due_reminders(start - dt.timedelta(minutes=5)) == []
    assert events.due_reminders(start + dt.timedelta(minutes=5)) == []  # started: never
    # The event moves a day later: everyone coming is told, and reminded again before it.
    new_start = start + dt.timedelta(days=1)
    events.do_update_event(
        leader,
        world.group.pk,
        ev.pk,
        starts_at=new_start,
        ends_at=new_start + dt.timedelta(hours=1),
    )
    assert Reminder.objects.filter(key__startswith=f"event:{ev.pk}:moved:").count() == 2
    assert events.due_reminders(new_start - dt.timedelta(minutes=70)) == []
    again = events.due_reminders(new_start - dt.timedelta(minutes=30))
    assert sorted(r.user_id for r in again) == sorted([member.pk, moderator.pk])
    assert events.due_reminders(new_start - dt.timedelta(minutes=29)) == []
    assert Reminder.objects.filter(user=member, key__contains=":start:").count() == 2


def test_the_clock_fires_event_reminders_but_not_for_cancelled_events(world: World) -> None:
    start = later(2, hour=12)
    ev = event(world, starts_at=start, ends_at=start + dt.timedelta(hours=1), remind_minutes=30)
    off = event(world, title="Called off", starts_at=start, remind_minutes=30)
    quiet = event(world, title="No reminder", starts_at=start, remind_minutes=0)
    for e in (ev, off, quiet):
        rsvp(world, u(world, "member"), e)
    events.do_cancel_event(u(world, "leader"), world.group.pk, off.pk)
    made = fire_due(start - dt.timedelta(minutes=10))
    mine = [r for r in made if r.key.startswith("event:")]
    assert [(r.user_id, r.key) for r in mine] == [
        (u(world, "member").pk, f"event:{ev.pk}:start:{start:%Y%m%dT%H%MZ}")
    ]
    assert not [r for r in fire_due(start - dt.timedelta(minutes=9)) if r.key.startswith("event:")]


# --- afterwards: the knowledge entry ----------------------------------------------------------


def test_after_the_event_its_answers_become_a_draft_entry_once(world: World) -> None:
    ev = event(world, speaker="Dietitian Zhang", topic="diet")
    gid = world.group.pk
    q1 = events.do_ask(u(world, "member"), gid, ev.pk, "Is soy milk all right?")
    q2 = events.do_ask(u(world, "moderator"), gid, ev.pk, "Unanswered one")
    events.do_answer(u(world, "leader"), gid, ev.pk, q1.pk, "Yes, it is a good protein.")
    url = f"/api/v1/groups/{gid}/events/{ev.pk}/entry"
    early = api(world, "leader").post(url, {"category": "diet"}, content_type="application/json")
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_over"
    end_it(ev)
    r = api(world, "moderator").post(url, {"category": "diet"}, content_type="application/json")
    assert r.status_code == 201, r.json()
    entry = Entry.objects.get(pk=r.json()["entry"])
    assert entry.status == Entry.Status.DRAFT and entry.category == "diet"
    assert entry.title == "Ask the dietitian" and entry.tags == ["diet"]
    assert "Is soy milk all right?" in entry.body and "good protein" in entry.body
    assert q2.text not in entry.body  # only answered questions
    assert "Member" not in entry.body  # the asker is not named; the one who answered is
    assert "Leader" in entry.body and "Dietitian Zhang" in entry.body
    ev.refresh_from_db()
    assert ev.entry_id == entry.pk
    twice = api(world, "leader").post(url, {"category": "diet"}, content_type="application/json")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "entry_exists"
    page = api(world, "member").get(f"/groups/{gid}/events/{ev.pk}/").content.decode()
    assert f"/groups/{gid}/knowledge/{entry.pk}/" in page


def test_no_entry_without_answers(world: World) -> None:
    ev = event(world)
    events.do_ask(u(world, "member"), world.group.pk, ev.pk, "Anyone?")
    end_it(ev)
    with pytest.raises(UserError) as refused:
        events.do_make_entry(u(world, "leader"), world.group.pk, ev.pk, "diet")
    assert refused.value.code == "no_answers"
    assert not Entry.objects.exists()


# --- demo ----------------------------------------------------------------------------------------


def test_the_demo_has_a_session_with_voted_questions_a_waiting_list_and_a_past_talk() -> None:
    from tongzhou.community.events_demo import DIETITIAN, MEETUP, PAST_TALK, ids
    from tongzhou.demo import load_demo
    from tongzhou.groups.models import Group

    load_demo()
    group = Group.objects.get(events__title=DIETITIAN)
    qa = Event.objects.get(title=DIETITIAN)
    leader = Membership.objects.get(group=group, role="leader")
    votes = [r["votes"] for r in events.questions_of(leader, qa)]
    assert votes == sorted(votes, reverse=True) and votes[0] >= 3
    meet = Event.objects.get(title=MEETUP)
    assert events.counts(meet) == {"going": 2, "waiting": 2}
    talk = Event.objects.get(title=PAST_TALK)
    assert events.is_over(talk) and talk.questions.exclude(answer="").count() == 2
    assert ids(group)["evid"] == qa.pk
    assert [m["id"] for m in events.topic_messages(qa)]  # the #diet message in the chat
