"""Tracking a question from asked to answered to resolved. Called inside the transactions of
chat.actions (send) and chat.changes (edit, delete); everything else here is an action of its
own."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.models import User
from tongzhou.chat.models import Message
from tongzhou.chat.serialize import MessageDict, message_dict
from tongzhou.errors import UserError
from tongzhou.groups.models import Group
from tongzhou.groups.queries import access_group, not_found
from tongzhou.questions.detect import is_question
from tongzhou.questions.models import HelperSettings, Question
from tongzhou.questions.search import terms_of


def on_send(message: Message) -> None:
    """A new message: start tracking it if it asks something; count it as an answer if it
    replies to someone else's question."""
    if message.kind == Message.Kind.QUESTION:
        _track(message, detected=False)
    elif _asks_the_group(message):
        message.kind = Message.Kind.QUESTION
        message.save(update_fields=["kind"])
        _track(message, detected=True)
    if message.reply_to_id is not None:
        _record_answer(message.reply_to_id)


def _asks_the_group(message: Message) -> bool:
    # A reply that asks something is asked of one person, not the group: only the sender's
    # tap makes it a tracked question.
    return message.reply_to_id is None and bool(message.text) and is_question(message.text)


def _track(message: Message, *, detected: bool) -> Question:
    question, _created = Question.objects.update_or_create(
        message=message,
        defaults={
            "group_id": message.group_id,
            "asker_id": message.sender_id,
            "asked_at": message.created_at,
            "detected": detected,
            "terms": " ".join(terms_of(message.text)),
            "terms_at": timezone.now(),
        },
    )
    from tongzhou.questions.routing import schedule_routing

    transaction.on_commit(lambda: schedule_routing(question))
    return question


def refresh_answers(question_ids: set[int]) -> None:
    """After replies went away together (an erased account): each question's first answer
    is the next reply from someone else, if any."""
    for qid in sorted(question_ids):
        _record_answer(qid)


def _record_answer(question_id: int) -> None:
    """The first reply from someone other than the asker answers the question."""
    question = Question.objects.filter(pk=question_id).select_related("message").first()
    if question is None:
        return
    first = (
        Message.objects.filter(
            reply_to_id=question_id, deleted_at__isnull=True, status=Message.Status.VISIBLE
        )
        .exclude(sender_id=question.asker_id)
        .filter(sender__isnull=False)
        .order_by("id")
        .first()
    )
    new = (first.pk, first.created_at) if first is not None else (None, None)
    if (question.first_answer_id, question.first_answer_at) != new:
        question.first_answer_id, question.first_answer_at = new
        question.save(update_fields=["first_answer", "first_answer_at"])
        _publish(question.message)


def on_edit(message: Message) -> None:
    """Keep the search words of an edited question current."""
    Question.objects.filter(pk=message.pk).update(
        terms=" ".join(terms_of(message.text)), terms_at=timezone.now()
    )


def on_delete(message: Message) -> None:
    """A deleted answer may leave its question unanswered again; a deleted question leaves
    the open list (its row stays, for the group's time-to-answer figures)."""
    if message.reply_to_id is not None:
        Question.objects.filter(helpful_id=message.pk).update(
            helpful=None, resolved_at=None, resolved_by=None
        )
        _record_answer(message.reply_to_id)


def _publish(message: Message) -> MessageDict:
    from tongzhou.chat.changes import publish_change

    return publish_change(message, [])


def _locked_question(user: User, group_id: int, question_id: int) -> tuple[Question, bool]:
    membership = access_group(user, group_id)
    Group.objects.select_for_update().only("pk").get(pk=group_id)
    question = (
        Question.objects.filter(
            pk=question_id,
            group_id=group_id,
            message__status=Message.Status.VISIBLE,
            message__deleted_at__isnull=True,
        )
        .select_related("message")
        .first()
    )
    if question is None:
        raise not_found()
    return question, membership.can_moderate


def do_mark_helpful(
    user: User, group_id: int, question_id: int, answer_id: int | None
) -> MessageDict:
    """The asker (or a moderator) marks the reply that helped: the question is resolved.
    With no answer, the mark is taken back and the question is open again."""
    with transaction.atomic():
        question, moderates = _locked_question(user, group_id, question_id)
        if question.asker_id != user.pk and not moderates:
            raise UserError(
                "not_allowed",
                _("Only the person who asked, or a moderator, can mark the answer that helped."),
                403,
            )
        before = question.helpful_id
        if answer_id is None:
            question.helpful, question.resolved_at, question.resolved_by = None, None, None
        else:
            answer = Message.objects.filter(
                pk=answer_id,
                reply_to_id=question.pk,
                status=Message.Status.VISIBLE,
                deleted_at__isnull=True,
            ).first()
            if answer is None or answer.sender_id in (None, question.asker_id):
                raise UserError(
                    "not_an_answer",
                    _("Choose a reply to this question from someone other than the asker."),
                )
            question.helpful = answer
            question.resolved_at, question.resolved_by = timezone.now(), user
        question.save(update_fields=["helpful", "resolved_at", "resolved_by"])
        # The answers' "helped" marks change too.
        for mid in {before, question.helpful_id}:
            if mid is not None:
                _publish(Message.objects.get(pk=mid))
        return _publish(question.message)


def do_set_question(user: User, group_id: int, message_id: int, on: bool) -> MessageDict:
    """Mark a message as a question with one tap, or say it is not one. The sender or a
    moderator may."""
    from tongzhou.chat.changes import _locked_message, _not_deleted, publish_change

    with transaction.atomic():
        membership = access_group(user, group_id)
        message = _locked_message(membership, message_id)
        if message.sender_id != user.pk and not membership.can_moderate:
            raise UserError(
                "not_allowed", _("Only the sender or a moderator can change this."), 403
            )
        _not_deleted(message)
        if on == (message.kind == Message.Kind.QUESTION):
            return message_dict(message)
        if on:
            message.kind = Message.Kind.QUESTION
            _track(message, detected=False)
            _record_answer(message.pk)
        else:
            message.kind = Message.Kind.TEXT
            Question.objects.filter(pk=message.pk).delete()
        return publish_change(message, ["kind"])


def helper_settings_of(user_id: int) -> HelperSettings:
    found, _created = HelperSettings.objects.get_or_create(user_id=user_id)
    return found


MAX_PER_HOUR_CHOICES = (1, 2, 3, 5, 10)


def do_update_helper_settings(
    user_id: int, accepts: object, max_per_hour: object
) -> HelperSettings:
    s = helper_settings_of(user_id)
    if accepts is not None:
        s.accepts = bool(accepts)
    if max_per_hour is not None:
        if max_per_hour not in MAX_PER_HOUR_CHOICES or isinstance(max_per_hour, bool):
            raise UserError(
                "invalid_max_per_hour",
                _("Choose how many requests an hour: %(list)s.")
                % {"list": ", ".join(str(n) for n in MAX_PER_HOUR_CHOICES)},
            )
        s.max_per_hour = int(max_per_hour)  # type: ignore[call-overload]
    s.save()
    return s


def answer_seconds(question: Question) -> float | None:
    if question.first_answer_at is None:
        return None
    return max((question.first_answer_at - question.asked_at) / timedelta(seconds=1), 0.0)
