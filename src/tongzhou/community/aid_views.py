"""Mutual aid pages. Forms post back to the page and call the same actions as the API, so they
work without script."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tongzhou.accounts.models import User
from tongzhou.community import aid
from tongzhou.community.models import AidRequest
from tongzhou.errors import UserError
from tongzhou.groups.queries import access_group
from tongzhou.groups.views import shows_user_errors

Status = AidRequest.Status


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


@login_required
@shows_user_errors
def aid_list(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    status = request.GET.get("status") or Status.OPEN
    if status not in (*aid.LISTED, Status.PENDING):
        status = Status.OPEN
    counts = aid.counts_of(membership)
    return render(
        request,
        "community/aid.html",
        {
            "group": membership.group,
            "membership": membership,
            "status": status,
            "requests": list(aid.requests_of(membership, status)[: aid.PAGE]),
            "filters": [
                (Status.OPEN, _("Open"), counts[Status.OPEN]),
                (Status.FULFILLED, _("Fulfilled"), counts[Status.FULFILLED]),
                (Status.CLOSED, _("Closed"), counts[Status.CLOSED]),
                (
                    Status.PENDING,
                    _("Waiting for approval") if membership.can_moderate else _("Mine, waiting"),
                    counts[Status.PENDING],
                ),
            ],
        },
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def aid_new(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    values: dict[str, Any] = {
        "kind": request.GET.get("kind", ""),
        "title": "",
        "details": "",
    }
    error = None
    ask_confirm = False
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("kind", "title", "details")}
        try:
            req = aid.do_create_request(
                _user(request),
                gid,
                confirm_personal_data=request.POST.get("confirm_personal_data") == "on",
                **values,
            )
        except UserError as e:
            if e.status in (403, 404):
                raise
            error = e.message
            ask_confirm = e.code == "personal_data"
        else:
            if req.status == Status.PENDING:
                messages.success(
                    request,
                    _("Thank you. A moderator will look at your request before the group sees it."),
                )
            else:
                messages.success(request, _("Your request is open. The group can see it now."))
            return redirect("community:aid_request", gid=gid, aid_id=req.pk)
    return render(
        request,
        "community/aid_form.html",
        {
            "group": membership.group,
            "membership": membership,
            "values": values,
            "kinds": AidRequest.Kind.choices,
            "error": error,
            "ask_confirm": ask_confirm,
            "money_note": aid.MONEY_NOTE,
        },
        status=400 if error else 200,
    )


def _act(user: User, gid: int, aid_id: int, post: Any) -> str:
    """Do what the form asked; returns the note to show."""
    action = post.get("action", "")
    confirm = post.get("confirm_personal_data") == "on"
    if action in ("reply", "offer"):
        aid.do_reply(
            user,
            gid,
            aid_id,
            text=post.get("text", ""),
            offer=action == "offer",
            confirm_personal_data=confirm,
        )
        return (
            _("Thank you for offering help. They have been told.")
            if action == "offer"
            else _("Your reply is posted.")
        )
    if action == "status":
        req = aid.do_set_status(user, gid, aid_id, post.get("status", ""))
        notes: dict[str, str] = {
            Status.OPEN: _("The request is open again."),
            Status.FULFILLED: _("Marked as fulfilled. Thank you, everyone who helped."),
            Status.CLOSED: _("The request is closed."),
        }
        return notes.get(req.status, _("Saved."))
    if action in ("approve", "decline"):
        aid.do_decide_request(
            user, gid, aid_id, approve=action == "approve", reason=post.get("reason", "")
        )
        return (
            _("Approved. The group can see the request now.")
            if action == "approve"
            else _("Turned down. The person who asked can read your reason.")
        )
    raise UserError("invalid_action", _("Unknown action."))


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def aid_request(request: HttpRequest, gid: int, aid_id: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    req = aid.request_in(membership, aid_id)
    reply_error = None
    ask_confirm = False
    text = ""
    if request.method == "POST":
        try:
            note = _act(_user(request), gid, req.pk, request.POST)
        except UserError as e:
            if e.status in (403, 404):
                raise
            if request.POST.get("action") in ("reply", "offer"):
                reply_error = e.message
                ask_confirm = e.code == "personal_data"
                text = request.POST.get("text", "")
            else:
                messages.error(request, str(e.message))
                return redirect("community:aid_request", gid=gid, aid_id=req.pk)
        else:
            messages.success(request, note)
            return redirect("community:aid_request", gid=gid, aid_id=req.pk)
    replies = list(aid.replies_of(req))
    return render(
        request,
        "community/aid_request.html",
        {
            "group": membership.group,
            "membership": membership,
            "req": req,
            "replies": replies,
            "offered": any(r.offer and r.author_id == membership.user_id for r in replies),
            "can_manage": aid.can_manage(membership, req),
            "money_note": aid.money_note(req),
            "reply_error": reply_error,
            "ask_confirm": ask_confirm,
            "text": text,
        },
        status=400 if reply_error else 200,
    )


urlpatterns: list[URLPattern] = [
    path("groups/<int:gid>/aid/", aid_list, name="aid"),
    path("groups/<int:gid>/aid/new/", aid_new, name="aid_new"),
    path("groups/<int:gid>/aid/<int:aid_id>/", aid_request, name="aid_request"),
]
