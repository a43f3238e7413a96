"""Events and expert sessions over the API: /api/v1/groups/{gid}/events..."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from tongzhou.accounts.models import User
from tongzhou.community import events
from tongzhou.community.models import Event, EventQuestion
from tongzhou.groups.models import Membership
from tongzhou.groups.queries import access_group
from tongzhou.knowledge.models import Category

router = Router(tags=["events"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # the API's auth guarantees it


class EventIn(Schema):
    kind: str  # lecture, qa or meetup
    title: str
    description: str = ""
    speaker: str = ""
    # ISO 8601; without an offset it is a wall time in your own timezone (your profile's).
    starts_at: str
    ends_at: str
    place: str = ""  # required for meetups
    capacity: int | None = None  # meetups only; empty: no limit
    topic: str = ""  # its #topic in the chat; default "event<id>"
    remind_minutes: int = 60  # 0: no reminder


class EventPatch(Schema):
    kind: str | None = None
    title: str | None = None
    description: str | None = None
    speaker: str | None = None
    starts_at: str | None = None
    ends_at: str | None = None
    place: str | None = None
    capacity: int | None = None  # send null to remove the limit
    topic: str | None = None
    remind_minutes: int | None = None


class RsvpIn(Schema):
    going: bool


class QuestionIn(Schema):
    text: str


class OnIn(Schema):
    on: bool = True


class AnswerIn(Schema):
    text: str


class EntryIn(Schema):
    category: str = Category.TREATMENT


def _person(user: User | None) -> dict[str, Any] | None:
    return {"id": user.pk, "display_name": user.display_name} if user else None


def question_dict(row: dict[str, Any]) -> dict[str, Any]:
    q: EventQuestion = row["question"]
    return {
        "id": q.pk,
        "text": q.text,
        "author": _person(q.author),
        "created_at": q.created_at.isoformat(),
        "votes": row["votes"],
        "voted": row["voted"],
        "mine": row["mine"],
        "answer": q.answer or None,
        "answered_by": _person(q.answered_by),
        "answered_at": q.answered_at.isoformat() if q.answered_at else None,
        "hidden": q.hidden_at is not None,
    }


def event_dict(
    membership: Membership, event: Event, *, full: bool = True, request: HttpRequest | None = None
) -> dict[str, Any]:
    url = events.event_url(event)
    out: dict[str, Any] = {
        "id": event.pk,
        "group": event.group_id,
        "kind": event.kind,
        "title": event.title,
        "description": event.description,
        "speaker": event.speaker,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "place": event.place,
        "capacity": event.capacity,
        "topic": event.topic,
        "remind_minutes": event.remind_minutes,
        "cancelled": event.cancelled_at is not None,
        "entry": event.entry_id,
        "url": url,
        "ics": f"{url}event.ics",
        **events.counts(event),
        "my_rsvp": events.rsvp_of(event, membership.user_id),
    }
    if full:
        out["attendees"] = [_person(u) for u in events.attendees(event)]
        out["questions"] = [question_dict(r) for r in events.questions_of(membership, event)]
        out["topic_messages"] = [
            {**m, "created_at": m["created_at"].isoformat()} for m in events.topic_messages(event)
        ]
    return out


def _event(request: HttpRequest, gid: int, evid: int) -> dict[str, Any]:
    membership = access_group(request.user, gid)
    return event_dict(membership, events.event_in(membership, evid))


@router.get("/groups/{gid}/events", operation_id="list_events")
def list_events(request: HttpRequest, gid: int) -> dict[str, Any]:
    """Upcoming and running events (soonest first), then past ones (latest first)."""
    membership = access_group(request.user, gid)
    found = events.events_of(membership)
    return {k: [event_dict(membership, e, full=False) for e in rows] for k, rows in found.items()}


@router.post("/groups/{gid}/events", response={201: dict}, operation_id="create_event")
def create_event(request: HttpRequest, gid: int, payload: EventIn) -> Status[dict[str, Any]]:
    """Leaders and moderators announce a talk, an "ask the expert" session or a meetup."""
    event = events.do_create_event(_user(request), gid, **payload.dict())
    return Status(201, _event(request, gid, event.pk))


@router.get("/groups/{gid}/events/{evid}", operation_id="get_event")
def get_event(request: HttpRequest, gid: int, evid: int) -> dict[str, Any]:
    """The event with who is going, its questions (most votes first) and its chat thread."""
    return _event(request, gid, evid)


@router.patch("/groups/{gid}/events/{evid}", operation_id="update_event")
def update_event(request: HttpRequest, gid: int, evid: int, payload: EventPatch) -> dict[str, Any]:
    """Change what was sent; people going are told of a new time; more places move people up
    from the waiting list."""
    events.do_update_event(_user(request), gid, evid, **payload.dict(exclude_unset=True))
    return _event(request, gid, evid)


@router.post("/groups/{gid}/events/{evid}/cancel", operation_id="cancel_event")
def cancel_event(request: HttpRequest, gid: int, evid: int) -> dict[str, Any]:
    """Call it off; everyone going or waiting gets a reminder saying so."""
    events.do_cancel_event(_user(request), gid, evid)
    return _event(request, gid, evid)


@router.post("/groups/{gid}/events/{evid}/rsvp", operation_id="rsvp_event")
def rsvp_event(request: HttpRequest, gid: int, evid: int, payload: RsvpIn) -> dict[str, Any]:
    """Going (or the waiting list when it is full; my_rsvp.position says where) or not."""
    events.do_rsvp(_user(request), gid, evid, payload.going)
    return _event(request, gid, evid)


@router.post(
    "/groups/{gid}/events/{evid}/questions",
    response={201: dict},
    operation_id="ask_event_question",
)
def ask_event_question(
    request: HttpRequest, gid: int, evid: int, payload: QuestionIn
) -> Status[dict[str, Any]]:
    """Send in a question, until the event ends."""
    q = events.do_ask(_user(request), gid, evid, payload.text)
    return Status(201, question_dict({"question": q, "votes": 0, "voted": False, "mine": True}))


def _question(request: HttpRequest, gid: int, evid: int, qid: int) -> dict[str, Any]:
    membership = access_group(request.user, gid)
    event = events.event_in(membership, evid)
    row = next(r for r in events.questions_of(membership, event) if r["question"].pk == qid)
    return question_dict(row)


@router.post("/groups/{gid}/events/{evid}/questions/{qid}/vote", operation_id="vote_event_question")
def vote_event_question(
    request: HttpRequest, gid: int, evid: int, qid: int, payload: OnIn
) -> dict[str, Any]:
    """Upvote a question (on=false takes the vote back); one each, not your own."""
    events.do_vote(_user(request), gid, evid, qid, payload.on)
    return _question(request, gid, evid, qid)


@router.post(
    "/groups/{gid}/events/{evid}/questions/{qid}/answer", operation_id="answer_event_question"
)
def answer_event_question(
    request: HttpRequest, gid: int, evid: int, qid: int, payload: AnswerIn
) -> dict[str, Any]:
    """The leader, a moderator or a verified professional answers (again: replaces it)."""
    events.do_answer(_user(request), gid, evid, qid, payload.text)
    return _question(request, gid, evid, qid)


@router.post("/groups/{gid}/events/{evid}/questions/{qid}/hide", operation_id="hide_event_question")
def hide_event_question(
    request: HttpRequest, gid: int, evid: int, qid: int, payload: OnIn
) -> dict[str, Any]:
    """A moderator hides a question from members (on=false shows it again)."""
    events.do_hide_question(_user(request), gid, evid, qid, payload.on)
    return _question(request, gid, evid, qid)


@router.post(
    "/groups/{gid}/events/{evid}/entry", response={201: dict}, operation_id="make_event_entry"
)
def make_event_entry(
    request: HttpRequest, gid: int, evid: int, payload: EntryIn
) -> Status[dict[str, Any]]:
    """After the event: a draft knowledge entry of its answered questions (once)."""
    entry = events.do_make_entry(_user(request), gid, evid, payload.category)
    return Status(201, {"entry": entry.pk, "event": evid, "status": entry.status})
