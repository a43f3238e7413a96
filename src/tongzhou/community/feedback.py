"""Suggestions for the group and its activities: members post, vote (one vote each, which they
can take back) and comment; the leader or a moderator answers and marks the suggestion
planned, done or declined, and its author is told."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.models import User
from tongzhou.community.models import Reminder, Suggestion, SuggestionComment, SuggestionVote
from tongzhou.community.reminders import as_reader, create_once, push
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.models import Membership
from tongzhou.groups.queries import access_group, access_moderation
from tongzhou.safety.limits import check_rates
from tongzhou.text import field_text

Status = Suggestion.Status
SORTS = ("votes", "newest")
ANSWERED = (Status.PLANNED, Status.DONE, Status.DECLINED)
PAGE = 100


def not_found() -> UserError:
    return UserError("suggestion_not_found", _("There is no such suggestion in this group."), 404)


def suggestion_in(membership: Membership, sg_id: object) -> Suggestion:
    found = (
        Suggestion.objects.filter(
            group_id=membership.group_id, pk=parse_id(sg_id, "suggestion_not_found")
        )
        .select_related("author", "answered_by")
        .annotate(vote_count=Count("votes"))
        .first()
    )
    if found is None:
        raise not_found()
    return found


def suggestion_url(s: Suggestion) -> str:
    return reverse("community:suggestion", kwargs={"gid": s.group_id, "sgid": s.pk})


def _tell(user_id: int, s: Suggestion, key: str, words: Callable[[], str]) -> None:
    """A reminder (once per key), worded in the reader's language."""
    with as_reader(user_id):
        title = words()
    r = create_once(
        user_id,
        f"suggestion:{s.pk}:{key}",
        group_id=s.group_id,
        title=title[:200],
        url=suggestion_url(s),
        due_at=timezone.now(),
    )
    if r is not None:
        made: list[Reminder] = [r]
        transaction.on_commit(lambda: push(made))


def do_create_suggestion(
    user: User, group_id: int, *, title: object, body: object = ""
) -> Suggestion:
    """Any member suggests something for the group."""
    access_group(user, group_id)
    fields = {
        "title": field_text(title, "title", _("Title"), 120),
        "body": field_text(body, "details", _("Details"), 4000, required=False),
    }
    check_rates(["send_minute", "send_hour"], Suggestion.objects.filter(author=user))
    return Suggestion.objects.create(group_id=group_id, author=user, **fields)


def do_vote(user: User, group_id: int, sg_id: object, on: bool = True) -> int:
    """One vote per member (on), or take it back (off). Returns the suggestion's vote count."""
    membership = access_group(user, group_id)
    s = suggestion_in(membership, sg_id)
    mine = SuggestionVote.objects.filter(suggestion=s, user=user)
    if on and not mine.exists():
        try:
            with transaction.atomic():
                SuggestionVote.objects.create(suggestion=s, user=user)
        except IntegrityError:  # a double tap raced in: the one vote is there
            pass
    elif not on:
        mine.delete()
    return SuggestionVote.objects.filter(suggestion=s).count()


def do_comment(user: User, group_id: int, sg_id: object, text: object) -> SuggestionComment:
    membership = access_group(user, group_id)
    s = suggestion_in(membership, sg_id)
    body = field_text(text, "text", _("Comment"), 2000)
    check_rates(["send_minute", "send_hour"], SuggestionComment.objects.filter(author=user))
    with transaction.atomic():
        c = SuggestionComment.objects.create(suggestion=s, author=user, text=body)
        if s.author_id != user.pk:
            name = user.display_name or user.username
            _tell(
                s.author_id,
                s,
                f"comment:{c.pk}",
                lambda: (
                    _("%(name)s commented on your suggestion: %(title)s")
                    % {"name": name, "title": s.title}
                ),
            )
    return c


def do_answer(
    user: User, group_id: int, sg_id: object, *, status: object, answer: object = ""
) -> Suggestion:
    """The leader or a moderator answers: planned, done, declined (or new again). A declined
    suggestion needs a reason. The author is told."""
    membership = access_moderation(user, group_id)
    if status not in Status.values:
        raise UserError("invalid_status", _("Choose new, planned, done or declined."))
    text = field_text(answer, "answer", _("Answer"), 2000, required=status == Status.DECLINED)
    with transaction.atomic():
        s = Suggestion.objects.select_for_update().get(pk=suggestion_in(membership, sg_id).pk)
        if s.status == status and s.answer == text:
            return suggestion_in(membership, s.pk)
        s.status = str(status)
        s.answer = text
        s.answered_by = user
        s.answered_at = timezone.now()
        s.save(update_fields=["status", "answer", "answered_by", "answered_at"])
        if s.author_id != user.pk:
            _tell(
                s.author_id,
                s,
                f"answer:{int(s.answered_at.timestamp())}",
                lambda: (
                    _("Your suggestion is now “%(status)s”: %(title)s")
                    % {"status": str(Status(s.status).label), "title": s.title}
                ),
            )
    return suggestion_in(membership, s.pk)


# --- reading ---------------------------------------------------------------------------


def suggestions_of(
    membership: Membership, *, status: str | None = None, sort: str = "votes"
) -> QuerySet[Suggestion]:
    if sort not in SORTS:
        raise UserError("invalid_sort", _("Sort by votes or newest."))
    qs = Suggestion.objects.filter(group_id=membership.group_id)
    if status:
        if status not in Status.values:
            raise UserError("invalid_status", _("Choose new, planned, done or declined."))
        qs = qs.filter(status=status)
    qs = qs.select_related("author").annotate(
        vote_count=Count("votes", distinct=True),
        comment_count=Count("comments", distinct=True),
        voted=Exists(
            SuggestionVote.objects.filter(suggestion=OuterRef("pk"), user_id=membership.user_id)
        ),
    )
    order = ("-vote_count", "-created_at", "-pk") if sort == "votes" else ("-created_at", "-pk")
    return qs.order_by(*order)


def has_voted(user_id: int, s: Suggestion) -> bool:
    return SuggestionVote.objects.filter(suggestion=s, user_id=user_id).exists()


def comments_of(s: Suggestion) -> QuerySet[SuggestionComment]:
    return s.comments.select_related("author").order_by("created_at", "pk")


def _person(u: User | None) -> dict[str, Any] | None:
    return None if u is None else {"id": u.pk, "display_name": u.display_name or u.username}


def comment_dict(c: SuggestionComment) -> dict[str, Any]:
    return {
        "id": c.pk,
        "author": _person(c.author),
        "text": c.text,
        "created_at": c.created_at.isoformat(),
    }


def suggestion_dict(s: Suggestion, user_id: int, *, full: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": s.pk,
        "group": s.group_id,
        "author": _person(s.author),
        "title": s.title,
        "body": s.body,
        "status": s.status,
        "status_label": str(s.get_status_display()),
        "votes": getattr(s, "vote_count", None),
        "voted": getattr(s, "voted", None),
        "answer": s.answer,
        "answered_at": s.answered_at.isoformat() if s.answered_at else None,
        "created_at": s.created_at.isoformat(),
    }
    if data["votes"] is None:
        data["votes"] = s.votes.count()
    if data["voted"] is None:
        data["voted"] = has_voted(user_id, s)
    if full:
        data["answered_by"] = _person(s.answered_by)
        data["comments"] = [comment_dict(c) for c in comments_of(s)]
    else:
        data["comment_count"] = getattr(s, "comment_count", 0)
    return data
