"""The group's community page: what is on, in one place (the "Community" tab). Read-only;
each section links to its feature's own page."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tongzhou.community.models import (
    AidRequest,
    Event,
    MessageTopic,
    Milestone,
    Routine,
    Suggestion,
)
from tongzhou.groups.models import Membership
from tongzhou.groups.queries import access_group
from tongzhou.groups.views import shows_user_errors

SHOWN = 3


def overview(membership: Membership) -> dict[str, Any]:
    gid, now = membership.group_id, timezone.now()
    aid = AidRequest.objects.filter(group_id=gid, status=AidRequest.Status.OPEN)
    return {
        "events": Event.objects.filter(
            group_id=gid, cancelled_at__isnull=True, ends_at__gte=now
        ).order_by("starts_at")[:SHOWN],
        "routines": Routine.objects.filter(
            group_id=gid, owner__isnull=True, archived_at__isnull=True
        ).order_by("time")[:SHOWN],
        "milestones": Milestone.objects.filter(group_id=gid, hidden_at__isnull=True)
        .select_related("user")
        .order_by("-created_at")[:SHOWN],
        "aid": aid.select_related("author").order_by("-created_at")[:SHOWN],
        "aid_open": aid.count(),
        "aid_waiting": (
            AidRequest.objects.filter(group_id=gid, status=AidRequest.Status.PENDING).count()
            if membership.can_moderate
            else 0
        ),
        "suggestions": Suggestion.objects.filter(
            group_id=gid, status__in=[Suggestion.Status.OPEN, Suggestion.Status.PLANNED]
        )
        .annotate(n_votes=Count("votes"))
        .order_by("-n_votes", "-created_at")[:SHOWN],
        "topics": MessageTopic.objects.filter(
            Q(message__status="visible"), group_id=gid, message__deleted_at__isnull=True
        )
        .values("tag")
        .annotate(n=Count("pk"))
        .order_by("-n", "tag")[:8],
    }


@login_required
@shows_user_errors
def hub(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_group(request.user, gid)
    return render(
        request,
        "community/hub.html",
        {"group": membership.group, "membership": membership, **overview(membership)},
    )
