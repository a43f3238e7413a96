"""Media files in the data directory, encrypted with the data key.

Names are random, so a file's name says nothing about its owner, group or content, and the
original name a member's phone gave it is never kept. Photos of reports carry names,
diagnoses and hospitals: a copied media folder without the key shows none of it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings

from tongzhou.crypto import decrypt_bytes, encrypt_bytes, rotate_bytes


def _path(name: str) -> Path:
    if not name.isalnum():  # only names we made; never a path from outside
        raise ValueError("bad media name")
    return Path(settings.MEDIA_ROOT) / name[:2] / name


def save(data: bytes) -> str:
    name = secrets.token_hex(16)
    path = _path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(encrypt_bytes(data))
    os.replace(tmp, path)  # never a half-written file under the real name
    return name


def read(name: str) -> bytes:
    return decrypt_bytes(_path(name).read_bytes())


def delete(name: str) -> None:
    _path(name).unlink(missing_ok=True)


def rotate(name: str) -> None:
    path = _path(name)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(rotate_bytes(path.read_bytes()))
    os.replace(tmp, path)
