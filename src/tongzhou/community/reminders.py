"""The reminder clock shared by routines, events and anniversaries.

Every reminder is a row in `Reminder` with a unique (user, key); the key names the occurrence
(`routine:<id>:<local date>`, `event:<id>:start`, `anniversary:<id>:<year>`), so a reminder
fires once whatever the worker does: restarted mid-run, two workers at once, or a run that
comes late (up to LATE_LIMIT; after that the occurrence is skipped rather than sent hours
late). The worker's loop calls `fire_due` about once a minute (tasks.periodic_jobs); the
same round sends the groups' evening messages of kept streaks (routines.post_streak_messages).
Routines fire at a wall-clock time in each member's own timezone (Profile.timezone, else
the server's TIME_ZONE); ReminderSchedule keeps the next instant in UTC.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone, translation

from tongzhou.community.models import Reminder, ReminderSchedule, Routine
from tongzhou.groups.models import Membership
from tongzhou.realtime import publish_to_user

log = logging.getLogger(__name__)

LATE_LIMIT = dt.timedelta(hours=3)  # a reminder this late is skipped, not sent
BATCH = 500
# One run at a time in this process: SQLite has no row locks (select_for_update is a no-op
# there), so two threads of one process would otherwise both read the same due schedule.
# Between processes, PostgreSQL's row locks, SQLite's write lock (IMMEDIATE transactions)
# and the unique (user, key) do the same job.
_run_lock = threading.Lock()

# Other features add jobs that create their reminders (events, anniversaries): each is
# called with `now` and returns the Reminders it created.
sources: list[Callable[[dt.datetime], list[Reminder]]] = []


def zone_of(user: Any) -> ZoneInfo:
    """The member's timezone; the server's when unset or unknown."""
    name = ""
    profile = getattr(user, "profile", None)
    if profile is not None:
        name = profile.timezone
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def local_day(user: Any, at: dt.datetime | None = None) -> dt.date:
    return (at or timezone.now()).astimezone(zone_of(user)).date()


def next_occurrence(routine: Routine, zone: ZoneInfo, after: dt.datetime) -> dt.datetime | None:
    """The first instant after `after` when the routine is due in `zone`, or None.
    A time that does not exist on a DST night (02:30 when clocks jump) fires at the instant
    the wall clock would have shown it; a repeated hour fires once (the first)."""
    start = after.astimezone(zone).date()
    if routine.once_on is not None:
        days = [routine.once_on] if routine.once_on >= start - dt.timedelta(days=1) else []
    else:
        days = [start + dt.timedelta(days=i) for i in range(-1, 9)]
    for day in days:
        if routine.once_on is None and str(day.isoweekday()) not in routine.weekdays:
            continue
        at = dt.datetime.combine(day, routine.time, tzinfo=zone)
        at = at.astimezone(dt.UTC)  # normalises a non-existent wall time
        if at > after:
            return at
    return None


def schedule_for(routine: Routine, user: Any, now: dt.datetime | None = None) -> ReminderSchedule:
    """Create or refresh one member's schedule of a routine (after a change of time, days or
    the member's timezone)."""
    now = now or timezone.now()
    when = next_occurrence(routine, zone_of(user), now) if routine.archived_at is None else None
    sched, created = ReminderSchedule.objects.get_or_create(
        routine=routine, user=user, defaults={"next_at": when}
    )
    if not created and sched.next_at != when:
        sched.next_at = when
        sched.save(update_fields=["next_at"])
    return sched


def reschedule_user(user: Any, now: dt.datetime | None = None) -> None:
    """The member changed timezone: every one of their schedules moves with them."""
    fresh = get_user_model().objects.select_related("profile").get(pk=user.pk)  # new zone
    for sched in ReminderSchedule.objects.filter(user=fresh).select_related("routine"):
        schedule_for(sched.routine, fresh, now)


def reschedule_routine(routine: Routine, now: dt.datetime | None = None) -> None:
    """The routine's time, days or state changed: every member's next time moves."""
    for sched in ReminderSchedule.objects.filter(routine=routine).select_related("user__profile"):
        schedule_for(routine, sched.user, now)


def _members_missing_schedules(now: dt.datetime) -> None:
    """Members who joined after a group routine was made get it too."""
    for routine in Routine.objects.filter(owner__isnull=True, archived_at__isnull=True):
        have = ReminderSchedule.objects.filter(routine=routine).values("user_id")
        for m in (
            Membership.objects.filter(group_id=routine.group_id, status=Membership.Status.ACTIVE)
            .exclude(user_id__in=have)
            .select_related("user__profile")
        ):
            schedule_for(routine, m.user, now)


def _fire_schedule(sched_id: int, now: dt.datetime) -> Reminder | None:
    with transaction.atomic():
        sched = (
            ReminderSchedule.objects.select_for_update(of=("self",))
            .select_related("routine", "user__profile")
            .filter(pk=sched_id, enabled=True, next_at__lte=now)
            .first()
        )
        if sched is None:  # another worker took it
            return None
        routine, user, due = sched.routine, sched.user, sched.next_at
        assert due is not None
        zone = zone_of(user)
        made = None
        member = Membership.objects.filter(
            group_id=routine.group_id, user_id=user.pk, status=Membership.Status.ACTIVE
        ).exists()
        if member and routine.archived_at is None and now - due <= LATE_LIMIT:
            key = f"routine:{routine.pk}:{due.astimezone(zone).date().isoformat()}"
            made, created = Reminder.objects.get_or_create(
                user=user,
                key=key,
                defaults={
                    "group_id": routine.group_id,
                    "title": routine.title,
                    "url": f"/today/#routine-{routine.pk}",
                    "due_at": due,
                },
            )
            if not created:
                made = None
        sched.next_at = next_occurrence(routine, zone, max(now, due))
        sched.save(update_fields=["next_at"])
    return made


def push(reminders: list[Reminder]) -> None:
    """Tell the members' open pages (after commit; the reminder is in the database already)."""
    for r in reminders:
        publish_to_user(
            r.user_id,
            {
                "type": "reminder.new",
                "reminder": {
                    "id": r.pk,
                    "title": r.title,
                    "url": r.url,
                    "due_at": r.due_at.isoformat(),
                },
            },
        )


def fire_due(now: dt.datetime | None = None) -> list[Reminder]:
    """Create every reminder that is due; return the ones created by this call."""
    with _run_lock:
        return _fire_due(now or timezone.now())


def _fire_due(now: dt.datetime) -> list[Reminder]:
    _members_missing_schedules(now)
    made: list[Reminder] = []
    due = ReminderSchedule.objects.filter(enabled=True, next_at__lte=now).order_by("next_at")
    for sched_id in list(due.values_list("pk", flat=True)[:BATCH]):
        if (r := _fire_schedule(sched_id, now)) is not None:
            made.append(r)
    for source in sources:
        try:
            made.extend(source(now))
        except Exception:  # one source failing must not stop the others
            log.exception("reminder source %s failed", getattr(source, "__name__", source))
    transaction.on_commit(lambda: push(made))
    try:  # the groups' evening message of kept streaks (a chat message, not a reminder)
        from tongzhou.community.routines import post_streak_messages

        post_streak_messages(now)
    except Exception:
        log.exception("streak messages failed")
    return made


@contextmanager
def as_reader(user_id: int) -> Iterator[None]:
    """Words and times as this member reads them, for what is worded away from their pages:
    the language they last read pages in (Profile.language), else their e-mail language, else
    the server's; their timezone."""
    from tongzhou.accounts.models import User
    from tongzhou.notify.models import EmailSettings

    user = User.objects.select_related("profile").filter(pk=user_id).first()
    profile = getattr(user, "profile", None)
    language = (
        (profile.language if profile is not None else "")
        or EmailSettings.objects.filter(user_id=user_id).values_list("language", flat=True).first()
        or settings.LANGUAGE_CODE
    )
    with translation.override(language), timezone.override(zone_of(user)):
        yield


def create_once(user_id: int, key: str, **fields: Any) -> Reminder | None:
    """For sources: the reminder, or None when this occurrence was already delivered."""
    r, created = Reminder.objects.get_or_create(user_id=user_id, key=key, defaults=fields)
    return r if created else None
