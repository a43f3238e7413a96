"""Who is on a WebSocket: a bearer token, or the session cookie from a page of ours."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host

from tongzhou.accounts.tokens import user_for_token


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
            scope["user"] = await database_sync_to_async(user_for_token)(auth[7:].strip())
            return await self.inner(scope, receive, send)
        origin = _header(scope, b"origin")
        host = urlparse(origin).hostname if origin else None
        if host is None or not validate_host(host, settings.ALLOWED_HOSTS):
            scope = dict(scope)
            scope["user"] = AnonymousUser()
            return await self.inner(scope, receive, send)
        return await self.session_auth(scope, receive, send)
