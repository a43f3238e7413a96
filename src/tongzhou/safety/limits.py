"""Rate limits counted from the rows themselves (messages, applications, reports), so they
hold across processes and restarts with no extra store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.errors import UserError


def check_rate(name: str, rows: Any, field: str = "created_at") -> None:
    """Refuse (429) when `rows` already holds the limit's count within its window."""
    check_rates([name], rows, field)


def check_rates(names: list[str], rows: Any, field: str = "created_at") -> None:
    """Several windows over the same rows, counted in one query."""
    now = timezone.now()
    windows = {name: settings.RATE_LIMITS[name] for name in names}
    longest = max(seconds for _limit, seconds in windows.values())
    counts = rows.filter(**{f"{field}__gte": now - timedelta(seconds=longest)}).aggregate(
        **{
            name: Count("pk", filter=Q(**{f"{field}__gte": now - timedelta(seconds=seconds)}))
            for name, (_limit, seconds) in windows.items()
        }
    )
    for name, (limit, seconds) in windows.items():
        if counts[name] >= limit:
            _refuse(seconds)


def _refuse(seconds: int) -> None:
    if seconds <= 60:
        text = _("You are sending too fast. Please wait a minute and try again.")
    elif seconds <= 3600:
        text = _("You have reached this hour's limit. Please try again in an hour.")
    else:
        text = _("You have reached today's limit. Please try again tomorrow.")
    raise UserError("rate_limited", text, 429)
