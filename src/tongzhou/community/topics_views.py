"""#topic pages: the group's topics, and one topic's messages and entries."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tongzhou.accounts.models import User
from tongzhou.community import topics
from tongzhou.errors import UserError
from tongzhou.groups.queries import access_group
from tongzhou.groups.views import shows_user_errors


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


@login_required
@shows_user_errors
def topic_list(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    rows = topics.topics_of(membership)
    return render(
        request,
        "community/topics.html",
        {
            "group": membership.group,
            "membership": membership,
            "followed": [r for r in rows if r["followed"]],
            "others": [r for r in rows if not r["followed"]],
        },
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def topic(request: HttpRequest, gid: int, tag: str) -> HttpResponse:
    membership = access_group(_user(request), gid)
    found = topics.tag_from_path(tag)
    if found != tag:  # one address per topic: #Diet and #diet are the same page
        return redirect("community:topic", gid=gid, tag=found)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action not in ("follow", "unfollow"):
                raise UserError("invalid_action", _("Unknown action."))
            on = topics.do_follow(_user(request), gid, found, action == "follow")
        except UserError as e:
            if e.status in (403, 404):
                raise
            messages.error(request, str(e.message))
        else:
            messages.success(
                request,
                _("You follow #%(tag)s. New messages in it will be in your reminders.")
                % {"tag": found}
                if on
                else _("You no longer follow #%(tag)s.") % {"tag": found},
            )
        return redirect("community:topic", gid=gid, tag=found)
    before_raw = request.GET.get("before", "")
    before = int(before_raw) if before_raw.isdigit() and len(before_raw) < 19 else None
    rows = topics.topic_messages(membership.group_id, found, before)
    shown = []
    for m in rows:
        data = topics.message_dict(m)
        # to_html is Markdown cleaned by nh3: the same HTML every chat client inserts.
        data["html"] = mark_safe(data["html"])  # noqa: S308  # nosec B308 B703 # nosemgrep: tongzhou-mark-safe-non-literal
        data["at"] = m.created_at
        shown.append(data)
    return render(
        request,
        "community/topic.html",
        {
            "group": membership.group,
            "membership": membership,
            "tag": found,
            "followed": topics.follows(membership.user_id, membership.group_id, found),
            "followers": topics.follower_count(membership.group_id, found),
            "topic_messages": shown,
            "next_before": rows[-1].pk if len(rows) == topics.PAGE else None,
            "entries": topics.topic_entries(membership.group_id, found) if before is None else [],
        },
    )


urlpatterns: list[URLPattern] = [
    path("groups/<int:gid>/topics/", topic_list, name="topics"),
    path("groups/<int:gid>/topics/<str:tag>/", topic, name="topic"),
]
