"""Who is on a WebSocket: a bearer token, or the session cookie from a page of ours."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host
from django.utils.crypto import constant_time_compare

from tongzhou.accounts.models import ApiToken, User
from tongzhou.accounts.sessions import SessionStore
from tongzhou.accounts.tokens import token_for


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class TokenOrSessionAuthMiddleware(BaseMiddleware):
    """Bearer token if given; otherwise the session, but only from an allowed Origin.

    Cookies ride along on cross-site socket requests, so a session is trusted only when the
    Origin header names one of our hosts (the WebSocket form of CSRF protection).
    """

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.session_auth = CookieMiddleware(SessionMiddleware(AuthMiddleware(inner)))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        auth = _header(scope, b"authorization")
        if auth and auth.lower().startswith("bearer "):
            scope = dict(scope)
            token = await database_sync_to_async(token_for)(auth[7:].strip())
            scope["user"] = token.user if token else AnonymousUser()
            scope["token_id"] = token.pk if token else None  # rechecked while the socket is open
            return await self.inner(scope, receive, send)
        origin = _header(scope, b"origin")
        host = urlparse(origin).hostname if origin else None
        if host is None or not validate_host(host, settings.ALLOWED_HOSTS):
            scope = dict(scope)
            scope["user"] = AnonymousUser()
            return await self.inner(scope, receive, send)
        return await self.session_auth(scope, receive, send)


def still_signed_in(scope: dict[str, Any]) -> bool:
    """Whether the credential a socket opened with is still good: the token not revoked, or
    the session not ended and from before no password change; the account still active."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return False
    fresh = User.objects.filter(pk=user.pk, is_active=True).first()
    if fresh is None:
        return False
    token_id = scope.get("token_id")
    if token_id:
        return ApiToken.objects.filter(pk=token_id, user=fresh).exists()
    session = scope.get("session")
    key = getattr(session, "session_key", None)
    if not key:
        return False
    data = SessionStore(session_key=key).load()
    return data.get(SESSION_KEY) == str(fresh.pk) and constant_time_compare(
        str(data.get(HASH_SESSION_KEY, "")), fresh.get_session_auth_hash()
    )
