"""Media files: a separate path, checked on every fetch, never sniffable or scriptable."""

from __future__ import annotations

import hashlib
import re

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from tongzhou import storage
from tongzhou.accounts.tokens import token_for
from tongzhou.chat.attachments import access_attachment, access_link_preview
from tongzhou.errors import UserError

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _caller(request: HttpRequest) -> object:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):  # apps fetch media with their token
        found = token_for(header[7:].strip())
        return found.user if found is not None else AnonymousUser()
    return request.user


def _ranged(request: HttpRequest, body: bytes, response: HttpResponse) -> HttpResponse:
    """One byte range, as Safari asks for before it will play a recording."""
    match = RANGE.match(request.headers.get("Range", ""))
    if not match or not any(match.groups()):
        return response
    start_s, end_s = match.groups()
    size = len(body)
    if start_s:
        start, end = int(start_s), min(int(end_s) if end_s else size - 1, size - 1)
    else:  # the last N bytes
        start, end = max(size - int(end_s), 0), size - 1
    if start > end or start >= size:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    response.content = body[start : end + 1]
    response.status_code = 206
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response


def _error(e: UserError) -> HttpResponse:
    return JsonResponse({"error": {"code": e.code, "message": str(e.message)}}, status=e.status)


def _serve(request: HttpRequest, name: str, mime: str, filename: str) -> HttpResponse:
    etag = '"' + hashlib.sha256(name.encode()).hexdigest()[:32] + '"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
        body = b""
    else:
        body = storage.read(name)
        response = HttpResponse(body, content_type=mime)
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["ETag"] = etag
    # Revalidated every time, so a member who left can no longer load it from cache.
    response["Cache-Control"] = "private, no-cache"
    response["Accept-Ranges"] = "bytes"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["X-Content-Type-Options"] = "nosniff"
    return _ranged(request, body, response) if body else response


@require_GET
def media_file(request: HttpRequest, aid: int, variant: str = "full") -> HttpResponse:
    try:
        attachment = access_attachment(_caller(request), aid)  # type: ignore[arg-type]
        if variant == "thumb" and not attachment.thumb:
            raise UserError("not_found", "", 404)
    except UserError as e:
        return _error(e)
    name, mime = (
        (attachment.thumb, attachment.thumb_mime)
        if variant == "thumb"
        else (attachment.file, attachment.mime)
    )
    return _serve(request, name, mime, f"tongzhou-{attachment.pk}.{attachment.extension}")


@require_GET
def link_image(request: HttpRequest, mid: int) -> HttpResponse:
    """A link preview's picture, fetched and re-encoded by us, for those who see the message."""
    try:
        preview = access_link_preview(_caller(request), mid)  # type: ignore[arg-type]
    except UserError as e:
        return _error(e)
    extension = preview.image_mime.split("/")[-1].replace("jpeg", "jpg")
    return _serve(request, preview.image, preview.image_mime, f"link-{mid}.{extension}")
