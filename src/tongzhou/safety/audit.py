"""Writing the audit log: one call for every moderator action."""

from __future__ import annotations

import datetime as dt

from tongzhou.accounts.models import User
from tongzhou.safety.models import AuditEntry, Report


def audit(
    group_id: int,
    actor: User | None,
    action: str,
    *,
    member_id: int | None = None,
    message_id: int | None = None,
    report: Report | None = None,
    reason: str = "",
    until: dt.datetime | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        group_id=group_id,
        actor=actor,
        action=action,
        member_id=member_id,
        message_id=message_id,
        report=report,
        reason=reason,
        until=until,
    )
