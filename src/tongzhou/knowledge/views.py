"""Pages of the knowledge base, the newcomer guide, the glossary and search. Forms post back
to the page and call the same actions as the API, so they work without script."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tongzhou.accounts.models import User
from tongzhou.chat.render import to_html
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.queries import access_group, access_leadership
from tongzhou.groups.views import shows_user_errors
from tongzhou.imports.actions import used_candidate
from tongzhou.imports.queries import history_count, review_count
from tongzhou.knowledge import actions
from tongzhou.knowledge.models import Category, Entry, GuideItem
from tongzhou.knowledge.queries import (
    category_counts,
    credit,
    due_for_review,
    entries_of,
    glossary_config,
    glossary_of,
    history,
    sources_of,
)
from tongzhou.knowledge.search import Filters, readable_groups, search


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


@login_required
@shows_user_errors
def index(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    category = request.GET.get("category") or None
    state = request.GET.get("state") or None
    tag = request.GET.get("tag") or None
    entries = list(entries_of(membership.group, category=category, tag=tag, state=state)[:200])
    for e in entries:
        e.due = due_for_review(e, membership.group)  # type: ignore[attr-defined]
    return render(
        request,
        "knowledge/index.html",
        {
            "group": membership.group,
            "membership": membership,
            "entries": entries,
            "categories": category_counts(membership.group),
            "category": category,
            "state": state,
            "tag": tag,
            "guide": actions.guide_of(membership),
            "history_count": history_count(gid),
            "history_review": review_count(gid) if membership.can_moderate else 0,
        },
    )


def _form_values(request: HttpRequest) -> dict[str, Any]:
    return {
        "title": request.POST.get("title", ""),
        "body": request.POST.get("body", ""),
        "category": request.POST.get("category", ""),
        "tags": request.POST.get("tags", ""),
    }


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def new_entry(request: HttpRequest, gid: int) -> HttpResponse:
    """Write an entry; ?question=ID or ?m=ID&m=ID start it from the chat."""
    membership = access_group(_user(request), gid)
    data = request.POST if request.method == "POST" else request.GET
    if data.get("question"):
        draft = actions.draft_from_question(membership, data.get("question"))
    elif data.getlist("m"):
        draft = actions.draft_from_messages(membership, data.getlist("m"))
    else:
        draft = {"title": "", "body": "", "sources": [], "question": None}
    values = {**draft, "category": "", "tags": "", "candidate": data.get("candidate", "")}
    error = None
    if request.method == "POST":
        values.update(_form_values(request))
        try:
            entry = actions.do_create_entry(
                _user(request),
                gid,
                sources=[m.pk for m in draft["sources"]],
                question=draft["question"],
                **{k: values[k] for k in ("title", "body", "category", "tags")},
            )
        except UserError as e:
            error = e.message
        else:
            if membership.can_moderate:  # opened from a suggestion of the imported history
                used_candidate(_user(request), gid, data.get("candidate"), entry)
            messages.success(request, _("Saved as a draft. A moderator will review it."))
            return redirect("groups:entry", gid=gid, eid=entry.pk)
    sources = [{"message": m, "author": credit(m.sender), "text": m.text} for m in draft["sources"]]
    return render(
        request,
        "knowledge/entry_form.html",
        {
            "group": membership.group,
            "membership": membership,
            "values": values,
            "sources": sources,
            "categories": Category.choices,
            "error": error,
            "creating": True,
        },
        status=400 if error else 200,
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def edit_entry(request: HttpRequest, gid: int, eid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    entry = actions.entry_in(membership, eid)
    if not actions.can_edit(membership, entry):
        raise UserError(
            "not_allowed", _("Only the author and the moderators can change this entry."), 403
        )
    values: dict[str, Any] = {
        "title": entry.title,
        "body": entry.body,
        "category": entry.category,
        "tags": ", ".join(entry.tags),
        "note": "",
    }
    error = None
    if request.method == "POST":
        values = {**_form_values(request), "note": request.POST.get("note", "")}
        try:
            actions.do_edit_entry(_user(request), gid, eid, **values)
        except UserError as e:
            error = e.message
        else:
            messages.success(request, _("Saved. The entry needs a new review."))
            return redirect("groups:entry", gid=gid, eid=eid)
    return render(
        request,
        "knowledge/entry_form.html",
        {
            "group": membership.group,
            "membership": membership,
            "entry": entry,
            "values": values,
            "categories": Category.choices,
            "error": error,
            "creating": False,
        },
        status=400 if error else 200,
    )


ENTRY_ACTIONS = {
    "review": lambda u, gid, eid, post: actions.do_review(u, gid, eid),
    "check": lambda u, gid, eid, post: actions.do_check(u, gid, eid, True),
    "uncheck": lambda u, gid, eid, post: actions.do_check(u, gid, eid, False),
    "comment": lambda u, gid, eid, post: actions.do_comment(u, gid, eid, post.get("text", "")),
    "resolve": lambda u, gid, eid, post: actions.do_resolve_comment(
        u, gid, eid, post.get("comment")
    ),
}


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def entry(request: HttpRequest, gid: int, eid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    found = actions.entry_in(membership, eid)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "delete":
                actions.do_delete_entry(_user(request), gid, eid)
                messages.success(request, _("The entry was deleted."))
                return redirect("groups:knowledge", gid=gid)
            if action not in ENTRY_ACTIONS:
                raise UserError("invalid_action", _("Unknown action."))
            ENTRY_ACTIONS[action](_user(request), gid, eid, request.POST)
        except UserError as e:
            if e.status in (403, 404):
                raise  # a refusal is a page with its status, not a note
            messages.error(request, str(e.message))
        else:
            messages.success(request, _("Saved."))
        return redirect("groups:entry", gid=gid, eid=eid)
    actions.mark_read(membership.user_id, found)
    guide = actions.guide_of(membership)
    ids = [s["entry"].pk for s in guide["steps"]]
    step = ids.index(found.pk) if found.pk in ids else None
    return render(
        request,
        "knowledge/entry.html",
        {
            "group": membership.group,
            "membership": membership,
            "entry": found,
            "due": due_for_review(found, membership.group),
            # to_html is Markdown cleaned by nh3: the same HTML every chat client inserts.
            "body_html": mark_safe(to_html(found.body)),  # noqa: S308  # nosec B308 B703 # nosemgrep: tongzhou-mark-safe-non-literal
            "sources": [{**src, "at": parse_datetime(src["sent_at"])} for src in sources_of(found)],
            "comments": found.comments.select_related("author"),
            "can_edit": actions.can_edit(membership, found),
            "can_delete": membership.can_moderate
            or (found.created_by_id == membership.user_id and found.reviewed_at is None),
            "professional": membership.verified_professional_at is not None,
            "guide": guide,
            "step": step + 1 if step is not None else None,
            "next_step": guide["steps"][step + 1]["entry"]
            if step is not None and step + 1 < len(ids)
            else None,
            "glossary": glossary_config(gid),
        },
    )


@login_required
@shows_user_errors
def entry_history(request: HttpRequest, gid: int, eid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    found = actions.entry_in(membership, eid)
    return render(
        request,
        "knowledge/history.html",
        {
            "group": membership.group,
            "membership": membership,
            "entry": found,
            "revisions": history(found),
        },
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def guide(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    if request.method == "POST":
        access_leadership(_user(request), gid)
        ids = list(
            GuideItem.objects.filter(group_id=gid)
            .order_by("position")
            .values_list("entry_id", flat=True)
        )
        action = request.POST.get("action", "")
        try:
            target = parse_id(request.POST.get("entry"), "entry_not_found")
            if action == "add" and target not in ids:
                ids.append(target)
            elif action == "remove" and target in ids:
                ids.remove(target)
            elif action in ("up", "down") and target in ids:
                i = ids.index(target)
                j = i - 1 if action == "up" else i + 1
                if 0 <= j < len(ids):
                    ids[i], ids[j] = ids[j], ids[i]
            actions.do_set_guide(_user(request), gid, ids)
        except UserError as e:
            if e.status in (403, 404):
                raise  # a refusal is a page with its status, not a note
            messages.error(request, str(e.message))
        else:
            messages.success(request, _("The guide is saved."))
        return redirect("groups:guide", gid=gid)
    current = actions.guide_of(membership)
    in_guide = {s["entry"].pk for s in current["steps"]}
    addable = (
        Entry.objects.filter(group_id=gid).exclude(pk__in=in_guide).order_by("title")
        if membership.is_leader
        else []
    )
    return render(
        request,
        "knowledge/guide.html",
        {
            "group": membership.group,
            "membership": membership,
            "guide": current,
            "addable": addable,
        },
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def glossary(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_group(_user(request), gid)
    if request.method == "POST":
        action = request.POST.get("action", "")
        fields = {k: request.POST.get(k) for k in ("term", "also", "meaning")}
        try:
            if action == "add":
                actions.do_add_term(_user(request), gid, **fields)
            elif action == "edit":
                actions.do_edit_term(_user(request), gid, request.POST.get("id"), **fields)
            elif action == "delete":
                actions.do_delete_term(_user(request), gid, request.POST.get("id"))
            else:
                raise UserError("invalid_action", _("Unknown action."))
        except UserError as e:
            if e.status in (403, 404):
                raise  # a refusal is a page with its status, not a note
            messages.error(request, str(e.message))
        else:
            messages.success(request, _("The glossary is saved."))
        return redirect("groups:glossary", gid=gid)
    return render(
        request,
        "knowledge/glossary.html",
        {"group": membership.group, "membership": membership, "terms": glossary_of(gid)},
    )


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError("invalid_date", _("Write dates as year-month-day.")) from None


def _marked(text: str, spans: list[list[int]]) -> list[tuple[bool, str]]:
    """(highlighted?, text) pieces; the template escapes each."""
    out, at = [], 0
    for s, e in spans:
        if s > at:
            out.append((False, text[at:s]))
        out.append((True, text[s:e]))
        at = e
    if at < len(text):
        out.append((False, text[at:]))
    return out


@login_required
def search_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    groups = readable_groups(user)
    q = request.GET.get("q", "").strip()
    results: list[dict[str, Any]] = []
    error = None
    next_before = None
    form = {k: request.GET.get(k, "") for k in ("q", "group", "since", "until", "before")}
    flags = {k: request.GET.get(k) == "1" for k in ("questions", "answered", "attachments")}
    if q:
        try:
            f = Filters(
                group=parse_id(form["group"], "not_found") if form["group"] else None,
                since=_date(form["since"]),
                until=_date(form["until"]),
                before=parse_id(form["before"], "not_found") if form["before"] else None,
                questions=flags["questions"],
                answered=flags["answered"],
                attachments=flags["attachments"],
            )
            found = search(user, q, f)
        except UserError as e:
            error = e.message
        else:
            next_before = found["next_before"]
            for r in found["results"]:
                r["pieces"] = _marked(r["snippet"], r["highlights"])
                if r["type"] == "message":
                    r["at"] = parse_datetime(r["created_at"])
                if r["type"] == "entry":
                    r["title_pieces"] = _marked(r["title"], r["title_highlights"])
                    r["category_label"] = Category(r["category"]).label
                results.append(r)
    more = request.GET.copy()
    if next_before:
        more["before"] = str(next_before)
    return render(
        request,
        "knowledge/search.html",
        {
            "groups": sorted(groups.items(), key=lambda g: g[1]),
            "form": form,
            "flags": flags,
            "q": q,
            "results": results,
            "error": error,
            "more_url": f"?{more.urlencode()}" if next_before else None,
        },
        status=400 if error else 200,
    )
