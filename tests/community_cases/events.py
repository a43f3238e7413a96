"""Access-matrix rows of events and expert sessions (see tests/community_cases/__init__.py).

{evid}: an upcoming "ask the expert" session the leader made; {evqid}: a question "member"
sent in to it. Members take part (RSVP, ask, vote, not for their own question); leaders and
moderators create, change, cancel, answer and hide; after the event they make the entry (the
session here has not happened yet, so they are told so: 409). The .ics download is a file, not
a page: its rows are in tests/test_events.py (test_calendar_file_access)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tests.access import MEMBERS, MODS, expect
from tests.conftest import World

EVENT = "/api/v1/groups/{gid}/events/{evid}"
PAGE = "/groups/{gid}/events/{evid}/"
TITLE = "Ask the radiotherapist (matrix)"

NEW_EVENT = {
    "kind": "meetup",
    "title": "Tea in the park",
    "starts_at": "2031-05-01T10:00:00+08:00",
    "ends_at": "2031-05-01T12:00:00+08:00",
    "place": "Yuexiu Park, north gate",
    "capacity": 10,
}
NEW_EVENT_FORM = {
    "kind": "qa",
    "title": "Ask the nurse",
    "starts_at": "2031-05-01T19:30",
    "ends_at": "2031-05-01T20:30",
    "remind_minutes": "60",
}

API_CASES: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("list_events", "get", "/api/v1/groups/{gid}/events", None, expect(MEMBERS, 200)),
    ("create_event", "post", "/api/v1/groups/{gid}/events", NEW_EVENT, expect(MODS, 201)),
    ("get_event", "get", EVENT, None, expect(MEMBERS, 200)),
    ("update_event", "patch", EVENT, {"title": "Ask the nurse"}, expect(MODS, 200)),
    ("cancel_event", "post", EVENT + "/cancel", None, expect(MODS, 200)),
    ("rsvp_event", "post", EVENT + "/rsvp", {"going": True}, expect(MEMBERS, 200)),
    (
        "ask_event_question",
        "post",
        EVENT + "/questions",
        {"text": "Can I eat before the session?"},
        expect(MEMBERS, 201),
    ),
    # "member" sent {evqid}: no vote for one's own question (403 like the other refusals).
    (
        "vote_event_question",
        "post",
        EVENT + "/questions/{evqid}/vote",
        {"on": True},
        expect(MODS, 200),
    ),
    (
        "answer_event_question",
        "post",
        EVENT + "/questions/{evqid}/answer",
        {"text": "Yes, a light meal."},
        expect(MODS, 200),
    ),
    (
        "hide_event_question",
        "post",
        EVENT + "/questions/{evqid}/hide",
        {"on": True},
        expect(MODS, 200),
    ),
    (
        "make_event_entry",
        "post",
        EVENT + "/entry",
        {"category": "diet"},
        expect(MODS, 409),  # not over yet; test_events.py makes one after an event
    ),
]

PAGE_CASES: list[tuple[str, str, dict[str, int]]] = [
    ("events", "/groups/{gid}/events/", expect(MEMBERS, 200)),
    ("event_new", "/groups/{gid}/events/new/", expect(MODS, 200)),
    ("event", PAGE, expect(MEMBERS, 200)),
    ("event_edit", PAGE + "edit/", expect(MODS, 200)),
]

PAGE_POSTS: list[tuple[str, str, dict[str, str], dict[str, int]]] = [
    ("event_create", "/groups/{gid}/events/new/", NEW_EVENT_FORM, expect(MODS, 302)),
    (
        "event_change",
        PAGE + "edit/",
        {**NEW_EVENT_FORM, "title": "Ask the radiotherapist"},
        expect(MODS, 302),
    ),
    ("event_rsvp", PAGE, {"action": "rsvp", "going": "1"}, expect(MEMBERS, 302)),
    ("event_ask", PAGE, {"action": "ask", "text": "Is it recorded?"}, expect(MEMBERS, 302)),
    (
        "event_vote",
        PAGE,
        {"action": "vote", "question": "{evqid}", "on": "1"},
        expect(MODS, 302),
    ),
    (
        "event_answer",
        PAGE,
        {"action": "answer", "question": "{evqid}", "text": "Yes."},
        expect(MODS, 302),
    ),
    ("event_hide", PAGE, {"action": "hide", "question": "{evqid}"}, expect(MODS, 302)),
    ("event_cancel", PAGE, {"action": "cancel"}, expect(MODS, 302)),
]


def ids(world: World, path: str) -> dict[str, Any]:
    """Objects this feature's paths name ({placeholder}: value), made only when named. The same
    objects whenever asked again (a form value names the question of the path's event)."""
    if "{evid}" not in path and "{evqid}" not in path:
        return {}
    from tongzhou.community.models import Event, EventQuestion

    leader, member = world.users["leader"], world.users["member"]
    start = timezone.now() + dt.timedelta(days=2)
    event, _new = Event.objects.get_or_create(
        group=world.group,
        title=TITLE,
        defaults={
            "kind": Event.Kind.QA,
            "starts_at": start,
            "ends_at": start + dt.timedelta(hours=1),
            "topic": "radiotherapy",
            "created_by": leader,
        },
    )
    found: dict[str, Any] = {"evid": event.pk}
    if "{evqid}" in path:
        question, _new = EventQuestion.objects.get_or_create(
            event=event, author=member, defaults={"text": "Will my mouth dry out for good?"}
        )
        found["evqid"] = question.pk
    return found
