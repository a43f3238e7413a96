"""Access-matrix rows of daily routines and reminders (see tests/community_cases/__init__.py).
{rtid}: a routine the leader set for the group; {myrtid}: the member's own routine, which
nobody else may see or touch, not even the leader."""

from __future__ import annotations

from typing import Any

from tests.access import MEMBERS, MODS, everyone, expect, own
from tests.conftest import World

API_CASES: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("list_routines", "get", "/api/v1/groups/{gid}/routines", None, expect(MEMBERS, 200)),
    (
        "create_routine",
        "post",
        "/api/v1/groups/{gid}/routines",
        {"title": "鼻腔冲洗", "time": "08:00"},
        expect(MODS, 201),
    ),
    (
        "create_my_routine",
        "post",
        "/api/v1/groups/{gid}/my-routines",
        {"title": "吃药", "time": "07:30"},
        expect(MEMBERS, 201),
    ),
    ("get_routine", "get", "/api/v1/groups/{gid}/routines/{myrtid}", None, own("member", 200)),
    (
        "edit_routine",
        "patch",
        "/api/v1/groups/{gid}/routines/{rtid}",
        {"time": "08:30"},
        expect(MODS, 200),
    ),
    (
        "delete_routine",
        "delete",
        "/api/v1/groups/{gid}/routines/{myrtid}",
        None,
        own("member", 204),
    ),
    (
        "check_in",
        "post",
        "/api/v1/groups/{gid}/routines/{rtid}/check-in",
        {"on": True},
        expect(MEMBERS, 200),
    ),
    (
        "set_routine_reminder",
        "post",
        "/api/v1/groups/{gid}/routines/{rtid}/reminder",
        {"on": False},
        expect(MEMBERS, 200),
    ),
    ("list_reminders", "get", "/api/v1/me/reminders", None, everyone(200)),
    ("read_reminders", "post", "/api/v1/me/reminders/read", {"all": True}, everyone(200)),
    ("my_today", "get", "/api/v1/me/today", None, everyone(200)),
]
PAGE_CASES: list[tuple[str, str, dict[str, int]]] = [
    ("routines", "/groups/{gid}/routines/", expect(MEMBERS, 200)),
    ("routine_edit", "/groups/{gid}/routines/{rtid}/edit/", expect(MODS, 200)),
    ("my_routine_edit", "/groups/{gid}/routines/{myrtid}/edit/", own("member", 200)),
    ("today", "/today/", everyone(200)),
]
PAGE_POSTS: list[tuple[str, str, dict[str, str], dict[str, int]]] = [
    (
        "add_group_routine",
        "/groups/{gid}/routines/",
        {"action": "add_group", "title": "张口锻炼", "time": "20:00"},
        expect(MODS, 302),
    ),
    (
        "check_in_page",
        "/groups/{gid}/routines/",
        {"action": "check", "routine": "{rtid}"},
        expect(MEMBERS, 302),
    ),
    (
        "remove_my_routine",
        "/groups/{gid}/routines/",
        {"action": "remove", "routine": "{myrtid}"},
        own("member", 302),
    ),
    (
        "edit_routine_page",
        "/groups/{gid}/routines/{rtid}/edit/",
        {"title": "鼻腔冲洗", "time": "09:00", "weekdays": "1"},
        expect(MODS, 302),
    ),
    ("read_all_reminders", "/today/", {"action": "read_all"}, everyone(302)),
]


def ids(world: World, path: str) -> dict[str, Any]:
    """Objects this feature's paths name ({placeholder}: value), made only when named."""
    from tongzhou.community.routines import do_create_routine

    found: dict[str, Any] = {}
    gid = world.group.pk
    if "{rtid}" in path:
        leader = world.users["leader"]
        assert leader is not None
        found["rtid"] = do_create_routine(
            leader, gid, own=False, title="鼻腔冲洗 Nasal irrigation", time="08:00"
        ).pk
    if "{myrtid}" in path:
        member = world.users["member"]
        assert member is not None
        found["myrtid"] = do_create_routine(
            member, gid, own=True, title="复查 Check-up", time="09:00"
        ).pk
    return found
