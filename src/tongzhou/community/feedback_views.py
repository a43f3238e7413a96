"""Suggestion pages. Forms post back to the page and call the same actions as the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tongzhou.accounts.models import User
from tongzhou.community import feedback
from tongzhou.community.models import Suggestion
from tongzhou.errors import UserError
from tongzhou.groups.queries import access_group
from tongzhou.groups.views import shows_user_errors


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def suggestions(request: HttpRequest, gid: int) -> HttpResponse:
    """The list (sorted, filtered), a vote button on each, and the form for a new one."""
    membership = access_group(_user(request), gid)
    sort = request.GET.get("sort") or "votes"
    if sort not in feedback.SORTS:
        sort = "votes"
    status = request.GET.get("status") or ""
    if status not in Suggestion.Status.values:
        status = ""
    error = None
    values = {"title": "", "body": ""}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "vote":
                feedback.do_vote(
                    _user(request),
                    gid,
                    request.POST.get("suggestion"),
                    request.POST.get("on") == "1",
                )
                return redirect(f"{request.path}?sort={sort}&status={status}")
            if action != "create":
                raise UserError("invalid_action", _("Unknown action."))
            values = {k: request.POST.get(k, "") for k in values}
            s = feedback.do_create_suggestion(_user(request), gid, **values)
        except UserError as e:
            if e.status in (403, 404):
                raise
            error = e.message
        else:
            messages.success(request, _("Thank you. Your suggestion is posted."))
            return redirect("community:suggestion", gid=gid, sgid=s.pk)
    rows = list(
        feedback.suggestions_of(membership, status=status or None, sort=sort)[: feedback.PAGE]
    )
    return render(
        request,
        "community/suggestions.html",
        {
            "group": membership.group,
            "membership": membership,
            "suggestions": rows,
            "sort": sort,
            "status": status,
            "statuses": Suggestion.Status.choices,
            "values": values,
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def suggestion(request: HttpRequest, gid: int, sgid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    found = feedback.suggestion_in(membership, sgid)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "vote":
                feedback.do_vote(_user(request), gid, sgid, request.POST.get("on") == "1")
                note = None
            elif action == "comment":
                feedback.do_comment(_user(request), gid, sgid, request.POST.get("text", ""))
                note = _("Your comment is posted.")
            elif action == "answer":
                feedback.do_answer(
                    _user(request),
                    gid,
                    sgid,
                    status=request.POST.get("status", ""),
                    answer=request.POST.get("answer", ""),
                )
                note = _("Saved. The person who suggested it is told.")
            else:
                raise UserError("invalid_action", _("Unknown action."))
        except UserError as e:
            if e.status in (403, 404):
                raise
            messages.error(request, str(e.message))
        else:
            if note:
                messages.success(request, note)
        return redirect("community:suggestion", gid=gid, sgid=sgid)
    return render(
        request,
        "community/suggestion.html",
        {
            "group": membership.group,
            "membership": membership,
            "s": found,
            "voted": feedback.has_voted(membership.user_id, found),
            "comments": list(feedback.comments_of(found)),
            "statuses": Suggestion.Status.choices,
        },
    )


urlpatterns: list[URLPattern] = [
    path("groups/<int:gid>/suggestions/", suggestions, name="suggestions"),
    path("groups/<int:gid>/suggestions/<int:sgid>/", suggestion, name="suggestion"),
]
