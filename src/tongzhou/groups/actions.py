"""The only code that changes groups, memberships, applications and invites."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.actions import require_health_consent
from tongzhou.accounts.models import Role, User
from tongzhou.errors import UserError
from tongzhou.groups.models import Application, Group, Invite, JoinQuestion, Membership
from tongzhou.groups.queries import latest_application, membership_of
from tongzhou.realtime import send_event_on_commit
from tongzhou.safety.audit import audit
from tongzhou.safety.limits import check_rate
from tongzhou.safety.spam import spam_signals
from tongzhou.text import clean

MAX_CAP = 5000


def _text(value: str | None, max_len: int, code: str, required: bool = False) -> str:
    value = clean(value or "")
    if required and not value:
        raise UserError(code, _("Please fill in this field."))
    if len(value) > max_len:
        raise UserError(
            code, _("This answer is too long (at most %(n)d characters).") % {"n": max_len}
        )
    return value


def do_create_group(user: User, name: str, description: str = "") -> Group:
    name = _text(name, 80, "invalid_name", required=True)
    description = _text(description, 2000, "invalid_description")
    with transaction.atomic():
        group = Group.objects.create(
            name=name,
            description=description,
            created_by=user,
            member_cap=settings.DEFAULT_MEMBER_CAP,
        )
        Membership.objects.create(group=group, user=user, role=Membership.GroupRole.LEADER)
        from tongzhou.safety.actions import seed_claims

        seed_claims(group)
    return group


@transaction.atomic  # the consent and the application stand or fall together
def do_apply(
    user: User,
    group: Group,
    *,
    role: str,
    diagnosis: str = "",
    hospital: str = "",
    stage: str = "",
    note: str = "",
    answers: list[str] | None = None,
    health_consent: bool = False,
) -> Application:
    if membership_of(user, group) is not None:
        raise UserError("already_member", _("You are already a member of this group."), 409)
    previous = latest_application(user, group)
    if previous is not None and previous.status == Application.Status.PENDING:
        raise UserError(
            "already_applied", _("Your application is already waiting for review."), 409
        )
    if role not in Role.values:
        raise UserError("invalid_role", _("Choose a role from the list."))
    questions = list(group.join_questions.all())
    given = list(answers or [])
    if len(given) > len(questions):
        raise UserError("invalid_answers", _("There are more answers than questions."))
    given += [""] * (len(questions) - len(given))
    qa = []
    for q, a in zip(questions, given, strict=True):
        if not isinstance(a, str):
            raise UserError("invalid_answers", _("Answers must be text."))
        qa.append({"question": q.text, "answer": _text(a, 1000, "invalid_answers", required=True)})
    if any(str(v or "").strip() for v in (diagnosis, hospital, stage)):
        require_health_consent(user, health_consent)
    check_rate("application_day", Application.objects.filter(user=user))
    note = _text(note, 2000, "invalid_note")
    # A salesman's application reads like an advert: the reviewer is shown what was found.
    flags = spam_signals(" ".join([note, *(a["answer"] for a in qa)]))
    return Application.objects.create(
        flags=flags,
        group=group,
        user=user,
        role=role,
        diagnosis=_text(diagnosis, 80, "invalid_diagnosis"),
        hospital=_text(hospital, 120, "invalid_hospital"),
        stage=_text(stage, 40, "invalid_stage"),
        note=note,
        answers=qa,  # type: ignore[misc]  # EncryptedJSONField holds a list
    )


def _check_room(group: Group) -> None:
    if group.active_member_count() >= group.member_cap:
        raise UserError(
            "group_full",
            _(
                "The group is full (%(cap)d members). Raise the member cap or remove "
                "inactive members first."
            )
            % {"cap": group.member_cap},
            409,
        )


def _admit(group: Group, user: User) -> Membership:
    """Make the user an active member, reusing a removed membership row."""
    membership, created = Membership.objects.get_or_create(group=group, user=user)
    if not created:
        membership.status = Membership.Status.ACTIVE
        membership.role = Membership.GroupRole.MEMBER
        membership.joined_at = timezone.now()
        membership.removed_at = None
        membership.save(update_fields=["status", "role", "joined_at", "removed_at"])
    return membership


def do_decide(actor: User, application: Application, *, approve: bool, reason: str = "") -> None:
    reason = _text(reason, 1000, "invalid_reason")
    if not approve and not reason:
        raise UserError(
            "reason_required", _("Please give the applicant a reason for not approving.")
        )
    with transaction.atomic():
        # Lock the group so two approvals cannot both take the last place.
        group = Group.objects.select_for_update().get(pk=application.group_id)
        application = Application.objects.select_for_update().get(pk=application.pk)
        if application.status != Application.Status.PENDING:
            raise UserError("already_decided", _("This application has already been decided."), 409)
        if approve:
            _check_room(group)
            _admit(group, application.user)
        application.status = Application.Status.APPROVED if approve else Application.Status.REJECTED
        application.reason = reason
        application.decided_by = actor
        application.decided_at = timezone.now()
        application.save(update_fields=["status", "reason", "decided_by", "decided_at"])


def do_set_role(actor: Membership, target: Membership, role: str) -> Membership:
    if role not in (Membership.GroupRole.MODERATOR, Membership.GroupRole.MEMBER):
        raise UserError("invalid_role", _("A member can be made a moderator or a member."))
    if target.group_id != actor.group_id or not target.is_active:
        raise UserError("member_not_found", _("There is no such member in this group."), 404)
    if target.role == Membership.GroupRole.LEADER:
        raise UserError("not_allowed", _("The leader's role cannot be changed here."), 403)
    target.role = role
    target.save(update_fields=["role"])
    audit(
        actor.group_id,
        actor.user,
        "role",
        member_id=target.user_id,
        reason=role,  # the code: the log shows it in the reader's language
    )
    return target


def do_remove_member(
    actor: Membership, target: Membership, *, reason: str = "", report: Any = None, log: bool = True
) -> None:
    if target.group_id != actor.group_id or not target.is_active:
        raise UserError("member_not_found", _("There is no such member in this group."), 404)
    if target.role == Membership.GroupRole.LEADER:
        raise UserError("not_allowed", _("The leader cannot be removed."), 403)
    with transaction.atomic():
        target.status = Membership.Status.REMOVED
        target.removed_at = timezone.now()
        target.save(update_fields=["status", "removed_at"])
        if log:
            audit(
                actor.group_id,
                actor.user,
                "remove",
                member_id=target.user_id,
                report=report,
                reason=reason,
            )
        # Open sockets of the removed member close at once (4403).
        send_event_on_commit(target.group_id, {"type": "member.removed", "user_id": target.user_id})


def _whole_number(value: Any, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if isinstance(value, bool) or not low <= number <= high:
        raise UserError(
            "invalid_number",
            _("Enter a whole number from %(low)d to %(high)d.") % {"low": low, "high": high},
        )
    return number


def do_set_verified_professional(actor: Membership, target: Membership, on: bool) -> Membership:
    """The leader, having checked credentials off-platform, marks a member who said they are a
    health professional as verified (they are then asked about unanswered questions)."""
    if target.group_id != actor.group_id or not target.is_active:
        raise UserError("member_not_found", _("There is no such member in this group."), 404)
    said_so = (
        target.professional_requested_at is not None
        or getattr(getattr(target.user, "profile", None), "role", "") == Role.PROFESSIONAL
    )
    if on and not said_so:
        raise UserError(
            "not_a_professional",
            _(
                "Only a member who asked for a professional badge, or whose profile says they "
                "are a health professional, can be verified."
            ),
        )
    target.verified_professional_at = timezone.now() if on else None
    target.save(update_fields=["verified_professional_at"])
    audit(
        actor.group_id,
        actor.user,
        "verify" if on else "unverify",
        member_id=target.user_id,
        reason=target.profession,  # the code, as for roles
    )
    return target


def _check_cap(group: Group, cap: Any) -> int:
    try:
        cap = int(cap)
    except (TypeError, ValueError) as e:
        raise UserError("invalid_cap", _("The member cap must be a whole number.")) from e
    low = max(group.active_member_count(), 2)
    if cap < low or cap > MAX_CAP:
        raise UserError(
            "invalid_cap",
            _("The member cap must be between %(low)d (members now) and %(high)d.")
            % {"low": low, "high": MAX_CAP},
        )
    return int(cap)


def do_update_group(
    actor: Membership,
    *,
    name: str | None = None,
    description: str | None = None,
    member_cap: Any = None,
    announcement: str | None = None,
    question_t1_minutes: Any = None,
    question_t2_minutes: Any = None,
    question_helpers: Any = None,
    review_after_months: Any = None,
    spam_action: str | None = None,
    new_member_days: Any = None,
    dm_min_days: Any = None,
) -> Group:
    """Change what is given; everything is checked before anything is written. The
    announcement is shown above the chat to every member, and reaches open pages at once."""
    group = actor.group
    changes: dict[str, Any] = {}
    if (
        announcement is not None
        and _text(announcement, 2000, "invalid_announcement") != group.announcement
    ):
        changes["announcement"] = _text(announcement, 2000, "invalid_announcement")
        changes["announcement_at"] = timezone.now()
        changes["announcement_by"] = actor.user
    if name is not None:
        changes["name"] = _text(name, 80, "invalid_name", required=True)
    if description is not None:
        changes["description"] = _text(description, 2000, "invalid_description")
    if member_cap is not None:
        changes["member_cap"] = _check_cap(group, member_cap)
    if spam_action is not None:
        if spam_action not in Group.SpamAction.values:
            raise UserError("invalid_spam_action", _("Choose hold or flag."))
        changes["spam_action"] = spam_action
    if new_member_days is not None and new_member_days != "":
        changes["new_member_days"] = _whole_number(new_member_days, 0, 60)
    if dm_min_days is not None and dm_min_days != "":
        changes["dm_min_days"] = _whole_number(dm_min_days, 0, 365)
    if review_after_months is not None and review_after_months != "":
        changes["review_after_months"] = _whole_number(review_after_months, 1, 60)
    routing = {
        "question_t1_minutes": (question_t1_minutes, 0, 240),
        "question_t2_minutes": (question_t2_minutes, 1, 1440),
        "question_helpers": (question_helpers, 0, 10),
    }
    for field, (value, low, high) in routing.items():
        if value is not None and value != "":
            changes[field] = _whole_number(value, low, high)
    t1 = changes.get("question_t1_minutes", group.question_t1_minutes)
    if (
        changes.keys() & routing.keys()
        and changes.get("question_t2_minutes", group.question_t2_minutes) <= t1
    ):
        raise UserError(
            "invalid_routing",
            _(
                "Moderators are asked later than helpers: make the second wait longer than the first."
            ),
        )
    for field, value in changes.items():
        setattr(group, field, value)
    if changes:
        with transaction.atomic():
            group.save(update_fields=list(changes))
            if "announcement" in changes:
                send_event_on_commit(
                    group.pk,
                    {"type": "group.announcement", "announcement": announcement_dict(group)},
                )
    return group


def announcement_dict(group: Group) -> dict[str, Any] | None:
    if not group.announcement:
        return None
    from tongzhou.chat.render import to_html

    by = group.announcement_by
    return {
        "text": group.announcement,
        "html": to_html(group.announcement),
        "at": group.announcement_at.isoformat() if group.announcement_at else None,
        "by": by.display_name if by is not None else None,
    }


def do_add_join_question(actor: Membership, text: str) -> JoinQuestion:
    text = _text(text, 300, "invalid_question", required=True)
    group = actor.group
    if group.join_questions.count() >= 10:
        raise UserError("too_many_questions", _("A group can ask at most 10 extra questions."))
    return JoinQuestion.objects.create(
        group=group, text=text, position=group.join_questions.count()
    )


def do_delete_join_question(actor: Membership, question_id: int) -> None:
    deleted, _n = JoinQuestion.objects.filter(group=actor.group, pk=question_id).delete()
    if not deleted:
        raise UserError("question_not_found", _("There is no such question."), 404)


def do_create_invite(actor: Membership, *, hours: Any, max_uses: Any) -> Invite:
    try:
        hours = int(hours)
        max_uses = None if max_uses in (None, "", 0, "0") else int(max_uses)
    except (TypeError, ValueError) as e:
        raise UserError("invalid_invite", _("Enter whole numbers for the invite.")) from e
    if not 1 <= hours <= 24 * 30:
        raise UserError("invalid_invite", _("An invite lasts from 1 hour to 30 days."))
    if max_uses is not None and not 1 <= max_uses <= 1000:
        raise UserError("invalid_invite", _("An invite can be used 1 to 1000 times."))
    return Invite.objects.create(
        group=actor.group,
        created_by=actor.user,
        expires_at=timezone.now() + dt.timedelta(hours=hours),
        max_uses=max_uses,
    )


def do_revoke_invite(actor: Membership, invite_id: int) -> None:
    updated = Invite.objects.filter(group=actor.group, pk=invite_id).update(revoked=True)
    if not updated:
        raise UserError("invite_not_found", _("There is no such invite."), 404)


def do_accept_invite(user: User, token: str) -> Membership:
    with transaction.atomic():
        invite = Invite.objects.select_for_update().filter(token=token).first()
        if invite is None or not invite.usable:
            raise UserError(
                "invite_invalid",
                _(
                    "This invite link has expired or been used up. Ask the group leader for a new one."
                ),
                410,
            )
        group = Group.objects.select_for_update().get(pk=invite.group_id)
        existing = Membership.objects.filter(group=group, user=user).first()
        if existing is not None and existing.is_active:
            return existing
        if existing is not None:
            raise UserError(
                "removed_member",
                _(
                    "You were removed from this group. To come back, apply again and wait for the leader's review."
                ),
                403,
            )
        _check_room(group)
        membership = _admit(group, user)
        invite.uses += 1
        invite.save(update_fields=["uses"])
        Application.objects.filter(
            group=group, user=user, status=Application.Status.PENDING
        ).update(
            status=Application.Status.APPROVED,
            decided_by=invite.created_by,
            decided_at=timezone.now(),
        )
    return membership
