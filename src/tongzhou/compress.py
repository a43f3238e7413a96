"""Gzip for text only: pages, scripts, styles, JSON (a phone's first load is mostly these).

Django's GZipMiddleware compresses everything; pictures and voice messages are compressed
already, and a byte range of a voice message (206) must stay as it is. Django adds random
bytes to each gzip stream against BREACH, and CSRF tokens are masked per response.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware

TEXT = (
    "text/",
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
)


class TextGZipMiddleware(GZipMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if response.status_code != 200 or not response.get("Content-Type", "").startswith(TEXT):
            return response
        return super().process_response(request, response)
