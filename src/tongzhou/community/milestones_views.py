"""Pages of milestones: the group's cards, one card, and sharing news. Forms post back to
the page and call the same actions as the API."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tongzhou.accounts.models import User
from tongzhou.community import milestones, reminders
from tongzhou.community.models import Milestone
from tongzhou.errors import UserError
from tongzhou.groups.queries import access_group
from tongzhou.groups.views import shows_user_errors


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


def _cards(found: list[Milestone], user: User) -> list[dict[str, Any]]:
    counts = milestones.reaction_counts(found, user.pk)
    return [
        {
            "m": m,
            "sad": milestones.is_sad(m),
            "emoji": milestones.emoji_of(m),
            "headline": milestones.headline(m),
            "choices": [
                {
                    "emoji": e,
                    "n": counts[m.pk]["counts"].get(e, 0),
                    "mine": counts[m.pk]["mine"] == e,
                }
                for e in milestones.reactions_allowed(m)
            ],
            "total": counts[m.pk]["total"],
            "mine": counts[m.pk]["mine"],
        }
        for m in found
    ]


@login_required
@shows_user_errors
def milestones_page(request: HttpRequest, gid: int) -> HttpResponse:
    user = _user(request)
    membership = access_group(user, gid)
    return render(
        request,
        "community/milestones.html",
        {
            "group": membership.group,
            "membership": membership,
            "cards": _cards(milestones.milestones_of(membership), user),
        },
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def milestone_new(request: HttpRequest, gid: int) -> HttpResponse:
    user = _user(request)
    membership = access_group(user, gid)
    sad = request.GET.get("kind") == "sad"
    values: dict[str, Any] = {
        "kind": "sad" if sad else "graduation",
        "text": "",
        "day": reminders.local_day(user).isoformat(),
        "years": "",
        "remind_yearly": False,
        "post_to_chat": not sad,
    }
    error = None
    if request.method == "POST":
        post = request.POST
        values = {
            "kind": post.get("kind", ""),
            "text": post.get("text", ""),
            "day": post.get("day", ""),
            "years": post.get("years", ""),
            "remind_yearly": post.get("remind_yearly") == "yes",
            "post_to_chat": post.get("post_to_chat") == "yes",
        }
        try:
            m = milestones.do_announce(user, gid, **values)
        except UserError as e:
            if e.status in (403, 404):
                raise
            error = e.message
        else:
            messages.success(
                request,
                _("Shared with the group.")
                if milestones.is_sad(m)
                else _("Shared with the group. Congratulations!"),
            )
            return redirect("community:milestone", gid=gid, msid=m.pk)
    return render(
        request,
        "community/milestone_new.html",
        {
            "group": membership.group,
            "membership": membership,
            "values": values,
            "kinds": Milestone.Kind.choices,
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def milestone_page(request: HttpRequest, gid: int, msid: int) -> HttpResponse:
    user = _user(request)
    membership = access_group(user, gid)
    m = milestones.milestone_in(membership, msid)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "react":
                emoji = request.POST.get("emoji", "")
                current = (
                    m.reactions.filter(user=user).values_list("emoji", flat=True).first() or ""
                )
                # The same button again takes the reaction back.
                milestones.do_react(user, gid, msid, "" if emoji == current else emoji)
            elif action in ("hide", "unhide"):
                milestones.do_hide(user, gid, msid, action == "hide")
                messages.success(
                    request, _("Hidden from the group.") if action == "hide" else _("Shown again.")
                )
            elif action in ("yearly_on", "yearly_off"):
                milestones.do_set_yearly(user, gid, msid, action == "yearly_on")
                messages.success(request, _("Saved."))
            elif action == "delete":
                milestones.do_delete(user, gid, msid)
                messages.success(request, _("Deleted."))
                return redirect("community:milestones", gid=gid)
            else:
                raise UserError("invalid_action", _("Unknown action."))
        except UserError as e:
            if e.status in (403, 404):
                raise
            messages.error(request, str(e.message))
        if request.POST.get("next") == "list":
            return redirect(f"{reverse('community:milestones', args=[gid])}#milestone-{msid}")
        return redirect(f"{reverse('community:milestone', args=[gid, msid])}#reactions")
    return render(
        request,
        "community/milestone.html",
        {
            "group": membership.group,
            "membership": membership,
            "card": _cards([m], user)[0],
            "is_author": m.user_id == user.pk,
        },
    )


urlpatterns: list[URLPattern] = [
    path("groups/<int:gid>/milestones/", milestones_page, name="milestones"),
    path("groups/<int:gid>/milestones/new/", milestone_new, name="milestone_new"),
    path("groups/<int:gid>/milestones/<int:msid>/", milestone_page, name="milestone"),
]
