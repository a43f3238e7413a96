"""#topics demo content: a few tagged messages in the chat, and a member following a topic."""

from __future__ import annotations

from typing import Any

from tongzhou.accounts.models import User
from tongzhou.chat.actions import do_send_message
from tongzhou.community import topics
from tongzhou.groups.models import Group

TAG = "放疗"
MESSAGES = [
    ("chen", "#放疗 小经验：每天用淡盐水漱口，嘴巴会舒服很多。Rinse with salt water every day."),
    ("carer", "给我爸做的流食 #diet #放疗：小米粥加蛋羹，好咽。Millet porridge and steamed egg."),
    (
        "moderator",
        "#放疗 期间记得多喝水，皮肤别晒太阳。Drink plenty of water; keep out of the sun.",
    ),
]


def seed(group: Group, users: dict[str, User]) -> None:
    """Add this feature's demo content to the demo group (users by demo username)."""
    for i, (who, text) in enumerate(MESSAGES):
        do_send_message(users[who], group.pk, client_id=f"demo-topic-{i}", text=text)
    topics.do_follow(users["newcomer"], group.pk, TAG)
    topics.do_follow(users["leader"], group.pk, "diet")


def ids(group: Group) -> dict[str, Any]:
    """Placeholders for the accessibility test's pages: the busiest topic."""
    return {"tag": TAG}
