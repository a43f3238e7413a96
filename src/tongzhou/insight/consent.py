"""Who has said yes to what, now. Every reader of research data asks here at the moment of
reading, so a revocation takes effect on the next page, suggestion or export."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from tongzhou.groups.models import Membership
from tongzhou.insight.models import ConsentText, ResearchConsent

# Version 0: the words Tongzhou ships, shown in the reader's language until a leader writes
# the group's own.
DEFAULT_TEXT = _(
    "Researchers who study how patients support each other may ask this group's leader for "
    "access for a stated purpose and for a limited time. If you say yes, they may read your "
    "messages in this group with your name replaced by a code (such as P012) and with names, "
    "phone numbers, ID numbers, addresses and hospitals removed from the text. They never see "
    "your name, your contact details or messages of members who said no. Your health details "
    "(cancer type, stage, phase, region, year of diagnosis) are shared only if you also say "
    "yes to that, and only in broad groups of at least five people. Quoting your words in a "
    "publication needs a separate yes, because a quote can be searched back to you. You can "
    "change your mind at any time: from then on your messages leave every project's coding "
    "and every export."
)


@dataclass(frozen=True)
class Text:
    version: int
    text: str


def current_text(group_id: int) -> Text:
    latest = ConsentText.objects.filter(group_id=group_id).order_by("-version").first()
    if latest is None:
        return Text(0, str(DEFAULT_TEXT))
    return Text(latest.version, latest.text)


def in_force(group_id: int, user_id: int) -> ResearchConsent | None:
    return (
        ResearchConsent.objects.filter(group_id=group_id, user_id=user_id)
        .order_by("-decided_at", "-id")
        .first()
    )


def consents(group_id: int) -> dict[int, ResearchConsent]:
    """The decision in force for each active member of the group who has said yes to their
    messages. Leaving the group ends it: a former member's messages are not studied."""
    active = set(
        Membership.objects.filter(group_id=group_id, status=Membership.Status.ACTIVE).values_list(
            "user_id", flat=True
        )
    )
    latest: dict[int, ResearchConsent] = {}
    for row in ResearchConsent.objects.filter(group_id=group_id).order_by(
        "user_id", "-decided_at", "-id"
    ):
        latest.setdefault(row.user_id, row)
    return {uid: c for uid, c in latest.items() if c.messages and uid in active}
