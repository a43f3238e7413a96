"""Access-matrix rows of suggestions (see tests/community_cases/__init__.py).
{sgid}: a suggestion by the member."""

from __future__ import annotations

from typing import Any

from tests.access import MEMBERS, MODS, expect
from tests.conftest import World

API_CASES: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("list_suggestions", "get", "/api/v1/groups/{gid}/suggestions", None, expect(MEMBERS, 200)),
    (
        "create_suggestion",
        "post",
        "/api/v1/groups/{gid}/suggestions",
        {"title": "A walk in the park"},
        expect(MEMBERS, 201),
    ),
    (
        "get_suggestion",
        "get",
        "/api/v1/groups/{gid}/suggestions/{sgid}",
        None,
        expect(MEMBERS, 200),
    ),
    (
        "vote_suggestion",
        "post",
        "/api/v1/groups/{gid}/suggestions/{sgid}/vote",
        {"on": True},
        expect(MEMBERS, 200),
    ),
    (
        "comment_suggestion",
        "post",
        "/api/v1/groups/{gid}/suggestions/{sgid}/comments",
        {"text": "Yes please"},
        expect(MEMBERS, 201),
    ),
    (
        "answer_suggestion",
        "post",
        "/api/v1/groups/{gid}/suggestions/{sgid}/answer",
        {"status": "planned", "answer": "Next month"},
        expect(MODS, 200),
    ),
]
PAGE_CASES: list[tuple[str, str, dict[str, int]]] = [
    ("suggestions", "/groups/{gid}/suggestions/", expect(MEMBERS, 200)),
    ("suggestion", "/groups/{gid}/suggestions/{sgid}/", expect(MEMBERS, 200)),
]
PAGE_POSTS: list[tuple[str, str, dict[str, str], dict[str, int]]] = [
    (
        "suggestion_vote",
        "/groups/{gid}/suggestions/{sgid}/",
        {"action": "vote", "on": "1"},
        expect(MEMBERS, 302),
    ),
    (
        "suggestion_answer",
        "/groups/{gid}/suggestions/{sgid}/",
        {"action": "answer", "status": "planned", "answer": "Next month"},
        expect(MODS, 302),
    ),
]


def ids(world: World, path: str) -> dict[str, Any]:
    """Objects this feature's paths name ({placeholder}: value), made only when named."""
    if "{sgid}" not in path:
        return {}
    from tongzhou.community.feedback import do_create_suggestion

    s = do_create_suggestion(
        world.users["member"],  # type: ignore[arg-type]
        world.group.pk,
        title="Tea after the check-ups",
    )
    return {"sgid": s.pk}
