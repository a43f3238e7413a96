from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tongzhou.accounts import actions, twofactor
from tongzhou.accounts.actions import do_register, do_update_profile, profile_of
from tongzhou.accounts.forms import ThrottledAuthenticationForm, timezone_choices
from tongzhou.accounts.models import (
    HEALTH_FIELDS,
    Phase,
    Profile,
    Role,
    TextSize,
    TotpDevice,
    User,
    Visibility,
)
from tongzhou.errors import UserError
from tongzhou.privacy import do_delete_account, export_response
from tongzhou.realtime import recheck_sockets_on_commit
from tongzhou.safety.resources import all_resources


def redirect_to_next(request: HttpRequest, target: str) -> HttpResponse:
    """Back to where the person was going, if that is one of our pages; else their groups."""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "groups:directory"
    return redirect(target)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("groups:directory")
    error = None
    if request.method == "POST":
        try:
            user = do_register(
                request.POST.get("username", ""),
                request.POST.get("password", ""),
                request.POST.get("display_name", ""),
            )
        except UserError as e:
            error = e.message
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to Tongzhou! Find your group and apply to join."))
            return redirect_to_next(request, request.POST.get("next", ""))
    return render(
        request,
        "accounts/signup.html",
        {
            "error": error,
            "form": request.POST,
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    prof = profile_of(user)
    error = None
    if request.method == "POST" and request.POST.get("action") == "withdraw_health_consent":
        actions.do_withdraw_health_consent(user)
        messages.success(request, _("Consent withdrawn. Your health details are deleted."))
        return redirect("accounts:profile")
    if request.method == "POST" and request.POST.get("action") == "reading":
        try:
            do_update_profile(
                user,
                {
                    "text_size": request.POST.get("text_size", ""),
                    "high_contrast": request.POST.get("high_contrast") == "yes",
                },
            )
        except UserError as e:
            error = e.message
        else:
            messages.success(request, _("Saved. Every page now uses these settings."))
            return redirect(f"{reverse('accounts:profile')}#reading")
    if request.method == "POST" and request.POST.get("action") == "reminders":
        try:
            do_update_profile(
                user,
                {
                    "timezone": request.POST.get("timezone", ""),
                    "share_streaks": request.POST.get("share_streaks") == "yes",
                    "dm_open": request.POST.get("dm_open") == "yes",
                },
            )
        except UserError as e:
            error = e.message
        else:
            messages.success(request, _("Saved. Reminders now follow this timezone."))
            return redirect(f"{reverse('accounts:profile')}#reminders")
    if request.method == "POST" and error is None:
        keys = [
            "display_name",
            "role",
            "region",
            *HEALTH_FIELDS,
            *(f"{f}_visibility" for f in HEALTH_FIELDS),
        ]
        data: dict[str, object] = {k: request.POST.get(k, "") for k in keys if k in request.POST}
        data["health_consent"] = request.POST.get("health_consent") == "yes"
        data["credit_in_knowledge"] = request.POST.get("credit_in_knowledge") == "yes"
        try:
            do_update_profile(user, data)
        except UserError as e:
            error = e.message
        else:
            messages.success(request, _("Your profile is saved."))
            return redirect("accounts:profile")
    fields = [
        {
            "name": f,
            "label": getattr(Profile._meta.get_field(f), "verbose_name", f),
            "value": request.POST.get(f, getattr(prof, f) or "")
            if error
            else (getattr(prof, f) or ""),
            "visibility": getattr(prof, f"{f}_visibility"),
        }
        for f in HEALTH_FIELDS
    ]
    return render(
        request,
        "accounts/profile.html",
        {
            "profile": prof,
            "fields": fields,
            "regions": [(r["region"], r["name"]) for r in all_resources()],
            "roles": Role.choices,
            "phases": Phase.choices,
            "text_sizes": TextSize.choices,
            "visibilities": Visibility.choices,
            "health_consent": actions.has_health_consent(user),
            "error": error,
            "zones": timezone_choices(),
        },
        status=400 if error else 200,
    )


@require_http_methods(["POST"])
def logout(request: HttpRequest) -> HttpResponseBase:
    """Django's sign-out, then tell this person's sockets: the one on this session closes."""
    user_id = request.user.pk if request.user.is_authenticated else None
    response = auth_views.LogoutView.as_view()(request)
    # The phone forgets what the app kept: pages read offline, unsent messages, settings.
    response["Clear-Site-Data"] = '"cache", "storage"'
    if user_id is not None:
        recheck_sockets_on_commit(user_id)  # after the flush, so the check sees it gone
    return response


@login_required
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """Password, signed-in devices and API tokens: see them all, end any of them."""
    user: User = request.user  # type: ignore[assignment]
    error = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "password":
                actions.do_change_password(
                    user,
                    request.POST.get("current_password", ""),
                    request.POST.get("new_password", ""),
                    keep_session=request.session,
                )
                messages.success(
                    request, _("Your password is changed. Every other device is signed out.")
                )
            elif action == "end_session":
                actions.do_end_session(user, request.POST.get("session", ""))
                messages.success(request, _("That device is signed out."))
            elif action == "end_others":
                actions.do_end_other_sessions(user, request.session.session_key)
                messages.success(request, _("Every other device is signed out."))
            elif action == "totp_start":
                twofactor.start_setup(user)
                return redirect("accounts:security")
            elif action == "totp_confirm":
                codes = twofactor.confirm_setup(
                    user, request.POST.get("code", ""), keep_session_key=request.session.session_key
                )
                messages.success(request, _("Two-step sign-in is on."))
                return render(request, "accounts/recovery_codes.html", {"codes": codes})
            elif action == "totp_disable":
                twofactor.disable(
                    user, request.POST.get("password", ""), request.POST.get("code", "")
                )
                messages.success(request, _("Two-step sign-in is off."))
            elif action == "revoke_token":
                actions.do_revoke_token(user, request.POST.get("token"))
                messages.success(request, _("The token is revoked. Apps using it are signed out."))
            else:
                raise UserError("unknown_action", _("Unknown action."))
        except UserError as e:
            error = e.message
        else:
            return redirect("accounts:security")
    current = request.session.session_key
    return render(
        request,
        "accounts/security.html",
        {
            "sessions": [
                {"s": s, "current": s.session_key == current} for s in actions.list_sessions(user)
            ],
            "tokens": actions.list_tokens(user),
            "two_factor": twofactor.has_two_factor(user),
            "setup": _setup_context(user),
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["GET"])
def export(request: HttpRequest) -> HttpResponse:
    return export_response(request.user)  # type: ignore[arg-type]


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    error = None
    if request.method == "POST":
        try:
            do_delete_account(
                request.user,  # type: ignore[arg-type]
                request.POST.get("password", ""),
                request.POST.get("messages", ""),
            )
        except UserError as e:
            error = e.message
        else:
            request.session.flush()
            messages.success(request, _("Your account is deleted. Take care of yourself."))
            gone = redirect("home")
            gone["Clear-Site-Data"] = '"cache", "storage"'  # as on sign-out
            return gone
    return render(
        request,
        "accounts/delete.html",
        {"error": error, "choice": request.POST.get("messages", "")},
        status=400 if error else 200,
    )


PENDING = "_tz_2fa_pending"  # user id and time, between the password and the code
PENDING_SECONDS = 300


class SignInView(auth_views.LoginView):
    """Django's sign-in; with two-step sign-in on, the password only leads to the code page."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    authentication_form = ThrottledAuthenticationForm

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not twofactor.has_two_factor(user):
            return super().form_valid(form)
        self.request.session.cycle_key()
        self.request.session[PENDING] = {
            "uid": user.pk,
            "at": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("accounts:login_code")


@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        messages.info(request, _("Please sign in again."))
        return redirect("accounts:login")
    error = None
    if request.method == "POST":
        user = User.objects.filter(pk=pending["uid"], is_active=True).first()
        if user is None:
            return redirect("accounts:login")
        try:
            twofactor.verify(user, request.POST.get("code", ""))
        except UserError as e:
            error = e.message
        else:
            del request.session[PENDING]
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect_to_next(request, pending.get("next") or "")
    return render(
        request, "accounts/login_code.html", {"error": error}, status=400 if error else 200
    )


def _setup_context(user: User) -> dict[str, str] | None:
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=True).first()
    if device is None:
        return None
    uri = twofactor.setup_uri(user, device)
    return {"qr": twofactor.qr_data_uri(uri), "secret": device.secret}
