"""The group's community page: what is on, in one place (the "Community" tab)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tongzhou.groups.queries import access_group
from tongzhou.groups.views import shows_user_errors


@login_required
@shows_user_errors
def hub(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_group(request.user, gid)
    return render(
        request,
        "community/hub.html",
        {"group": membership.group, "membership": membership},
    )
