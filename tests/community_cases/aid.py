"""Access-matrix rows of mutual aid (see tests/community_cases/__init__.py).

{aidid}: an open request by the moderator (so a plain member is not its author);
{aidpid}: a donation request by the moderator, waiting for approval (only moderators and
its author see it)."""

from __future__ import annotations

from typing import Any

from tests.access import MEMBERS, MODS, expect
from tests.conftest import World

WAITING = {**expect(MODS, 200), "member": 404}  # a waiting request is not there for others

API_CASES: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("list_aid_requests", "get", "/api/v1/groups/{gid}/aid", None, expect(MEMBERS, 200)),
    (
        "create_aid_request",
        "post",
        "/api/v1/groups/{gid}/aid",
        {"kind": "company", "title": "Someone to come to my scan"},
        expect(MEMBERS, 201),
    ),
    ("get_aid_request", "get", "/api/v1/groups/{gid}/aid/{aidid}", None, expect(MEMBERS, 200)),
    (
        "reply_aid_request",
        "post",
        "/api/v1/groups/{gid}/aid/{aidid}/replies",
        {"text": "I can drive you", "offer": True},
        expect(MEMBERS, 201),
    ),
    (
        "set_aid_status",
        "post",
        "/api/v1/groups/{gid}/aid/{aidid}/status",
        {"status": "fulfilled"},
        expect(MODS, 200),  # the author (the moderator here) or a moderator
    ),
    (
        "decide_aid_request",
        "post",
        "/api/v1/groups/{gid}/aid/{aidid}/decision",
        {"approve": False, "reason": "Not for this group"},
        expect(MODS, 200),
    ),
]
PAGE_CASES: list[tuple[str, str, dict[str, int]]] = [
    ("aid", "/groups/{gid}/aid/", expect(MEMBERS, 200)),
    ("aid_pending", "/groups/{gid}/aid/?status=pending", expect(MEMBERS, 200)),
    ("aid_new", "/groups/{gid}/aid/new/", expect(MEMBERS, 200)),
    ("aid_request", "/groups/{gid}/aid/{aidid}/", expect(MEMBERS, 200)),
    ("aid_request_waiting", "/groups/{gid}/aid/{aidpid}/", WAITING),
]
PAGE_POSTS: list[tuple[str, str, dict[str, str], dict[str, int]]] = [
    ("aid_offer", "/groups/{gid}/aid/{aidid}/", {"action": "offer"}, expect(MEMBERS, 302)),
    (
        "aid_fulfil",
        "/groups/{gid}/aid/{aidid}/",
        {"action": "status", "status": "fulfilled"},
        expect(MODS, 302),
    ),
    (
        "aid_approve",
        "/groups/{gid}/aid/{aidpid}/",
        {"action": "approve"},
        {**expect(MODS, 302), "member": 404},
    ),
]


def ids(world: World, path: str) -> dict[str, Any]:
    """Objects this feature's paths name ({placeholder}: value), made only when named."""
    from tongzhou.community.aid import do_create_request

    found: dict[str, Any] = {}
    mod = world.users["moderator"]
    if "{aidid}" in path:
        found["aidid"] = do_create_request(
            mod,  # type: ignore[arg-type]
            world.group.pk,
            kind="company",
            title="Company to my radiotherapy on Monday",
        ).pk
    if "{aidpid}" in path:
        found["aidpid"] = do_create_request(
            mod,  # type: ignore[arg-type]
            world.group.pk,
            kind="donation",
            title="Money for a neighbour's treatment",
        ).pk
    return found
