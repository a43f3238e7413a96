"""The only code that changes reports, the audit log, claims, mutes, bans and badges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.models import ApiToken, User, UserSession
from tongzhou.chat.models import DeletedBy, Message
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.models import Group, Membership, Profession
from tongzhou.groups.queries import access_member, not_found
from tongzhou.realtime import recheck_sockets_on_commit, send_event_on_commit
from tongzhou.safety.audit import audit
from tongzhou.safety.checks import alert_moderators, forget_claims
from tongzhou.safety.claims import SEEDS
from tongzhou.safety.limits import check_rate
from tongzhou.safety.models import AuditEntry, Claim, Report
from tongzhou.text import clean

MUTE_MINUTES = (60, 24 * 60, 7 * 24 * 60)  # the choices offered: an hour, a day, a week
MEMBER_ACTIONS = ("warn", "mute", "unmute", "remove", "ban")
REPORT_ACTIONS = ("approve", "reject", "dismiss", "done", "hide", *MEMBER_ACTIONS)


def _reason(value: Any, required: bool) -> str:
    text = clean(value if isinstance(value, str) else "")
    if required and not text:
        raise UserError("reason_required", _("Please write a reason: it goes in the audit log."))
    if len(text) > 1000:
        raise UserError("invalid_reason", _("The reason is too long (at most 1000 characters)."))
    return text


def do_report(
    user: User,
    membership: Membership,
    *,
    message_id: Any = None,
    member_id: Any = None,
    reason: str,
    note: str = "",
) -> Report:
    """A member tells the moderators about a message or a member."""
    if reason not in Report.Reason.values or (
        reason == Report.Reason.CRISIS and message_id is None
    ):
        raise UserError("invalid_reason", _("Choose a reason from the list."))
    note = clean(note if isinstance(note, str) else "")
    if len(note) > 1000:
        raise UserError("invalid_note", _("The note is too long (at most 1000 characters)."))
    message = None
    if message_id is not None:
        message = Message.objects.filter(
            pk=parse_id(message_id),
            group_id=membership.group_id,
            status=Message.Status.VISIBLE,
            deleted_at__isnull=True,
        ).first()
        if message is None:
            raise not_found()
        member_id = message.sender_id
    elif member_id is not None:
        member_id = access_member(membership, member_id).user_id
    else:
        raise UserError("nothing_reported", _("Say which message or member you are reporting."))
    if member_id == user.pk:
        raise UserError("not_allowed", _("You cannot report yourself."), 403)
    check_rate("report_hour", Report.objects.filter(reporter=user))
    with transaction.atomic():
        report = Report.objects.create(
            group_id=membership.group_id,
            message=message,
            member_id=member_id,
            reporter=user,
            reason=reason,
            note=note,
        )
        if message is not None:
            alert_moderators(message, "crisis" if reason == Report.Reason.CRISIS else "report")
    return report


def _report_of(actor: Membership, report_id: Any) -> Report:
    report = (
        Report.objects.select_for_update()
        .filter(pk=parse_id(report_id), group_id=actor.group_id)
        .first()
    )
    if report is None:
        raise not_found()
    if report.status != Report.Status.OPEN:
        raise UserError("already_decided", _("This report has already been dealt with."), 409)
    return report


def _close(report: Report, actor: Membership, status: str, *, with_others: bool) -> None:
    """Close the report; after an action on the message or its sender, the other open reports
    about that message too, except a crisis alert, which only "I have reached out" closes.
    The moderators' alerts go once nothing about the message is open."""
    now = timezone.now()
    Report.objects.filter(pk=report.pk).update(status=status, handled_by=actor.user, handled_at=now)
    if report.message_id is None:
        return
    open_here = Report.objects.filter(message_id=report.message_id, status=Report.Status.OPEN)
    if with_others:
        open_here.exclude(reason=Report.Reason.CRISIS).update(
            status=Report.Status.DONE, handled_by=actor.user, handled_at=now
        )
    if not open_here.exists():
        close_alerts(report.message_id)


def close_alerts(message_id: int) -> None:
    """The moderators' alerts about a message are done once someone has dealt with it."""
    from tongzhou.notify.models import Notification

    Notification.objects.filter(
        message_id=message_id, kind=Notification.Kind.SAFETY, read_at__isnull=True
    ).update(read_at=timezone.now())


def do_decide_report(
    actor: Membership, report_id: Any, action: str, *, reason: Any = "", minutes: Any = None
) -> Report:
    """A moderator deals with a report: approve or turn down a held message, hide the message,
    act on the member, or close it with no action. Each step is in the audit log."""
    if action not in REPORT_ACTIONS:
        raise UserError("invalid_action", _("Choose an action from the list."))
    reason = _reason(reason, required=action not in ("approve", "dismiss", "done"))
    with transaction.atomic():
        report = _report_of(actor, report_id)
        message = report.message
        held = message is not None and message.status == Message.Status.HELD
        if action in ("approve", "reject") and not held:
            raise UserError("not_held", _("This message is not waiting for approval."), 409)
        if action == "done" and report.reason != Report.Reason.CRISIS:
            raise UserError("invalid_action", _("Choose an action from the list."))
        logged = {
            "approve": AuditEntry.Action.APPROVE,
            "reject": AuditEntry.Action.REJECT,
            "hide": AuditEntry.Action.HIDE,
            "dismiss": AuditEntry.Action.DISMISS,
            "done": AuditEntry.Action.CRISIS_SEEN,
        }
        if action == "approve":
            _approve(actor, message)  # type: ignore[arg-type]  # held implies a message
        elif action in ("reject", "hide"):
            if message is None:
                raise UserError("no_message", _("This report is about a member, not a message."))
            _hide(actor, message)
        elif action in MEMBER_ACTIONS:  # _act_on_member writes its own entry
            if report.member_id is None:
                raise UserError(
                    "member_not_found", _("There is no such member in this group."), 404
                )
            if held:  # a salesman's held message goes with them
                _hide(actor, message)  # type: ignore[arg-type]
            _act_on_member(actor, report.member_id, action, reason, minutes, report)
        if action in logged:
            audit(
                actor.group_id,
                actor.user,
                logged[action],
                member_id=report.member_id,
                message_id=report.message_id,
                report=report,
                reason=reason,
            )
        if action == "dismiss" and report.claim_id is not None and message is not None:
            from tongzhou.chat.changes import publish_change

            _close(report, actor, Report.Status.DISMISSED, with_others=False)
            publish_change(Message.objects.get(pk=message.pk), [])  # the note goes
        else:
            _close(
                report,
                actor,
                Report.Status.DISMISSED if action == "dismiss" else Report.Status.DONE,
                with_others=action not in ("dismiss", "done"),
            )
        report.refresh_from_db()
    return report


def _approve(actor: Membership, message: Message) -> None:
    from tongzhou.chat.actions import on_visible
    from tongzhou.chat.changes import publish_change

    Group.objects.select_for_update().only("pk").get(pk=message.group_id)
    message.status = Message.Status.VISIBLE
    on_visible(message)
    # Published as a change: open pages and reconnecting clients place it by its id.
    publish_change(message, ["status"])


def _hide(actor: Membership, message: Message) -> None:
    from tongzhou.chat.changes import do_delete_message

    if message.deleted_by:
        return
    do_delete_message(actor.user, actor.group_id, message.pk, include_held=True)


def do_hide_message(actor: Membership, message_id: Any, reason: Any) -> None:
    reason = _reason(reason, required=True)
    with transaction.atomic():
        message = Message.objects.filter(
            pk=parse_id(message_id), group_id=actor.group_id, deleted_at__isnull=True
        ).first()
        if message is None:
            raise not_found()
        _hide(actor, message)
        audit(
            actor.group_id,
            actor.user,
            AuditEntry.Action.HIDE,
            member_id=message.sender_id,
            message_id=message.pk,
            reason=reason,
        )
        open_here = Report.objects.filter(message=message, status=Report.Status.OPEN)
        open_here.exclude(reason=Report.Reason.CRISIS).update(
            status=Report.Status.DONE, handled_by=actor.user, handled_at=timezone.now()
        )
        if not open_here.exists():
            close_alerts(message.pk)


def do_moderate_member(
    actor: Membership, user_id: Any, action: str, *, reason: Any = "", minutes: Any = None
) -> None:
    if action not in MEMBER_ACTIONS:
        raise UserError("invalid_action", _("Choose an action from the list."))
    reason = _reason(reason, required=action != "unmute")
    with transaction.atomic():
        target = access_member(actor, user_id)
        _act_on_member(actor, target.user_id, action, reason, minutes, None)


def _act_on_member(
    actor: Membership, user_id: int, action: str, reason: str, minutes: Any, report: Report | None
) -> None:
    target = (
        Membership.objects.select_related("user")
        .filter(group_id=actor.group_id, user_id=user_id, status=Membership.Status.ACTIVE)
        .first()
    )
    if target is None:
        raise UserError("member_not_found", _("There is no such member in this group."), 404)
    if target.user_id == actor.user_id:
        raise UserError("not_allowed", _("You cannot do this to yourself."), 403)
    if (target.can_moderate and not actor.is_leader) or target.is_leader:
        raise UserError(
            "not_allowed",
            _("Only the leader can do this to a moderator, and not to the leader."),
            403,
        )
    kw: dict[str, Any] = {"member_id": target.user_id, "report": report, "reason": reason}
    if action == "warn":
        audit(actor.group_id, actor.user, AuditEntry.Action.WARN, **kw)
    elif action == "mute":
        try:
            n = int(minutes)
        except (TypeError, ValueError):
            n = 0
        if not 1 <= n <= 30 * 24 * 60:
            raise UserError("invalid_minutes", _("A mute lasts from 1 minute to 30 days."))
        target.muted_until = timezone.now() + timedelta(minutes=n)
        target.save(update_fields=["muted_until"])
        audit(actor.group_id, actor.user, AuditEntry.Action.MUTE, until=target.muted_until, **kw)
    elif action == "unmute":
        target.muted_until = None
        target.save(update_fields=["muted_until"])
        audit(actor.group_id, actor.user, AuditEntry.Action.UNMUTE, **kw)
    elif action == "remove":
        from tongzhou.groups.actions import do_remove_member

        do_remove_member(actor, target, reason=reason, report=report)
    elif action == "ban":
        if not actor.is_leader and not actor.user.is_staff:
            raise UserError("not_allowed", _("Only the group's leader can do this."), 403)
        _ban(actor, target.user, reason, report)


def _ban(actor: Membership, user: User, reason: str, report: Report | None) -> None:
    """Off the whole server: every membership ends, every session and token goes, sign-in
    is refused, and held messages are turned down."""
    from tongzhou.groups.actions import do_remove_member

    for m in Membership.objects.filter(user=user, status=Membership.Status.ACTIVE).select_related(
        "user"
    ):
        if m.is_leader:
            raise UserError("not_allowed", _("A group's leader cannot be banned."), 403)
        if m.group_id == actor.group_id:
            do_remove_member(actor, m, reason=reason, report=report, log=False)
        else:
            m.status, m.removed_at = Membership.Status.REMOVED, timezone.now()
            m.save(update_fields=["status", "removed_at"])
            send_event_on_commit(m.group_id, {"type": "member.removed", "user_id": user.pk})
    Message.objects.filter(sender=user, status=Message.Status.HELD, deleted_at__isnull=True).update(
        text="", deleted_at=timezone.now(), deleted_by=DeletedBy.MODERATOR
    )
    user.banned_at = timezone.now()
    user.is_active = False
    user.save(update_fields=["banned_at", "is_active"])
    UserSession.objects.filter(user=user).delete()
    ApiToken.objects.filter(user=user).delete()
    recheck_sockets_on_commit(user.pk)
    audit(
        actor.group_id,
        actor.user,
        AuditEntry.Action.BAN,
        member_id=user.pk,
        report=report,
        reason=reason,
    )


def do_see_warnings(membership: Membership) -> int:
    return AuditEntry.objects.filter(
        group_id=membership.group_id,
        member_id=membership.user_id,
        action=AuditEntry.Action.WARN,
        seen_at__isnull=True,
    ).update(seen_at=timezone.now())


def do_request_badge(membership: Membership, profession: Any) -> Membership:
    """A member says they are a health professional; the leader checks off-platform."""
    if profession not in Profession.values:
        raise UserError("invalid_profession", _("Choose a profession from the list."))
    membership.profession = profession
    membership.professional_requested_at = timezone.now()
    membership.save(update_fields=["profession", "professional_requested_at"])
    return membership


# Claims ----------------------------------------------------------------------------------


def seed_claims(group: Group) -> None:
    Claim.objects.bulk_create(
        [
            Claim(
                group=group,
                seed=s["seed"],
                title=s["title"],
                correction=s["correction"],
                patterns=s["patterns"],
            )
            for s in SEEDS
        ]
    )


def _claim_fields(group_id: int, data: dict[str, Any], partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    limits = {"title": 200, "patterns": 4000, "correction": 2000}
    for name, most in limits.items():
        if name not in data or data[name] is None:
            if not partial:
                raise UserError(
                    "invalid_claim", _("Please fill in the claim, its patterns and the correction.")
                )
            continue
        value = clean(str(data[name]))
        if not value:
            raise UserError(
                "invalid_claim", _("Please fill in the claim, its patterns and the correction.")
            )
        if len(value) > most:
            raise UserError(
                "invalid_claim",
                _("This field is too long (at most %(n)d characters).") % {"n": most},
            )
        out[name] = value
    if data.get("entry") not in (None, ""):
        from tongzhou.knowledge.models import Entry

        entry = Entry.objects.filter(pk=parse_id(data["entry"]), group_id=group_id).first()
        if entry is None:
            raise UserError(
                "entry_not_found", _("There is no such knowledge entry in this group."), 404
            )
        out["entry"] = entry
    elif "entry" in data:
        out["entry"] = None
    if "active" in data and data["active"] is not None:
        out["active"] = bool(data["active"])
    return out


def do_add_claim(actor: Membership, data: dict[str, Any]) -> Claim:
    forget_claims(actor.group_id)
    if Claim.objects.filter(group_id=actor.group_id).count() >= 200:
        raise UserError("too_many_claims", _("A group can keep at most 200 claims."))
    return Claim.objects.create(
        group_id=actor.group_id, **_claim_fields(actor.group_id, data, False)
    )


def do_edit_claim(actor: Membership, claim_id: Any, data: dict[str, Any]) -> Claim:
    forget_claims(actor.group_id)
    claim = Claim.objects.filter(pk=parse_id(claim_id), group_id=actor.group_id).first()
    if claim is None:
        raise not_found()
    fields = _claim_fields(actor.group_id, data, True)
    if claim.seed and fields.keys() & {"title", "correction"}:
        # From now on the leader's words are shown, not the shipped translations.
        from tongzhou.safety.queries import claim_text

        claim.title, claim.correction = claim_text(claim)
        claim.seed = ""
        fields.setdefault("title", claim.title)
        fields.setdefault("correction", claim.correction)
    for k, v in fields.items():
        setattr(claim, k, v)
    claim.save()
    return claim


def do_delete_claim(actor: Membership, claim_id: Any) -> None:
    forget_claims(actor.group_id)
    deleted, _n = Claim.objects.filter(pk=parse_id(claim_id), group_id=actor.group_id).delete()
    if not deleted:
        raise not_found()
