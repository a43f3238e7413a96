from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from tongzhou.errors import UserError
from tongzhou.notify.actions import (
    do_confirm_email,
    do_mark_notifications_read,
    do_resend_confirmation,
    do_update_email_settings,
    email_settings_of,
)
from tongzhou.notify.models import EmailSettings
from tongzhou.notify.queries import list_notifications, unread_notification_count
from tongzhou.questions.actions import (
    MAX_PER_HOUR_CHOICES,
    do_update_helper_settings,
    helper_settings_of,
)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return -1  # refused with a readable message by the action


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    uid: int = request.user.pk  # type: ignore[assignment]  # login_required
    if request.method == "POST":
        do_mark_notifications_read(uid, None)
        return redirect("notify:list")
    items = [{**n, "at": parse_datetime(n["created_at"])} for n in list_notifications(uid)]
    return render(
        request,
        "notify/list.html",
        {"items": items, "unread": unread_notification_count(uid)},
    )


@login_required
def email_settings(request: HttpRequest) -> HttpResponse:
    uid: int = request.user.pk  # type: ignore[assignment]  # login_required
    error = None
    if request.method == "POST" and request.POST.get("action") == "helper":
        try:
            do_update_helper_settings(
                uid, request.POST.get("accepts") == "on", _int(request.POST.get("max_per_hour"))
            )
            messages.success(request, _("Your notification settings are saved."))
        except UserError as e:
            messages.error(request, str(e.message))
        return redirect("notify:settings")
    if request.method == "POST" and request.POST.get("action") == "resend":
        try:
            do_resend_confirmation(uid)
            messages.success(request, _("We sent a new confirmation link."))
        except UserError as e:
            messages.error(request, str(e.message))
        return redirect("notify:settings")
    if request.method == "POST":
        p = request.POST
        try:
            s = do_update_email_settings(
                uid,
                {
                    "email": p.get("email", ""),
                    "digest": p.get("digest", "off"),
                    "include_text": p.get("include_text") == "on",
                    "include_questions": p.get("include_questions") == "on",
                    "quiet_start": p.get("quiet_start", ""),
                    "quiet_end": p.get("quiet_end", ""),
                    "language": get_language(),
                },
            )
        except UserError as e:
            error = e.message
        else:
            if s.email and not s.email_confirmed:
                messages.success(
                    request,
                    _("Saved. We sent a link to %(email)s: open it to confirm the address.")
                    % {"email": s.email},
                )
            else:
                messages.success(request, _("Your notification settings are saved."))
            return redirect("notify:settings")
    return render(
        request,
        "notify/settings.html",
        {
            "s": email_settings_of(uid),
            "digests": EmailSettings.Digest.choices,
            "error": error,
            "helper": helper_settings_of(uid),
            "per_hour_choices": MAX_PER_HOUR_CHOICES,
        },
    )


@login_required
@never_cache
def confirm(request: HttpRequest, code: str) -> HttpResponse:
    # A button, not the GET: mail scanners open links, and must not confirm for the member.
    if request.method == "POST":
        try:
            do_confirm_email(request.user.pk, code)  # type: ignore[arg-type]
        except UserError as e:
            messages.error(request, str(e.message))
        else:
            messages.success(request, _("Your e-mail address is confirmed."))
        return redirect("notify:settings")
    return render(request, "notify/confirm.html", {})
