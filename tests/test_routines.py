"""Daily routines: leaders set the group's, members add their own; "done today" on the
member's own calendar day, streaks that weekends of a weekday routine do not break; the
member's day (/today/) with reminders; the group's gentle evening message of kept streaks;
the member's reminder settings on the profile."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tongzhou.accounts.actions import do_update_profile
from tongzhou.accounts.models import Profile, User
from tongzhou.chat.models import Message
from tongzhou.community import reminders
from tongzhou.community.models import CheckIn, Event, Reminder, ReminderSchedule, Routine, Rsvp
from tongzhou.community.routines import (
    do_check_in,
    do_create_routine,
    post_streak_messages,
    unread_reminder_count,
)
from tongzhou.groups.actions import (
    do_apply,
    do_create_group,
    do_decide,
    do_remove_member,
    do_set_role,
)
from tongzhou.groups.models import Group, Membership

from .conftest import make_user

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def at(y: int, mo: int, d: int, h: int = 12, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=UTC)


class People:
    def __init__(self) -> None:
        self.leader = self.person("lead", "老李", "Asia/Shanghai")
        self.group = do_create_group(self.leader, "鼻咽癌互助群")
        self.group.new_member_days = 0
        self.group.save(update_fields=["new_member_days"])
        self.chen = self.join("chen", "陈大哥", "Asia/Shanghai")
        self.mei = self.join("mei", "小美", "Asia/Shanghai")
        self.tom = self.join("tom", "Tom", "America/New_York")

    def person(self, username: str, name: str, zone: str) -> User:
        user = make_user(username, name)
        do_update_profile(user, {"timezone": zone})
        return User.objects.get(pk=user.pk)

    def join(self, username: str, name: str, zone: str) -> User:
        user = self.person(username, name, zone)
        do_decide(self.leader, do_apply(user, self.group, role="patient"), approve=True)
        return user

    def client(self, user: User) -> Client:
        c = Client()
        c.force_login(user)
        return c

    def routine(self, **extra: Any) -> Routine:
        fields = {"title": "鼻腔冲洗", "time": "08:00", **extra}
        return do_create_routine(self.leader, self.group.pk, own=False, **fields)


@pytest.fixture
def people() -> People:
    return People()


def api(c: Client, method: str, url: str, body: Any = None) -> Any:
    kwargs: dict[str, Any] = {"content_type": "application/json"}
    if body is not None:
        kwargs["data"] = body
    return getattr(c, method)(url, **kwargs)


def check_in_on(people: People, user: User, routine: Routine, when: dt.datetime) -> Any:
    with time_machine.travel(when, tick=False):
        r = api(
            people.client(user),
            "post",
            f"/api/v1/groups/{people.group.pk}/routines/{routine.pk}/check-in",
            {"on": True},
        )
    assert r.status_code == 200, r.json()
    return r.json()


def test_checking_in_each_day_grows_the_streak_and_a_missed_day_starts_again(
    people: People,
) -> None:
    routine = people.routine()
    for day in (1, 2, 3):
        shown = check_in_on(people, people.chen, routine, at(2026, 6, day, 2))
    assert shown["done_today"] and shown["streak"] == 3 and shown["best_streak"] == 3
    # The next morning, not yet done: the streak still stands (up to yesterday)...
    with time_machine.travel(at(2026, 6, 4, 1), tick=False):
        r = api(people.client(people.chen), "get", f"/api/v1/groups/{people.group.pk}/routines")
    mine = r.json()["routines"][0]
    assert (mine["done_today"], mine["streak"]) == (False, 3)
    assert [d["done"] for d in mine["last_days"][-4:]] == [True, True, True, False]
    # ...a whole day missed breaks it; the best stays.
    shown = check_in_on(people, people.chen, routine, at(2026, 6, 5, 2))
    assert (shown["streak"], shown["best_streak"]) == (1, 3)


def test_done_twice_is_once_and_undo_takes_back_only_today(people: People) -> None:
    routine = people.routine()
    check_in_on(people, people.chen, routine, at(2026, 6, 1, 2))
    check_in_on(people, people.chen, routine, at(2026, 6, 2, 2))
    shown = check_in_on(people, people.chen, routine, at(2026, 6, 2, 3))
    assert shown["streak"] == 2
    assert CheckIn.objects.filter(user=people.chen).count() == 2
    with time_machine.travel(at(2026, 6, 2, 4), tick=False):
        r = api(
            people.client(people.chen),
            "post",
            f"/api/v1/groups/{people.group.pk}/routines/{routine.pk}/check-in",
            {"on": False},
        )
    assert (r.json()["done_today"], r.json()["streak"]) == (False, 1)
    assert list(CheckIn.objects.filter(user=people.chen).values_list("day", flat=True)) == [
        dt.date(2026, 6, 1)
    ]


def test_done_today_is_the_members_own_calendar_day(people: People) -> None:
    """03:00 UTC on 2 June is 11:00 on 2 June in Shanghai and 23:00 on 1 June in New York."""
    routine = people.routine()
    check_in_on(people, people.tom, routine, at(2026, 6, 2, 3))
    check_in_on(people, people.mei, routine, at(2026, 6, 2, 3))
    assert CheckIn.objects.get(user=people.tom).day == dt.date(2026, 6, 1)
    assert CheckIn.objects.get(user=people.mei).day == dt.date(2026, 6, 2)


def test_days_a_weekday_routine_is_not_on_do_not_break_the_streak(people: People) -> None:
    """Monday to Friday: Friday 5 June, then Monday 8 June is two in a row."""
    routine = people.routine(weekdays="12345")
    check_in_on(people, people.chen, routine, at(2026, 6, 4, 2))  # Thursday
    check_in_on(people, people.chen, routine, at(2026, 6, 5, 2))  # Friday
    shown = check_in_on(people, people.chen, routine, at(2026, 6, 8, 2))  # Monday
    assert shown["streak"] == 3
    sat = next(d for d in shown["last_days"] if d["day"] == "2026-06-06")
    assert sat == {"day": "2026-06-06", "done": False, "scheduled": False}
    with time_machine.travel(at(2026, 6, 7, 2), tick=False):  # Sunday: nothing due today
        r = api(people.client(people.chen), "get", f"/api/v1/groups/{people.group.pk}/routines")
    assert r.json()["routines"][0]["streak"] == 2


def test_own_routines_are_seen_and_changed_by_their_owner_only(people: People) -> None:
    people.routine()
    r = api(
        people.client(people.mei),
        "post",
        f"/api/v1/groups/{people.group.pk}/my-routines",
        {"title": "优甲乐", "time": "07:00", "note": "空腹"},
    )
    assert r.status_code == 201, r.json()
    mine = r.json()["id"]
    assert r.json()["own"] is True
    listed = api(people.client(people.mei), "get", f"/api/v1/groups/{people.group.pk}/routines")
    assert [x["title"] for x in listed.json()["own"]] == ["优甲乐"]
    for other in (people.leader, people.chen):
        c = people.client(other)
        assert api(c, "get", f"/api/v1/groups/{people.group.pk}/routines").json()["own"] == []
        got = api(c, "get", f"/api/v1/groups/{people.group.pk}/routines/{mine}")
        assert got.status_code == 404
        assert (
            api(c, "delete", f"/api/v1/groups/{people.group.pk}/routines/{mine}").status_code == 404
        )
    # Only Mei has a schedule for it: nobody else is reminded of her medicine.
    assert list(
        ReminderSchedule.objects.filter(routine_id=mine).values_list("user_id", flat=True)
    ) == [people.mei.pk]
    r = api(
        people.client(people.mei), "delete", f"/api/v1/groups/{people.group.pk}/routines/{mine}"
    )
    assert r.status_code == 204 and not Routine.objects.filter(pk=mine).exists()


def test_only_leaders_and_moderators_set_the_groups_routines(people: People) -> None:
    url = f"/api/v1/groups/{people.group.pk}/routines"
    r = api(people.client(people.chen), "post", url, {"title": "张口锻炼", "time": "20:00"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_allowed"
    r = api(people.client(people.leader), "post", url, {"title": "张口锻炼", "time": "20:00"})
    assert r.status_code == 201
    rid = r.json()["id"]
    # Every member is scheduled, at 20:00 where they live.
    scheds = {s.user_id: s.next_at for s in ReminderSchedule.objects.filter(routine_id=rid)}
    assert set(scheds) == {people.leader.pk, people.chen.pk, people.mei.pk, people.tom.pk}
    for user in (people.chen, people.tom):
        local = scheds[user.pk].astimezone(reminders.zone_of(user))  # type: ignore[union-attr]
        assert (local.hour, local.minute) == (20, 0)
    r = api(people.client(people.chen), "patch", f"{url}/{rid}", {"time": "21:00"})
    assert r.status_code == 403
    r = api(people.client(people.leader), "patch", f"{url}/{rid}", {"time": "21:30"})
    assert r.status_code == 200 and r.json()["time"] == "21:30"
    tom_next = ReminderSchedule.objects.get(routine_id=rid, user=people.tom).next_at
    assert tom_next.astimezone(reminders.zone_of(people.tom)).time() == dt.time(21, 30)  # type: ignore[union-attr]
    assert api(people.client(people.leader), "delete", f"{url}/{rid}").status_code == 204
    assert api(people.client(people.chen), "get", url).json()["routines"] == []
    assert not ReminderSchedule.objects.filter(routine_id=rid, next_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"title": "", "time": "08:00"}, "empty_title"),
        ({"title": "冲洗", "time": "25:00"}, "invalid_time"),
        ({"title": "冲洗", "time": "08:00", "weekdays": "89"}, "invalid_weekdays"),
        ({"title": "冲洗" * 50, "time": "08:00"}, "title_too_long"),
        ({"title": "复查", "time": "08:00", "once_on": "2020-01-01"}, "date_in_past"),
    ],
)
def test_a_routine_that_makes_no_sense_is_refused_with_a_reason(
    people: People, body: dict[str, Any], code: str
) -> None:
    r = api(
        people.client(people.leader), "post", f"/api/v1/groups/{people.group.pk}/my-routines", body
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]


def test_the_routines_page_adds_checks_in_and_edits(people: People) -> None:
    leader = people.client(people.leader)
    url = f"/groups/{people.group.pk}/routines/"
    r = leader.post(
        url,
        {"action": "add_group", "title": "张口锻炼", "time": "20:00", "weekdays": ["1", "3", "5"]},
    )
    assert r.status_code == 302
    routine = Routine.objects.get(title="张口锻炼")
    assert routine.weekdays == "135" and routine.time == dt.time(20)
    # A form that makes no sense comes back with the reason and what was typed.
    r = leader.post(url, {"action": "add_group", "title": "冲洗", "time": "late"})
    assert r.status_code == 400
    assert "e.g. 08:00" in r.content.decode() and 'value="冲洗"' in r.content.decode()
    # A member sees it, with a big "Done today", and is not offered the leaders' form.
    chen = people.client(people.chen)
    page = chen.get(url).content.decode()
    assert "张口锻炼" in page and "Done today" in page
    assert 'value="add_group"' not in page and 'value="add_own"' in page
    r = chen.post(url, {"action": "check", "routine": routine.pk})
    assert r.status_code == 302 and r["Location"].endswith(f"#routine-{routine.pk}")
    page = chen.get(url).content.decode()
    assert "1 day in a row" in page and 'value="uncheck"' in page
    # The leader moves it; the member may not open the form.
    edit = f"/groups/{people.group.pk}/routines/{routine.pk}/edit/"
    assert chen.get(edit).status_code == 403
    r = leader.post(
        edit,
        {"title": "张口锻炼", "time": "19:30", "weekdays": ["1", "2", "3", "4", "5", "6", "7"]},
    )
    assert r.status_code == 302
    routine.refresh_from_db()
    assert (routine.time, routine.weekdays) == (dt.time(19, 30), "1234567")


def test_a_member_switches_a_group_routine_off_for_themselves(people: People) -> None:
    routine = people.routine()
    chen = people.client(people.chen)
    r = chen.post(
        f"/groups/{people.group.pk}/routines/", {"action": "reminder_off", "routine": routine.pk}
    )
    assert r.status_code == 302
    assert not ReminderSchedule.objects.get(routine=routine, user=people.chen).enabled
    assert ReminderSchedule.objects.get(routine=routine, user=people.mei).enabled
    page = chen.get(f"/groups/{people.group.pk}/routines/").content.decode()
    assert "reminder off" in page and "Turn my reminder on" in page


def test_the_members_day_shows_reminders_unread_first_and_marks_them_read(
    people: People,
) -> None:
    with time_machine.travel(at(2026, 6, 1, 0, 30), tick=False):
        routine = people.routine()
        old = reminders.fire_due(at(2026, 6, 2, 0))
        new = reminders.fire_due(at(2026, 6, 3, 0))
    chen_old = next(r for r in old if r.user_id == people.chen.pk)
    chen_new = next(r for r in new if r.user_id == people.chen.pk)
    Reminder.objects.filter(pk=chen_new.pk).update(read_at=timezone.now())
    c = people.client(people.chen)
    listed = api(c, "get", "/api/v1/me/reminders").json()
    assert [x["id"] for x in listed["reminders"]] == [chen_old.pk, chen_new.pk]  # unread first
    assert listed["unread"] == 1 == unread_reminder_count(people.chen.pk)
    page = c.get("/today/").content.decode()
    assert "鼻腔冲洗" in page and f'href="/today/#routine-{routine.pk}"' in page
    assert page.index(f'id="reminder-{chen_old.pk}"') < page.index(f'id="reminder-{chen_new.pk}"')
    # Someone else's reminder id marks nothing.
    mei_old = next(r for r in old if r.user_id == people.mei.pk)
    r = api(c, "post", "/api/v1/me/reminders/read", {"ids": [mei_old.pk]})
    assert r.json() == {"marked": 0, "unread": 1}
    assert Reminder.objects.get(pk=mei_old.pk).read_at is None
    r = c.post("/today/", {"action": "read", "reminder": chen_old.pk})
    assert r.status_code == 302 and unread_reminder_count(people.chen.pk) == 0
    r = api(people.client(people.mei), "post", "/api/v1/me/reminders/read", {"all": True})
    assert r.json() == {"marked": 2, "unread": 0}  # both of hers


def test_the_members_day_has_todays_routines_across_groups_and_events_they_go_to(
    people: People,
) -> None:
    other = do_create_group(people.chen, "放疗病友")
    do_create_routine(people.chen, other.pk, own=False, title="喝水 2 升", time="10:00")
    people.routine(weekdays="12345")
    talk = Event.objects.create(
        group=people.group,
        kind=Event.Kind.LECTURE,
        title="放疗后的口干",
        starts_at=timezone.now() + dt.timedelta(days=2),
        ends_at=timezone.now() + dt.timedelta(days=2, hours=1),
    )
    Rsvp.objects.create(event=talk, user=people.chen, status=Rsvp.Status.GOING)
    skipped = Event.objects.create(
        group=people.group,
        kind=Event.Kind.MEETUP,
        title="不去的聚会",
        starts_at=timezone.now() + dt.timedelta(days=3),
        ends_at=timezone.now() + dt.timedelta(days=3, hours=1),
    )
    Rsvp.objects.create(event=skipped, user=people.chen, status=Rsvp.Status.CANCELLED)
    with time_machine.travel(at(2026, 6, 3, 2), tick=False):  # a Wednesday
        page = people.client(people.chen).get("/today/").content.decode()
        day = api(people.client(people.chen), "get", "/api/v1/me/today").json()
    assert "鼻腔冲洗" in page and "喝水 2 升" in page and "放疗病友" in page
    assert len(day["groups"]) == 2
    with time_machine.travel(at(2026, 6, 6, 2), tick=False):  # Saturday: weekdays only
        day = api(people.client(people.chen), "get", "/api/v1/me/today").json()
    titles = [r["title"] for g in day["groups"] for r in g["routines"]]
    assert titles == ["喝水 2 升"]
    events = api(people.client(people.chen), "get", "/api/v1/me/today").json()["events"]
    assert [e["title"] for e in events] == ["放疗后的口干"]
    # Checking in from /today/ comes back to /today/.
    routine = Routine.objects.get(title="喝水 2 升")
    r = people.client(people.chen).post(
        "/today/", {"action": "check", "group": other.pk, "routine": routine.pk}
    )
    assert r.status_code == 302 and r["Location"] == f"/today/#routine-{routine.pk}"


# --- the evening message -------------------------------------------------------------------

NINE_PM_SHANGHAI = at(2026, 6, 1, 13)  # settings.TIME_ZONE is Asia/Shanghai in the tests


def streak_messages(group: Group) -> list[Message]:
    return list(Message.objects.filter(group=group, client_id__startswith="streaks-"))


def test_the_evening_message_names_only_those_who_allow_it_and_comes_once(
    people: People,
) -> None:
    routine = people.routine()
    do_update_profile(people.chen, {"share_streaks": True})
    for days_ago in range(11, -1, -1):  # 陈大哥: twelve days, up to today
        check_in_on(people, people.chen, routine, at(2026, 6, 1, 2) - dt.timedelta(days=days_ago))
    check_in_on(people, people.mei, routine, at(2026, 6, 1, 2))  # 小美 keeps it private
    assert post_streak_messages(NINE_PM_SHANGHAI - dt.timedelta(minutes=1)) == []  # 20:59
    sent = post_streak_messages(NINE_PM_SHANGHAI)
    assert len(sent) == 1
    message = Message.objects.get(pk=sent[0])
    assert message.sender_id == people.leader.pk  # the routine's creator
    assert message.client_id == f"streaks-{routine.pk}-2026-06-01"
    english = message.text.splitlines()[-1]
    assert english == "🌱 鼻腔冲洗 today: 2 members kept it up. 陈大哥 12 days · and 1 more"
    assert "小美" not in message.text
    # Another worker, a restart, a later round the same evening: nothing new.
    assert post_streak_messages(NINE_PM_SHANGHAI) == []
    assert post_streak_messages(NINE_PM_SHANGHAI + dt.timedelta(hours=1)) == []
    assert len(streak_messages(people.group)) == 1


def test_no_evening_message_when_nobody_checked_in_or_the_creator_stepped_down(
    people: People,
) -> None:
    routine = people.routine()
    assert post_streak_messages(NINE_PM_SHANGHAI) == []  # nobody did it today
    check_in_on(people, people.mei, routine, at(2026, 6, 1, 2))
    mod = do_create_routine(
        people.leader, people.group.pk, own=False, title="张口锻炼", time="20:00"
    )
    Routine.objects.filter(pk=mod.pk).update(created_by=people.chen)  # set by a moderator...
    check_in_on(people, people.mei, mod, at(2026, 6, 1, 2))
    sent = post_streak_messages(NINE_PM_SHANGHAI)  # ...who is not one any more
    assert [Message.objects.get(pk=i).client_id for i in sent] == [
        f"streaks-{routine.pk}-2026-06-01"
    ]
    assert "1 member kept it up." in Message.objects.get(pk=sent[0]).text


def test_a_removed_member_is_not_counted_and_a_demoted_creator_sends_nothing(
    people: People,
) -> None:
    lead = Membership.objects.get(group=people.group, user=people.leader)
    do_set_role(lead, Membership.objects.get(group=people.group, user=people.chen), "moderator")
    routine = do_create_routine(people.chen, people.group.pk, own=False, title="散步", time="18:00")
    check_in_on(people, people.mei, routine, at(2026, 6, 1, 2))
    check_in_on(people, people.tom, routine, at(2026, 6, 1, 12))
    do_remove_member(lead, Membership.objects.get(group=people.group, user=people.tom))
    sent = post_streak_messages(NINE_PM_SHANGHAI)
    assert "1 member kept it up." in Message.objects.get(pk=sent[0]).text
    do_set_role(lead, Membership.objects.get(group=people.group, user=people.chen), "member")
    assert post_streak_messages(at(2026, 6, 2, 13)) == []


def test_the_worker_round_sends_the_evening_message(people: People) -> None:
    routine = people.routine()
    check_in_on(people, people.mei, routine, at(2026, 6, 1, 2))
    with time_machine.travel(NINE_PM_SHANGHAI, tick=False):
        reminders.fire_due(NINE_PM_SHANGHAI)
        reminders.fire_due(NINE_PM_SHANGHAI + dt.timedelta(minutes=1))
    assert len(streak_messages(people.group)) == 1


# --- the member's settings -----------------------------------------------------------------


def test_the_profile_page_keeps_timezone_streak_naming_and_direct_messages(
    people: People,
) -> None:
    c = people.client(people.mei)
    page = c.get("/accounts/profile/").content.decode()
    assert 'name="timezone"' in page and 'value="America/New_York"' in page
    r = c.post(
        "/accounts/profile/",
        {"action": "reminders", "timezone": "Europe/London", "share_streaks": "yes"},
    )
    assert r.status_code == 302 and r["Location"].endswith("#reminders")
    p = Profile.objects.get(user=people.mei)
    assert (p.timezone, p.share_streaks, p.dm_open) == ("Europe/London", True, False)
    r = c.post("/accounts/profile/", {"action": "reminders", "timezone": "Nowhere/Land"})
    assert r.status_code == 400 and "Choose a timezone from the list." in r.content.decode()
    me = api(c, "get", "/api/v1/me").json()["profile"]
    assert (me["timezone"], me["share_streaks"], me["dm_open"]) == ("Europe/London", True, False)
    r = api(c, "patch", "/api/v1/me/profile", {"dm_open": True, "share_streaks": False})
    assert r.status_code == 200
    assert (r.json()["profile"]["dm_open"], r.json()["profile"]["share_streaks"]) == (True, False)


def test_a_check_in_in_a_group_one_has_left_is_refused(people: People) -> None:
    routine = people.routine()
    lead = Membership.objects.get(group=people.group, user=people.leader)
    do_remove_member(lead, Membership.objects.get(group=people.group, user=people.chen))
    with pytest.raises(Exception) as e:
        do_check_in(people.chen, people.group.pk, routine.pk)
    assert getattr(e.value, "status", None) == 404
