"""Mutual aid: members ask for help (a medicine, company to an appointment, a room near the
hospital, donations) and others offer it.

Life of a request: a donation request, or one that reads like a salesman's (the chat's spam
checks), waits for a moderator (`pending`); until approved only its author and the group's
moderators see it, and a moderator approves it (`open`) or turns it down with a reason the
author sees (`declined`). Every other request is open at once. The author or a moderator marks
it `fulfilled` or `closed`, and may reopen it. Tongzhou never handles money: every donation
request carries a note saying so, on the page and in the API.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongzhou.accounts.models import User
from tongzhou.community.models import AidReply, AidRequest, Reminder
from tongzhou.community.reminders import as_reader, create_once, push
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.models import Membership
from tongzhou.groups.queries import access_group, access_moderation
from tongzhou.safety.checks import check_personal_data, moderators_of
from tongzhou.safety.limits import check_rates
from tongzhou.safety.spam import Sender, is_spam, spam_signals
from tongzhou.text import field_text

Status = AidRequest.Status
Kind = AidRequest.Kind

MONEY_NOTE = gettext_lazy(
    "Tongzhou never handles money. Any money you give moves outside Tongzhou, from you to "
    "the person asking. Before you give, check with the group's leader, and never give more "
    "than you can afford to lose."
)
# The statuses a list can be filtered by, and who may set which.
LISTED = (Status.OPEN, Status.FULFILLED, Status.CLOSED)
SETTABLE = (Status.OPEN, Status.FULFILLED, Status.CLOSED)
PAGE = 50


def not_found() -> UserError:
    return UserError("aid_not_found", _("There is no such request in this group."), 404)


def can_see(membership: Membership, req: AidRequest) -> bool:
    if req.status in (Status.PENDING, Status.DECLINED):
        return membership.can_moderate or req.author_id == membership.user_id
    return True


def can_manage(membership: Membership, req: AidRequest) -> bool:
    """Marking fulfilled, closed or open again: the author or a moderator."""
    return membership.can_moderate or req.author_id == membership.user_id


def request_in(membership: Membership, aid_id: object) -> AidRequest:
    """A request of the member's group that the member may see; else the same 404 as a
    missing one (a pending request's existence is not told to others)."""
    req = (
        AidRequest.objects.filter(
            group_id=membership.group_id, pk=parse_id(aid_id, "aid_not_found")
        )
        .select_related("author", "decided_by")
        .first()
    )
    if req is None or not can_see(membership, req):
        raise not_found()
    return req


def aid_url(req: AidRequest) -> str:
    return reverse("community:aid_request", kwargs={"gid": req.group_id, "aid_id": req.pk})


def _tell(user_ids: list[int], req: AidRequest, key: str, words: Callable[[], str]) -> None:
    """A reminder for each (once per key), worded in each one's language, pushed to open
    pages after commit."""
    made: list[Reminder] = []
    now = timezone.now()
    for uid in dict.fromkeys(user_ids):
        with as_reader(uid):
            title = words()
        r = create_once(
            uid,
            f"aid:{req.pk}:{key}",
            group_id=req.group_id,
            title=title[:200],
            url=aid_url(req),
            due_at=now,
        )
        if r is not None:
            made.append(r)
    if made:
        transaction.on_commit(lambda: push(made))


def _looks_like_selling(membership: Membership, text: str) -> list[str]:
    """The chat's salesman checks on the request's words (moderators are trusted)."""
    if membership.can_moderate:
        return []
    group = membership.group
    new = membership.joined_at > timezone.now() - timedelta(days=group.new_member_days)
    signals = spam_signals(text, Sender(new_member=new))
    return signals if is_spam(signals) else []


def do_create_request(
    user: User,
    group_id: int,
    *,
    kind: object,
    title: object,
    details: object = "",
    confirm_personal_data: bool = False,
) -> AidRequest:
    """Any member asks for help. Donation requests, and requests that read like selling, wait
    for a moderator; the others are open at once. Personal data (a phone number, a bank
    card) is asked about first, as in the chat: everyone in the group would see it."""
    membership = access_group(user, group_id)
    if kind not in Kind.values:
        raise UserError("invalid_kind", _("Choose what kind of help you need."))
    title_text = field_text(title, "title", _("Title"), 120)
    details_text = field_text(details, "details", _("Details"), 4000, required=False)
    words = f"{title_text}\n{details_text}"
    check_personal_data(words, bool(confirm_personal_data))
    check_rates(["send_minute", "send_hour"], AidRequest.objects.filter(author=user))
    selling = _looks_like_selling(membership, words)
    waits = kind == Kind.DONATION or bool(selling)
    with transaction.atomic():
        now = timezone.now()
        req = AidRequest.objects.create(
            group_id=group_id,
            author=user,
            kind=str(kind),
            title=title_text,
            details=details_text,
            status=Status.PENDING if waits else Status.OPEN,
            created_at=now,
            updated_at=now,
        )
        if waits:
            _tell(
                moderators_of(group_id, besides=user.pk),
                req,
                "pending",
                lambda: _("A help request waits for you: %(title)s") % {"title": req.title},
            )
    return req


def do_decide_request(
    user: User, group_id: int, aid_id: object, *, approve: bool, reason: object = ""
) -> AidRequest:
    """A moderator lets a waiting request through, or turns it down with a reason the author
    reads; an open request that should not be there can be taken down the same way."""
    membership = access_moderation(user, group_id)
    reason_text = field_text(reason, "reason", _("Reason"), 500, required=not approve)
    with transaction.atomic():
        req = AidRequest.objects.select_for_update().get(pk=request_in(membership, aid_id).pk)
        if approve and req.status != Status.PENDING:
            raise UserError("not_pending", _("This request is not waiting for a moderator."), 409)
        if not approve and req.status not in (Status.PENDING, Status.OPEN):
            raise UserError("not_pending", _("This request is not waiting for a moderator."), 409)
        req.status = Status.OPEN if approve else Status.DECLINED
        req.decided_by = user
        req.decision_reason = reason_text
        req.updated_at = timezone.now()
        req.save(update_fields=["status", "decided_by", "decision_reason", "updated_at"])
        if req.author_id != user.pk:
            _tell(
                [req.author_id],
                req,
                "approved" if approve else "declined",
                lambda: (
                    (
                        _("Your request is open to the group: %(title)s")
                        if approve
                        else _("Your request was not approved: %(title)s")
                    )
                    % {"title": req.title}
                ),
            )
    return req


def do_set_status(user: User, group_id: int, aid_id: object, status: object) -> AidRequest:
    """The author or a moderator marks the request fulfilled or closed, or opens it again."""
    membership = access_group(user, group_id)
    if status not in SETTABLE:
        raise UserError("invalid_status", _("Choose open, fulfilled or closed."))
    with transaction.atomic():
        req = AidRequest.objects.select_for_update().get(pk=request_in(membership, aid_id).pk)
        if not can_manage(membership, req):
            raise UserError(
                "not_allowed", _("Only the person who asked and the moderators can do this."), 403
            )
        if req.status not in SETTABLE:
            raise UserError(
                "not_open_yet",
                _("A moderator has to approve this request first."),
                409,
            )
        if req.status != status:
            req.status = str(status)
            req.updated_at = timezone.now()
            req.save(update_fields=["status", "updated_at"])
    return req


def do_reply(
    user: User,
    group_id: int,
    aid_id: object,
    *,
    text: object,
    offer: bool = False,
    confirm_personal_data: bool = False,
) -> AidReply:
    """A member answers a request, or offers help ("I can help"); the author is told."""
    membership = access_group(user, group_id)
    req = request_in(membership, aid_id)
    if req.status in (Status.PENDING, Status.DECLINED):
        raise UserError("not_open_yet", _("A moderator has to approve this request first."), 409)
    if req.status == Status.CLOSED:
        raise UserError("aid_closed", _("This request is closed."), 409)
    if offer and req.status != Status.OPEN:
        raise UserError("aid_fulfilled", _("This request already has the help it needed."), 409)
    body = field_text(text, "text", _("Reply"), 2000, required=not offer)
    if offer and not body:
        body = str(_("I can help."))
    check_personal_data(body, bool(confirm_personal_data))
    check_rates(["send_minute", "send_hour"], AidReply.objects.filter(author=user))
    with transaction.atomic():
        reply = AidReply.objects.create(request=req, author=user, text=body, offer=bool(offer))
        if req.author_id != user.pk:
            name = user.display_name or user.username
            _tell(
                [req.author_id],
                req,
                f"reply:{reply.pk}",
                lambda: (
                    (
                        _("%(name)s can help: %(title)s")
                        if offer
                        else _("%(name)s replied: %(title)s")
                    )
                    % {"name": name, "title": req.title}
                ),
            )
    return reply


# --- reading ---------------------------------------------------------------------------


def requests_of(
    membership: Membership, status: str | None = Status.OPEN, kind: str | None = None
) -> QuerySet[AidRequest]:
    """Requests a member may see, newest first. `status`: open, fulfilled, closed, or
    pending (moderators: all waiting; members: their own waiting or turned-down ones)."""
    qs = AidRequest.objects.filter(group_id=membership.group_id)
    if status == Status.PENDING:
        qs = qs.filter(status__in=[Status.PENDING, Status.DECLINED])
        if membership.can_moderate:
            qs = qs.filter(Q(status=Status.PENDING) | Q(author_id=membership.user_id))
        else:
            qs = qs.filter(author_id=membership.user_id)
    elif status in LISTED:
        qs = qs.filter(status=status)
    else:
        raise UserError("invalid_status", _("Choose open, fulfilled, closed or pending."))
    if kind:
        if kind not in Kind.values:
            raise UserError("invalid_kind", _("Choose what kind of help you need."))
        qs = qs.filter(kind=kind)
    return (
        qs.select_related("author")
        .annotate(
            reply_count=Count("replies", distinct=True),
            offer_count=Count("replies", filter=Q(replies__offer=True), distinct=True),
        )
        .order_by("-created_at", "-pk")
    )


def counts_of(membership: Membership) -> dict[str, int]:
    """How many requests each filter shows."""
    rows = dict(
        AidRequest.objects.filter(group_id=membership.group_id, status__in=LISTED)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    counts: dict[str, int] = {s: rows.get(s, 0) for s in LISTED}
    counts[Status.PENDING] = requests_of(membership, Status.PENDING).count()
    return counts


def replies_of(req: AidRequest) -> QuerySet[AidReply]:
    return req.replies.select_related("author").order_by("created_at", "pk")


def money_note(req: AidRequest) -> str | None:
    return str(MONEY_NOTE) if req.kind == Kind.DONATION else None


def person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "display_name": user.display_name or user.username}


def reply_dict(r: AidReply) -> dict[str, Any]:
    return {
        "id": r.pk,
        "author": person(r.author),
        "text": r.text,
        "offer": r.offer,
        "created_at": r.created_at.isoformat(),
    }


def request_dict(req: AidRequest, membership: Membership, *, full: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": req.pk,
        "group": req.group_id,
        "author": person(req.author),
        "kind": req.kind,
        "kind_label": str(req.get_kind_display()),
        "title": req.title,
        "details": req.details,
        "status": req.status,
        "status_label": str(req.get_status_display()),
        "created_at": req.created_at.isoformat(),
        "updated_at": req.updated_at.isoformat(),
        "money_note": money_note(req),
        "can_manage": can_manage(membership, req),
    }
    if req.status == Status.DECLINED:
        data["decision_reason"] = req.decision_reason
    if full:
        data["replies"] = [reply_dict(r) for r in replies_of(req)]
    else:
        data["reply_count"] = getattr(req, "reply_count", None)
        data["offer_count"] = getattr(req, "offer_count", None)
    return data
