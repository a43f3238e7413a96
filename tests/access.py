"""Who may do what, for the access-control matrix (tests/test_access_matrix.py and the
community features' rows in tests/community_cases/)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import ROLES

MEMBERS = {"member", "moderator", "leader"}
MODS = {"moderator", "leader"}


def expect(allowed: set[str], ok: int) -> dict[str, int]:
    """Members without the right role are told no (403); for everyone else the group's
    insides do not exist (404, the same answer as a missing group)."""

    def status(r: str) -> int:
        if r == "anonymous":
            return 401
        if r in allowed:
            return ok
        return 403 if r in MEMBERS else 404

    return {r: status(r) for r in ROLES}


def everyone(ok: int) -> dict[str, int]:
    return {r: (401 if r == "anonymous" else ok) for r in ROLES}


def own(owner: str, ok: int) -> dict[str, int]:
    return {r: (401 if r == "anonymous" else ok if r == owner else 404) for r in ROLES}


@dataclass(frozen=True)
class Upload:
    """A multipart body (a form with one file, in the field `file`), for rows whose request is
    an upload rather than JSON or a plain form."""

    filename: str
    content: bytes
    fields: tuple[tuple[str, str], ...] = ()

    def data(self) -> dict[str, Any]:
        return {**dict(self.fields), "file": SimpleUploadedFile(self.filename, self.content)}
