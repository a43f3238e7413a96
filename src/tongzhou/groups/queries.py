"""Reading groups with the permission check in the same step."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _

from tongzhou.accounts.models import User
from tongzhou.accounts.twofactor import staff_must_have_it
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.models import Application, Group, Membership


def not_found() -> UserError:
    """The one answer for "does not exist" and "not yours to see", so ids cannot be probed."""
    return UserError(
        "not_found", _("Not found. It may not exist, or it may be only for its members."), 404
    )


def get_group(group_id: int) -> Group:
    group = Group.objects.filter(pk=group_id).first()
    if group is None:
        raise not_found()
    return group


def membership_of(user: User | AnonymousUser, group: Group | int) -> Membership | None:
    """The user's active membership, or None."""
    if not user.is_authenticated:
        return None
    gid = group if isinstance(group, int) else group.pk
    return (
        Membership.objects.filter(group_id=gid, user_id=user.pk, status=Membership.Status.ACTIVE)
        .select_related("group")
        .first()
    )


def access_group(user: User | AnonymousUser, group_id: int) -> Membership:
    """The caller's active membership of the group, or a refusal a person can read."""
    group = get_group(group_id)
    membership = membership_of(user, group)
    if membership is None:
        raise not_found()
    return membership


def access_moderation(user: User | AnonymousUser, group_id: int) -> Membership:
    membership = access_group(user, group_id)
    if not membership.can_moderate:
        raise UserError(
            "not_allowed", _("Only the group's leader and moderators can do this."), 403
        )
    staff_must_have_it(user)  # type: ignore[arg-type]  # a member is signed in
    return membership


def access_leadership(user: User | AnonymousUser, group_id: int) -> Membership:
    membership = access_group(user, group_id)
    if not membership.is_leader:
        raise UserError("not_allowed", _("Only the group's leader can do this."), 403)
    staff_must_have_it(user)  # type: ignore[arg-type]  # a member is signed in
    return membership


def latest_application(user: User | AnonymousUser, group: Group) -> Application | None:
    if not user.is_authenticated:
        return None
    return Application.objects.filter(group=group, user_id=user.pk).order_by("-id").first()


def groups_of(user: User) -> list[Membership]:
    return list(
        Membership.objects.filter(user=user, status=Membership.Status.ACTIVE)
        .select_related("group")
        .order_by("group__name")
    )


def access_member(actor: Membership, user_id: object) -> Membership:
    """An active member of the actor's group, by user id (from a path or a form)."""
    target = (
        Membership.objects.filter(
            group_id=actor.group_id,
            user_id=parse_id(user_id, "member_not_found"),
            status=Membership.Status.ACTIVE,
        )
        .select_related("user")
        .first()
    )
    if target is None:
        raise UserError("member_not_found", _("There is no such member in this group."), 404)
    return target


def active_members(group: Group) -> list[Membership]:
    return list(
        Membership.objects.filter(group=group, status=Membership.Status.ACTIVE)
        .select_related("user__profile")
        .order_by("joined_at")
    )


def active_member_names(group_id: int) -> list[tuple[int, str]]:
    """(user id, display name) of the group's active members, oldest membership first."""
    return list(
        Membership.objects.filter(group_id=group_id, status=Membership.Status.ACTIVE)
        .order_by("joined_at", "pk")
        .values_list("user_id", "user__display_name")
    )
