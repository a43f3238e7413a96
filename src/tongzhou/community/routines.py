"""Daily routines: the group's (set by leaders and moderators) and each member's own
(medication, an appointment); "done today" check-ins and streaks; the member's reminders;
the group's gentle evening message of who kept their streak.

Every state change of the feature is a do_* function here; pages and the API call them.
A check-in belongs to the member's own calendar day (their Profile.timezone); a streak is
the run of scheduled days with a check-in up to today (or yesterday, while today is still
open); days a routine is not scheduled on (weekends of a weekday routine) do not break it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tongzhou.accounts.models import Profile, User
from tongzhou.community import reminders
from tongzhou.community.models import CheckIn, Event, Reminder, ReminderSchedule, Routine, Rsvp
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.models import Membership
from tongzhou.groups.queries import access_group, access_moderation, membership_of
from tongzhou.text import field_text

log = logging.getLogger(__name__)

MAX_GROUP_ROUTINES = 20
MAX_OWN_ROUTINES = 30  # per member and group
DOTS = 14  # days shown as a row of dots
STREAK_HOUR = 21  # the group's evening message, in the server's timezone
WEEK = "1234567"


# --- reading -----------------------------------------------------------------------------


def routine_not_found() -> UserError:
    return UserError("routine_not_found", _("There is no such routine here."), 404)


def routine_in(membership: Membership, routine_id: object) -> Routine:
    """A routine the member may see: the group's (not archived) or their own in this group.
    Another member's own routine is as missing as one that never existed."""
    routine = (
        Routine.objects.filter(
            Q(owner__isnull=True) | Q(owner_id=membership.user_id),
            group_id=membership.group_id,
            pk=parse_id(routine_id, "routine_not_found"),
            archived_at__isnull=True,
        )
        .select_related("created_by")
        .first()
    )
    if routine is None:
        raise routine_not_found()
    return routine


def is_scheduled(routine: Routine, day: dt.date) -> bool:
    if routine.once_on is not None:
        return day == routine.once_on
    return str(day.isoweekday()) in routine.weekdays


def _previous_scheduled(routine: Routine, day: dt.date) -> dt.date | None:
    for i in range(1, 8):
        d = day - dt.timedelta(days=i)
        if is_scheduled(routine, d):
            return d
    return None


def streak(routine: Routine, done: set[dt.date], today: dt.date) -> int:
    """Scheduled days in a row with a check-in, ending today (or at the last scheduled day
    before today, while today is not done yet)."""
    if routine.once_on is not None or not done:
        return 0
    day: dt.date | None = today
    if today not in done or not is_scheduled(routine, today):
        day = _previous_scheduled(routine, today)
    count = 0
    first = min(done)
    while day is not None and day >= first and day in done:
        count += 1
        day = _previous_scheduled(routine, day)
    if today in done and not is_scheduled(routine, today):
        count += 1  # done on a free day too: it counts, and breaks nothing
    return count


def best_streak(routine: Routine, done: set[dt.date], today: dt.date) -> int:
    if routine.once_on is not None or not done:
        return 0
    best = run = 0
    day = min(done)
    while day <= today:
        if day in done:
            run += 1
            best = max(best, run)
        elif is_scheduled(routine, day) and day != today:
            run = 0
        day += dt.timedelta(days=1)
    return best


@dataclass
class RoutineView:
    """One routine as one member sees it."""

    routine: Routine
    own: bool
    enabled: bool
    done_today: bool
    scheduled_today: bool
    streak: int
    best: int
    dots: list[dict[str, Any]] = field(default_factory=list)
    next_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        r = self.routine
        return {
            "id": r.pk,
            "group": r.group_id,
            "own": self.own,
            "title": r.title,
            "note": r.note,
            "time": r.time.strftime("%H:%M"),
            "weekdays": r.weekdays,
            "once_on": r.once_on.isoformat() if r.once_on else None,
            "reminder_on": self.enabled,
            "next_at": self.next_at.isoformat() if self.next_at else None,
            "done_today": self.done_today,
            "scheduled_today": self.scheduled_today,
            "streak": self.streak,
            "best_streak": self.best,
            "last_days": [
                {"day": d["day"].isoformat(), "done": d["done"], "scheduled": d["scheduled"]}
                for d in self.dots
            ],
        }


def views_of(user: User, routines: Sequence[Routine], today: dt.date) -> list[RoutineView]:
    ids = [r.pk for r in routines]
    done: dict[int, set[dt.date]] = {i: set() for i in ids}
    for rid, day in CheckIn.objects.filter(user=user, routine_id__in=ids).values_list(
        "routine_id", "day"
    ):
        done[rid].add(day)
    schedules = {
        s.routine_id: s for s in ReminderSchedule.objects.filter(user=user, routine_id__in=ids)
    }
    found = []
    for r in routines:
        days = done[r.pk]
        sched = schedules.get(r.pk)
        dots = []
        if r.once_on is None:
            for i in range(DOTS - 1, -1, -1):
                d = today - dt.timedelta(days=i)
                dots.append({"day": d, "done": d in days, "scheduled": is_scheduled(r, d)})
        found.append(
            RoutineView(
                routine=r,
                own=r.owner_id is not None,
                enabled=sched.enabled if sched else True,
                done_today=today in days,
                scheduled_today=is_scheduled(r, today),
                streak=streak(r, days, today),
                best=best_streak(r, days, today),
                dots=dots,
                next_at=sched.next_at if sched and sched.enabled else None,
            )
        )
    return found


def routines_of(membership: Membership) -> tuple[list[Routine], list[Routine]]:
    """(the group's routines, the member's own in this group), by time of day."""
    rows = Routine.objects.filter(
        Q(owner__isnull=True) | Q(owner_id=membership.user_id),
        group_id=membership.group_id,
        archived_at__isnull=True,
    ).order_by("once_on", "time", "pk")
    group = [r for r in rows if r.owner_id is None]
    own = [r for r in rows if r.owner_id is not None]
    return group, own


def today_of(user: User) -> list[dict[str, Any]]:
    """Today's routines across the member's groups: [{group, membership, routines}]."""
    today = reminders.local_day(user)
    found: list[dict[str, Any]] = []
    for m in Membership.objects.filter(user=user, status=Membership.Status.ACTIVE).select_related(
        "group"
    ):
        group, own = routines_of(m)
        due = [r for r in [*group, *own] if is_scheduled(r, today)]
        due.sort(key=lambda r: r.time)
        if due:
            found.append(
                {"group": m.group, "membership": m, "routines": views_of(user, due, today)}
            )
    found.sort(key=lambda g: g["group"].name)
    return found


def upcoming_appointments(user: User, days: int = 60) -> list[Routine]:
    today = reminders.local_day(user)
    return list(
        Routine.objects.filter(
            owner=user,
            archived_at__isnull=True,
            once_on__gt=today,
            once_on__lte=today + dt.timedelta(days=days),
            group__memberships__user=user,
            group__memberships__status=Membership.Status.ACTIVE,
        )
        .select_related("group")
        .order_by("once_on", "time")
    )


def upcoming_events(user: User, limit: int = 10) -> list[Event]:
    """Events the member said they go to, not yet over, in groups they still belong to."""
    going = Rsvp.objects.filter(user=user, status=Rsvp.Status.GOING).values("event_id")
    return list(
        Event.objects.filter(
            pk__in=going,
            cancelled_at__isnull=True,
            ends_at__gte=timezone.now(),
            group__memberships__user=user,
            group__memberships__status=Membership.Status.ACTIVE,
        )
        .select_related("group")
        .order_by("starts_at")[:limit]
    )


def unread_reminder_count(user_id: int) -> int:
    return Reminder.objects.filter(user_id=user_id, read_at__isnull=True).count()


def reminders_of(user: User, limit: int = 50) -> QuerySet[Reminder]:
    """Unread first, then the newest."""
    is_read = ExpressionWrapper(Q(read_at__isnull=False), output_field=BooleanField())
    return (
        Reminder.objects.filter(user=user)
        .annotate(is_read=is_read)
        .order_by("is_read", "-due_at", "-pk")[:limit]
    )


def reminder_dict(r: Reminder) -> dict[str, Any]:
    return {
        "id": r.pk,
        "group": r.group_id,
        "title": reminder_title(r),
        "url": r.url,
        "due_at": r.due_at.isoformat(),
        "read": r.read_at is not None,
    }


def reminder_title(r: Reminder) -> str:
    """What the reminder says, in the reader's language where it is ours to word."""
    if r.key.startswith("anniversary:"):
        from tongzhou.community.milestones import anniversary_title

        return anniversary_title(r) or r.title
    return r.title


# --- changing ------------------------------------------------------------------------------


def check_time(value: object) -> dt.time:
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    try:
        at = dt.time.fromisoformat(str(value).strip())
    except ValueError:
        raise UserError("invalid_time", _("Enter a time of day, e.g. 08:00.")) from None
    return at.replace(second=0, microsecond=0, tzinfo=None)


def check_weekdays(value: object) -> str:
    """ISO weekdays (1 = Monday) from "12345" or a list such as [1, 2, 3]."""
    items: Iterable[object]
    if isinstance(value, str):
        items = value.replace(",", "")
    elif isinstance(value, list | tuple):
        items = value
    else:
        items = ()
    days = {str(d).strip() for d in items if str(d).strip()}
    if not days or not days <= set(WEEK):
        raise UserError("invalid_weekdays", _("Choose at least one day of the week."))
    return "".join(sorted(days))


def check_day(value: object, user: User) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise UserError("invalid_date", _("Enter a date, e.g. 2026-05-20.")) from None
    if day < reminders.local_day(user):
        raise UserError("date_in_past", _("Choose today or a later day."))
    return day


def _fields(user: User, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not partial or data.get("title") is not None:
        out["title"] = field_text(data.get("title"), "title", _("What to do"), 80, required=True)
    if not partial or data.get("note") is not None:
        out["note"] = field_text(data.get("note") or "", "note", _("Note"), 500, required=False)
    if not partial or data.get("time") is not None:
        out["time"] = check_time(data.get("time"))
    if not partial or data.get("weekdays") is not None:
        out["weekdays"] = check_weekdays(data.get("weekdays") or WEEK)
    if "once_on" in data and (not partial or data.get("once_on") is not None):
        out["once_on"] = check_day(data.get("once_on"), user)
    return out


def do_create_routine(user: User, group_id: int, *, own: bool, **data: Any) -> Routine:
    """A leader or moderator adds a routine for the whole group (own=False); any member adds
    their own (medication; an appointment is once_on a day)."""
    if own:
        membership = access_group(user, group_id)
        count = Routine.objects.filter(
            group_id=group_id, owner=user, archived_at__isnull=True
        ).count()
        limit = MAX_OWN_ROUTINES
    else:
        membership = access_moderation(user, group_id)
        count = Routine.objects.filter(
            group_id=group_id, owner__isnull=True, archived_at__isnull=True
        ).count()
        limit = MAX_GROUP_ROUTINES
    if count >= limit:
        raise UserError(
            "too_many_routines", _("At most %(max)d routines here.") % {"max": limit}, 409
        )
    fields = _fields(user, data, partial=False)
    with transaction.atomic():
        routine = Routine.objects.create(
            group_id=membership.group_id,
            owner=user if own else None,
            created_by=user,
            **fields,
        )
        if own:
            reminders.schedule_for(routine, user)
        else:
            for m in Membership.objects.filter(
                group_id=group_id, status=Membership.Status.ACTIVE
            ).select_related("user__profile"):
                reminders.schedule_for(routine, m.user)
    return routine


def _editable(user: User, group_id: int, routine_id: object) -> Routine:
    membership = access_group(user, group_id)
    routine = routine_in(membership, routine_id)
    if routine.owner_id is None:
        access_moderation(user, group_id)  # the group's routine: its leaders change it
    return routine


def do_edit_routine(user: User, group_id: int, routine_id: object, **data: Any) -> Routine:
    routine = _editable(user, group_id, routine_id)
    fields = _fields(user, data, partial=True)
    changed = [k for k, v in fields.items() if getattr(routine, k) != v]
    if changed:
        for k in changed:
            setattr(routine, k, fields[k])
        with transaction.atomic():
            routine.save(update_fields=changed)
            reminders.reschedule_routine(routine)
    return routine


def do_remove_routine(user: User, group_id: int, routine_id: object) -> None:
    """The group's routine is archived (its check-ins stay for the streaks' history); a
    member's own routine is deleted with its check-ins."""
    routine = _editable(user, group_id, routine_id)
    with transaction.atomic():
        if routine.owner_id is None:
            routine.archived_at = timezone.now()
            routine.save(update_fields=["archived_at"])
            ReminderSchedule.objects.filter(routine=routine).update(next_at=None)
        else:
            routine.delete()


def do_set_reminder(user: User, group_id: int, routine_id: object, on: bool) -> ReminderSchedule:
    """A member switches the reminder of a routine off (or on again) for themselves."""
    if not isinstance(on, bool):
        raise UserError("invalid_input", _("Choose yes or no."))
    routine = routine_in(access_group(user, group_id), routine_id)
    with transaction.atomic():
        sched = reminders.schedule_for(routine, user)  # from now: nothing stale fires
        if sched.enabled != on:
            sched.enabled = on
            sched.save(update_fields=["enabled"])
    return sched


def do_check_in(user: User, group_id: int, routine_id: object, on: bool = True) -> RoutineView:
    """'Done today' on the member's own calendar day, once; on=False takes back today's."""
    if not isinstance(on, bool):
        raise UserError("invalid_input", _("Choose yes or no."))
    routine = routine_in(access_group(user, group_id), routine_id)
    today = reminders.local_day(user)
    if on:
        CheckIn.objects.get_or_create(routine=routine, user=user, day=today)
    else:
        CheckIn.objects.filter(routine=routine, user=user, day=today).delete()
    return views_of(user, [routine], today)[0]


def do_mark_reminders_read(user: User, ids: Sequence[object] = (), *, everything: bool) -> int:
    now = timezone.now()
    mine = Reminder.objects.filter(user=user, read_at__isnull=True)
    if not everything:
        wanted = [parse_id(i, "reminder_not_found") for i in ids]
        mine = mine.filter(pk__in=wanted)
    return mine.update(read_at=now)


# --- the group's evening message of kept streaks -----------------------------------------


def _streak_lines(routine: Routine, kept: int, named: list[tuple[str, int]]) -> str:
    names = " · ".join(
        ngettext("%(name)s %(n)d day", "%(name)s %(n)d days", n) % {"name": name, "n": n}
        for name, n in named
    )
    others = kept - len(named)
    line = ngettext(
        "🌱 %(title)s today: %(n)d member kept it up.",
        "🌱 %(title)s today: %(n)d members kept it up.",
        kept,
    ) % {"title": routine.title, "n": kept}
    if not names:
        return line
    if others:
        names += " · " + ngettext("and %(n)d more", "and %(n)d more", others) % {"n": others}
    return f"{line} {names}"


def streak_message(routine: Routine, day: dt.date) -> str | None:
    """The text of the group's message for `day`, or None when nobody checked in.
    Only members who allow it (Profile.share_streaks) are named; the others are counted.
    Written in Simplified Chinese and English, one line each (the group has no single
    language; the demo groups write both)."""
    active = Membership.objects.filter(
        group_id=routine.group_id, status=Membership.Status.ACTIVE
    ).values("user_id")
    checked = list(
        CheckIn.objects.filter(routine=routine, day=day, user_id__in=active).select_related("user")
    )
    if not checked:
        return None
    sharing = set(
        Profile.objects.filter(
            user_id__in=[c.user_id for c in checked], share_streaks=True
        ).values_list("user_id", flat=True)
    )
    named: list[tuple[str, int]] = []
    for c in checked:
        if c.user_id in sharing:
            days = set(
                CheckIn.objects.filter(routine=routine, user_id=c.user_id).values_list(
                    "day", flat=True
                )
            )
            named.append((c.user.display_name, streak(routine, days, day)))
    named.sort(key=lambda x: (-x[1], x[0]))
    lines: list[str] = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            text = _streak_lines(routine, len(checked), named)
        if text not in lines:
            lines.append(text)
    return "\n".join(lines)


def post_streak_messages(now: dt.datetime | None = None) -> list[int]:
    """Once a day per group routine, at 21:00 in the server's timezone (settings.TIME_ZONE):
    a message in the group's chat from the routine's creator, while they are still one of
    its leaders or moderators. The client_id names the routine and day, and is unique per
    sender: a second call (another worker, a restart) sends nothing new. Returns the ids of
    the messages sent by this call."""
    from tongzhou.chat.actions import do_send_message
    from tongzhou.chat.models import Message

    now = now or timezone.now()
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    if local.hour < STREAK_HOUR:
        return []
    day = local.date()
    sent: list[int] = []
    for routine in Routine.objects.filter(
        owner__isnull=True, archived_at__isnull=True, once_on__isnull=True
    ).select_related("created_by"):
        creator = routine.created_by
        if creator is None or not is_scheduled(routine, day):
            continue
        client_id = f"streaks-{routine.pk}-{day.isoformat()}"
        if Message.objects.filter(sender=creator, client_id=client_id).exists():
            continue
        membership = membership_of(creator, routine.group_id)
        if membership is None or not membership.can_moderate:
            continue
        text = streak_message(routine, day)
        if text is None:
            continue
        try:
            message, created = do_send_message(
                creator, routine.group_id, client_id=client_id, text=text
            )
        except UserError as e:  # muted, a full group...: skipped today, said in the log
            log.warning("streak message for routine %s not sent: %s", routine.pk, e.code)
            continue
        if created:
            sent.append(int(message["id"]))
    return sent
