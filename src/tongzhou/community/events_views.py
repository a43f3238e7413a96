"""Pages of events and expert sessions. Forms post back to the page and call the same actions
as the API, so everything works without script."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from tongzhou.accounts.models import User
from tongzhou.community import events
from tongzhou.community.events_ics import ics_for
from tongzhou.community.models import Event
from tongzhou.errors import UserError
from tongzhou.groups.queries import access_group, access_moderation
from tongzhou.groups.views import shows_user_errors
from tongzhou.knowledge.models import Category


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


def _remind_choices(current: object) -> list[tuple[int, str]]:
    choices = [
        (0, _("No reminder")),
        (15, _("15 minutes before")),
        (30, _("30 minutes before")),
        (60, _("1 hour before")),
        (120, _("2 hours before")),
        (24 * 60, _("1 day before")),
    ]
    if isinstance(current, str) and current.isdigit() and int(current) not in dict(choices):
        choices.append((int(current), _("%(n)s minutes before") % {"n": current}))
    return choices


@login_required
@shows_user_errors
@require_GET
def events_page(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    return render(
        request,
        "community/events.html",
        {
            "group": membership.group,
            "membership": membership,
            "zone": timezone.get_current_timezone_name(),
            **events.events_of(membership),
        },
    )


def _local(value: Any) -> str:
    """A moment as a datetime-local field shows it, in the member's zone."""
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if value else ""


def _form(request: HttpRequest, event: Event | None) -> dict[str, Any]:
    if request.method == "POST":
        keys = ("kind", "title", "description", "speaker", "starts_at", "ends_at", "place")
        values: dict[str, Any] = {k: request.POST.get(k, "") for k in keys}
        values.update(
            capacity=request.POST.get("capacity", ""),
            topic=request.POST.get("topic", ""),
            remind_minutes=request.POST.get("remind_minutes", "60"),
        )
        return values
    if event is None:
        return {"kind": Event.Kind.QA, "remind_minutes": "60"}
    return {
        "kind": event.kind,
        "title": event.title,
        "description": event.description,
        "speaker": event.speaker,
        "starts_at": _local(event.starts_at),
        "ends_at": _local(event.ends_at),
        "place": event.place,
        "capacity": "" if event.capacity is None else str(event.capacity),
        "topic": event.topic,
        "remind_minutes": str(event.remind_minutes),
    }


def _event_form(request: HttpRequest, gid: int, event: Event | None) -> HttpResponse:
    membership = access_moderation(_user(request), gid)
    values = _form(request, event)
    error = None
    if request.method == "POST":
        data = {k: (None if v == "" and k == "capacity" else v) for k, v in values.items()}
        try:
            if event is None:
                saved = events.do_create_event(_user(request), gid, **data)
                messages.success(request, _("The event is announced."))
            else:
                saved = events.do_update_event(_user(request), gid, event.pk, **data)
                messages.success(request, _("Saved."))
        except UserError as e:
            if e.status in (403, 404, 409):
                raise
            error = e.message
        else:
            return redirect("community:event", gid=gid, evid=saved.pk)
    return render(
        request,
        "community/event_form.html",
        {
            "group": membership.group,
            "membership": membership,
            "event": event,
            "values": values,
            "kinds": Event.Kind.choices,
            "remind_choices": _remind_choices(values.get("remind_minutes")),
            "zone": timezone.get_current_timezone_name(),
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def event_new(request: HttpRequest, gid: int) -> HttpResponse:
    return _event_form(request, gid, None)


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def event_edit(request: HttpRequest, gid: int, evid: int) -> HttpResponse:
    membership = access_moderation(_user(request), gid)
    event = events.event_in(membership, evid)
    if event.cancelled_at is not None:
        raise UserError("event_cancelled", _("This event was cancelled."), 409)
    return _event_form(request, gid, event)


def _on(post: QueryDict) -> bool:
    return post.get("on", "1") != "0"


Action = Callable[[User, int, int, QueryDict], Any]
EVENT_ACTIONS: dict[str, tuple[Action, str, str]] = {
    # action: (what it does, what to say after, where on the page to land)
    "rsvp": (
        lambda u, gid, evid, post: events.do_rsvp(u, gid, evid, post.get("going") == "1"),
        "",
        "",
    ),
    "ask": (
        lambda u, gid, evid, post: events.do_ask(u, gid, evid, post.get("text", "")),
        "asked",
        "#questions",
    ),
    "vote": (
        lambda u, gid, evid, post: events.do_vote(u, gid, evid, post.get("question"), _on(post)),
        "",
        "#questions",
    ),
    "answer": (
        lambda u, gid, evid, post: events.do_answer(
            u, gid, evid, post.get("question"), post.get("text", "")
        ),
        "answered",
        "#questions",
    ),
    "hide": (
        lambda u, gid, evid, post: events.do_hide_question(
            u, gid, evid, post.get("question"), _on(post)
        ),
        "saved",
        "#questions",
    ),
    "cancel": (
        lambda u, gid, evid, post: events.do_cancel_event(u, gid, evid),
        "cancelled",
        "",
    ),
    "make_entry": (
        lambda u, gid, evid, post: events.do_make_entry(
            u, gid, evid, post.get("category", Category.TREATMENT)
        ),
        "entry",
        "#entry",
    ),
}


def _said(what: str) -> str:
    return {
        "asked": _("Your question is in. Others can now vote for it."),
        "answered": _("The answer is saved."),
        "saved": _("Saved."),
        "cancelled": _("The event is cancelled. Everyone who was coming has been told."),
        "entry": _("A draft knowledge entry was made. A moderator reviews it as usual."),
    }.get(what, "")


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def event_page(request: HttpRequest, gid: int, evid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    event = events.event_in(membership, evid)
    here = reverse("community:event", args=[gid, event.pk])
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in EVENT_ACTIONS:
            raise UserError("invalid_action", _("Unknown action."))
        run, said, anchor = EVENT_ACTIONS[action]
        try:
            run(_user(request), gid, event.pk, request.POST)
        except UserError as e:
            if e.status in (403, 404):
                raise  # a refusal is a page with its status, not a note
            messages.error(request, str(e.message))
        else:
            if said:
                messages.success(request, _said(said))
        return redirect(here + anchor)
    counts = events.counts(event)
    return render(
        request,
        "community/event.html",
        {
            "group": membership.group,
            "membership": membership,
            "event": event,
            "zone": timezone.get_current_timezone_name(),
            "online": event.kind != Event.Kind.MEETUP,
            "over": events.is_over(event),
            "started": event.starts_at <= timezone.now(),
            "rsvp": events.rsvp_of(event, membership.user_id),
            "going": counts["going"],
            "waiting": counts["waiting"],
            "places_left": None
            if event.capacity is None
            else max(0, event.capacity - counts["going"]),
            "attendees": events.attendees(event),
            "questions": events.questions_of(membership, event),
            "can_speak": events.can_speak(membership),
            "thread": events.topic_messages(event),
            "entry": events.entry_of(event),
            "categories": Category.choices,
        },
    )


@login_required
@shows_user_errors
@require_GET
def event_ics(request: HttpRequest, gid: int, evid: int) -> HttpResponse:
    """The event as a calendar file (members only)."""
    membership = access_group(_user(request), gid)
    event = events.event_in(membership, evid)
    page = request.build_absolute_uri(reverse("community:event", args=[gid, event.pk]))
    response = HttpResponse(ics_for(event, page), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="event-{event.pk}.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns: list[URLPattern] = [
    path("groups/<int:gid>/events/", events_page, name="events"),
    path("groups/<int:gid>/events/new/", event_new, name="event_new"),
    path("groups/<int:gid>/events/<int:evid>/", event_page, name="event"),
    path("groups/<int:gid>/events/<int:evid>/edit/", event_edit, name="event_edit"),
    path("groups/<int:gid>/events/<int:evid>/event.ics", event_ics, name="event_ics"),
]
