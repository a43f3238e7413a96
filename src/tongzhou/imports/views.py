"""Pages: the leader's import (upload, check the names, progress, result), the group's
imported history, the people in it (claims), and the moderators' review of what it taught."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tongzhou.accounts.forms import timezone_choices
from tongzhou.accounts.models import User
from tongzhou.chat.models import Message
from tongzhou.chat.render import plain_text
from tongzhou.chat.serialize import sender_name
from tongzhou.errors import UserError
from tongzhou.groups.queries import access_group, access_leadership, access_moderation
from tongzhou.groups.views import flash_error, shows_user_errors
from tongzhou.imports import actions, queries
from tongzhou.imports.models import Candidate, ImportedPerson, ImportJob, TermCandidate
from tongzhou.knowledge import actions as knowledge

FORMAT_CHOICES = [
    ("auto", _("Recognise it")),
    ("whatsapp", "WhatsApp (.txt)"),
    ("telegram", "Telegram (result.json)"),
    ("wechat", _("WeChat (CSV, text or HTML from an export tool)")),
]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest, gid: int) -> HttpResponse:
    leader = access_leadership(_user(request), gid)
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise UserError("no_file", _("Please choose the export file."))
            data = upload.read(actions.settings.IMPORT_MAX_BYTES + 1)
            job = actions.do_upload(
                _user(request),
                gid,
                upload.name or "",
                data,
                fmt=request.POST.get("format", "auto"),
                zone=request.POST.get("timezone", ""),
                chat=request.POST.get("chat", ""),
                date_order=request.POST.get("date_order", ""),
            )
        except UserError as e:
            if e.status in (403, 404):
                raise
            error = e.message
        else:
            return redirect("imports:job", gid=gid, job_id=job.pk)
    last = ImportJob.objects.filter(group_id=gid).exclude(zone="").first()
    profile_zone = getattr(getattr(_user(request), "profile", None), "timezone", "")
    return render(
        request,
        "imports/start.html",
        {
            "group": leader.group,
            "membership": leader,
            "jobs": ImportJob.objects.filter(group_id=gid)[:20],
            "formats": FORMAT_CHOICES,
            "zones": timezone_choices(),
            "zone": (last.zone if last else "") or profile_zone or actions.settings.TIME_ZONE,
            "max_mb": actions.settings.IMPORT_MAX_BYTES // 2**20,
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def job(request: HttpRequest, gid: int, job_id: int) -> HttpResponse:
    leader = access_leadership(_user(request), gid)
    found = actions.job_in(_user(request), gid, job_id)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "discard":
                actions.do_discard(_user(request), gid, job_id)
                messages.success(request, _("Discarded. The file is deleted."))
                return redirect("imports:start", gid=gid)
            people = found.summary.get("people", [])
            names = {p["name"]: request.POST.get(f"name-{i}", "") for i, p in enumerate(people)}
            actions.do_start_import(_user(request), gid, job_id, names)
        except UserError as e:
            flash_error(request, e)
        return redirect("imports:job", gid=gid, job_id=job_id)
    problems = [
        {**p, "message": _(p["message"])}  # the parsers' fixed sentences
        for p in found.summary.get("problems", [])
    ]
    return render(
        request,
        "imports/job.html",
        {
            "group": leader.group,
            "membership": leader,
            "job": found,
            "problems": problems,
            "busy": found.status
            in (ImportJob.Status.UPLOADED, ImportJob.Status.READING, ImportJob.Status.IMPORTING),
            "status_url": reverse("api:get_import", args=[gid, found.pk]),
        },
    )


@login_required
@shows_user_errors
def history(request: HttpRequest, gid: int) -> HttpResponse:
    """The imported history, a month at a time; ?m=ID opens the page holding that message."""
    membership = access_group(_user(request), gid)
    wanted = request.GET.get("m", "")
    if wanted.isdigit():
        place = queries.place_of(gid, int(wanted))
        if place is None:
            raise UserError("not_found", _("That message is not in the group's history."), 404)
        url = reverse("imports:history", args=[gid])
        return redirect(f"{url}?month={place[0]}&page={place[1]}#m-{wanted}")
    months = queries.months(gid)
    key = request.GET.get("month") or (months[0]["key"] if months else "")
    page = int(request.GET["page"]) if request.GET.get("page", "").isdigit() else 1
    rows, pages = queries.page_of(gid, key, page) if months else ([], 0)
    keys = [m["key"] for m in months]
    at = keys.index(key) if key in keys else -1
    return render(
        request,
        "imports/history.html",
        {
            "group": membership.group,
            "membership": membership,
            "months": months,
            "month": key,
            "month_label": next((m["month"] for m in months if m["key"] == key), None),
            "rows": rows,
            "page": page,
            "pages": pages,
            "prev_month": keys[at - 1] if at > 0 else None,
            "next_month": keys[at + 1] if 0 <= at < len(keys) - 1 else None,
            "events": queries.events_of(gid, key) if request.GET.get("events") else None,
        },
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def people(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    if request.method == "POST":
        action, pid = request.POST.get("action", ""), request.POST.get("person")
        try:
            if action == "claim":
                actions.do_request_claim(_user(request), gid, pid)
                messages.success(request, _("Asked. The leader will confirm it."))
            elif action == "withdraw":
                actions.do_withdraw_claim(_user(request), gid, pid)
            elif action in ("confirm", "decline"):
                actions.do_decide_claim(_user(request), gid, pid, action == "confirm")
                messages.success(request, _("Done. It is in the audit log."))
            elif action == "rename":
                actions.do_rename(_user(request), gid, pid, request.POST.get("name"))
                messages.success(request, _("Saved."))
        except UserError as e:
            flash_error(request, e)
        return redirect("imports:people", gid=gid)
    rows = ImportedPerson.objects.filter(group_id=gid).select_related(
        "user", "claimed_by", "claim_requested_by"
    )
    if not membership.is_leader:
        rows = rows.order_by("user__display_name")
    return render(
        request,
        "imports/people.html",
        {
            "group": membership.group,
            "membership": membership,
            "people": rows,
            "pending": [p for p in rows if p.claim_requested_by_id and not p.claimed_by_id],
        },
    )


def _candidate_rows(gid: int) -> list[dict[str, Any]]:
    cands = list(
        Candidate.objects.filter(group_id=gid, status=Candidate.Status.OPEN)
        .select_related("question__sender")
        .order_by("-score", "id")[:30]
    )
    answer_ids = [a for c in cands for a in c.answers[:3]]
    answers = {
        m.pk: m
        for m in Message.objects.filter(pk__in=answer_ids, deleted_at__isnull=True).select_related(
            "sender"
        )
    }
    rows = []
    for c in cands:
        ids = [c.question_id, *c.answers][: knowledge.MAX_SOURCES]
        rows.append(
            {
                "candidate": c,
                "question": plain_text(c.question.text, 200),
                "asker": sender_name(c.question),
                "at": c.question.created_at,
                "answers": [
                    {"who": sender_name(answers[a]), "text": plain_text(answers[a].text, 200)}
                    for a in c.answers[:3]
                    if a in answers
                ],
                "more": max(len(c.answers) - 3, 0),
                "new_entry": reverse("groups:entry_new", args=[gid])
                + "?"
                + "&".join(f"m={i}" for i in ids)
                + f"&candidate={c.pk}",
            }
        )
    return rows


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, gid: int) -> HttpResponse:
    """What the history taught, for the moderators: answered questions and the group's own
    words, each to be made into an entry or a glossary word, or dismissed."""
    mod = access_moderation(_user(request), gid)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "dismiss":
                actions.do_dismiss_candidate(_user(request), gid, request.POST.get("candidate"))
            elif action == "dismiss_term":
                actions.do_dismiss_term(_user(request), gid, request.POST.get("term"))
            elif action == "add_term":
                actions.do_use_term(
                    _user(request),
                    gid,
                    request.POST.get("term"),
                    request.POST.get("meaning"),
                    request.POST.get("also", ""),
                )
                messages.success(request, _("Added to the glossary."))
        except UserError as e:
            flash_error(request, e)
        return redirect("imports:review", gid=gid)
    open_count = Candidate.objects.filter(group_id=gid, status=Candidate.Status.OPEN).count()
    return render(
        request,
        "imports/review.html",
        {
            "group": mod.group,
            "membership": mod,
            "candidates": _candidate_rows(gid),
            "open_count": open_count,
            "terms": TermCandidate.objects.filter(group_id=gid, status=TermCandidate.Status.OPEN)[
                :40
            ],
            "now": timezone.now(),
        },
    )
