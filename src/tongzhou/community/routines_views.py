"""Pages of daily routines (per group) and the member's day (/today/). Forms post back to the
page and call the same actions as the API, so everything works without script."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from tongzhou.accounts.models import User
from tongzhou.community import reminders, routines
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.queries import access_group
from tongzhou.groups.views import shows_user_errors

WEEKDAYS = [
    ("1", gettext_lazy("Mon")),
    ("2", gettext_lazy("Tue")),
    ("3", gettext_lazy("Wed")),
    ("4", gettext_lazy("Thu")),
    ("5", gettext_lazy("Fri")),
    ("6", gettext_lazy("Sat")),
    ("7", gettext_lazy("Sun")),
]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


def _form(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    return {
        "title": post.get("title", ""),
        "time": post.get("time", ""),
        "weekdays": post.getlist("weekdays") or routines.WEEK,
        "note": post.get("note", ""),
        "once_on": post.get("once_on", ""),
    }


def _small_action(request: HttpRequest, gid: int, action: str) -> str | None:
    """Check-in, undo, reminder on/off, remove: the same on every page. Returns the
    routine's anchor, or None when the action is not one of these."""
    user, post = _user(request), request.POST
    rid = parse_id(post.get("routine"), "routine_not_found")
    if action == "check":
        view = routines.do_check_in(user, gid, rid, True)
        messages.success(
            request,
            _("Well done! Streak: %(n)d.") % {"n": view.streak}
            if view.streak > 1
            else _("Well done! Marked as done today."),
        )
    elif action == "uncheck":
        routines.do_check_in(user, gid, rid, False)
        messages.success(request, _("Taken back: not done today."))
    elif action in ("reminder_on", "reminder_off"):
        routines.do_set_reminder(user, gid, rid, action == "reminder_on")
        messages.success(
            request,
            _("The reminder is on.") if action == "reminder_on" else _("No more reminders."),
        )
    elif action == "remove":
        routines.do_remove_routine(user, gid, rid)
        messages.success(request, _("Removed."))
    else:
        return None
    return f"routine-{rid}"


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def routines_page(request: HttpRequest, gid: int) -> HttpResponse:
    user = _user(request)
    membership = access_group(user, gid)
    error, adding, values = None, "", _form(request) if request.method == "POST" else {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action in ("add_group", "add_own"):
                adding = action
                routine = routines.do_create_routine(user, gid, own=action == "add_own", **values)
                messages.success(request, _("Added. Reminders come at that time each day."))
                return redirect(f"{reverse('community:routines', args=[gid])}#routine-{routine.pk}")
            anchor = _small_action(request, gid, action)
            if anchor is None:
                raise UserError("invalid_action", _("Unknown action."))
            return redirect(f"{reverse('community:routines', args=[gid])}#{anchor}")
        except UserError as e:
            if e.status in (403, 404):
                raise  # a refusal is a page with its status, not a note
            if not adding:
                messages.error(request, str(e.message))
                return redirect("community:routines", gid=gid)
            error = e.message
    group, own = routines.routines_of(membership)
    today = reminders.local_day(user)
    return render(
        request,
        "community/routines.html",
        {
            "group": membership.group,
            "membership": membership,
            "group_routines": routines.views_of(user, group, today),
            "own_routines": routines.views_of(user, own, today),
            "weekdays": WEEKDAYS,
            "error": error,
            "adding": adding,
            "values": values,
            "zone": reminders.zone_of(user),
        },
        status=400 if error else 200,
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def routine_edit(request: HttpRequest, gid: int, rid: int) -> HttpResponse:
    """Change a routine: the group's (its leaders and moderators) or your own."""
    user = _user(request)
    membership = access_group(user, gid)
    routine = routines.routine_in(membership, rid)
    if routine.owner_id is None and not membership.can_moderate:
        raise UserError(
            "not_allowed", _("Only the group's leader and moderators can do this."), 403
        )
    error = None
    values: dict[str, Any] = {
        "title": routine.title,
        "time": routine.time.strftime("%H:%M"),
        "weekdays": list(routine.weekdays),
        "note": routine.note,
        "once_on": routine.once_on.isoformat() if routine.once_on else "",
    }
    if request.method == "POST":
        values = _form(request)
        if routine.once_on is None:
            values.pop("once_on")
        try:
            routines.do_edit_routine(user, gid, rid, **values)
        except UserError as e:
            if e.status in (403, 404):
                raise
            error = e.message
        else:
            messages.success(request, _("Saved. The next reminders follow the new time."))
            return redirect(f"{reverse('community:routines', args=[gid])}#routine-{rid}")
    return render(
        request,
        "community/routine_edit.html",
        {
            "group": membership.group,
            "membership": membership,
            "routine": routine,
            "values": values,
            "weekdays": WEEKDAYS,
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def today(request: HttpRequest) -> HttpResponse:
    """The member's day: reminders, today's routines in every group, what is coming."""
    user = _user(request)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "read":
                routines.do_mark_reminders_read(
                    user, [request.POST.get("reminder")], everything=False
                )
                return redirect(f"{reverse('community:today')}#reminders")
            if action == "read_all":
                routines.do_mark_reminders_read(user, everything=True)
                messages.success(request, _("All reminders marked as read."))
                return redirect(f"{reverse('community:today')}#reminders")
            gid = parse_id(request.POST.get("group"), "not_found")
            anchor = _small_action(request, gid, action)
            if anchor is None:
                raise UserError("invalid_action", _("Unknown action."))
            return redirect(f"{reverse('community:today')}#{anchor}")
        except UserError as e:
            if e.status in (403, 404):
                raise
            messages.error(request, str(e.message))
            return redirect("community:today")
    found = list(routines.reminders_of(user))
    for r in found:
        r.shown_title = routines.reminder_title(r)  # type: ignore[attr-defined]
    return render(
        request,
        "community/today.html",
        {
            "reminders": found,
            "unread": sum(1 for r in found if r.read_at is None),
            "groups": routines.today_of(user),
            "appointments": routines.upcoming_appointments(user),
            "events": routines.upcoming_events(user),
            "day": reminders.local_day(user),
            "weekdays": WEEKDAYS,
        },
    )


urlpatterns: list[URLPattern] = [
    path("groups/<int:gid>/routines/", routines_page, name="routines"),
    path("groups/<int:gid>/routines/<int:rid>/edit/", routine_edit, name="routine_edit"),
    path("today/", today, name="today"),
]
