"""Access-matrix rows of #topics (see tests/community_cases/__init__.py).
{tag}: a topic with one message of the member's."""

from __future__ import annotations

from typing import Any

from tests.access import MEMBERS, expect
from tests.conftest import World

API_CASES: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("list_topics", "get", "/api/v1/groups/{gid}/topics", None, expect(MEMBERS, 200)),
    ("get_topic", "get", "/api/v1/groups/{gid}/topics/{tag}", None, expect(MEMBERS, 200)),
    (
        "follow_topic",
        "post",
        "/api/v1/groups/{gid}/topics/{tag}/follow",
        {"on": True},
        expect(MEMBERS, 200),
    ),
]
PAGE_CASES: list[tuple[str, str, dict[str, int]]] = [
    ("topics", "/groups/{gid}/topics/", expect(MEMBERS, 200)),
    ("topic", "/groups/{gid}/topics/{tag}/", expect(MEMBERS, 200)),
]
PAGE_POSTS: list[tuple[str, str, dict[str, str], dict[str, int]]] = [
    ("topic_follow", "/groups/{gid}/topics/{tag}/", {"action": "follow"}, expect(MEMBERS, 302)),
]


def ids(world: World, path: str) -> dict[str, Any]:
    """Objects this feature's paths name ({placeholder}: value), made only when named."""
    if "{tag}" not in path:
        return {}
    from tongzhou.chat.actions import do_send_message

    do_send_message(
        world.users["member"],  # type: ignore[arg-type]
        world.group.pk,
        client_id="topic-diet",
        text="What helps me eat #diet",
    )
    return {"tag": "diet"}
