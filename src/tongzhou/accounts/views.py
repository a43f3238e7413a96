from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tongzhou.accounts import actions
from tongzhou.accounts.actions import do_register, do_update_profile, profile_of
from tongzhou.accounts.models import HEALTH_FIELDS, Phase, Profile, Role, User, Visibility
from tongzhou.errors import UserError
from tongzhou.privacy import do_delete_account, export_response
from tongzhou.realtime import recheck_sockets_on_commit


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
            target = request.POST.get("next", "")
            if not url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                target = "groups:directory"
            return redirect(target)
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
    if request.method == "POST":
        keys = ["display_name", "role", *HEALTH_FIELDS, *(f"{f}_visibility" for f in HEALTH_FIELDS)]
        data: dict[str, object] = {k: request.POST.get(k, "") for k in keys if k in request.POST}
        data["health_consent"] = request.POST.get("health_consent") == "yes"
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
            "roles": Role.choices,
            "phases": Phase.choices,
            "visibilities": Visibility.choices,
            "health_consent": actions.has_health_consent(user),
            "error": error,
        },
        status=400 if error else 200,
    )


@require_http_methods(["POST"])
def logout(request: HttpRequest) -> HttpResponseBase:
    """Django's sign-out, then tell this person's sockets: the one on this session closes."""
    user_id = request.user.pk if request.user.is_authenticated else None
    response = auth_views.LogoutView.as_view()(request)
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
            return redirect("home")
    return render(
        request,
        "accounts/delete.html",
        {"error": error, "choice": request.POST.get("messages", "")},
        status=400 if error else 200,
    )
