from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from tongzhou.accounts.models import User
from tongzhou.groups.queries import access_group, access_moderation
from tongzhou.safety import actions
from tongzhou.safety.models import Claim
from tongzhou.safety.queries import audit_dict, audit_log, claim_dict, open_reports, report_dict
from tongzhou.safety.resources import all_resources, region_of, regions, resources_for

router = Router(tags=["safety"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # the API's auth guarantees it


class ReportIn(Schema):
    message: int | None = None  # a message, or
    member: int | None = None  # a member (user id)
    reason: str  # spam, misinformation, crisis, harassment, false_identity, other
    note: str = ""


class DecisionIn(Schema):
    action: str  # approve, reject, dismiss, done, hide, warn, mute, unmute, remove, ban
    reason: str = ""  # required for every action but approve, dismiss and done
    minutes: int | None = None  # how long a mute lasts


class MemberActionIn(Schema):
    action: str  # warn, mute, unmute, remove, ban
    reason: str = ""
    minutes: int | None = None


class HideIn(Schema):
    reason: str


class ClaimIn(Schema):
    title: str
    patterns: str
    correction: str
    entry: int | None = None


class ClaimPatch(Schema):
    title: str | None = None
    patterns: str | None = None
    correction: str | None = None
    entry: int | None = None
    active: bool | None = None


class BadgeIn(Schema):
    profession: str  # doctor, nurse, dietitian, psychologist, social_worker


@router.post("/groups/{gid}/reports", response={201: dict}, operation_id="report")
def report(request: HttpRequest, gid: int, payload: ReportIn) -> Status[dict[str, Any]]:
    """Any member reports a message or a member to the group's moderators."""
    membership = access_group(_user(request), gid)
    r = actions.do_report(
        _user(request),
        membership,
        message_id=payload.message,
        member_id=payload.member,
        reason=payload.reason,
        note=payload.note,
    )
    return Status(201, {"id": r.pk, "status": r.status})


@router.get("/groups/{gid}/moderation", operation_id="moderation_queue")
def moderation_queue(request: HttpRequest, gid: int) -> dict[str, Any]:
    """Open reports, held messages first: leader and moderators only."""
    mod = access_moderation(_user(request), gid)
    return {"reports": [report_dict(r) for r in open_reports(mod.group_id)]}


@router.post("/groups/{gid}/reports/{rid}/decision", operation_id="decide_report")
def decide_report(request: HttpRequest, gid: int, rid: int, payload: DecisionIn) -> dict[str, Any]:
    mod = access_moderation(_user(request), gid)
    r = actions.do_decide_report(
        mod, rid, payload.action, reason=payload.reason, minutes=payload.minutes
    )
    return {"id": r.pk, "status": r.status}


@router.post("/groups/{gid}/messages/{mid}/hide", operation_id="hide_message")
def hide_message(request: HttpRequest, gid: int, mid: int, payload: HideIn) -> dict[str, Any]:
    """A moderator hides a message, with a reason for the audit log; members see only that a
    moderator removed it."""
    mod = access_moderation(_user(request), gid)
    actions.do_hide_message(mod, mid, payload.reason)
    return {"hidden": True}


@router.post("/groups/{gid}/members/{uid}/moderation", operation_id="moderate_member")
def moderate_member(
    request: HttpRequest, gid: int, uid: int, payload: MemberActionIn
) -> dict[str, Any]:
    """Warn, mute for a time, lift a mute, remove from the group or (leader) ban from the server."""
    mod = access_moderation(_user(request), gid)
    actions.do_moderate_member(
        mod, uid, payload.action, reason=payload.reason, minutes=payload.minutes
    )
    return {"done": payload.action}


@router.get("/groups/{gid}/audit", operation_id="audit_log")
def get_audit(
    request: HttpRequest, gid: int, before: int | None = None, limit: int = 100
) -> dict[str, Any]:
    """Every moderator action, newest first: leader and moderators only."""
    mod = access_moderation(_user(request), gid)
    return {"entries": [audit_dict(e) for e in audit_log(mod.group_id, before, limit)]}


@router.post("/groups/{gid}/warnings/seen", operation_id="see_warnings")
def see_warnings(request: HttpRequest, gid: int) -> dict[str, Any]:
    """The member has read the moderators' warnings to them."""
    return {"seen": actions.do_see_warnings(access_group(_user(request), gid))}


@router.post("/groups/{gid}/badge-request", operation_id="request_badge")
def request_badge(request: HttpRequest, gid: int, payload: BadgeIn) -> dict[str, Any]:
    """A health professional asks the leader for a badge (checked off-platform)."""
    m = actions.do_request_badge(access_group(_user(request), gid), payload.profession)
    return {"profession": m.profession, "verified": m.verified_professional_at is not None}


@router.get("/groups/{gid}/claims", operation_id="list_claims")
def list_claims(request: HttpRequest, gid: int) -> dict[str, Any]:
    """The group's claims worth checking, with their corrections: every member."""
    membership = access_group(_user(request), gid)
    return {"claims": [claim_dict(c) for c in Claim.objects.filter(group_id=membership.group_id)]}


@router.post("/groups/{gid}/claims", response={201: dict}, operation_id="add_claim")
def add_claim(request: HttpRequest, gid: int, payload: ClaimIn) -> Status[dict[str, Any]]:
    mod = access_moderation(_user(request), gid)
    return Status(201, claim_dict(actions.do_add_claim(mod, payload.dict())))


@router.patch("/groups/{gid}/claims/{cid}", operation_id="edit_claim")
def edit_claim(request: HttpRequest, gid: int, cid: int, payload: ClaimPatch) -> dict[str, Any]:
    mod = access_moderation(_user(request), gid)
    return claim_dict(actions.do_edit_claim(mod, cid, payload.dict(exclude_unset=True)))


@router.delete("/groups/{gid}/claims/{cid}", response={204: None}, operation_id="delete_claim")
def delete_claim(request: HttpRequest, gid: int, cid: int) -> Status[None]:
    actions.do_delete_claim(access_moderation(_user(request), gid), cid)
    return Status(204, None)


@router.get("/crisis-resources", auth=None, operation_id="crisis_resources")
def crisis_resources(request: HttpRequest, region: str | None = None) -> dict[str, Any]:
    """Crisis lines: one region's, the caller's own region's, or (region=all) every region's."""
    if region == "all":
        return {"regions": all_resources()}
    if region is None or region not in regions():
        region = region_of(request.user)
    return {"regions": [resources_for(region)]}
