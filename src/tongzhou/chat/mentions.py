"""@mentions: which members a message names. The text keeps "@Name" as typed; a Mention row
records who it meant, so the name renders as a mention even if the member renames later."""

from __future__ import annotations

from tongzhou.chat.models import Mention, Message
from tongzhou.groups.queries import active_member_names


def find_mentions(group_id: int, text: str) -> dict[str, int]:
    """Names written after "@" that are active members' display names. At each "@" the
    longest name wins ("@Wang Li" over "@Wang"); two members with the same name: the one who
    joined first (the autocomplete shows both, with their roles, to tell them apart)."""
    if "@" not in text:
        return {}
    by_name: dict[str, int] = {}
    for uid, name in active_member_names(group_id):
        by_name.setdefault(name, uid)
    names = sorted(by_name, key=len, reverse=True)
    found: dict[str, int] = {}
    start = text.find("@")
    while start != -1:
        rest = text[start + 1 :]
        match = next((n for n in names if n and rest.startswith(n)), None)
        if match is not None:
            found[match] = by_name[match]
        start = text.find("@", start + 1 + (len(match) if match else 0))
    return found


def save_mentions(message: Message, found: dict[str, int]) -> list[int]:
    """Replace the message's mentions; returns the ids newly mentioned."""
    before = set(message.mentions.values_list("user_id", flat=True)) if message.pk else set()
    message.mentions.exclude(user_id__in=found.values()).delete()
    Mention.objects.bulk_create(
        [Mention(message=message, user_id=uid, name=name) for name, uid in found.items()],
        ignore_conflicts=True,
    )
    return [uid for uid in found.values() if uid not in before]
