"""API of milestones: good news and sad news shared with the group."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from tongzhou.accounts.models import User
from tongzhou.community import milestones
from tongzhou.groups.queries import access_group

router = Router(tags=["milestones"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # the API's auth guarantees it


class MilestoneIn(Schema):
    kind: str  # graduation, clear_scan, years, other or sad
    text: str = ""
    day: str | None = None  # YYYY-MM-DD, when it happened; default today
    years: int | None = None  # for "years"
    remind_yearly: bool = False  # remind me on the day each year
    post_to_chat: bool | None = None  # default: yes for good news, no for sad news


class ReactionIn(Schema):
    emoji: str = ""  # empty: take my reaction back


class OnIn(Schema):
    on: bool = True


def _one(user: User, gid: int, msid: int) -> dict[str, Any]:
    m = milestones.milestone_in(access_group(user, gid), msid)
    return milestones.milestone_dict(
        m, milestones.reaction_counts([m], user.pk)[m.pk], viewer=user.pk
    )


@router.get("/groups/{gid}/milestones", operation_id="list_milestones")
def list_milestones(request: HttpRequest, gid: int) -> dict[str, Any]:
    """The group's good and sad news, the latest day first."""
    user = _user(request)
    found = milestones.milestones_of(access_group(user, gid))
    counts = milestones.reaction_counts(found, user.pk)
    return {
        "milestones": [milestones.milestone_dict(m, counts[m.pk], viewer=user.pk) for m in found]
    }


@router.post("/groups/{gid}/milestones", response={201: dict}, operation_id="announce_milestone")
def announce_milestone(
    request: HttpRequest, gid: int, payload: MilestoneIn
) -> Status[dict[str, Any]]:
    """Share news with the group: a celebration card (and a short chat message pointing to
    it), or for sad news a quiet card."""
    user = _user(request)
    m = milestones.do_announce(user, gid, **payload.dict())
    return Status(201, _one(user, gid, m.pk))


@router.get("/groups/{gid}/milestones/{msid}", operation_id="get_milestone")
def get_milestone(request: HttpRequest, gid: int, msid: int) -> dict[str, Any]:
    return _one(_user(request), gid, msid)


@router.post("/groups/{gid}/milestones/{msid}/reaction", operation_id="react_to_milestone")
def react_to_milestone(
    request: HttpRequest, gid: int, msid: int, payload: ReactionIn
) -> dict[str, Any]:
    """One reaction each (🎉 👏 💐 💪; sad news: 🕯️ 🙏), changeable; empty takes it back."""
    user = _user(request)
    milestones.do_react(user, gid, msid, payload.emoji)
    return _one(user, gid, msid)


@router.post("/groups/{gid}/milestones/{msid}/hide", operation_id="hide_milestone")
def hide_milestone(request: HttpRequest, gid: int, msid: int, payload: OnIn) -> dict[str, Any]:
    """Leaders and moderators hide a card from the group (on=false shows it again)."""
    user = _user(request)
    milestones.do_hide(user, gid, msid, payload.on)
    return _one(user, gid, msid)


@router.post("/groups/{gid}/milestones/{msid}/yearly", operation_id="set_milestone_yearly")
def set_milestone_yearly(
    request: HttpRequest, gid: int, msid: int, payload: OnIn
) -> dict[str, Any]:
    """The author switches the yearly reminder of the day on or off."""
    user = _user(request)
    milestones.do_set_yearly(user, gid, msid, payload.on)
    return _one(user, gid, msid)


@router.delete(
    "/groups/{gid}/milestones/{msid}", response={204: None}, operation_id="delete_milestone"
)
def delete_milestone(request: HttpRequest, gid: int, msid: int) -> Status[None]:
    """The author takes their news back."""
    milestones.do_delete(_user(request), gid, msid)
    return Status(204, None)
