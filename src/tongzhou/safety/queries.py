"""Reading what the safety features keep: notes on messages, the sender's private notices,
the moderators' queue and the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongzhou.chat.models import Message
from tongzhou.groups.models import Membership, Profession
from tongzhou.safety.claims import SEEDS
from tongzhou.safety.models import AuditEntry, Claim, Report
from tongzhou.safety.resources import region_of, resources_for

if TYPE_CHECKING:
    from tongzhou.chat.serialize import MessageDict

# Why a moderator was told (notification reason codes).
ALERTS = {
    "crisis": gettext_lazy("Someone may be in crisis: please reach out to them privately."),
    "held": gettext_lazy("A message is held for your approval."),
    "spam": gettext_lazy("A message looks like selling or spam."),
    "claim": gettext_lazy("A message repeats a claim worth checking."),
    "report": gettext_lazy("A member reported something."),
}
# What the checks found, for the queue.
SIGNALS = {
    "contact:wechat": gettext_lazy("a WeChat ID"),
    "contact:qq": gettext_lazy("a QQ number"),
    "contact:phone": gettext_lazy("a phone number"),
    "contact:handle": gettext_lazy("other contact details"),
    "private": gettext_lazy("asks people to talk privately"),
    "ad": gettext_lazy("advertising words"),
    "ad:strong": gettext_lazy("a lot of advertising"),
    "link": gettext_lazy("a link to an unknown site"),
    "qr_code": gettext_lazy("a QR code in the picture"),
    "duplicate": gettext_lazy("the same text sent to another group"),
    "new_member": gettext_lazy("from a member who joined in the last few days"),
    "crisis": gettext_lazy("words of despair or of ending their life"),
}
SEED_TEXT = {s["seed"]: s for s in SEEDS}


def claim_text(claim: Claim) -> tuple[str, str]:
    """A shipped claim in the reader's language; an edited one as the leader wrote it."""
    if claim.seed in SEED_TEXT:
        return _(SEED_TEXT[claim.seed]["title"]), _(SEED_TEXT[claim.seed]["correction"])
    return claim.title, claim.correction


def claim_note(claim: Claim) -> dict[str, Any]:
    title, correction = claim_text(claim)
    url = None
    if claim.entry_id is not None:
        url = reverse("groups:entry", args=[claim.group_id, claim.entry_id])
    return {
        "claim": claim.pk,
        "title": title,
        "correction": correction,
        "url": url or f"{reverse('groups:claims', args=[claim.group_id])}#claim-{claim.pk}",
    }


def claim_dict(c: Claim) -> dict[str, Any]:
    title, correction = claim_text(c)
    return {
        "id": c.pk,
        "title": title,
        "correction": correction,
        "patterns": c.patterns,
        "entry": c.entry_id,
        "active": c.active,
        "shipped": bool(c.seed),
        "url": claim_note(c)["url"],
    }


def claim_reports() -> Prefetch:
    """For a page of messages: the claim notes they carry, in one query."""
    return Prefetch(
        "reports",
        queryset=Report.objects.filter(reporter=None, claim__isnull=False)
        .exclude(status=Report.Status.DISMISSED)
        .select_related("claim")
        .defer("note"),
        to_attr="claim_reports",
    )


def notes_of(m: Message) -> list[dict[str, Any]]:
    """ "Worth checking" notes everyone sees under a message."""
    if m.deleted_by:
        return []
    found = getattr(m, "claim_reports", None)
    if found is None:
        found = list(
            Report.objects.filter(message=m, reporter=None, claim__isnull=False)
            .exclude(status=Report.Status.DISMISSED)
            .select_related("claim")
            .defer("note")
        )
    return [claim_note(r.claim) for r in found if r.claim is not None and r.claim.active]


def badges_of(group_id: int, user_id: int | None = None) -> dict[int, str]:
    """Verified professionals of a group (or just this member) and what they are."""
    found = Membership.objects.filter(
        group_id=group_id, verified_professional_at__isnull=False, status=Membership.Status.ACTIVE
    )
    if user_id is not None:
        found = found.filter(user_id=user_id)
    rows: list[tuple[int, str]] = list(found.values_list("user_id", "profession"))
    return {
        uid: str(Profession(p).label) if p else str(_("Health professional")) for uid, p in rows
    }


def badge_of(m: Message, badges: dict[int, str] | None) -> str | None:
    if m.sender_id is None:
        return None
    if badges is not None:
        return badges.get(m.sender_id)
    return badges_of(m.group_id, m.sender_id).get(m.sender_id)


def sender_notices(message: MessageDict, user: Any) -> list[dict[str, Any]]:
    """What only the sender is told about their message (the send answer), from the message
    as just serialised: its status and notes are there already; only a crisis is looked up."""
    notices: list[dict[str, Any]] = []
    if message["status"] == Message.Status.HELD and not message["deleted"]:
        notices.append(
            {
                "type": "held",
                "text": _(
                    "Your message will show in the group once a moderator has looked at it. "
                    "Contact details and selling wait for a moderator here."
                ),
            }
        )
    if Report.objects.filter(
        message_id=message["id"], reporter=None, reason=Report.Reason.CRISIS
    ).exists():
        notices.append({"type": "crisis", **crisis_card(user)})
    if message["notes"]:
        notices.append({"type": "worth_checking", "notes": message["notes"]})
    return notices


def crisis_card(user: Any) -> dict[str, Any]:
    return {
        "title": _("You don't have to carry this alone"),
        "text": _(
            "What you wrote sounds very hard. If you are thinking of ending your life, please "
            "talk to someone now: these lines are free and confidential. Your group's leader "
            "and moderators have been told privately, so that someone can reach out to you."
        ),
        "resources": resources_for(region_of(user)),
        "more_url": reverse("crisis_resources"),
    }


def report_dict(r: Report) -> dict[str, Any]:
    from tongzhou.chat.serialize import message_dict

    m = r.message
    return {
        "id": r.pk,
        "reason": r.reason,
        "reason_text": str(Report.Reason(r.reason).label),
        "automatic": r.reporter_id is None,
        "reporter": r.reporter.display_name if r.reporter is not None else None,
        "member": (
            {"id": r.member_id, "display_name": r.member.display_name}
            if r.member is not None
            else None
        ),
        "signals": [str(SIGNALS.get(s, s)) for s in r.signals],
        "claim": claim_note(r.claim) if r.claim is not None else None,
        "held": r.held and m is not None and m.status == Message.Status.HELD,
        "note": r.note,
        "message": message_dict(m) if m is not None else None,
        "created_at": r.created_at.isoformat(),
        "status": r.status,
    }


def open_reports(group_id: int) -> list[Report]:
    """The queue: held messages first, then crisis, then the rest, oldest first."""
    rows = list(
        Report.objects.filter(group_id=group_id, status=Report.Status.OPEN)
        .select_related("reporter", "member", "claim", "message__sender")
        .order_by("created_at")[:200]
    )
    order = {str(Report.Reason.CRISIS): 1}
    return sorted(rows, key=lambda r: (0 if r.held else order.get(r.reason, 2), r.created_at))


_CODED = (AuditEntry.Action.ROLE, AuditEntry.Action.VERIFY, AuditEntry.Action.UNVERIFY)


def _detail(e: AuditEntry) -> str:
    """What a role change or a badge became, in the reader's language (stored as a code)."""
    if e.action == AuditEntry.Action.ROLE and e.reason in Membership.GroupRole.values:
        return str(Membership.GroupRole(e.reason).label)
    if e.action in (AuditEntry.Action.VERIFY, AuditEntry.Action.UNVERIFY):
        return str(Profession(e.reason).label) if e.reason in Profession.values else ""
    return ""


def audit_dict(e: AuditEntry) -> dict[str, Any]:
    return {
        "detail": _detail(e),  # a role or profession, translated
        "id": e.pk,
        "action": e.action,
        "action_text": str(AuditEntry.Action(e.action).label),
        "actor": e.actor.display_name if e.actor is not None else None,
        "member": e.member.display_name if e.member is not None else None,
        "member_id": e.member_id,
        "message": e.message_id,
        "report": e.report_id,
        "reason": "" if e.action in _CODED else e.reason,
        "until": e.until.isoformat() if e.until else None,
        "created_at": e.created_at.isoformat(),
    }


def audit_log(group_id: int, before: int | None = None, limit: int = 100) -> list[AuditEntry]:
    qs = AuditEntry.objects.filter(group_id=group_id).select_related("actor", "member")
    if before is not None:
        qs = qs.filter(pk__lt=before)
    return list(qs.order_by("-pk")[: max(1, min(limit, 200))])


def unseen_warnings(membership: Membership) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            group_id=membership.group_id,
            member_id=membership.user_id,
            action=AuditEntry.Action.WARN,
            seen_at__isnull=True,
        ).order_by("pk")
    )


def muted(membership: Membership) -> bool:
    return membership.muted_until is not None and membership.muted_until > timezone.now()
