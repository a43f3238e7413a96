"""Access-matrix rows of milestones (see tests/community_cases/__init__.py). {msid}: the
member's good news; only they change its yearly reminder or delete it, moderators hide it."""

from __future__ import annotations

from typing import Any

from tests.access import MEMBERS, MODS, expect
from tests.conftest import World

API_CASES: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("list_milestones", "get", "/api/v1/groups/{gid}/milestones", None, expect(MEMBERS, 200)),
    (
        "announce_milestone",
        "post",
        "/api/v1/groups/{gid}/milestones",
        {"kind": "graduation", "text": "今天毕业了"},
        expect(MEMBERS, 201),
    ),
    ("get_milestone", "get", "/api/v1/groups/{gid}/milestones/{msid}", None, expect(MEMBERS, 200)),
    (
        "react_to_milestone",
        "post",
        "/api/v1/groups/{gid}/milestones/{msid}/reaction",
        {"emoji": "🎉"},
        expect(MEMBERS, 200),
    ),
    (
        "hide_milestone",
        "post",
        "/api/v1/groups/{gid}/milestones/{msid}/hide",
        {"on": True},
        expect(MODS, 200),
    ),
    (
        "set_milestone_yearly",
        "post",
        "/api/v1/groups/{gid}/milestones/{msid}/yearly",
        {"on": True},
        expect({"member"}, 200),
    ),
    (
        "delete_milestone",
        "delete",
        "/api/v1/groups/{gid}/milestones/{msid}",
        None,
        expect({"member"}, 204),
    ),
]
PAGE_CASES: list[tuple[str, str, dict[str, int]]] = [
    ("milestones", "/groups/{gid}/milestones/", expect(MEMBERS, 200)),
    ("milestone_new", "/groups/{gid}/milestones/new/", expect(MEMBERS, 200)),
    ("milestone", "/groups/{gid}/milestones/{msid}/", expect(MEMBERS, 200)),
]
PAGE_POSTS: list[tuple[str, str, dict[str, str], dict[str, int]]] = [
    (
        "announce_milestone_page",
        "/groups/{gid}/milestones/new/",
        {"kind": "clear_scan", "text": "复查一切正常"},
        expect(MEMBERS, 302),
    ),
    (
        "react_to_milestone_page",
        "/groups/{gid}/milestones/{msid}/",
        {"action": "react", "emoji": "👏"},
        expect(MEMBERS, 302),
    ),
    (
        "hide_milestone_page",
        "/groups/{gid}/milestones/{msid}/",
        {"action": "hide"},
        expect(MODS, 302),
    ),
    (
        "delete_milestone_page",
        "/groups/{gid}/milestones/{msid}/",
        {"action": "delete"},
        expect({"member"}, 302),
    ),
]


def ids(world: World, path: str) -> dict[str, Any]:
    """Objects this feature's paths name ({placeholder}: value), made only when named."""
    if "{msid}" not in path:
        return {}
    from tongzhou.community.milestones import do_announce

    member = world.users["member"]
    assert member is not None
    m = do_announce(member, world.group.pk, kind="graduation", text="毕业了", post_to_chat=False)
    return {"msid": m.pk}
