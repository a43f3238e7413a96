"""The reminder clock under a controlled clock: a group routine at 08:00 reminds each member
at 08:00 where they live, across daylight-saving changes, exactly once per local day,
whatever the worker does (runs twice, late, in two threads, restarts)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.db import connection, connections

from tongzhou import tasks
from tongzhou.accounts.actions import do_update_profile
from tongzhou.accounts.models import User
from tongzhou.community import reminders
from tongzhou.community.models import Reminder, ReminderSchedule, Routine
from tongzhou.community.routines import do_create_routine, do_remove_routine, do_set_reminder
from tongzhou.groups.actions import do_apply, do_create_group, do_decide, do_remove_member
from tongzhou.groups.models import Group, Membership

from .conftest import make_user

UTC = dt.UTC
START = dt.datetime(2026, 6, 1, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai, 20:30 in New York


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=UTC)


def join(leader: User, group: Group, username: str, zone: str) -> User:
    user = make_user(username, username.title())
    do_update_profile(user, {"timezone": zone})
    do_decide(leader, do_apply(user, group, role="patient"), approve=True)
    return User.objects.get(pk=user.pk)  # as a request would see them: the new timezone


class Setup:
    def __init__(self) -> None:
        leader = make_user("lead", "老李")
        do_update_profile(leader, {"timezone": "Asia/Shanghai"})
        self.leader = User.objects.get(pk=leader.pk)
        self.group = do_create_group(self.leader, "鼻咽癌互助群")
        self.mei = join(self.leader, self.group, "mei", "Asia/Shanghai")
        self.tom = join(self.leader, self.group, "tom", "America/New_York")

    def routine(self, time: str = "08:00", **extra: Any) -> Routine:
        return do_create_routine(
            self.leader, self.group.pk, own=False, title="鼻腔冲洗", time=time, **extra
        )


@pytest.fixture
def people(db: Any) -> Iterator[Setup]:
    with time_machine.travel(START, tick=False):
        yield Setup()


def fired(user: User) -> list[tuple[str, dt.datetime]]:
    return sorted(Reminder.objects.filter(user=user).values_list("key", "due_at"))


def run_until(end: dt.datetime, start: dt.datetime, step: dt.timedelta) -> dict[int, dt.datetime]:
    """The worker's minute-by-minute calls, in coarser steps: {reminder id: the `now` of the
    call that made it}."""
    made: dict[int, dt.datetime] = {}
    now = start
    while now <= end:
        with time_machine.travel(now, tick=False):
            for r in reminders.fire_due(now):
                made[r.pk] = now
        now += step
    return made


def test_a_group_routine_fires_at_eight_in_each_members_own_timezone(people: Setup) -> None:
    with time_machine.travel(START, tick=False):
        routine = people.routine()
    # 08:00 in New York on 1 June (EDT, UTC-4) is 12:00 UTC; in Shanghai the next 08:00 is
    # 00:00 UTC on 2 June.
    assert reminders.fire_due(at(2026, 6, 1, 11, 59)) == []
    made = reminders.fire_due(at(2026, 6, 1, 12, 0))
    assert [(r.user_id, r.key) for r in made] == [
        (people.tom.pk, f"routine:{routine.pk}:2026-06-01")
    ]
    assert made[0].due_at == at(2026, 6, 1, 12) and made[0].title == "鼻腔冲洗"
    assert reminders.fire_due(at(2026, 6, 1, 23, 59)) == []
    made = reminders.fire_due(at(2026, 6, 2, 0, 0))
    assert sorted(r.user_id for r in made) == sorted([people.mei.pk, people.leader.pk])
    assert {r.key for r in made} == {f"routine:{routine.pk}:2026-06-02"}
    assert fired(people.mei) == [(f"routine:{routine.pk}:2026-06-02", at(2026, 6, 2, 0))]


def test_across_the_end_of_us_summer_time_eight_stays_eight(people: Setup) -> None:
    """On 1 November 2026 New York goes from UTC-4 to UTC-5: 08:00 moves from 12:00 to 13:00
    UTC, and the day has 25 hours, still one reminder."""
    with time_machine.travel(at(2026, 10, 30, 20), tick=False):
        routine = people.routine()
    made = run_until(at(2026, 11, 2, 23), at(2026, 10, 30, 20), dt.timedelta(minutes=30))
    mine = Reminder.objects.filter(user=people.tom).order_by("due_at")
    assert [(r.key.split(":")[-1], r.due_at) for r in mine] == [
        ("2026-10-31", at(2026, 10, 31, 12)),
        ("2026-11-01", at(2026, 11, 1, 13)),
        ("2026-11-02", at(2026, 11, 2, 13)),
    ]
    assert [made[r.pk] for r in mine] == [r.due_at for r in mine]  # on time, not late
    assert all(r.key.startswith(f"routine:{routine.pk}:") for r in mine)


def test_a_time_that_does_not_exist_fires_once_when_the_clock_jumps(people: Setup) -> None:
    """02:30 does not exist in New York on 8 March 2026 (02:00 jumps to 03:00): the reminder
    comes at 03:30, when the wall clock would have said 02:30; the day before and after as
    usual. A time that happens twice (01:30 on 1 November) fires once, the first time."""
    with time_machine.travel(at(2026, 3, 6, 12), tick=False):
        people.routine("02:30")
    run_until(at(2026, 3, 9, 12), at(2026, 3, 6, 12), dt.timedelta(minutes=30))
    assert [due for _key, due in fired(people.tom)] == [
        at(2026, 3, 7, 7, 30),  # 02:30 EST
        at(2026, 3, 8, 7, 30),  # "02:30" that never was: 03:30 EDT
        at(2026, 3, 9, 6, 30),  # 02:30 EDT
    ]
    with time_machine.travel(at(2026, 10, 31, 12), tick=False):
        twice = people.routine("01:30")
    run_until(at(2026, 11, 1, 12), at(2026, 10, 31, 12), dt.timedelta(minutes=30))
    nov_first = [due for key, due in fired(people.tom) if key == f"routine:{twice.pk}:2026-11-01"]
    assert nov_first == [at(2026, 11, 1, 5, 30)]  # 01:30 EDT, not again at 01:30 EST


def test_once_a_day_even_when_the_worker_runs_twice_or_late(people: Setup) -> None:
    with time_machine.travel(START, tick=False):
        routine = people.routine()
    due = at(2026, 6, 1, 12)  # Tom's 08:00
    late = due + dt.timedelta(hours=2)  # the worker was down for two hours
    assert [r.user_id for r in reminders.fire_due(late)] == [people.tom.pk]
    assert reminders.fire_due(late) == []
    assert reminders.fire_due(late + dt.timedelta(minutes=1)) == []
    assert fired(people.tom) == [(f"routine:{routine.pk}:2026-06-01", due)]
    # Much too late (over LATE_LIMIT) is skipped, not sent hours after the fact.
    next_due = at(2026, 6, 2, 12)
    too_late = next_due + reminders.LATE_LIMIT + dt.timedelta(minutes=1)
    assert [r for r in reminders.fire_due(too_late) if r.user_id == people.tom.pk] == []
    assert len(fired(people.tom)) == 1
    # ...and the day after comes on time again.
    made = reminders.fire_due(at(2026, 6, 3, 12))
    assert [r.key for r in made if r.user_id == people.tom.pk] == [
        f"routine:{routine.pk}:2026-06-03"
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", ["fire_due", "without the process lock"])
def test_two_threads_at_once_make_one_reminder_each(run: str) -> None:
    with time_machine.travel(START, tick=False):
        people = Setup()
        people.routine()
    due = at(2026, 6, 1, 12)
    fire = reminders.fire_due if run == "fire_due" else reminders._fire_due
    barrier = threading.Barrier(2)
    made: list[list[Reminder]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            made.append(fire(due))
        except BaseException as e:
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(len(m) for m in made) == [0, 1]
    assert Reminder.objects.filter(user=people.tom).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_restarted_worker_does_not_fire_the_same_reminder_again() -> None:
    """The real worker loop (tasks.work) in a thread fires Tom's reminder; it is stopped and a
    new one started, as after a restart: still one reminder."""
    with time_machine.travel(START, tick=False):
        people = Setup()
        people.routine()
    ran = threading.Event()

    def after_reminders() -> None:  # runs after fire_due in the same periodic round
        ran.set()

    tasks.periodic_jobs.append(after_reminders)
    try:
        with time_machine.travel(at(2026, 6, 1, 12) + dt.timedelta(seconds=5), tick=True):
            for round_ in range(2):
                ran.clear()
                stop = threading.Event()
                thread = threading.Thread(target=tasks.work, args=(stop, 0.05))
                thread.start()
                assert ran.wait(30), "the worker did not run its periodic jobs"
                stop.set()
                thread.join(30)
                assert not thread.is_alive()
                assert Reminder.objects.filter(user=people.tom).count() == 1, round_
    finally:
        tasks.periodic_jobs.remove(after_reminders)
    assert Reminder.objects.filter(user=people.mei).count() == 0  # her 08:00 is not yet


@pytest.mark.django_db(transaction=True)
def test_tongzhou_worker_once_in_another_process_fires_once() -> None:
    """`tongzhou worker --once`, twice, as two processes on the real clock: the reminder due a
    minute ago comes once."""
    people = Setup()
    routine = people.routine()
    due = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    ReminderSchedule.objects.filter(routine=routine, user=people.tom).update(next_at=due)
    d = connection.settings_dict
    assert connection.vendor == "sqlite" or d["HOST"], "a database the child can reach"
    url = (
        f"sqlite:///{d['NAME']}"
        if connection.vendor == "sqlite"
        else f"postgres://{d['USER']}:{d['PASSWORD']}@{d['HOST']}:{d['PORT']}/{d['NAME']}"
    )
    env = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, "DATABASE_URL": url}
    for _round in range(2):
        r = subprocess.run(
            [sys.executable, "-m", "tongzhou.cli", "worker", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        assert [r.due_at for r in Reminder.objects.filter(user=people.tom)] == [due]
    assert Reminder.objects.filter(user=people.mei).count() == 0


def test_a_member_who_joins_later_gets_the_group_routine_and_a_removed_one_none(
    people: Setup,
) -> None:
    with time_machine.travel(START, tick=False):
        people.routine()
    with time_machine.travel(at(2026, 6, 1, 3), tick=False):
        lin = join(people.leader, people.group, "lin", "America/New_York")
        do_remove_member(
            Membership.objects.get(group=people.group, user=people.leader),
            Membership.objects.get(group=people.group, user=people.tom),
        )
        reminders.fire_due(at(2026, 6, 1, 3))  # the worker's round after she joined
    made = reminders.fire_due(at(2026, 6, 1, 12))
    assert [r.user_id for r in made] == [lin.pk]
    assert fired(people.tom) == []


def test_changing_timezone_moves_the_next_reminder(people: Setup, client: Any) -> None:
    with time_machine.travel(START, tick=False):
        routine = people.routine()
        client.force_login(people.tom)
        r = client.patch(
            "/api/v1/me/profile", {"timezone": "Asia/Shanghai"}, content_type="application/json"
        )
        assert r.status_code == 200, r.json()
        assert r.json()["profile"]["timezone"] == "Asia/Shanghai"
    sched = ReminderSchedule.objects.get(routine=routine, user=people.tom)
    assert sched.next_at == at(2026, 6, 2, 0)  # 08:00 in Shanghai, no longer New York's
    assert reminders.fire_due(at(2026, 6, 1, 12)) == []
    assert people.tom.pk in [r.user_id for r in reminders.fire_due(at(2026, 6, 2, 0))]


def test_an_unknown_timezone_is_refused(people: Setup, client: Any) -> None:
    client.force_login(people.tom)
    r = client.patch(
        "/api/v1/me/profile", {"timezone": "Mars/Olympus"}, content_type="application/json"
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_timezone"


def test_switched_off_archived_and_one_off_routines(people: Setup) -> None:
    with time_machine.travel(START, tick=False):
        group_routine = people.routine()
        do_set_reminder(people.tom, people.group.pk, group_routine.pk, False)
        visit = do_create_routine(
            people.tom,
            people.group.pk,
            own=True,
            title="复查 check-up",
            time="09:30",
            once_on="2026-06-03",
        )
    assert reminders.fire_due(at(2026, 6, 1, 12)) == []  # Tom switched it off
    with time_machine.travel(at(2026, 6, 1, 13), tick=False):
        do_set_reminder(people.tom, people.group.pk, group_routine.pk, True)
    # Back on: the next one comes, not the one missed while off.
    assert reminders.fire_due(at(2026, 6, 1, 13)) == []
    assert [
        r.key for r in reminders.fire_due(at(2026, 6, 2, 12)) if r.user_id == people.tom.pk
    ] == [f"routine:{group_routine.pk}:2026-06-02"]
    # The appointment: 09:30 New York time on 3 June, then never again.
    made = run_until(at(2026, 6, 6, 0), at(2026, 6, 3, 0), dt.timedelta(minutes=30))
    visits = Reminder.objects.filter(user=people.tom, key__startswith=f"routine:{visit.pk}:")
    assert [(r.due_at, made[r.pk]) for r in visits] == [(at(2026, 6, 3, 13, 30),) * 2]
    # The leader stops the group's routine: nobody is reminded any more.
    with time_machine.travel(at(2026, 6, 6, 1), tick=False):
        do_remove_routine(people.leader, people.group.pk, group_routine.pk)
    before = Reminder.objects.count()
    run_until(at(2026, 6, 8, 0), at(2026, 6, 6, 1), dt.timedelta(hours=1))
    assert Reminder.objects.count() == before


def test_fire_due_is_quick_enough_for_a_minute_by_minute_worker(people: Setup) -> None:
    """Fifty members' reminders in one round stay well under the minute between rounds."""
    with time_machine.travel(START, tick=False):
        for i in range(50):
            join(people.leader, people.group, f"member{i}", "Asia/Shanghai")
        people.routine()
    started = time.monotonic()
    made = reminders.fire_due(at(2026, 6, 2, 0))
    assert len(made) == 52  # the fifty, Mei and the leader
    assert time.monotonic() - started < 20


def test_a_reminder_is_worded_in_the_language_its_reader_last_read_pages_in(db: Any) -> None:
    from django.test import Client

    from tongzhou.community.aid import do_create_request, do_reply

    s = Setup()
    mei = Client()
    mei.force_login(s.mei)
    mei.get("/today/", HTTP_ACCEPT_LANGUAGE="zh-CN")  # she reads in Chinese
    tom = Client()
    tom.force_login(s.tom)
    tom.get("/today/", HTTP_ACCEPT_LANGUAGE="en-US")  # he reads in English
    req = do_create_request(s.mei, s.group.pk, kind="company", title="周一陪我去放疗")
    # Tom offers help while his own pages are in English: Mei is told in Chinese.
    do_reply(s.tom, s.group.pk, req.pk, text="I can come.", offer=True)
    [told] = Reminder.objects.filter(user=s.mei)
    assert told.title.startswith("Tom") and "可以帮忙" in told.title, told.title
    assert "can help" not in told.title
