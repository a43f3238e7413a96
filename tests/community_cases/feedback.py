"""Access-matrix rows of this feature (see tests/community_cases/__init__.py)."""

from __future__ import annotations

from typing import Any

from tests.conftest import World

API_CASES: list[tuple[str, str, str, Any, dict[str, int]]] = []
PAGE_CASES: list[tuple[str, str, dict[str, int]]] = []
PAGE_POSTS: list[tuple[str, str, dict[str, str], dict[str, int]]] = []


def ids(world: World, path: str) -> dict[str, Any]:
    """Objects this feature's paths name ({placeholder}: value), made only when named."""
    return {}
