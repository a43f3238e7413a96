from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema

from tongzhou.accounts.models import User
from tongzhou.errors import UserError
from tongzhou.groups.queries import access_group, access_moderation
from tongzhou.questions.actions import (
    do_mark_helpful,
    do_set_question,
    do_update_helper_settings,
    helper_settings_of,
)
from tongzhou.questions.queries import answer_metrics, asked_before, open_questions
from tongzhou.text import clean

router = Router(tags=["questions"])


class HelpfulIn(Schema):
    answer: int | None  # the reply that helped; null takes the mark back


class QuestionIn(Schema):
    on: bool = True


class SimilarIn(Schema):
    text: str


class HelperSettingsIn(Schema):
    accepts: bool | None = None
    max_per_hour: int | None = None


@router.get("/groups/{gid}/questions", operation_id="list_open_questions")
def list_open(request: HttpRequest, gid: int) -> dict[str, Any]:
    """The group's questions not yet resolved: unanswered first, newest first."""
    membership = access_group(request.user, gid)
    return {"questions": open_questions(membership.group_id)}


@router.post("/groups/{gid}/questions/{qid}/helpful", operation_id="mark_helpful_answer")
def mark_helpful(request: HttpRequest, gid: int, qid: int, payload: HelpfulIn) -> dict[str, Any]:
    """The asker (or a moderator) marks the reply that helped; the question is resolved."""
    user: User = request.user  # type: ignore[assignment]
    return dict(do_mark_helpful(user, gid, qid, payload.answer))


@router.post("/groups/{gid}/messages/{mid}/question", operation_id="mark_question")
def mark_question(request: HttpRequest, gid: int, mid: int, payload: QuestionIn) -> dict[str, Any]:
    """The sender (or a moderator) says a message is a question, or (on=false) is not one."""
    user: User = request.user  # type: ignore[assignment]
    return dict(do_set_question(user, gid, mid, payload.on))


@router.post("/groups/{gid}/questions/similar", operation_id="similar_questions")
def similar(request: HttpRequest, gid: int, payload: SimilarIn) -> dict[str, Any]:
    """While typing: is it a question, and earlier ones like it with the answer that helped.
    A POST so that what a member types never lands in a URL or an access log."""
    membership = access_group(request.user, gid)
    text = clean(payload.text)[:2000]
    return asked_before(membership.group_id, text)


@router.get("/groups/{gid}/questions/metrics", operation_id="question_metrics")
def metrics(request: HttpRequest, gid: int, weeks: int = 12) -> dict[str, Any]:
    """Time to first answer by week: for the group's leader and moderators."""
    membership = access_moderation(request.user, gid)
    if not 1 <= weeks <= 104:
        raise UserError("invalid_weeks", _("Choose between 1 and 104 weeks."))
    return answer_metrics(membership.group_id, weeks)


def _helper_dict(user_id: int) -> dict[str, Any]:
    s = helper_settings_of(user_id)
    return {"accepts": s.accepts, "max_per_hour": s.max_per_hour}


@router.get("/me/helper-settings", operation_id="get_helper_settings")
def get_helper_settings(request: HttpRequest) -> dict[str, Any]:
    return _helper_dict(int(request.user.pk or 0))


@router.patch("/me/helper-settings", operation_id="update_helper_settings")
def update_helper_settings(request: HttpRequest, payload: HelperSettingsIn) -> dict[str, Any]:
    """Whether you may be asked to help with unanswered questions, and at most how often."""
    uid = int(request.user.pk or 0)
    do_update_helper_settings(uid, payload.accepts, payload.max_per_hour)
    return _helper_dict(uid)
