"""Direct messages between two members: the rules, the only code that writes them, and the
reads the pages, the API and the socket share.

Rules (each refusal is a UserError a person can read, the same on the page and in the API):
- the two must share an active group; the conversation belongs to the group they met in
  (its leader and moderators receive reports about it, and nothing else of it);
- the starter must have been a member of that group for the group's `dm_min_days`
  (from Membership.joined_at); the group's leader and moderators and its verified
  professionals are exempt: people turn to them, and the leader chose them;
- the recipient must accept direct messages (Profile.dm_open); switching it off stops new
  conversations; conversations already going on carry on (a block ends one);
- a block, either way, stops messages both ways; the blocked person is told only that they
  cannot message this member, exactly as when direct messages are off;
- starting new conversations is rate limited (RATE_LIMITS "dm_start_hour"/"dm_start_day"),
  sending is held to the chat's sending rate;
- once started, both may reply whatever their age in the group; when they no longer share an
  active group the conversation is read-only;
- a new member's contact details, links and invitations to talk elsewhere are refused, and
  selling with a way to buy is refused from anyone; crisis words show the sender the crisis
  lines (nobody else is told: moderators never read direct messages unless one is reported).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tongzhou.accounts.models import Profile, User
from tongzhou.community.models import Block, Conversation, DirectMessage, DirectReport
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.models import Membership
from tongzhou.realtime import publish_to_user
from tongzhou.safety.crisis import crisis_signals
from tongzhou.safety.limits import check_rate, check_rates
from tongzhou.safety.models import Report
from tongzhou.safety.queries import crisis_card
from tongzhou.safety.spam import Sender, is_spam, spam_signals
from tongzhou.text import clean

log = logging.getLogger(__name__)

# New conversations a member may start: settings.RATE_LIMITS (TONGZHOU_RATE_LIMITS overrides).
START_LIMITS = ("dm_start_hour", "dm_start_day")
MAX_CHARS = 4000
PAGE = 50
REASONS = Report.Reason  # the same reasons as reports in the group chat
HANDLE_ACTIONS = ("handled", "warn", "mute", "remove")


class DirectMessageDict(TypedDict):
    id: int
    conversation: int
    sender: dict[str, Any]
    text: str
    created_at: str


# --- small reads ----------------------------------------------------------------------------


def not_found() -> UserError:
    return UserError("conversation_not_found", _("There is no such conversation."), 404)


def unavailable() -> UserError:
    """Said alike for a block (either way) and for direct messages switched off, so that a
    blocked person cannot tell they were blocked."""
    return UserError(
        "dm_unavailable",
        _(
            "You cannot send direct messages to this member. They may have switched direct "
            "messages off."
        ),
        403,
    )


def no_such_member() -> UserError:
    return UserError(
        "member_not_found",
        _("You do not share a group with this member, or they are not here."),
        404,
    )


def pair(one: int, two: int) -> tuple[int, int]:
    return (one, two) if one < two else (two, one)


def other_id(conv: Conversation, user_id: int) -> int:
    return conv.user_b_id if conv.user_a_id == user_id else conv.user_a_id


def is_blocked(one: int, two: int) -> bool:
    return Block.objects.filter(
        Q(blocker_id=one, blocked_id=two) | Q(blocker_id=two, blocked_id=one)
    ).exists()


def has_blocked(blocker: int, blocked: int) -> bool:
    return Block.objects.filter(blocker_id=blocker, blocked_id=blocked).exists()


def shared_group_ids(one: int, two: int) -> list[int]:
    """Groups where both are active members, the one the first joined earliest first."""
    theirs = Membership.objects.filter(user_id=two, status=Membership.Status.ACTIVE).values(
        "group_id"
    )
    return list(
        Membership.objects.filter(user_id=one, status=Membership.Status.ACTIVE, group_id__in=theirs)
        .order_by("joined_at", "pk")
        .values_list("group_id", flat=True)
    )


def dm_open(user_id: int) -> bool:
    opened = Profile.objects.filter(user_id=user_id).values_list("dm_open", flat=True).first()
    return opened is None or bool(opened)


def access_conversation(user: Any, conv_id: object) -> Conversation:
    """One of the caller's own conversations; anyone else's is the same 404 as a missing one."""
    if not getattr(user, "is_authenticated", False):
        raise not_found()
    conv = (
        Conversation.objects.filter(pk=parse_id(conv_id, "conversation_not_found"))
        .filter(Q(user_a_id=user.pk) | Q(user_b_id=user.pk))
        .select_related("user_a", "user_b", "group")
        .first()
    )
    if conv is None:
        raise not_found()
    return conv


def writable_group(conv: Conversation) -> int | None:
    """The group the two still share (theirs first), or None: the conversation is read-only."""
    users = User.objects.filter(pk__in=[conv.user_a_id, conv.user_b_id], is_active=True)
    if users.count() != 2:
        return None
    shared = shared_group_ids(conv.user_a_id, conv.user_b_id)
    if conv.group_id in shared:
        return conv.group_id
    return shared[0] if shared else None


def exempt(membership: Membership) -> bool:
    """The leader, moderators and verified professionals may start at once."""
    return membership.can_moderate or membership.verified_professional_at is not None


def may_start_from(membership: Membership) -> Any:
    return membership.joined_at + timedelta(days=membership.group.dm_min_days)


def check_too_new(membership: Membership) -> None:
    if exempt(membership):
        return
    ready = may_start_from(membership)
    if ready > timezone.now():
        raise UserError(
            "dm_too_new",
            _(
                "In %(group)s, members can start direct messages %(days)d days after joining. "
                "From %(date)s you can start one. Until then you can reply when someone writes "
                "to you, and talk in the group chat."
            )
            % {
                "group": membership.group.name,
                "days": membership.group.dm_min_days,
                "date": date_format(timezone.localtime(ready), "DATETIME_FORMAT"),
            },
            403,
        )


def _start_limits() -> dict[str, tuple[int, int]]:
    return {name: settings.RATE_LIMITS[name] for name in START_LIMITS}


def check_start_rate(user_id: int) -> None:
    """How many conversations this member started lately (counted from the rows)."""
    first_sender = Subquery(
        DirectMessage.objects.filter(conversation=OuterRef("pk"))
        .order_by("id")
        .values("sender_id")[:1]
    )
    started = Conversation.objects.annotate(first_sender=first_sender).filter(first_sender=user_id)
    now = timezone.now()
    for limit, seconds in _start_limits().values():
        if started.filter(created_at__gte=now - timedelta(seconds=seconds)).count() >= limit:
            if seconds <= 3600:
                text = _(
                    "You have started many conversations this hour. Please try again in an hour."
                )
            else:
                text = _("You have started many conversations today. Please try again tomorrow.")
            raise UserError("rate_limited", text, 429)


def pick_group(user: User, other: int, group_id: object = None) -> Membership:
    """The starter's membership of the group the conversation starts in: the one asked for,
    else the shared group where they may start (their oldest first)."""
    shared = shared_group_ids(user.pk, other)
    if group_id not in (None, ""):
        gid = parse_id(group_id, "member_not_found")
        if gid not in shared:
            raise no_such_member()
        shared = [gid]
    if not shared:
        raise no_such_member()
    mine = {
        m.group_id: m
        for m in Membership.objects.filter(
            user_id=user.pk, group_id__in=shared, status=Membership.Status.ACTIVE
        ).select_related("group")
    }
    ordered = [mine[g] for g in shared if g in mine]
    for m in ordered:
        if exempt(m) or may_start_from(m) <= timezone.now():
            return m
    return ordered[0]


def check_can_start(user: User, other: object, group_id: object = None) -> tuple[Membership, User]:
    """Whether `user` may start a conversation with `other` (a user id); the starter's
    membership of the group it would start in and the other person."""
    other_pk = parse_id(other, "member_not_found")
    target = User.objects.filter(pk=other_pk, is_active=True).first()
    if target is None or target.pk == user.pk:
        raise no_such_member()
    membership = pick_group(user, target.pk, group_id)
    if is_blocked(user.pk, target.pk):
        if has_blocked(user.pk, target.pk):
            raise UserError(
                "dm_you_blocked",
                _("You have blocked this member. Unblock them first to write to them."),
                403,
            )
        raise unavailable()
    if not dm_open(target.pk):
        raise unavailable()
    check_too_new(membership)
    return membership, target


def existing_conversation(one: int, two: int) -> Conversation | None:
    a, b = pair(one, two)
    return Conversation.objects.filter(user_a_id=a, user_b_id=b).first()


def check_can_send(user: User, conv: Conversation) -> Membership:
    """The sender's membership of the group the two share; refusals as the rules say."""
    gid = writable_group(conv)
    if gid is None:
        raise UserError(
            "conversation_read_only",
            _("You no longer share a group with this member, so this conversation is read-only."),
            403,
        )
    other = other_id(conv, user.pk)
    if has_blocked(user.pk, other):
        raise UserError(
            "dm_you_blocked",
            _("You have blocked this member. Unblock them first to write to them."),
            403,
        )
    if has_blocked(other, user.pk):
        raise unavailable()
    membership = (
        Membership.objects.filter(group_id=gid, user_id=user.pk, status=Membership.Status.ACTIVE)
        .select_related("group")
        .get()
    )
    until = membership.muted_until
    if until is not None and until > timezone.now():
        raise UserError(
            "muted",
            _("A moderator has paused your sending in this group until %(time)s.")
            % {"time": date_format(timezone.localtime(until), "DATETIME_FORMAT")},
            403,
        )
    return membership


def check_text(membership: Membership, text: object, client_id: object) -> str:
    if (
        not isinstance(client_id, str)
        or not 1 <= len(client_id) <= 64
        or clean(client_id) != client_id
    ):
        raise UserError("invalid_client_id", _("client_id must be 1 to 64 characters."))
    words = clean(text) if isinstance(text, str) else ""
    if not words:
        raise UserError("empty_message", _("Write something before sending."))
    if len(words) > MAX_CHARS:
        raise UserError(
            "message_too_long",
            _(
                "This message is %(n)d characters long; the most is %(max)d. Please shorten it "
                "or send it in parts."
            )
            % {"n": len(words), "max": MAX_CHARS},
            413,
        )
    if membership.can_moderate:
        return words
    group = membership.group
    new = membership.joined_at > timezone.now() - timedelta(days=group.new_member_days)
    signals = spam_signals(words, Sender(new_member=new))
    selling = "ad:strong" in signals or (
        "ad" in signals and any(s.startswith(("contact", "link", "private")) for s in signals)
    )
    if new and ("new_member" in signals or is_spam(signals)):
        raise UserError(
            "dm_contact_refused",
            _(
                "New members cannot send contact details, links or invitations to talk "
                "elsewhere in direct messages. This keeps salesmen away from members. Please "
                "talk in the group for now."
            ),
            422,
        )
    if selling:
        raise UserError(
            "dm_selling_refused",
            _("Selling is not allowed in direct messages. Please do not advertise to members."),
            422,
        )
    return words


def notices_for(user: User, text: str) -> list[dict[str, Any]]:
    """What only the sender is told: the crisis lines when their words sound like despair."""
    return [crisis_notice(user)] if crisis_signals(text) else []


def crisis_notice(user: User) -> dict[str, Any]:
    card = crisis_card(user)
    card["text"] = _(
        "What you wrote sounds very hard. If you are thinking of ending your life, please talk "
        "to someone now: these lines are free and confidential. You can also tell your group's "
        "leader; they are there to help."
    )
    return {"type": "crisis", **card}


# --- serialising ----------------------------------------------------------------------------


def message_dict(m: DirectMessage) -> DirectMessageDict:
    return {
        "id": m.pk,
        "conversation": m.conversation_id,
        "sender": {"id": m.sender_id, "display_name": m.sender.display_name},
        "text": m.text,
        "created_at": m.created_at.isoformat(),
    }


def read_id(conv: Conversation, user_id: int) -> int:
    return conv.a_read_id if conv.user_a_id == user_id else conv.b_read_id


def unread_in(conv: Conversation, user_id: int) -> int:
    return (
        DirectMessage.objects.filter(conversation=conv, pk__gt=read_id(conv, user_id))
        .exclude(sender_id=user_id)
        .count()
    )


def unread_dm_count(user_id: int) -> int:
    """Direct messages waiting for the member, over all their conversations."""
    return (
        DirectMessage.objects.filter(
            Q(conversation__user_a_id=user_id, pk__gt=F("conversation__a_read_id"))
            | Q(conversation__user_b_id=user_id, pk__gt=F("conversation__b_read_id"))
        )
        .exclude(sender_id=user_id)
        .count()
    )


def conversation_dict(conv: Conversation, viewer: User) -> dict[str, Any]:
    other = conv.user_b if conv.user_a_id == viewer.pk else conv.user_a
    last = conv.messages.order_by("-id").select_related("sender").first()
    gid = writable_group(conv)
    return {
        "id": conv.pk,
        "with": {"id": other.pk, "display_name": other.display_name},
        "group": {"id": conv.group_id, "name": conv.group.name},
        "last_at": conv.last_at.isoformat(),
        "last_message": message_dict(last) if last else None,
        "unread": unread_in(conv, viewer.pk),
        "read_only": gid is None,
        "you_blocked": has_blocked(viewer.pk, other.pk),
        "url": reverse("community:conversation", args=[conv.pk]),
    }


def conversations_of(user: User) -> QuerySet[Conversation]:
    return (
        Conversation.objects.filter(Q(user_a_id=user.pk) | Q(user_b_id=user.pk))
        .filter(messages__isnull=False)
        .distinct()
        .select_related("user_a", "user_b", "group")
        .order_by("-last_at", "-pk")
    )


def list_messages(
    conv: Conversation, *, after: int | None = None, before: int | None = None, limit: int = PAGE
) -> list[DirectMessageDict]:
    limit = max(1, min(int(limit), 200))
    rows = conv.messages.select_related("sender")
    if after is not None:
        return [message_dict(m) for m in rows.filter(pk__gt=after).order_by("id")[:limit]]
    if before is not None:
        rows = rows.filter(pk__lt=before)
    page = list(rows.order_by("-id")[:limit])
    return [message_dict(m) for m in reversed(page)]


# --- writes ---------------------------------------------------------------------------------


def _publish_new(conv: Conversation, data: DirectMessageDict) -> None:
    """After commit, to both people's open pages (the sender's other tabs too)."""

    def send() -> None:
        for uid in (conv.user_a_id, conv.user_b_id):
            publish_to_user(
                uid,
                {
                    "type": "dm.new",
                    "conversation": conv.pk,
                    "message": dict(data),
                    "unread": unread_dm_count(uid),
                },
            )

    transaction.on_commit(send)


def _existing(user: User, client_id: object) -> DirectMessage | None:
    if not isinstance(client_id, str) or clean(client_id) != client_id:
        return None
    return (
        DirectMessage.objects.filter(sender=user, client_id=client_id)
        .select_related("sender", "conversation")
        .first()
    )


def _write(
    user: User, conv: Conversation, client_id: str, text: str
) -> tuple[DirectMessageDict, bool]:
    try:
        with transaction.atomic():
            m = DirectMessage.objects.create(
                conversation=conv, sender=user, client_id=client_id, text=text
            )
            Conversation.objects.filter(pk=conv.pk).update(last_at=m.created_at)
            mine = "a_read_id" if conv.user_a_id == user.pk else "b_read_id"
            Conversation.objects.filter(pk=conv.pk).update(**{mine: m.pk})  # one's own: read
            data = message_dict(m)
            _publish_new(conv, data)
    except IntegrityError:  # the same client_id raced in: answer with the stored message
        again = _existing(user, client_id)
        if again is None:
            raise
        return message_dict(again), False
    log.debug("direct message %s in conversation %s by user %s", m.pk, conv.pk, user.pk)
    return data, True


def _retry(user: User, client_id: object, conv_id: int | None) -> DirectMessage | None:
    previous = _existing(user, client_id)
    if previous is not None and conv_id is not None and previous.conversation_id != conv_id:
        raise UserError(
            "client_id_reused", _("This client_id was already used in another conversation."), 409
        )
    return previous


def do_start_conversation(
    user: User, other: object, *, client_id: object, text: object, group: object = None
) -> tuple[Conversation, DirectMessageDict, bool, list[dict[str, Any]]]:
    """Write the first message to someone (or, when the two already talk, the next one in that
    conversation). Returns (conversation, message, created, notices for the sender)."""
    previous = _retry(user, client_id, None)
    if previous is not None:  # a retried send lands once
        return previous.conversation, message_dict(previous), False, []
    other_pk = parse_id(other, "member_not_found")
    found = existing_conversation(user.pk, other_pk)
    if found is not None and found.messages.exists():  # they talk already: a reply
        data, created, notices = do_send_dm(user, found.pk, client_id=client_id, text=text)
        return access_conversation(user, found.pk), data, created, notices
    membership, target = check_can_start(user, other_pk, group)
    words = check_text(membership, text, client_id)
    check_start_rate(user.pk)
    check_rates(["send_minute", "send_hour"], DirectMessage.objects.filter(sender=user))
    a, b = pair(user.pk, target.pk)
    with transaction.atomic():  # a conversation exists only with its first message
        conv, _new = Conversation.objects.get_or_create(
            user_a_id=a, user_b_id=b, defaults={"group_id": membership.group_id}
        )
        conv = access_conversation(user, conv.pk)
        data, created = _write(user, conv, str(client_id), words)
    return conv, data, created, notices_for(user, words) if created else []


def do_send_dm(
    user: User, conv_id: object, *, client_id: object, text: object
) -> tuple[DirectMessageDict, bool, list[dict[str, Any]]]:
    """A reply in a conversation; a retried client_id answers with the stored message."""
    conv = access_conversation(user, conv_id)
    previous = _retry(user, client_id, conv.pk)
    if previous is not None:
        return message_dict(previous), False, []
    membership = check_can_send(user, conv)
    words = check_text(membership, text, client_id)
    check_rates(["send_minute", "send_hour"], DirectMessage.objects.filter(sender=user))
    if conv.group_id != membership.group_id:  # met elsewhere; reports now go to this group
        Conversation.objects.filter(pk=conv.pk).update(group_id=membership.group_id)
        conv.group_id = membership.group_id
    data, created = _write(user, conv, str(client_id), words)
    return data, created, notices_for(user, words) if created else []


def do_mark_read(user: User, conv_id: object, last_read_id: object = None) -> int:
    """Move the reader's marker forward (never back, never past the newest message)."""
    conv = access_conversation(user, conv_id)
    newest = conv.messages.order_by("-id").values_list("id", flat=True).first() or 0
    wanted = last_read_id if isinstance(last_read_id, int) else newest
    target = min(max(wanted, 0), newest)
    field = "a_read_id" if conv.user_a_id == user.pk else "b_read_id"
    Conversation.objects.filter(pk=conv.pk, **{f"{field}__lt": target}).update(**{field: target})
    return target


def check_may_block(user: User, other: object) -> User:
    """Anyone one shares a group or a conversation with; others are not found."""
    pk = parse_id(other, "member_not_found")
    target = User.objects.filter(pk=pk).first()
    if target is None or pk == user.pk:
        raise no_such_member()
    if not shared_group_ids(user.pk, pk) and existing_conversation(user.pk, pk) is None:
        raise no_such_member()
    return target


def do_block(user: User, other: object) -> Block:
    target = check_may_block(user, other)
    block, _created = Block.objects.get_or_create(blocker=user, blocked=target)
    return block


def do_unblock(user: User, other: object) -> None:
    pk = parse_id(other, "member_not_found")
    Block.objects.filter(blocker=user, blocked_id=pk).delete()


def blocked_by(user: User) -> list[Block]:
    return list(Block.objects.filter(blocker=user).select_related("blocked").order_by("-id"))


def do_report_dm(
    user: User, message_id: object, *, reason: object, note: object = ""
) -> DirectReport:
    """Hand one message (and who sent it) to the leader and moderators of the conversation's
    group. Only its recipient can; nothing else of the conversation goes with it."""
    pk = parse_id(message_id, "message_not_found")
    m = (
        DirectMessage.objects.filter(pk=pk)
        .filter(Q(conversation__user_a_id=user.pk) | Q(conversation__user_b_id=user.pk))
        .select_related("conversation")
        .first()
    )
    if m is None:
        raise UserError("message_not_found", _("There is no such message."), 404)
    if m.sender_id == user.pk:
        raise UserError("not_allowed", _("You cannot report your own message."), 403)
    if not isinstance(reason, str) or reason not in REASONS.values:
        raise UserError("invalid_reason", _("Choose a reason from the list."))
    words = clean(note) if isinstance(note, str) else ""
    if len(words) > 500:
        raise UserError("note_too_long", _("A note is at most %(max)d characters.") % {"max": 500})
    check_rate("report_hour", DirectReport.objects.filter(reporter=user))
    report, created = DirectReport.objects.get_or_create(
        message=m,
        reporter=user,
        defaults={"group_id": m.conversation.group_id, "reason": reason, "note": words},
    )
    if not created and report.handled_at is not None:  # reported again after it was handled
        report.reason, report.note, report.handled_at, report.handled_by = reason, words, None, None
        report.save(update_fields=["reason", "note", "handled_at", "handled_by"])
    return report


def open_dm_reports(group_id: int) -> list[DirectReport]:
    return list(
        DirectReport.objects.filter(group_id=group_id, handled_at__isnull=True)
        .select_related("message__sender", "reporter")
        .order_by("created_at", "pk")
    )


def dm_reports_for(group_id: int) -> list[dict[str, Any]]:
    """The moderation page's list: open reports with their times for the page."""
    return [
        {**dm_report_dict(r), "created": r.created_at, "sent": r.message.created_at}
        for r in open_dm_reports(group_id)
    ]


def dm_report_dict(r: DirectReport) -> dict[str, Any]:
    """What moderators see: the one message, who sent it, who reported it and why."""
    m = r.message
    return {
        "id": r.pk,
        "message": {
            "id": m.pk,
            "text": m.text,
            "created_at": m.created_at.isoformat(),
            "sender": {"id": m.sender_id, "display_name": m.sender.display_name},
        },
        "reporter": {"id": r.reporter_id, "display_name": r.reporter.display_name},
        "reason": r.reason,
        "reason_text": str(REASONS(r.reason).label),
        "note": r.note,
        "created_at": r.created_at.isoformat(),
        "handled": r.handled_at is not None,
    }


def do_handle_dm_report(
    mod: Membership,
    message_id: object,
    action: object,
    *,
    reason: object = "",
    minutes: object = None,
) -> list[DirectReport]:
    """A moderator of the group deals with the reports of one direct message: marks them
    handled, and may warn, mute or remove its sender with the group's usual tools."""
    from tongzhou.safety.actions import do_moderate_member

    pk = parse_id(message_id, "report_not_found")
    reports = list(
        DirectReport.objects.filter(
            group_id=mod.group_id, message_id=pk, handled_at__isnull=True
        ).select_related("message")
    )
    if not reports:
        raise UserError("report_not_found", _("There is no such report waiting here."), 404)
    if action not in HANDLE_ACTIONS:
        raise UserError("invalid_action", _("Choose an action from the list."))
    with transaction.atomic():
        if action != "handled":
            sender = reports[0].message.sender_id
            do_moderate_member(mod, sender, str(action), reason=reason, minutes=minutes)
        now = timezone.now()
        DirectReport.objects.filter(pk__in=[r.pk for r in reports]).update(
            handled_at=now, handled_by=mod.user
        )
    return reports
