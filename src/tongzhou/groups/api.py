from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from tongzhou.accounts.models import Profile, User
from tongzhou.errors import UserError
from tongzhou.groups import actions
from tongzhou.groups.models import Application, Group, Invite, Membership
from tongzhou.groups.queries import (
    access_group,
    access_leadership,
    access_member,
    access_moderation,
    active_members,
    get_group,
    latest_application,
    membership_of,
)

router = Router(tags=["groups"])


class GroupIn(Schema):
    name: str
    description: str = ""


class GroupPatch(Schema):
    name: str | None = None
    description: str | None = None
    member_cap: int | None = None
    question_t1_minutes: int | None = None  # unanswered this long: ask likely helpers
    question_t2_minutes: int | None = None  # and this long: ask moderators, professionals
    question_helpers: int | None = None  # how many helpers to ask
    review_after_months: int | None = None  # knowledge entries are flagged for review after
    spam_action: str | None = None  # "hold" a message that looks like selling, or "flag" it
    new_member_days: int | None = None  # contact details from members newer than this: spam
    dm_min_days: int | None = None  # members newer than this cannot start direct messages
    announcement: str | None = None  # "" takes it down


class ApplicationIn(Schema):
    role: str
    diagnosis: str = ""
    hospital: str = ""
    stage: str = ""
    note: str = ""
    answers: list[str] = []
    health_consent: bool = False  # needed once, before the first health detail is kept


class DecisionIn(Schema):
    approve: bool
    reason: str = ""


class RoleIn(Schema):
    role: str


class InviteIn(Schema):
    hours: int = 72
    max_uses: int | None = 1


class QuestionIn(Schema):
    text: str


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # the router's auth guarantees it


def group_dict(group: Group, user: User) -> dict[str, Any]:
    """The public part for everyone; membership details for members."""
    membership = membership_of(user, group)
    data: dict[str, Any] = {
        "id": group.pk,
        "name": group.name,
        "description": group.description,
        "join_questions": [{"id": q.pk, "text": q.text} for q in group.join_questions.all()],
        "my_role": membership.role if membership else None,
    }
    if membership is None:
        app = latest_application(user, group)
        data["my_application"] = (
            {"id": app.pk, "status": app.status, "reason": app.reason} if app else None
        )
    else:
        data["member_count"] = group.active_member_count()
        data["member_cap"] = group.member_cap
        data["last_read_id"] = membership.last_read_id
        data["announcement"] = actions.announcement_dict(group)
        data["question_routing"] = {
            "t1_minutes": group.question_t1_minutes,
            "t2_minutes": group.question_t2_minutes,
            "helpers": group.question_helpers,
        }
        data["review_after_months"] = group.review_after_months
        data["safety"] = {
            "spam_action": group.spam_action,
            "new_member_days": group.new_member_days,
            "dm_min_days": group.dm_min_days,
        }
    return data


def application_dict(app: Application) -> dict[str, Any]:
    return {
        "id": app.pk,
        "user": {"id": app.user_id, "display_name": app.user.display_name},
        "status": app.status,
        "role": app.role,
        "diagnosis": app.diagnosis,
        "hospital": app.hospital,
        "stage": app.stage,
        "note": app.note,
        "answers": app.answers,
        "reason": app.reason,
        "flags": app.flags,  # what the salesman checks found (safety/spam.py codes)
        "created_at": app.created_at.isoformat(),
    }


def member_dict(m: Membership, viewer: Membership) -> dict[str, Any]:
    profile: Profile | None = getattr(m.user, "profile", None)
    shown = (
        profile.visible_to(
            same_group=True, is_leader=viewer.can_moderate, is_self=m.user_id == viewer.user_id
        )
        if profile
        else {}
    )
    return {
        "user": {"id": m.user_id, "display_name": m.user.display_name},
        "role": m.role,
        "joined_at": m.joined_at.isoformat(),
        "profile_role": profile.role if profile else None,
        "verified_professional": m.verified_professional_at is not None,
        "profession": m.profession or None,
        "profession_label": str(m.get_profession_display()) if m.profession else "",
        "badge_requested": m.professional_requested_at is not None
        and m.verified_professional_at is None,
        "muted_until": (
            m.muted_until.isoformat()
            if m.muted_until and m.muted_until > timezone.now() and viewer.can_moderate
            else None
        ),
        "profile": shown,
    }


def invite_dict(invite: Invite, request: HttpRequest) -> dict[str, Any]:
    return {
        "id": invite.pk,
        "url": request.build_absolute_uri(invite.get_absolute_url()),
        "expires_at": invite.expires_at.isoformat(),
        "max_uses": invite.max_uses,
        "uses": invite.uses,
        "usable": invite.usable,
    }


@router.get("/groups", operation_id="list_groups")
def list_groups(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    return {"groups": [group_dict(g, user) for g in Group.objects.all()]}


@router.post("/groups", response={201: dict}, operation_id="create_group")
def create_group(request: HttpRequest, payload: GroupIn) -> Status[dict[str, Any]]:
    user = _user(request)
    group = actions.do_create_group(user, payload.name, payload.description)
    return Status(201, group_dict(group, user))


@router.get("/groups/{gid}", operation_id="get_group")
def get_group_detail(request: HttpRequest, gid: int) -> dict[str, Any]:
    return group_dict(get_group(gid), _user(request))


@router.patch("/groups/{gid}", operation_id="update_group")
def update_group(request: HttpRequest, gid: int, payload: GroupPatch) -> dict[str, Any]:
    leader = access_leadership(_user(request), gid)
    group = actions.do_update_group(leader, **payload.dict(exclude_unset=True))
    return group_dict(group, _user(request))


@router.post("/groups/{gid}/applications", response={201: dict}, operation_id="apply")
def apply(request: HttpRequest, gid: int, payload: ApplicationIn) -> Status[dict[str, Any]]:
    app = actions.do_apply(_user(request), get_group(gid), **payload.dict())
    return Status(201, {"id": app.pk, "status": app.status})


@router.get("/groups/{gid}/applications", operation_id="list_applications")
def list_applications(request: HttpRequest, gid: int, status: str = "pending") -> dict[str, Any]:
    mod = access_moderation(_user(request), gid)
    qs = Application.objects.filter(group=mod.group).select_related("user")
    if status != "all":
        qs = qs.filter(status=status)
    return {"applications": [application_dict(a) for a in qs[:500]]}


@router.get("/groups/{gid}/applications/mine", operation_id="my_application")
def my_application(request: HttpRequest, gid: int) -> dict[str, Any]:
    app = latest_application(_user(request), get_group(gid))
    if app is None:
        raise UserError("application_not_found", _("You have not applied to this group."), 404)
    return {"id": app.pk, "status": app.status, "reason": app.reason}


@router.post("/groups/{gid}/applications/{aid}/decision", operation_id="decide_application")
def decide(request: HttpRequest, gid: int, aid: int, payload: DecisionIn) -> dict[str, Any]:
    mod = access_moderation(_user(request), gid)
    app = Application.objects.filter(group=mod.group, pk=aid).first()
    if app is None:
        raise UserError("application_not_found", _("There is no such application."), 404)
    actions.do_decide(_user(request), app, approve=payload.approve, reason=payload.reason)
    app.refresh_from_db()
    return {"id": app.pk, "status": app.status, "reason": app.reason}


@router.get("/groups/{gid}/members", operation_id="list_members")
def list_members(request: HttpRequest, gid: int) -> dict[str, Any]:
    viewer = access_group(_user(request), gid)
    return {"members": [member_dict(m, viewer) for m in active_members(viewer.group)]}


@router.post("/groups/{gid}/members/{uid}/role", operation_id="set_member_role")
def set_role(request: HttpRequest, gid: int, uid: int, payload: RoleIn) -> dict[str, Any]:
    leader = access_leadership(_user(request), gid)
    target = actions.do_set_role(leader, access_member(leader, uid), payload.role)
    return member_dict(target, leader)


class VerifiedIn(Schema):
    on: bool = True


@router.post("/groups/{gid}/members/{uid}/verified", operation_id="set_verified_professional")
def set_verified(request: HttpRequest, gid: int, uid: int, payload: VerifiedIn) -> dict[str, Any]:
    """The leader marks a member as a verified health professional (or takes it back)."""
    leader = access_leadership(_user(request), gid)
    target = actions.do_set_verified_professional(leader, access_member(leader, uid), payload.on)
    return member_dict(target, leader)


@router.delete("/groups/{gid}/members/{uid}", response={204: None}, operation_id="remove_member")
def remove_member(request: HttpRequest, gid: int, uid: int) -> Status[None]:
    leader = access_leadership(_user(request), gid)
    actions.do_remove_member(leader, access_member(leader, uid))
    return Status(204, None)


@router.post("/groups/{gid}/join-questions", response={201: dict}, operation_id="add_join_question")
def add_question(request: HttpRequest, gid: int, payload: QuestionIn) -> Status[dict[str, Any]]:
    leader = access_leadership(_user(request), gid)
    q = actions.do_add_join_question(leader, payload.text)
    return Status(201, {"id": q.pk, "text": q.text})


@router.delete(
    "/groups/{gid}/join-questions/{qid}", response={204: None}, operation_id="delete_join_question"
)
def delete_question(request: HttpRequest, gid: int, qid: int) -> Status[None]:
    actions.do_delete_join_question(access_leadership(_user(request), gid), qid)
    return Status(204, None)


@router.get("/groups/{gid}/invites", operation_id="list_invites")
def list_invites(request: HttpRequest, gid: int) -> dict[str, Any]:
    leader = access_leadership(_user(request), gid)
    invites = Invite.objects.filter(group=leader.group).order_by("-id")[:100]
    return {"invites": [invite_dict(i, request) for i in invites]}


@router.post("/groups/{gid}/invites", response={201: dict}, operation_id="create_invite")
def create_invite(request: HttpRequest, gid: int, payload: InviteIn) -> Status[dict[str, Any]]:
    leader = access_leadership(_user(request), gid)
    invite = actions.do_create_invite(leader, hours=payload.hours, max_uses=payload.max_uses)
    return Status(201, invite_dict(invite, request))


@router.delete("/groups/{gid}/invites/{iid}", response={204: None}, operation_id="revoke_invite")
def revoke_invite(request: HttpRequest, gid: int, iid: int) -> Status[None]:
    actions.do_revoke_invite(access_leadership(_user(request), gid), iid)
    return Status(204, None)


@router.post("/invites/{token}/accept", operation_id="accept_invite")
def accept_invite(request: HttpRequest, token: str) -> dict[str, Any]:
    membership = actions.do_accept_invite(_user(request), token)
    return {"group": membership.group_id, "role": membership.role}
