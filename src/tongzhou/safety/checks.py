"""The safety checks on a send, in the order of DESIGN.md §2: each detector is a pure
function (spam.py, crisis.py, claims.py, pii.py); this module gathers what they need from
the database and records what they found (reports, alerts to moderators)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tongzhou.chat.models import Attachment, Message
from tongzhou.errors import UserError
from tongzhou.groups.models import Group, Membership
from tongzhou.safety.claims import matching
from tongzhou.safety.crisis import crisis_signals
from tongzhou.safety.models import Claim, Report
from tongzhou.safety.pii import personal_data
from tongzhou.safety.spam import Sender, is_spam, spam_signals

DUPLICATE_WINDOW = timedelta(hours=24)
DUPLICATE_MIN_CHARS = 12


@dataclass
class Verdict:
    spam: list[str] = field(default_factory=list)  # signals, when they add up to spam
    hold: bool = False
    claims: list[int] = field(default_factory=list)
    crisis: list[str] = field(default_factory=list)


def _duplicate_elsewhere(sender_id: int, group_id: int, text: str) -> bool:
    """The same words sent to another group within a day: a salesman's round."""
    if len(text) < DUPLICATE_MIN_CHARS:
        return False
    return (
        Message.objects.filter(
            sender_id=sender_id, created_at__gte=timezone.now() - DUPLICATE_WINDOW, text=text
        )
        .exclude(group_id=group_id)
        .exists()
    )


CLAIMS_FRESH_FOR = 30.0  # seconds: another process sees a leader's edit this late at most
_claims: dict[int, tuple[float, list[tuple[int, str]]]] = {}


def active_claims(group_id: int) -> list[tuple[int, str]]:
    """The group's claims, kept briefly per process: read on every send otherwise."""
    now = time.monotonic()
    kept = _claims.get(group_id)
    if kept is None or kept[0] < now:
        rows = list(
            Claim.objects.filter(group_id=group_id, active=True).values_list("id", "patterns")
        )
        kept = (now + CLAIMS_FRESH_FOR, rows)
        _claims[group_id] = kept
    return kept[1]


def forget_claims(group_id: int) -> None:
    _claims.pop(group_id, None)


def check_message(
    membership: Membership,
    group: Group,
    text: str,
    attachment: Attachment | None,
    *,
    confirmed_personal_data: bool = False,
) -> Verdict:
    """What the checks make of a message about to be sent (or an edited one). A newcomer who
    was asked about their own phone number and said "send anyway" is not held for it alone."""
    verdict = Verdict()
    new = membership.joined_at > timezone.now() - timedelta(days=group.new_member_days)
    signals = spam_signals(text, Sender(new_member=new)) if text else []
    if attachment is not None and attachment.has_qr:
        signals.append("qr_code")
    if text and _duplicate_elsewhere(membership.user_id, group.pk, text):
        signals.append("duplicate")
    own_number = confirmed_personal_data and set(signals) <= {"contact:phone", "new_member"}
    if is_spam(signals) and not membership.can_moderate and not own_number:
        verdict.spam = signals
        verdict.hold = group.spam_action == Group.SpamAction.HOLD
    if text:
        verdict.crisis = crisis_signals(text)  # for everyone: leaders have dark days too
        if not membership.can_moderate:  # they quote claims to correct them
            verdict.claims = matching(text, active_claims(group.pk))
    return verdict


def check_personal_data(text: str, confirmed: bool) -> None:
    """Before personal data goes to the whole group, the sender is asked (and may say yes)."""
    if confirmed or not text:
        return
    found = personal_data(text)
    if not found:
        return
    names = {
        "phone": _("a phone number"),
        "id_number": _("an ID card number"),
        "bank_card": _("a bank card number"),
        "address": _("a home address"),
    }
    what = _(", ").join(str(names[f["kind"]]) for f in found)
    raise UserError(
        "personal_data",
        ngettext(
            "This message seems to contain %(what)s. Everyone in the group will see it. "
            "Edit it, or send it anyway.",
            "This message seems to contain %(what)s. Everyone in the group will see them. "
            "Edit it, or send it anyway.",
            len(found),
        )
        % {"what": what},
        422,
    )


def moderators_of(group_id: int, *, besides: int | None = None) -> list[int]:
    ids = Membership.objects.filter(
        group_id=group_id,
        status=Membership.Status.ACTIVE,
        role__in=[Membership.GroupRole.LEADER, Membership.GroupRole.MODERATOR],
    ).values_list("user_id", flat=True)
    return [uid for uid in ids if uid != besides]


def alert_moderators(message: Message, code: str) -> None:
    """A private note to the leader and moderators (never the sender), live and in their
    notifications."""
    from tongzhou.notify.actions import notify_safety

    targets = moderators_of(message.group_id, besides=message.sender_id)
    if targets:
        notify_safety(message, targets, code)


def _report(message: Message, reason: str, claim_id: int | None = None, **fields: Any) -> Report:
    """One open automatic report per message, reason and claim (an edit does not add more)."""
    report, _created = Report.objects.get_or_create(
        group_id=message.group_id,
        message=message,
        reporter=None,
        reason=reason,
        claim_id=claim_id,
        status=Report.Status.OPEN,
        defaults={"member_id": message.sender_id, **fields},
    )
    return report


def record(message: Message, verdict: Verdict) -> None:
    """Reports for what the checks found, and alerts for the moderators."""
    if verdict.spam:
        _report(message, Report.Reason.SPAM, signals=verdict.spam, held=verdict.hold)
        alert_moderators(message, "held" if verdict.hold else "spam")
    for claim_id in verdict.claims:
        _report(message, Report.Reason.MISINFORMATION, claim_id=claim_id)
    if verdict.claims and not verdict.hold:
        alert_moderators(message, "claim")
    if verdict.crisis:
        _report(message, Report.Reason.CRISIS, signals=["crisis"])  # never the words
        alert_moderators(message, "crisis")  # crisis last: it is the one they must see
