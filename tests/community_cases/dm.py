"""Access-matrix rows of direct messages (see tests/community_cases/__init__.py).

{convid}: a conversation between "member" and "moderator" (the leader is not in it: leaders
and moderators never read other people's direct messages); {dmid}: a message the moderator
sent the member in it; {dmuid}: another member of the group nobody has written to yet."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tests.access import MEMBERS, MODS, everyone, expect
from tests.conftest import ROLES, World, make_user
from tongzhou.accounts.models import User
from tongzhou.community import dm
from tongzhou.community.models import DirectMessage, DirectReport
from tongzhou.groups.models import Membership

TWO = {"member", "moderator"}


def between(ok: int) -> dict[str, int]:
    """The two in the conversation; for anyone else it does not exist."""
    return {r: (401 if r == "anonymous" else ok if r in TWO else 404) for r in ROLES}


def members_else_404(ok: int) -> dict[str, int]:
    """Members of the group reach someone there; for others that person is not found."""
    return {r: (401 if r == "anonymous" else ok if r in MEMBERS else 404) for r in ROLES}


API_CASES: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("list_conversations", "get", "/api/v1/dm/conversations", None, everyone(200)),
    (
        "start_conversation",
        "post",
        "/api/v1/dm/conversations",
        {"user": "{dmuid}", "client_id": "dm-1", "text": "你好"},
        members_else_404(201),
    ),
    ("get_conversation", "get", "/api/v1/dm/conversations/{convid}", None, between(200)),
    (
        "list_direct_messages",
        "get",
        "/api/v1/dm/conversations/{convid}/messages",
        None,
        between(200),
    ),
    (
        "send_direct_message",
        "post",
        "/api/v1/dm/conversations/{convid}/messages",
        {"client_id": "dm-2", "text": "谢谢"},
        between(201),
    ),
    (
        "mark_conversation_read",
        "post",
        "/api/v1/dm/conversations/{convid}/read",
        {},
        between(200),
    ),
    ("list_blocks", "get", "/api/v1/dm/blocks", None, everyone(200)),
    ("block_member", "post", "/api/v1/dm/blocks", {"user": "{dmuid}"}, members_else_404(201)),
    ("unblock_member", "delete", "/api/v1/dm/blocks/{dmuid}", None, everyone(204)),
    (
        "report_direct_message",
        "post",
        "/api/v1/dm/messages/{dmid}/report",
        {"reason": "harassment", "note": "unkind"},
        # Only its recipient reports it; its sender is told no; to anyone else it is not there.
        {**between(201), "moderator": 403},
    ),
    ("list_dm_reports", "get", "/api/v1/groups/{gid}/dm-reports", None, expect(MODS, 200)),
    (
        "handle_dm_report",
        "post",
        "/api/v1/groups/{gid}/dm-reports/{dmid}/handle",
        {"action": "handled"},
        expect(MODS, 200),
    ),
]
PAGE_CASES: list[tuple[str, str, dict[str, int]]] = [
    ("dm_inbox", "/messages/", everyone(200)),
    ("dm_conversation", "/messages/{convid}/", between(200)),
    ("dm_new", "/messages/new/{dmuid}/", members_else_404(200)),
    ("dm_blocked", "/messages/blocked/", everyone(200)),
]
PAGE_POSTS: list[tuple[str, str, dict[str, str], dict[str, int]]] = [
    (
        "dm_send",
        "/messages/{convid}/",
        {"action": "send", "text": "谢谢", "client_id": "p-1"},
        between(302),
    ),
    ("dm_block", "/messages/{convid}/", {"action": "block"}, between(302)),
    (
        "dm_handle_report",
        "/groups/{gid}/dm-reports/{dmid}/",
        {"action": "handled"},
        expect(MODS, 302),
    ),
]


def _friend(world: World) -> User:
    """A member of some weeks nobody has written to."""
    friend = User.objects.filter(username="dmfriend1").first()
    if friend is None:
        friend = make_user("dmfriend1", "Friend")
        Membership.objects.create(
            group=world.group, user=friend, joined_at=timezone.now() - dt.timedelta(days=30)
        )
    return friend


def ids(world: World, path: str) -> dict[str, Any]:
    """Objects this feature's paths name ({placeholder}: value), made only when named."""
    found: dict[str, Any] = {}
    if not any(p in path for p in ("{convid}", "{dmid}", "{dmuid}")):
        return found
    # Everyone in the world joined today: let them start conversations at once (the waiting
    # days have their own tests).
    world.group.dm_min_days = 0
    world.group.save(update_fields=["dm_min_days"])
    if "{dmuid}" in path:
        found["dmuid"] = _friend(world).pk
    if "{convid}" in path or "{dmid}" in path:
        member, moderator = world.users["member"], world.users["moderator"]
        assert member is not None and moderator is not None
        conv = dm.existing_conversation(member.pk, moderator.pk)
        if conv is None:
            conv, _m, _c, _n = dm.do_start_conversation(
                member, moderator.pk, client_id="cases-0", text="你好，想问问复查的事"
            )
            dm.do_send_dm(moderator, conv.pk, client_id="cases-1", text="好的，你说")
        found["convid"] = conv.pk
        last = DirectMessage.objects.get(sender=moderator, client_id="cases-1")
        found["dmid"] = last.pk
        if "dm-reports" in path and not DirectReport.objects.filter(message=last).exists():
            dm.do_report_dm(member, last.pk, reason="harassment", note="unkind")
    return found
