from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tongzhou.accounts.actions import has_health_consent
from tongzhou.accounts.models import Role, User
from tongzhou.chat.changes import pinned_messages
from tongzhou.chat.models import REACTIONS
from tongzhou.chat.queries import unread_count
from tongzhou.errors import UserError, parse_id
from tongzhou.groups import actions
from tongzhou.groups.api import member_dict
from tongzhou.groups.models import Application, Group, Invite, Profession
from tongzhou.groups.queries import (
    access_group,
    access_leadership,
    access_member,
    access_moderation,
    active_members,
    get_group,
    groups_of,
    latest_application,
    membership_of,
)
from tongzhou.insight.models import Project
from tongzhou.knowledge.actions import newcomer_guide
from tongzhou.knowledge.queries import glossary_config
from tongzhou.questions.routing import REASONS
from tongzhou.safety.actions import do_moderate_member, do_request_badge
from tongzhou.safety.models import Report
from tongzhou.safety.queries import ALERTS, SIGNALS, muted, unseen_warnings
from tongzhou.text import clean


def shows_user_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A refusal from an access check becomes a readable page with the right status."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except UserError as e:
            return render(request, "error.html", {"message": e.message}, status=e.status)

    return wrapper


def flash_error(request: HttpRequest, e: UserError) -> None:
    """A refusal of a form's content becomes a note on the page; a refusal of access stays a
    page with its status (shows_user_errors)."""
    if e.status in (403, 404):
        raise e
    messages.error(request, str(e.message))


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    mine = groups_of(user)
    mine_ids = {m.group_id for m in mine}
    rows = [
        {
            "membership": m,
            "group": m.group,
            "unread": unread_count(m.group_id, m.last_read_id, user.pk),
        }
        for m in mine
    ]
    others = []
    for g in Group.objects.exclude(pk__in=mine_ids):
        others.append({"group": g, "application": latest_application(user, g)})
    research = Project.objects.filter(
        researchers__user=user, researchers__revoked_at__isnull=True
    ).exists()
    return render(
        request,
        "groups/directory.html",
        {"mine": rows, "others": others, "research": research},
    )


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    error = None
    if request.method == "POST":
        try:
            group = actions.do_create_group(
                _user(request), request.POST.get("name", ""), request.POST.get("description", "")
            )
        except UserError as e:
            error = e.message
        else:
            messages.success(
                request, _("Your group is ready. Invite people or wait for applications.")
            )
            return redirect("groups:settings", gid=group.pk)
    return render(
        request,
        "groups/create.html",
        {"error": error, "form": request.POST},
        status=400 if error else 200,
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, gid: int) -> HttpResponse:
    """The public page of a group: what it is, and the application form or its status."""
    user = _user(request)
    group = get_group(gid)
    if membership_of(user, group) is not None:
        return redirect("groups:chat", gid=gid)
    error = None
    if request.method == "POST":
        answers = [request.POST.get(f"q{q.pk}", "") for q in group.join_questions.all()]
        try:
            actions.do_apply(
                user,
                group,
                role=request.POST.get("role", ""),
                diagnosis=request.POST.get("diagnosis", ""),
                hospital=request.POST.get("hospital", ""),
                stage=request.POST.get("stage", ""),
                note=request.POST.get("note", ""),
                answers=answers,
                health_consent=request.POST.get("health_consent") == "yes",
            )
        except UserError as e:
            error = e.message
        else:
            messages.success(request, _("Your application is sent. A group leader will review it."))
            return redirect("groups:detail", gid=gid)
    application = latest_application(user, group)
    can_apply = application is None or application.status != Application.Status.PENDING
    return render(
        request,
        "groups/detail.html",
        {
            "group": group,
            "application": application,
            "can_apply": can_apply,
            "roles": Role.choices,
            "questions": [
                (q, request.POST.get(f"q{q.pk}", "")) for q in group.join_questions.all()
            ],
            "form": request.POST,
            "health_consent": user.is_authenticated and has_health_consent(user),
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@shows_user_errors
def chat(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    config = {
        "groupId": gid,
        "me": request.user.pk,
        "lastReadId": membership.last_read_id,
        "maxChars": settings.MESSAGE_MAX_CHARS,
        "maxVoiceSeconds": settings.VOICE_MAX_SECONDS,
        "editSeconds": settings.EDIT_WINDOW_SECONDS,
        "canModerate": membership.can_moderate,
        "reactions": REACTIONS,
        "pinned": pinned_messages(gid).count(),
        "announcement": actions.announcement_dict(membership.group),
        # Why a member is asked to help, in the page's language: live pushes carry only codes
        # (they are made in the worker, which does not know the reader's language).
        "helpReasons": {code: str(text) for code, text in {**REASONS, **ALERTS}.items()},
        "glossary": glossary_config(gid),
        "newEntryUrl": reverse("groups:entry_new", args=[gid]),
    }
    return render(
        request,
        "chat/chat.html",
        {
            "membership": membership,
            "group": membership.group,
            "config": config,
            "announcement": config["announcement"],
            "guide": newcomer_guide(membership),
            "warnings": unseen_warnings(membership),
            "open_reports": Report.objects.filter(group_id=gid, status=Report.Status.OPEN).count()
            if membership.can_moderate
            else 0,
            "muted_until": membership.muted_until if muted(membership) else None,
            "report_reasons": [
                (k, v) for k, v in Report.Reason.choices if k != Report.Reason.CRISIS
            ]
            + [(Report.Reason.CRISIS, Report.Reason.CRISIS.label)],
        },
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def applications(request: HttpRequest, gid: int) -> HttpResponse:
    mod = access_moderation(_user(request), gid)
    if request.method == "POST":
        app = Application.objects.filter(
            group=mod.group, pk=parse_id(request.POST.get("application"), "application_not_found")
        ).first()
        if app is None:
            raise UserError("application_not_found", _("There is no such application."), 404)
        approve = request.POST.get("decision") == "approve"
        try:
            actions.do_decide(
                _user(request), app, approve=approve, reason=request.POST.get("reason", "")
            )
        except UserError as e:
            messages.error(request, str(e.message))
        else:
            name = app.user.display_name
            if approve:
                messages.success(request, _("%(name)s is now a member.") % {"name": name})
            else:
                messages.success(request, _("%(name)s was not approved.") % {"name": name})
        return redirect("groups:applications", gid=gid)
    pending = list(
        Application.objects.filter(
            group=mod.group, status=Application.Status.PENDING
        ).select_related("user")
    )
    for app in pending:  # what the salesman checks saw, in the reader's words
        app.flag_texts = [str(SIGNALS.get(f, f)) for f in app.flags]  # type: ignore[attr-defined]
    decided = (
        Application.objects.filter(group=mod.group)
        .exclude(status=Application.Status.PENDING)
        .select_related("user", "decided_by")[:30]
    )
    return render(
        request,
        "groups/applications.html",
        {"group": mod.group, "membership": mod, "pending": pending, "decided": decided},
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, gid: int) -> HttpResponse:
    viewer = access_group(_user(request), gid)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "request_badge":
            try:
                do_request_badge(viewer, request.POST.get("profession"))
            except UserError as e:
                messages.error(request, str(e.message))
            else:
                messages.success(request, _("Asked. The leader will check and grant the badge."))
            return redirect("groups:members", gid=gid)
        if action in ("warn", "mute", "unmute", "ban"):
            mod = access_moderation(_user(request), gid)
            try:
                do_moderate_member(
                    mod,
                    request.POST.get("user"),
                    action,
                    reason=request.POST.get("reason", ""),
                    minutes=request.POST.get("minutes"),
                )
            except UserError as e:
                if e.status in (403, 404):
                    raise
                messages.error(request, str(e.message))
            else:
                messages.success(request, _("Done. It is in the audit log."))
            return redirect("groups:members", gid=gid)
        leader = access_leadership(_user(request), gid)
        target = access_member(leader, request.POST.get("user"))
        try:
            if action == "remove":
                actions.do_remove_member(
                    leader, target, reason=clean(request.POST.get("reason", ""))
                )
                messages.success(
                    request,
                    _("%(name)s was removed from the group.") % {"name": target.user.display_name},
                )
            elif action in ("verify", "unverify"):
                actions.do_set_verified_professional(leader, target, action == "verify")
                messages.success(
                    request, _("%(name)s's badge is changed.") % {"name": target.user.display_name}
                )
            elif action in ("moderator", "member"):
                actions.do_set_role(leader, target, action)
                messages.success(
                    request, _("%(name)s's role is changed.") % {"name": target.user.display_name}
                )
        except UserError as e:
            messages.error(request, str(e.message))
        return redirect("groups:members", gid=gid)
    rows = [member_dict(m, viewer) for m in active_members(viewer.group)]
    return render(
        request,
        "groups/members.html",
        {
            "group": viewer.group,
            "membership": viewer,
            "members": rows,
            "count": len(rows),
            "professions": Profession.choices,
            "mute_choices": [(60, _("1 hour")), (1440, _("1 day")), (10080, _("1 week"))],
        },
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def group_settings(request: HttpRequest, gid: int) -> HttpResponse:
    leader = access_leadership(_user(request), gid)
    new_invite = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "details":
                actions.do_update_group(
                    leader,
                    name=request.POST.get("name", ""),
                    description=request.POST.get("description", ""),
                    member_cap=request.POST.get("member_cap"),
                )
            elif action == "routing":
                actions.do_update_group(
                    leader,
                    question_t1_minutes=request.POST.get("question_t1_minutes"),
                    question_t2_minutes=request.POST.get("question_t2_minutes"),
                    question_helpers=request.POST.get("question_helpers"),
                )
            elif action == "safety":
                actions.do_update_group(
                    leader,
                    spam_action=request.POST.get("spam_action"),
                    new_member_days=request.POST.get("new_member_days"),
                    dm_min_days=request.POST.get("dm_min_days"),
                )
            elif action == "knowledge":
                actions.do_update_group(
                    leader, review_after_months=request.POST.get("review_after_months")
                )
            elif action == "announcement":
                actions.do_update_group(leader, announcement=request.POST.get("announcement", ""))
            elif action == "add_question":
                actions.do_add_join_question(leader, request.POST.get("text", ""))
            elif action == "delete_question":
                actions.do_delete_join_question(
                    leader, parse_id(request.POST.get("question"), "question_not_found")
                )
            elif action == "invite":
                new_invite = actions.do_create_invite(
                    leader, hours=request.POST.get("hours"), max_uses=request.POST.get("max_uses")
                )
            elif action == "revoke_invite":
                actions.do_revoke_invite(
                    leader, parse_id(request.POST.get("invite"), "invite_not_found")
                )
        except UserError as e:
            messages.error(request, str(e.message))
        else:
            messages.success(request, _("Saved."))
            if new_invite is None:
                return redirect("groups:settings", gid=gid)
    invites = Invite.objects.filter(group=leader.group, revoked=False).order_by("-id")[:20]
    return render(
        request,
        "groups/settings.html",
        {
            "group": leader.group,
            "membership": leader,
            "questions": leader.group.join_questions.all(),
            "spam_actions": Group.SpamAction.choices,
            "invites": [i for i in invites if i.usable],
            "new_invite_url": request.build_absolute_uri(new_invite.get_absolute_url())
            if new_invite
            else None,
        },
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest, token: str) -> HttpResponse:
    found = Invite.objects.select_related("group").filter(token=token).first()
    if found is None or not found.usable:
        raise UserError(
            "invite_invalid",
            _("This invite link has expired or been used up. Ask the group leader for a new one."),
            410,
        )
    if request.method == "POST":
        membership = actions.do_accept_invite(_user(request), token)
        messages.success(request, _("Welcome to %(group)s!") % {"group": membership.group.name})
        return redirect("groups:chat", gid=membership.group_id)
    return render(request, "groups/invite.html", {"invite": found, "group": found.group})
