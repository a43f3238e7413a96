"""The installable app: web manifest, service worker, offline page, favicon.

The service worker is a static file (static/tongzhou/sw.js) served from the site root so that
it may control every page; this module prefixes it with the list of files to keep (the app
shell) and a version made from their contents, so any change to them installs a new worker
that throws the old copies away.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control

STATIC = Path(settings.BASE_DIR) / "static"
SKIPPED = {"sw.js", "icon-512.png", "maskable-512.png", "apple-touch-icon.png"}


@cache
def shell() -> tuple[str, list[str]]:
    """(version, urls): every static file of the app, plus the offline page."""
    files = sorted(
        p
        for p in (STATIC / "tongzhou").rglob("*")
        # The large icons are for the home screen, fetched by the phone when it installs.
        if p.is_file() and p.name not in SKIPPED
    )
    digest = hashlib.sha256()
    for p in [*files, STATIC / "tongzhou" / "sw.js"]:
        digest.update(p.name.encode())
        digest.update(p.read_bytes())
    urls = [static(str(p.relative_to(STATIC))) for p in files]
    return digest.hexdigest()[:16], [*urls, reverse("offline")]


@cache_control(no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    version, urls = shell()
    head = f"const VERSION = {json.dumps(version)};\nconst SHELL = {json.dumps(urls)};\n"
    body = (STATIC / "tongzhou" / "sw.js").read_text(encoding="utf-8")
    response = HttpResponse(head + body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> JsonResponse:
    icon = "tongzhou/icons/"
    data = {
        "id": "/",
        "name": _("Tongzhou: living with cancer, together"),
        "short_name": _("Tongzhou"),
        "description": _(
            "Tongzhou: a mutual-aid group for people living with cancer and their families."
        ),
        "lang": request.LANGUAGE_CODE,
        "start_url": "/?source=app",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f6f4ef",
        "theme_color": "#0b5e55",
        "icons": [
            {"src": static(icon + "icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static(icon + "icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static(icon + "maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return JsonResponse(
        data,
        content_type="application/manifest+json",
        json_dumps_params={"ensure_ascii": False},
    )


def offline(request: HttpRequest) -> HttpResponse:
    """Shown by the service worker for a page that is not kept on this phone.

    Fetched once at install, so it must not depend on who is signed in.
    """
    return render(request, "offline.html")


@cache_control(max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        (STATIC / "tongzhou" / "icons" / "icon-192.png").read_bytes(), content_type="image/png"
    )
