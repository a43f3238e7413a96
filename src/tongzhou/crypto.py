"""Health data encrypted at rest: model fields that store Fernet tokens, never plaintext.

Keys come from TONGZHOU_DATA_KEYS (settings.DATA_KEYS): the first encrypts, every key
decrypts, so a new key can be put in front and `rotate_data_key` re-encrypts the rows before
the old key is dropped. A leaked database or backup without the key shows no diagnosis,
stage, hospital or year. Encrypted columns cannot be searched or sorted in SQL.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "enc1:"


@cache
def _fernet(keys: tuple[str, ...], secret: str) -> MultiFernet:
    if not keys:  # development only (settings refuse production without keys)
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"tongzhou data key"
        ).derive(secret.encode())
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as e:
        raise ImproperlyConfigured(
            "TONGZHOU_DATA_KEYS holds a key that is not a Fernet key (32 url-safe base64 bytes)."
        ) from e


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.DATA_KEYS), settings.SECRET_KEY)


def encrypt(plain: str) -> str:
    return PREFIX + fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption existed; the migration re-saves these
    return decrypt_bytes(stored[len(PREFIX) :].encode(), "Health data").decode()


def encrypt_bytes(plain: bytes) -> bytes:
    """Files (pictures, recordings) are encrypted like the health fields."""
    return fernet().encrypt(plain)


def decrypt_bytes(stored: bytes, what: str = "A media file") -> bytes:
    try:
        return fernet().decrypt(stored)
    except InvalidToken as e:
        # Refuse rather than show nothing: a missing key must be noticed, not hide data.
        raise ImproperlyConfigured(
            f"{what} cannot be decrypted: TONGZHOU_DATA_KEYS lacks the key it was written with."
        ) from e


def rotate_bytes(stored: bytes) -> bytes:
    return fernet().rotate(stored)


class EncryptedMixin:
    """Encrypts the value on the way to the database and decrypts on the way back.
    Empty values stay empty, so "not given" needs no key."""

    def to_text(self, value: Any) -> str:
        return str(value)

    def from_text(self, text: str) -> Any:
        return text

    def empty(self) -> Any:
        return ""

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == "":
            return value
        return encrypt(self.to_text(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return self.empty() if value == "" else None
        return self.from_text(decrypt(value))


class EncryptedTextField(EncryptedMixin, models.TextField):
    """Text; `max_length` limits the plaintext (checked by the actions), not the column."""


class EncryptedIntegerField(EncryptedMixin, models.TextField):
    def from_text(self, text: str) -> Any:
        return int(text)

    def to_python(self, value: Any) -> Any:
        return None if value in (None, "") else int(value)


class EncryptedJSONField(EncryptedMixin, models.TextField):
    def to_text(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def from_text(self, text: str) -> Any:
        return json.loads(text)

    def empty(self) -> Any:
        return []

    def get_prep_value(self, value: Any) -> Any:
        if value in (None, []):
            return ""
        return encrypt(self.to_text(value))


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted columns, and those columns (for rotation and tests)."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedMixin)]
        if names:
            found.append((model, names))
    return found
