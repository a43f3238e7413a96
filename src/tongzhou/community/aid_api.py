"""Mutual aid over the API: requests, replies and offers, moderators' decisions."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from tongzhou.accounts.models import User
from tongzhou.community import aid
from tongzhou.groups.queries import access_group

router = Router(tags=["mutual aid"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # the API's auth guarantees it


class AidIn(Schema):
    kind: str  # donation, medicine, company, lodging or other
    title: str
    details: str = ""
    confirm_personal_data: bool = False  # "post it anyway" after a personal-data warning


class AidReplyIn(Schema):
    text: str = ""
    offer: bool = False  # "I can help"
    confirm_personal_data: bool = False


class AidStatusIn(Schema):
    status: str  # open, fulfilled or closed


class AidDecisionIn(Schema):
    approve: bool
    reason: str = ""


@router.get("/groups/{gid}/aid", operation_id="list_aid_requests")
def list_aid_requests(
    request: HttpRequest, gid: int, status: str = "open", kind: str | None = None
) -> dict[str, Any]:
    """The group's help requests, newest first. `status`: open (default), fulfilled, closed,
    or pending: for moderators every request waiting for them, for others their own waiting
    or turned-down ones."""
    membership = access_group(_user(request), gid)
    rows = aid.requests_of(membership, status, kind or None)[: aid.PAGE]
    return {"requests": [aid.request_dict(r, membership, full=False) for r in rows]}


@router.post("/groups/{gid}/aid", response={201: dict}, operation_id="create_aid_request")
def create_aid_request(request: HttpRequest, gid: int, payload: AidIn) -> Status[dict[str, Any]]:
    """Ask the group for help. A donation request waits for a moderator (status pending) and
    carries `money_note`: Tongzhou never handles money."""
    req = aid.do_create_request(_user(request), gid, **payload.dict())
    membership = access_group(_user(request), gid)
    return Status(201, aid.request_dict(req, membership))


@router.get("/groups/{gid}/aid/{aid_id}", operation_id="get_aid_request")
def get_aid_request(request: HttpRequest, gid: int, aid_id: int) -> dict[str, Any]:
    membership = access_group(_user(request), gid)
    return aid.request_dict(aid.request_in(membership, aid_id), membership)


@router.post(
    "/groups/{gid}/aid/{aid_id}/replies", response={201: dict}, operation_id="reply_aid_request"
)
def reply_aid_request(
    request: HttpRequest, gid: int, aid_id: int, payload: AidReplyIn
) -> Status[dict[str, Any]]:
    """Reply, or offer help (`offer: true`); the person who asked is told."""
    reply = aid.do_reply(_user(request), gid, aid_id, **payload.dict())
    return Status(201, aid.reply_dict(reply))


@router.post("/groups/{gid}/aid/{aid_id}/status", operation_id="set_aid_status")
def set_aid_status(
    request: HttpRequest, gid: int, aid_id: int, payload: AidStatusIn
) -> dict[str, Any]:
    """The person who asked, or a moderator: fulfilled, closed, or open again."""
    req = aid.do_set_status(_user(request), gid, aid_id, payload.status)
    return aid.request_dict(req, access_group(_user(request), gid))


@router.post("/groups/{gid}/aid/{aid_id}/decision", operation_id="decide_aid_request")
def decide_aid_request(
    request: HttpRequest, gid: int, aid_id: int, payload: AidDecisionIn
) -> dict[str, Any]:
    """A moderator approves a waiting request, or turns it down (a reason is needed; the
    person who asked reads it)."""
    req = aid.do_decide_request(
        _user(request), gid, aid_id, approve=payload.approve, reason=payload.reason
    )
    return aid.request_dict(req, access_group(_user(request), gid))
