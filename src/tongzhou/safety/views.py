"""Pages: the moderators' queue, the audit log, the claims list and the crisis lines."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tongzhou.accounts.models import User
from tongzhou.community.dm import dm_reports_for
from tongzhou.errors import UserError
from tongzhou.groups.queries import access_group, access_moderation
from tongzhou.groups.views import flash_error, shows_user_errors
from tongzhou.safety import actions
from tongzhou.safety.models import Claim, Report
from tongzhou.safety.queries import audit_dict, audit_log, claim_dict, open_reports, report_dict
from tongzhou.safety.resources import all_resources, region_of


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def moderation(request: HttpRequest, gid: int) -> HttpResponse:
    mod = access_moderation(_user(request), gid)
    if request.method == "POST":
        try:
            actions.do_decide_report(
                mod,
                request.POST.get("report"),
                request.POST.get("action", ""),
                reason=request.POST.get("reason", ""),
                minutes=request.POST.get("minutes"),
            )
        except UserError as e:
            flash_error(request, e)
        else:
            messages.success(request, _("Done. It is in the audit log."))
        return redirect("groups:moderation", gid=gid)
    reports = [{**report_dict(r), "created": r.created_at} for r in open_reports(mod.group_id)]
    return render(
        request,
        "safety/moderation.html",
        {
            "group": mod.group,
            "membership": mod,
            "reports": reports,
            "dm_reports": dm_reports_for(mod.group_id),
            "mute_choices": [(60, _("1 hour")), (1440, _("1 day")), (10080, _("1 week"))],
        },
    )


@login_required
@shows_user_errors
def audit(request: HttpRequest, gid: int) -> HttpResponse:
    mod = access_moderation(_user(request), gid)
    before = request.GET.get("before")
    entries = audit_log(mod.group_id, int(before) if before and before.isdigit() else None)
    return render(
        request,
        "safety/audit.html",
        {
            "group": mod.group,
            "membership": mod,
            "entries": [
                {**audit_dict(e), "created": e.created_at, "ends": e.until} for e in entries
            ],
            "older": entries[-1].pk if len(entries) == 100 else None,
        },
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def claims(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    if request.method == "POST":
        mod = access_moderation(_user(request), gid)
        action = request.POST.get("action", "")
        data = {k: request.POST.get(k) for k in ("title", "patterns", "correction", "entry")}
        try:
            if action == "add":
                actions.do_add_claim(mod, data)
            elif action == "edit":
                actions.do_edit_claim(
                    mod,
                    request.POST.get("id"),
                    {**data, "active": request.POST.get("active") == "on"},
                )
            elif action == "delete":
                actions.do_delete_claim(mod, request.POST.get("id"))
            else:
                raise UserError("invalid_action", _("Unknown action."))
        except UserError as e:
            flash_error(request, e)
        else:
            messages.success(request, _("Saved."))
        return redirect("groups:claims", gid=gid)
    rows = [claim_dict(c) for c in Claim.objects.filter(group_id=membership.group_id)]
    if not membership.can_moderate:
        rows = [c for c in rows if c["active"]]
    return render(
        request,
        "safety/claims.html",
        {"group": membership.group, "membership": membership, "claims": rows},
    )


def crisis_resources(request: HttpRequest) -> HttpResponse:
    """Every region's crisis lines, the reader's own first: open to anyone, signed in or not."""
    mine = region_of(request.user)
    regions = sorted(all_resources(), key=lambda r: r["region"] != mine)
    return render(request, "safety/crisis.html", {"regions": regions})


def report_reasons() -> list[tuple[str, str]]:
    """The reasons a member may choose (crisis is found by the checks, or by "Other")."""
    return [(k, str(v)) for k, v in Report.Reason.choices]
