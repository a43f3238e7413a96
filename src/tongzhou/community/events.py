"""Events and expert sessions: online talks, "ask the expert" sessions and meetups in person.

Leaders and moderators create, change and cancel events; members say whether they come (a
meetup with a capacity keeps a waiting list, moved up automatically), send in questions and
upvote them; the speaker side (leader, moderators, verified professionals) answers them. The
event's #topic gathers its chat thread; after the event its answers can become a knowledge
entry. Reminders go out before the start (`due_reminders`, a source of reminders.fire_due).

Times typed without a zone are in the creator's own timezone (Profile.timezone); they are
kept in UTC and shown to each member in theirs.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tongzhou.accounts.models import User
from tongzhou.chat.models import Message
from tongzhou.chat.render import plain_text
from tongzhou.community import reminders
from tongzhou.community.models import (
    Event,
    EventQuestion,
    EventQuestionVote,
    MessageTopic,
    Reminder,
    Rsvp,
)
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.models import Membership
from tongzhou.groups.queries import access_group, access_moderation
from tongzhou.knowledge.models import Category, Entry
from tongzhou.notify.queries import permalink
from tongzhou.text import clean, field_text

MAX_REMIND = 7 * 24 * 60  # minutes: a reminder at most a week before
MAX_QUESTIONS_EACH = 10  # per member and event
MAX_LENGTH = dt.timedelta(days=7)  # an event lasts at most a week
TOPIC = re.compile(r"\w{1,40}")
ENTRY_BODY_LIMIT = 19000
ONLINE = (Event.Kind.LECTURE, Event.Kind.QA)


# --- finding things ------------------------------------------------------------------------


def event_not_found() -> UserError:
    return UserError("event_not_found", _("There is no such event in this group."), 404)


def event_in(membership: Membership, event_id: object) -> Event:
    event = Event.objects.filter(
        group_id=membership.group_id, pk=parse_id(event_id, "event_not_found")
    ).first()
    if event is None:
        raise event_not_found()
    return event


def question_in(membership: Membership, event: Event, question_id: object) -> EventQuestion:
    """A question of the event; a hidden one exists for moderators only."""
    q = event.questions.filter(pk=parse_id(question_id, "question_not_found")).first()
    if q is None or (q.hidden_at is not None and not membership.can_moderate):
        raise UserError("question_not_found", _("There is no such question."), 404)
    return q


def can_speak(membership: Membership) -> bool:
    """Who answers questions: the leader, moderators and verified professionals."""
    return membership.can_moderate or membership.verified_professional_at is not None


def is_over(event: Event, now: dt.datetime | None = None) -> bool:
    return event.ends_at <= (now or timezone.now())


def event_url(event: Event) -> str:
    return reverse("community:event", args=[event.group_id, event.pk])


# --- checking what people type -------------------------------------------------------------


def _when(value: object, code: str, label: str, zone: dt.tzinfo) -> dt.datetime:
    """A moment from a form (2030-06-01T10:00, in the typist's zone) or the API (ISO 8601,
    with or without an offset)."""
    if isinstance(value, dt.datetime):
        at: dt.datetime | None = value
    else:
        try:
            at = parse_datetime(value.strip()) if isinstance(value, str) else None
        except ValueError:
            at = None
    if at is None:
        raise UserError(
            f"invalid_{code}",
            _("%(field)s: choose a day and a time.") % {"field": label},
        )
    if timezone.is_naive(at):
        at = at.replace(tzinfo=zone)  # a wall time in the creator's zone
    return at.astimezone(dt.UTC)


def _int(value: object, code: str, message: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise UserError(code, message)
    try:
        return int(str(value).strip())
    except ValueError:
        raise UserError(code, message) from None


def check_topic(value: object) -> str:
    """A #topic as the chat stores it: lower-case, without '#'; '' when none is given."""
    tag = clean(value).lstrip("#＃").strip().lower() if isinstance(value, str) else ""
    if tag and not TOPIC.fullmatch(tag):
        raise UserError(
            "invalid_topic",
            _("A topic is one word of letters or numbers, without spaces (at most 40)."),
        )
    return tag


FIELDS = (
    "kind",
    "title",
    "description",
    "speaker",
    "starts_at",
    "ends_at",
    "place",
    "capacity",
    "topic",
    "remind_minutes",
)


def check_event(user: User, data: dict[str, Any], current: Event | None = None) -> dict[str, Any]:
    """The event's fields from what was typed (`current`'s values where a field is left out:
    None), or a refusal that says what to fix."""
    old: dict[str, Any] = {f: getattr(current, f) for f in FIELDS} if current else {}

    def given(name: str) -> Any:
        value = data.get(name)
        return old.get(name) if value is None else value

    zone = reminders.zone_of(user)
    kind = given("kind")
    if kind not in Event.Kind.values:
        raise UserError("invalid_kind", _("Choose what kind of event it is."))
    out: dict[str, Any] = {
        "kind": kind,
        "title": field_text(given("title"), "title", _("Title"), 120),
        "description": field_text(
            given("description") or "", "description", _("Description"), 4000, required=False
        ),
        "speaker": field_text(given("speaker") or "", "speaker", _("Speaker"), 120, required=False),
        "place": field_text(given("place") or "", "place", _("Place"), 300, required=False),
        "topic": check_topic(given("topic") or ""),
    }
    for name in ("starts_at", "ends_at"):
        value = data.get(name)
        if value is None or value == "":
            if name not in old:
                label = _("Starts") if name == "starts_at" else _("Ends")
                raise UserError(f"empty_{name}", _("Please fill in: %(field)s.") % {"field": label})
            out[name] = old[name]
        else:
            label = _("Starts") if name == "starts_at" else _("Ends")
            out[name] = _when(value, name, label, zone)
    if out["ends_at"] <= out["starts_at"]:
        raise UserError("ends_before_start", _("The end must be after the start."))
    if out["ends_at"] - out["starts_at"] > MAX_LENGTH:
        raise UserError("too_long", _("An event lasts at most a week."))
    moved = current is None or out["starts_at"] != current.starts_at
    if moved and out["starts_at"] <= timezone.now():
        raise UserError("start_in_past", _("The start has already passed. Choose a later time."))
    if kind == Event.Kind.MEETUP:
        if not out["place"]:
            raise UserError("place_needed", _("A meetup needs a place: where do people meet?"))
        capacity = _int(
            data["capacity"] if "capacity" in data else old.get("capacity"),
            "invalid_capacity",
            _("Places: write a whole number, or leave it empty for no limit."),
        )
        if capacity is not None and capacity < 1:
            raise UserError(
                "capacity_too_small",
                _("Places: at least 1, or leave it empty for no limit."),
            )
        if capacity is not None and capacity > 100000:
            raise UserError("capacity_too_big", _("Places: at most 100000."))
        out["capacity"] = capacity
    else:
        out["capacity"] = None  # online: anyone may join
    remind = _int(
        given("remind_minutes"),
        "invalid_remind",
        _("Reminder: write the minutes before the start as a whole number."),
    )
    remind = 60 if remind is None else remind
    if not 0 <= remind <= MAX_REMIND:
        raise UserError(
            "invalid_remind", _("Reminder: between 0 minutes and a week before the start.")
        )
    out["remind_minutes"] = remind
    return out


# --- telling members (reminders in their language and timezone) ---------------------------


def _at(event: Event) -> str:
    return formats.date_format(timezone.localtime(event.starts_at), "DATETIME_FORMAT")


def _tell(event: Event, user_id: int, key: str, kind: str, due: dt.datetime) -> Reminder | None:
    with reminders.as_reader(user_id):
        values = {"title": event.title[:120], "time": _at(event)}
        if kind == "start":
            title = _("%(title)s starts at %(time)s") % values
        elif kind == "place":
            title = _("A place opened for you: %(title)s, %(time)s") % values
        elif kind == "moved":
            title = _("New time for %(title)s: %(time)s") % values
        else:
            title = _("Cancelled: %(title)s, %(time)s") % values
    return reminders.create_once(
        user_id, key, group_id=event.group_id, title=title[:200], url=event_url(event), due_at=due
    )


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y%m%dT%H%MZ")


# --- creating, changing, cancelling --------------------------------------------------------


def members_rsvps(event: Event) -> Any:
    """The event's answers from people still in the group: a removed member's yes holds no
    place, and they are told nothing more."""
    return Rsvp.objects.filter(
        event=event,
        user__memberships__group_id=event.group_id,
        user__memberships__status=Membership.Status.ACTIVE,
    )


def _promote(event: Event) -> list[Rsvp]:
    """Move people up from the waiting list while there are places; each is told."""
    moved: list[Rsvp] = []
    while True:
        going = members_rsvps(event).filter(status=Rsvp.Status.GOING).count()
        if event.capacity is not None and going >= event.capacity:
            return moved
        first = (
            members_rsvps(event).filter(status=Rsvp.Status.WAITING).order_by("updated_at", "pk")
        ).first()
        if first is None:
            return moved
        first.status, first.updated_at = Rsvp.Status.GOING, timezone.now()
        first.save(update_fields=["status", "updated_at"])
        _tell(event, first.user_id, f"event:{event.pk}:place", "place", timezone.now())
        moved.append(first)


def do_create_event(user: User, group_id: int, **data: Any) -> Event:
    """Leaders and moderators announce an event."""
    access_moderation(user, group_id)
    fields = check_event(user, data)
    with transaction.atomic():
        event = Event.objects.create(group_id=group_id, created_by=user, **fields)
        if not event.topic:
            event.topic = f"event{event.pk}"
            event.save(update_fields=["topic"])
    return event


def do_update_event(user: User, group_id: int, event_id: object, **data: Any) -> Event:
    """Change an event. Members going are told of a new time (and reminded again before it);
    more places move people up from the waiting list. Fewer places than people going sends
    nobody away: the newest wait until someone cancels."""
    membership = access_moderation(user, group_id)
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event_in(membership, event_id).pk)
        if event.cancelled_at is not None:
            raise UserError("event_cancelled", _("This event was cancelled."), 409)
        fields = check_event(user, data, event)
        if not fields["topic"]:
            fields["topic"] = event.topic or f"event{event.pk}"
        moved = fields["starts_at"] != event.starts_at
        for k, v in fields.items():
            setattr(event, k, v)
        event.save(update_fields=list(fields))
        _promote(event)
        if moved:
            now = timezone.now()
            for uid in (
                members_rsvps(event)
                .filter(status=Rsvp.Status.GOING)
                .values_list("user_id", flat=True)
            ):
                _tell(event, uid, f"event:{event.pk}:moved:{_stamp(event.starts_at)}", "moved", now)
    return event


def do_cancel_event(user: User, group_id: int, event_id: object) -> Event:
    """Call the event off; everyone going or waiting is told."""
    membership = access_moderation(user, group_id)
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event_in(membership, event_id).pk)
        if event.cancelled_at is not None:
            return event
        event.cancelled_at = timezone.now()
        event.save(update_fields=["cancelled_at"])
        told = members_rsvps(event).filter(status__in=[Rsvp.Status.GOING, Rsvp.Status.WAITING])
        for uid in told.values_list("user_id", flat=True):
            _tell(event, uid, f"event:{event.pk}:cancelled", "cancelled", event.cancelled_at)
    return event


# --- coming or not ---------------------------------------------------------------------------


def _open(event: Event) -> None:
    if event.cancelled_at is not None:
        raise UserError("event_cancelled", _("This event was cancelled."), 409)
    if is_over(event):
        raise UserError("event_over", _("This event is over."), 409)


def do_rsvp(user: User, group_id: int, event_id: object, going: bool) -> Rsvp:
    """A member says they come (a place, or the end of the waiting list when it is full) or
    not (their place goes to the first one waiting)."""
    membership = access_group(user, group_id)
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event_in(membership, event_id).pk)
        _open(event)
        _promote(event)  # a place freed by a member who left the group
        rsvp = Rsvp.objects.select_for_update().filter(event=event, user=user).first()
        was = rsvp.status if rsvp else None
        now = timezone.now()
        if going:
            if was in (Rsvp.Status.GOING, Rsvp.Status.WAITING):
                return rsvp  # type: ignore[return-value]  # was is set only with a row
            taken = members_rsvps(event).filter(status=Rsvp.Status.GOING).count()
            queue = members_rsvps(event).filter(status=Rsvp.Status.WAITING).exists()
            full = event.capacity is not None and (taken >= event.capacity or queue)
            status = Rsvp.Status.WAITING if full else Rsvp.Status.GOING
        elif rsvp is not None and was == Rsvp.Status.CANCELLED:
            return rsvp
        else:
            status = Rsvp.Status.CANCELLED  # also "not going" without having said yes
        if rsvp is None:
            rsvp = Rsvp.objects.create(event=event, user=user, status=status, updated_at=now)
        else:
            rsvp.status, rsvp.updated_at = status, now
            rsvp.save(update_fields=["status", "updated_at"])
        if was == Rsvp.Status.GOING and status == Rsvp.Status.CANCELLED:
            _promote(event)
    return rsvp


def waiting_position(event: Event, user_id: int) -> int | None:
    """1 for the first one waiting; None when not waiting."""
    mine = event.rsvps.filter(user_id=user_id, status=Rsvp.Status.WAITING).first()
    if mine is None:
        return None
    ahead = (
        members_rsvps(event)
        .filter(status=Rsvp.Status.WAITING)
        .filter(Q(updated_at__lt=mine.updated_at) | Q(updated_at=mine.updated_at, pk__lt=mine.pk))
    )
    return ahead.count() + 1


# --- questions ---------------------------------------------------------------------------------


def do_ask(user: User, group_id: int, event_id: object, text: object) -> EventQuestion:
    """A member sends in a question, before the session or during it."""
    membership = access_group(user, group_id)
    event = event_in(membership, event_id)
    _open(event)
    body = field_text(text, "question", _("Your question"), 1000)
    if event.questions.filter(author=user).count() >= MAX_QUESTIONS_EACH:
        raise UserError(
            "too_many_questions",
            _("You have sent %(n)d questions to this event; that is the most.")
            % {"n": MAX_QUESTIONS_EACH},
        )
    return EventQuestion.objects.create(event=event, author=user, text=body)


def do_vote(
    user: User, group_id: int, event_id: object, question_id: object, on: bool = True
) -> EventQuestion:
    """One vote per member and question (on, or taken back); not for one's own question."""
    membership = access_group(user, group_id)
    event = event_in(membership, event_id)
    q = question_in(membership, event, question_id)
    if q.author_id == user.pk:
        raise UserError("own_question", _("You cannot vote for your own question."), 403)
    _open(event)
    if on:
        EventQuestionVote.objects.get_or_create(question=q, user=user)
    else:
        EventQuestionVote.objects.filter(question=q, user=user).delete()
    return q


def do_answer(
    user: User, group_id: int, event_id: object, question_id: object, text: object
) -> EventQuestion:
    """The speaker side answers (or corrects its answer): leader, moderators, verified
    professionals."""
    membership = access_group(user, group_id)
    event = event_in(membership, event_id)
    if not can_speak(membership):
        raise UserError(
            "not_allowed",
            _("Only the leader, moderators and verified professionals answer questions here."),
            403,
        )
    q = question_in(membership, event, question_id)
    q.answer = field_text(text, "answer", _("Answer"), 4000)
    q.answered_by, q.answered_at = user, timezone.now()
    q.save(update_fields=["answer", "answered_by", "answered_at"])
    return q


def do_hide_question(
    user: User, group_id: int, event_id: object, question_id: object, hidden: bool = True
) -> EventQuestion:
    """A moderator takes a question down (or puts it back)."""
    membership = access_moderation(user, group_id)
    event = event_in(membership, event_id)
    q = question_in(membership, event, question_id)
    q.hidden_at = (q.hidden_at or timezone.now()) if hidden else None
    q.save(update_fields=["hidden_at"])
    return q


def questions_of(membership: Membership, event: Event) -> list[dict[str, Any]]:
    """The questions, most votes first (then the oldest); hidden ones for moderators only,
    at the end."""
    rows = event.questions.select_related("author", "answered_by").annotate(n=Count("votes"))
    if not membership.can_moderate:
        rows = rows.filter(hidden_at__isnull=True)
    mine = set(
        EventQuestionVote.objects.filter(
            question__event=event, user_id=membership.user_id
        ).values_list("question_id", flat=True)
    )
    ordered = sorted(rows, key=lambda q: (q.hidden_at is not None, -q.n, q.created_at, q.pk))
    return [
        {
            "question": q,
            "votes": q.n,
            "voted": q.pk in mine,
            "mine": q.author_id == membership.user_id,
        }
        for q in ordered
    ]


# --- the knowledge entry -------------------------------------------------------------------


def entry_body(event: Event) -> str:
    """Markdown of the answered questions, most votes first. Askers are not named (the entry
    outlives the session); the one who answered is."""
    answered = (
        event.questions.filter(hidden_at__isnull=True)
        .exclude(answer="")
        .select_related("answered_by")
        .annotate(n=Count("votes"))
        .order_by("-n", "created_at", "pk")
    )
    head = []
    if event.speaker:
        head.append(_("Speaker: %(name)s") % {"name": event.speaker})
    head.append(
        _("From the event on %(day)s.")
        % {"day": formats.date_format(timezone.localtime(event.starts_at), "DATE_FORMAT")}
    )
    parts = [" · ".join(head)]
    if event.description:
        parts.append(event.description)
    for q in answered:
        who = q.answered_by.display_name if q.answered_by else _("Former member")
        part = f"### {plain_text(q.text, 300)}\n\n{q.answer}\n\n— {who}"
        if sum(len(p) for p in parts) + len(part) > ENTRY_BODY_LIMIT:
            break
        parts.append(part)
    return "\n\n".join(parts)


def do_make_entry(
    user: User, group_id: int, event_id: object, category: object = Category.TREATMENT
) -> Entry:
    """After the event, its answered questions become a draft knowledge entry (once)."""
    from tongzhou.knowledge.actions import do_create_entry

    membership = access_moderation(user, group_id)
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event_in(membership, event_id).pk)
        if event.entry_id is not None:
            raise UserError(
                "entry_exists", _("A knowledge entry was already made from this event."), 409
            )
        if event.cancelled_at is not None:
            raise UserError("event_cancelled", _("This event was cancelled."), 409)
        if not is_over(event):
            raise UserError(
                "not_over", _("A knowledge entry can be made once the event is over."), 409
            )
        if not event.questions.filter(hidden_at__isnull=True).exclude(answer="").exists():
            raise UserError("no_answers", _("No question has been answered yet."))
        tags = [event.topic] if event.topic and len(event.topic) <= 20 else []
        entry = do_create_entry(
            user,
            group_id,
            title=event.title,
            body=entry_body(event),
            category=category,
            tags=tags,
        )
        event.entry = entry
        event.save(update_fields=["entry"])
    return entry


# --- reading -------------------------------------------------------------------------------


def events_of(membership: Membership, now: dt.datetime | None = None) -> dict[str, list[Event]]:
    """Upcoming and running events (soonest first), then past ones (latest first)."""
    now = now or timezone.now()
    member = Q(
        rsvps__user__memberships__group_id=F("group_id"),
        rsvps__user__memberships__status=Membership.Status.ACTIVE,
    )
    rows = Event.objects.filter(group_id=membership.group_id).annotate(
        going=Count("rsvps", distinct=True, filter=member & Q(rsvps__status=Rsvp.Status.GOING)),
        waiting=Count("rsvps", distinct=True, filter=member & Q(rsvps__status=Rsvp.Status.WAITING)),
    )
    return {
        "upcoming": list(rows.filter(ends_at__gt=now).order_by("starts_at", "pk")[:100]),
        "past": list(rows.filter(ends_at__lte=now).order_by("-starts_at", "-pk")[:50]),
    }


def rsvp_of(event: Event, user_id: int) -> dict[str, Any]:
    status = event.rsvps.filter(user_id=user_id).values_list("status", flat=True).first() or None
    return {
        "status": status,
        "position": waiting_position(event, user_id) if status == Rsvp.Status.WAITING else None,
    }


def attendees(event: Event) -> list[User]:
    """Who is going, in the order they said so (names are for the group's members)."""
    going = members_rsvps(event).filter(status=Rsvp.Status.GOING)
    return [r.user for r in going.select_related("user").order_by("updated_at", "pk")]


def counts(event: Event) -> dict[str, int]:
    by = dict(
        members_rsvps(event).values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return {"going": by.get(Rsvp.Status.GOING, 0), "waiting": by.get(Rsvp.Status.WAITING, 0)}


def topic_messages(event: Event, limit: int = 30) -> list[dict[str, Any]]:
    """The chat messages carrying the event's #topic (visible, not deleted), oldest first,
    with a link to each in the chat."""
    if not event.topic:
        return []
    rows = (
        MessageTopic.objects.filter(
            group_id=event.group_id,
            tag=event.topic.lower(),
            message__status=Message.Status.VISIBLE,
            message__deleted_at__isnull=True,
        )
        .select_related("message__sender")
        .order_by("-message_id")[:limit]
    )
    out = [
        {
            "id": t.message_id,
            "sender": t.message.sender.display_name if t.message.sender else _("Former member"),
            "text": plain_text(t.message.text, 200),
            "created_at": t.message.created_at,
            "url": permalink(event.group_id, t.message_id),
        }
        for t in rows
    ]
    out.reverse()
    return out


def entry_of(event: Event) -> Entry | None:
    return Entry.objects.filter(pk=event.entry_id).first() if event.entry_id else None


# --- reminders before the start --------------------------------------------------------------


def due_reminders(now: dt.datetime) -> list[Reminder]:
    """Reminders of this feature that are due at `now` (reminders.sources); each made with
    reminders.create_once, so a second call makes none. One per member who said they come,
    once the event is within its `remind_minutes` and has not started; the key holds the start,
    so a moved event reminds again."""
    made: list[Reminder] = []
    soon = Event.objects.filter(
        cancelled_at__isnull=True,
        remind_minutes__gt=0,
        starts_at__gt=now,
        starts_at__lte=now + dt.timedelta(minutes=MAX_REMIND),
    )
    for event in soon:
        due = event.starts_at - dt.timedelta(minutes=event.remind_minutes)
        if due > now:
            continue
        if event.capacity is not None:
            _promote(event)  # places freed by members who left the group
        key = f"event:{event.pk}:start:{_stamp(event.starts_at)}"
        going = members_rsvps(event).filter(status=Rsvp.Status.GOING)
        for uid in going.values_list("user_id", flat=True):
            if (r := _tell(event, uid, key, "start", due)) is not None:
                made.append(r)
    return made
