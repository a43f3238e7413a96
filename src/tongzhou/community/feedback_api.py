"""Suggestions over the API: post, vote, comment; the leader answers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from tongzhou.accounts.models import User
from tongzhou.community import feedback
from tongzhou.groups.queries import access_group

router = Router(tags=["suggestions"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # the API's auth guarantees it


class SuggestionIn(Schema):
    title: str
    body: str = ""


class VoteIn(Schema):
    on: bool = True  # false takes the vote back


class SuggestionCommentIn(Schema):
    text: str


class AnswerIn(Schema):
    status: str  # open (new), planned, done or declined
    answer: str = ""  # needed when declined


@router.get("/groups/{gid}/suggestions", operation_id="list_suggestions")
def list_suggestions(
    request: HttpRequest, gid: int, status: str | None = None, sort: str = "votes"
) -> dict[str, Any]:
    """The group's suggestions; `sort`: votes (default) or newest; `status` filters."""
    membership = access_group(_user(request), gid)
    rows = feedback.suggestions_of(membership, status=status or None, sort=sort)[: feedback.PAGE]
    return {
        "suggestions": [feedback.suggestion_dict(s, membership.user_id, full=False) for s in rows]
    }


@router.post("/groups/{gid}/suggestions", response={201: dict}, operation_id="create_suggestion")
def create_suggestion(
    request: HttpRequest, gid: int, payload: SuggestionIn
) -> Status[dict[str, Any]]:
    s = feedback.do_create_suggestion(_user(request), gid, **payload.dict())
    return Status(201, feedback.suggestion_dict(s, _user(request).pk))


@router.get("/groups/{gid}/suggestions/{sgid}", operation_id="get_suggestion")
def get_suggestion(request: HttpRequest, gid: int, sgid: int) -> dict[str, Any]:
    membership = access_group(_user(request), gid)
    return feedback.suggestion_dict(feedback.suggestion_in(membership, sgid), membership.user_id)


@router.post("/groups/{gid}/suggestions/{sgid}/vote", operation_id="vote_suggestion")
def vote_suggestion(request: HttpRequest, gid: int, sgid: int, payload: VoteIn) -> dict[str, Any]:
    """One vote each; `on: false` takes yours back. Answers the new count."""
    votes = feedback.do_vote(_user(request), gid, sgid, payload.on)
    return {"votes": votes, "voted": payload.on}


@router.post(
    "/groups/{gid}/suggestions/{sgid}/comments",
    response={201: dict},
    operation_id="comment_suggestion",
)
def comment_suggestion(
    request: HttpRequest, gid: int, sgid: int, payload: SuggestionCommentIn
) -> Status[dict[str, Any]]:
    c = feedback.do_comment(_user(request), gid, sgid, payload.text)
    return Status(201, feedback.comment_dict(c))


@router.post("/groups/{gid}/suggestions/{sgid}/answer", operation_id="answer_suggestion")
def answer_suggestion(
    request: HttpRequest, gid: int, sgid: int, payload: AnswerIn
) -> dict[str, Any]:
    """The leader or a moderator answers and sets the status; the author is told."""
    s = feedback.do_answer(_user(request), gid, sgid, status=payload.status, answer=payload.answer)
    return feedback.suggestion_dict(s, _user(request).pk)
