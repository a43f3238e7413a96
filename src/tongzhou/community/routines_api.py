"""API of daily routines and the member's reminders."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from tongzhou.accounts.models import User
from tongzhou.community import reminders, routines
from tongzhou.groups.queries import access_group

router = Router(tags=["routines"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # the API's auth guarantees it


class RoutineIn(Schema):
    title: str
    time: str  # "08:00", in each member's own timezone
    weekdays: str = "1234567"  # ISO weekdays, 1 = Monday
    note: str = ""
    once_on: str | None = None  # an appointment: that day only (YYYY-MM-DD)


class RoutinePatch(Schema):
    title: str | None = None
    time: str | None = None
    weekdays: str | None = None
    note: str | None = None
    once_on: str | None = None


class OnIn(Schema):
    on: bool = True


class ReadIn(Schema):
    ids: list[int] = []
    all: bool = False


def _one(user: User, gid: int, rid: int) -> dict[str, Any]:
    routine = routines.routine_in(access_group(user, gid), rid)
    return routines.views_of(user, [routine], reminders.local_day(user))[0].as_dict()


@router.get("/groups/{gid}/routines", operation_id="list_routines")
def list_routines(request: HttpRequest, gid: int) -> dict[str, Any]:
    """The group's routines and your own in this group, each with your streak, whether it is
    done today and the last 14 days."""
    user = _user(request)
    membership = access_group(user, gid)
    group, own = routines.routines_of(membership)
    today = reminders.local_day(user)
    return {
        "routines": [v.as_dict() for v in routines.views_of(user, group, today)],
        "own": [v.as_dict() for v in routines.views_of(user, own, today)],
    }


@router.post("/groups/{gid}/routines", response={201: dict}, operation_id="create_routine")
def create_routine(request: HttpRequest, gid: int, payload: RoutineIn) -> Status[dict[str, Any]]:
    """A leader or moderator adds a routine for every member (e.g. 08:00 nasal irrigation);
    it reminds each member at that time in their own timezone."""
    user = _user(request)
    routine = routines.do_create_routine(user, gid, own=False, **payload.dict())
    return Status(201, _one(user, gid, routine.pk))


@router.post("/groups/{gid}/my-routines", response={201: dict}, operation_id="create_my_routine")
def create_my_routine(request: HttpRequest, gid: int, payload: RoutineIn) -> Status[dict[str, Any]]:
    """A member adds a routine only they see (a medicine; an appointment with once_on)."""
    user = _user(request)
    routine = routines.do_create_routine(user, gid, own=True, **payload.dict())
    return Status(201, _one(user, gid, routine.pk))


@router.get("/groups/{gid}/routines/{rid}", operation_id="get_routine")
def get_routine(request: HttpRequest, gid: int, rid: int) -> dict[str, Any]:
    return _one(_user(request), gid, rid)


@router.patch("/groups/{gid}/routines/{rid}", operation_id="edit_routine")
def edit_routine(request: HttpRequest, gid: int, rid: int, payload: RoutinePatch) -> dict[str, Any]:
    """The group's routine: its leaders and moderators; your own: you."""
    user = _user(request)
    routines.do_edit_routine(user, gid, rid, **payload.dict(exclude_unset=True))
    return _one(user, gid, rid)


@router.delete("/groups/{gid}/routines/{rid}", response={204: None}, operation_id="delete_routine")
def delete_routine(request: HttpRequest, gid: int, rid: int) -> Status[None]:
    """The group's routine is archived (no more reminders); your own is deleted."""
    routines.do_remove_routine(_user(request), gid, rid)
    return Status(204, None)


@router.post("/groups/{gid}/routines/{rid}/check-in", operation_id="check_in")
def check_in(request: HttpRequest, gid: int, rid: int, payload: OnIn) -> dict[str, Any]:
    """Done today (on your own calendar day); on=false takes today's back."""
    return routines.do_check_in(_user(request), gid, rid, payload.on).as_dict()


@router.post("/groups/{gid}/routines/{rid}/reminder", operation_id="set_routine_reminder")
def set_routine_reminder(request: HttpRequest, gid: int, rid: int, payload: OnIn) -> dict[str, Any]:
    """Switch this routine's reminder off (or on again) for yourself."""
    user = _user(request)
    routines.do_set_reminder(user, gid, rid, payload.on)
    return _one(user, gid, rid)


@router.get("/me/reminders", operation_id="list_reminders")
def list_reminders(request: HttpRequest) -> dict[str, Any]:
    """Your reminders, unread first, then the newest (at most 50)."""
    user = _user(request)
    return {
        "reminders": [routines.reminder_dict(r) for r in routines.reminders_of(user)],
        "unread": routines.unread_reminder_count(user.pk),
    }


@router.post("/me/reminders/read", operation_id="read_reminders")
def read_reminders(request: HttpRequest, payload: ReadIn) -> dict[str, Any]:
    """Mark the given reminders read, or all of them with all=true."""
    user = _user(request)
    n = routines.do_mark_reminders_read(user, payload.ids, everything=payload.all)
    return {"marked": n, "unread": routines.unread_reminder_count(user.pk)}


@router.get("/me/today", operation_id="my_today")
def my_today(request: HttpRequest) -> dict[str, Any]:
    """Today's routines across your groups, your appointments to come and the events you
    go to."""
    user = _user(request)
    return {
        "day": reminders.local_day(user).isoformat(),
        "groups": [
            {"group": g["group"].pk, "routines": [v.as_dict() for v in g["routines"]]}
            for g in routines.today_of(user)
        ],
        "appointments": [
            {"id": r.pk, "group": r.group_id, "title": r.title, "day": r.once_on.isoformat()}
            for r in routines.upcoming_appointments(user)
            if r.once_on
        ],
        "events": [
            {
                "id": e.pk,
                "group": e.group_id,
                "title": e.title,
                "starts_at": e.starts_at.isoformat(),
                "place": e.place,
            }
            for e in routines.upcoming_events(user)
        ],
    }
