"""Pages of direct messages: the inbox, a conversation, starting one, the blocked list, and
the moderators' answer to a reported message. Forms post back and call community/dm.py, so
everything works without script; dm.js adds live messages and sending without a reload."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tongzhou.accounts.models import User
from tongzhou.community import dm
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.queries import access_moderation
from tongzhou.groups.views import shows_user_errors


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


@login_required
@shows_user_errors
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    rows = []
    for conv in dm.conversations_of(user)[:200]:
        info = dm.conversation_dict(conv, user)
        info["last_when"] = conv.last_at
        rows.append(info)
    return render(request, "community/dm_inbox.html", {"conversations": rows})


def _flash(request: HttpRequest, e: UserError) -> None:
    if e.status == 404:
        raise e
    messages.error(request, str(e.message))


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def conversation(request: HttpRequest, convid: int) -> HttpResponse:
    user = _user(request)
    conv = dm.access_conversation(user, convid)
    other = conv.user_b if conv.user_a_id == user.pk else conv.user_a
    error = None
    draft = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "send":
                draft = request.POST.get("text", "")
                _sent, _created, notices = dm.do_send_dm(
                    user,
                    conv.pk,
                    client_id=request.POST.get("client_id") or uuid.uuid4().hex,
                    text=draft,
                )
                if notices:  # crisis lines: shown once on the page
                    request.session["dm_crisis"] = True
                return redirect("community:conversation", convid=conv.pk)
            if action == "block":
                dm.do_block(user, other.pk)
                messages.success(
                    request,
                    _("You have blocked %(name)s. Neither of you can write here now.")
                    % {"name": other.display_name},
                )
            elif action == "unblock":
                dm.do_unblock(user, other.pk)
                messages.success(
                    request, _("%(name)s is unblocked.") % {"name": other.display_name}
                )
            elif action == "report":
                dm.do_report_dm(
                    user,
                    request.POST.get("message"),
                    reason=request.POST.get("reason", ""),
                    note=request.POST.get("note", ""),
                )
                messages.success(
                    request,
                    _(
                        "Thank you. The group's leader and moderators will see this one "
                        "message, and nothing else of your conversation."
                    ),
                )
            else:
                raise UserError("invalid_action", _("Unknown action."))
        except UserError as e:
            if e.status == 404 or action != "send":
                _flash(request, e)
                return redirect("community:conversation", convid=conv.pk)
            error = e.message  # shown above the box, with what they wrote kept
        else:
            return redirect("community:conversation", convid=conv.pk)
    before = request.GET.get("before")
    history = dm.list_messages(
        conv, before=parse_id(before, "message_not_found") if before else None
    )
    for m in history:
        m["when"] = parse_datetime(m["created_at"])  # type: ignore[typeddict-unknown-key]  # for the page only
    if not before:
        dm.do_mark_read(user, conv.pk)
    info = dm.conversation_dict(conv, user)
    crisis = dm.crisis_notice(user) if request.session.pop("dm_crisis", False) else None
    return render(
        request,
        "community/dm_conversation.html",
        {
            "conv": conv,
            "info": info,
            "other": other,
            "history": history,
            "older": history[0]["id"] if len(history) == dm.PAGE else None,
            "newest": history[-1]["id"] if history else 0,
            "reasons": dm.REASONS.choices,
            "error": error,
            "draft": draft,
            "client_id": uuid.uuid4().hex,
            "crisis": crisis,
        },
        status=400 if error else 200,
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest, uid: int) -> HttpResponse:
    """Write to a member; when the two already talk, their conversation opens instead."""
    user = _user(request)
    found = dm.existing_conversation(user.pk, uid)
    if found is not None and found.messages.exists():
        return redirect("community:conversation", convid=found.pk)
    group = request.GET.get("group") or request.POST.get("group") or None
    membership, target = dm.check_can_start(user, uid, group)
    error = None
    text = ""
    if request.method == "POST":
        text = request.POST.get("text", "")
        try:
            conv, _m, _created, notices = dm.do_start_conversation(
                user,
                uid,
                client_id=request.POST.get("client_id") or uuid.uuid4().hex,
                text=text,
                group=membership.group_id,
            )
        except UserError as e:
            if e.status == 404:
                raise
            error = e.message
        else:
            if notices:  # crisis lines: the conversation page shows them once
                request.session["dm_crisis"] = True
            return redirect("community:conversation", convid=conv.pk)
    return render(
        request,
        "community/dm_new.html",
        {
            "target": target,
            "group": membership.group,
            "error": error,
            "text": text,
            "client_id": uuid.uuid4().hex,
        },
        status=400 if error else 200,
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def blocked(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method == "POST":
        dm.do_unblock(user, request.POST.get("user"))
        messages.success(request, _("Unblocked."))
        return redirect("community:dm_blocked")
    return render(request, "community/dm_blocked.html", {"blocks": dm.blocked_by(user)})


@login_required
@shows_user_errors
@require_POST
def handle_report(request: HttpRequest, gid: int, dmid: int) -> HttpResponse:
    """From the moderation page: mark a reported message handled, or warn, mute or remove
    its sender and mark it handled."""
    mod = access_moderation(_user(request), gid)
    try:
        dm.do_handle_dm_report(
            mod,
            dmid,
            request.POST.get("action", ""),
            reason=request.POST.get("reason", ""),
            minutes=request.POST.get("minutes"),
        )
    except UserError as e:
        if e.status in (403, 404):
            raise
        messages.error(request, str(e.message))
    else:
        messages.success(request, _("Done. The report is marked handled."))
    return redirect("groups:moderation", gid=gid)


urlpatterns: list[URLPattern] = [
    path("messages/", inbox, name="inbox"),
    path("messages/blocked/", blocked, name="dm_blocked"),
    path("messages/new/<int:uid>/", new, name="dm_new"),
    path("messages/<int:convid>/", conversation, name="conversation"),
    path("groups/<int:gid>/dm-reports/<int:dmid>/", handle_report, name="dm_report"),
]
