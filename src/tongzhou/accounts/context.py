"""Each member's reading comfort (text size, contrast), as classes on every page's <html>."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def reading(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def classes() -> str:
        from tongzhou.accounts.models import Profile

        # Two plain columns: no decryption of the health fields on every page.
        row = Profile.objects.filter(user_id=user.pk).values_list("text_size", "high_contrast")
        size, contrast = row.first() or ("normal", False)
        return " ".join(
            c
            for c in (f"text-{size}" if size != "normal" else "", "contrast" if contrast else "")
            if c
        )

    return {"reading_classes": classes}
