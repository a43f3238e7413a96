from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from tongzhou.accounts.models import ApiToken, User


def token_for(raw: str) -> ApiToken | None:
    """The live token for a raw bearer string (its owner still active), or None."""
    token = ApiToken.objects.select_related("user").filter(digest=ApiToken.hash(raw)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 300:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def user_for_token(raw: str) -> User | AnonymousUser:
    token = token_for(raw)
    return token.user if token else AnonymousUser()
