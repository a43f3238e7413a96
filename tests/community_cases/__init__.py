"""Access-matrix rows of community features, one module per feature so that each feature's
rows sit with nothing else. tests/test_access_matrix.py adds them to its tables; the role
helpers (expect, everyone, own, MEMBERS, MODS) are in tests/access.py.

Each module has API_CASES, PAGE_CASES, PAGE_POSTS (same shapes as the matrix's) and
ids(world, path) -> {placeholder: value} for its own placeholders (names unique across
modules: events {evid} {evqid}, routines {rtid} {myrtid}, milestones {msid}, aid {aidid} {aidpid},
feedback {sgid}, direct messages {convid} {dmid} {dmuid}, topics {tag}, imported histories
{ijid} {ijdid} {ipid} {ipcid} {ihmid} {icid} {itid}, research {rpid} {ruid} {rrid})."""

from __future__ import annotations

from typing import Any

from django.apps import apps

from tests.community_cases import (
    aid,
    dm,
    events,
    feedback,
    imports,
    insight,
    milestones,
    routines,
    topics,
)
from tests.conftest import World

FEATURES = (events, routines, milestones, aid, feedback, dm, topics, imports, insight)

API_CASES = [c for f in FEATURES for c in f.API_CASES]
PAGE_CASES = [c for f in FEATURES for c in f.PAGE_CASES]
PAGE_POSTS = [c for f in FEATURES for c in f.PAGE_POSTS]


def ids(world: World, path: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for f in FEATURES:
        found.update(f.ids(world, path))
    return found


# Placeholders that name one community object (the IDOR sweep, tests/test_idor.py, sends
# another group's leader at each through their own group).
OBJECT_PLACEHOLDERS = (
    "{evid}",
    "{evqid}",
    "{rtid}",
    "{myrtid}",
    "{msid}",
    "{aidid}",
    "{aidpid}",
    "{sgid}",
    "{convid}",
    "{dmid}",
    *imports.PLACEHOLDERS,
    *insight.PLACEHOLDERS,
)


def snapshot() -> list[Any]:
    """Every row of every community table (and of imported histories): a refused request
    changes none of them."""
    return [
        *(
            sorted(map(repr, model.objects.values_list()))
            for model in apps.get_app_config("community").get_models()
        ),
        *imports.snapshot(),
        *insight.snapshot(),
    ]
