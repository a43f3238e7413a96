"""Pages: members' research consent, the leader's projects, the researchers' workspace."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tongzhou.accounts.models import User
from tongzhou.errors import UserError
from tongzhou.groups.queries import access_group, access_leadership
from tongzhou.groups.views import flash_error, shows_user_errors
from tongzhou.insight import actions, codebook, coded, consent, export, queries, stats
from tongzhou.insight.models import Code, Coding, Export, Project, ResearchConsent, Suggestions


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


def _on(request: HttpRequest, name: str) -> bool:
    return request.POST.get(name) in ("on", "1", "true")


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def consent_page(request: HttpRequest, gid: int) -> HttpResponse:
    """A member's yes or no to research, and who has research access to the group."""
    membership = access_group(_user(request), gid)
    if request.method == "POST":
        try:
            actions.do_decide_consent(
                _user(request),
                gid,
                messages=_on(request, "messages"),
                health=_on(request, "health"),
                quotes=_on(request, "quotes"),
            )
        except UserError as e:
            flash_error(request, e)
        else:
            messages.success(request, _("Saved. You can change this at any time."))
            return redirect("insight:consent", gid=gid)
    mine = consent.in_force(gid, _user(request).pk)
    text = consent.current_text(gid)
    projects = queries.research_access(gid)
    return render(
        request,
        "insight/consent.html",
        {
            "group": membership.group,
            "membership": membership,
            "text": text,
            "mine": mine,
            "outdated": mine is not None and mine.messages and mine.version != text.version,
            "history": ResearchConsent.objects.filter(group_id=gid, user=_user(request))[:10],
            "projects": [
                {
                    "project": p,
                    "researchers": [
                        r.user.display_name for r in p.researchers.all() if r.revoked_at is None
                    ],
                    "exports": Export.objects.filter(project=p).count(),
                }
                for p in projects
            ],
        },
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, gid: int) -> HttpResponse:
    """The leader's page: the consent text, the projects, who consents (counts only)."""
    leader = access_leadership(_user(request), gid)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "text":
                actions.do_set_consent_text(_user(request), gid, request.POST.get("text"))
                messages.success(request, _("The new consent text is in force."))
            else:
                p = actions.do_create_project(
                    _user(request),
                    gid,
                    title=request.POST.get("title"),
                    purpose=request.POST.get("purpose"),
                    ends_on=request.POST.get("ends_on"),
                )
                return redirect("insight:project_admin", gid=gid, pid=p.pk)
        except UserError as e:
            flash_error(request, e)
        else:
            return redirect("insight:manage", gid=gid)
    now = consent.consents(gid)
    return render(
        request,
        "insight/manage.html",
        {
            "group": leader.group,
            "membership": leader,
            "text": consent.current_text(gid),
            "projects": Project.objects.filter(group_id=gid).prefetch_related("researchers__user"),
            "counts": {
                "messages": len(now),
                "health": sum(1 for c in now.values() if c.health),
                "quotes": sum(1 for c in now.values() if c.quotes),
            },
            "form": request.POST if request.method == "POST" else {},
        },
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def project_admin(request: HttpRequest, gid: int, pid: int) -> HttpResponse:
    project = queries.access_own_project(_user(request), gid, pid)
    leader = access_leadership(_user(request), gid)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "grant":
                actions.do_grant(_user(request), project, request.POST.get("username"))
                messages.success(request, _("Access given."))
            elif action == "revoke":
                actions.do_revoke(_user(request), project, request.POST.get("researcher"))
                messages.success(request, _("Access taken back."))
            elif action == "close":
                actions.do_close_project(_user(request), project)
                messages.success(request, _("The project is closed."))
            else:
                actions.do_edit_project(
                    _user(request),
                    project,
                    title=request.POST.get("title"),
                    purpose=request.POST.get("purpose"),
                    ends_on=request.POST.get("ends_on"),
                )
                messages.success(request, _("Saved."))
        except UserError as e:
            flash_error(request, e)
        return redirect("insight:project_admin", gid=gid, pid=pid)
    return render(
        request,
        "insight/project_admin.html",
        {
            "group": leader.group,
            "membership": leader,
            "project": project,
            "researchers": project.researchers.select_related("user").order_by("granted_at"),
            "exports": project.exports.select_related("by")[:20],
        },
    )


@login_required
@require_http_methods(["GET"])
def mine(request: HttpRequest) -> HttpResponse:
    return render(request, "insight/mine.html", {"projects": queries.projects_of(_user(request))})


def _context(project: Any, tab: str, **more: Any) -> dict[str, Any]:
    return {"project": project, "tab": tab, **more}


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def workspace(request: HttpRequest, pid: int) -> HttpResponse:
    """A project's home: its coding set (drawn by sample and filter) and its codebook."""
    project = queries.access_project(_user(request), pid)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "code":
                actions.do_add_code(
                    _user(request),
                    project,
                    request.POST.get("label"),
                    request.POST.get("description"),
                )
                messages.success(request, _("Code added."))
            else:
                n = actions.do_sample(
                    _user(request),
                    project,
                    size=request.POST.get("size"),
                    since=request.POST.get("since"),
                    until=request.POST.get("until"),
                    history=_on(request, "history"),
                    questions_only=_on(request, "questions_only"),
                    contains=request.POST.get("contains"),
                )
                messages.success(request, _("%(n)s messages added to the coding set.") % {"n": n})
        except UserError as e:
            flash_error(request, e)
        return redirect("insight:workspace", pid=pid)
    units = list(queries.studied_units(project).values_list("pk", flat=True))
    mine_done = Coding.objects.filter(unit_id__in=units, coder=_user(request)).count()
    codes = [
        {**c, "family": codebook.FAMILIES[codebook.family_of(c["key"])]}
        for c in _code_list(project)
    ]
    return render(
        request,
        "insight/workspace.html",
        _context(
            project,
            "home",
            units=len(units),
            mine_done=mine_done,
            codes=codes,
            selection=project.selection,
        ),
    )


def _code_list(project: Any) -> list[dict[str, str]]:
    return [
        {
            "key": c.key,
            "label": codebook.label(c.key, c.label),
            "meaning": codebook.meaning(c.key, c.description),
            "shortcut": codebook.SHORTCUTS[i] if i < len(codebook.SHORTCUTS) else "",
        }
        for i, c in enumerate(Code.objects.filter(project=project))
    ]


FILTERS = ("todo", "all", "mine")


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def code(request: HttpRequest, pid: int) -> HttpResponse:
    """One message at a time: tick the codes (or press their keys), save, and the next one
    comes. `show` picks which: not yet coded by me (default), all, or coded by me."""
    project = queries.access_project(_user(request), pid)
    me = _user(request)
    show = request.GET.get("show", "todo")
    show = show if show in FILTERS else "todo"
    if request.method == "POST":
        try:
            actions.do_code(me, project, request.POST.get("unit"), request.POST.getlist("codes"))
        except UserError as e:
            flash_error(request, e)
            return redirect(f"{request.path}?show={show}&unit={request.POST.get('unit', '')}")
        after = request.POST.get("position", "0")
        return redirect(f"{request.path}?show={show}&after={after}")
    units = queries.studied_units(project)
    done = set(
        Coding.objects.filter(unit__project=project, coder=me).values_list("unit_id", flat=True)
    )
    if show == "todo":  # a join, not NOT IN (ids): PostgreSQL scanned every message for it
        units = units.exclude(codings__coder=me)
    elif show == "mine":
        units = units.filter(codings__coder=me)
    wanted = request.GET.get("unit", "")
    after = request.GET.get("after", "")
    if wanted.isdigit():
        unit = units.filter(pk=int(wanted)).first()
    elif after.isdigit():
        unit = units.filter(position__gt=int(after)).first() or units.first()
    else:
        unit = units.first()
    left = units.count()
    context: dict[str, Any] = {"show": show, "left": left, "codes": _code_list(project)}
    if unit is not None:
        row = queries.rows(project, [unit])[0]
        mine_now = coded.ratings(project, [unit.pk]).get(me.pk, {}).get(unit.pk, frozenset())
        prev = units.filter(position__lt=unit.position).order_by("-position").first()
        hints = []
        sugg = Suggestions.objects.filter(project=project).first()
        if sugg is not None:
            names = {c["key"]: c["label"] for c in context["codes"]}
            hints = [
                {"key": k, "label": names.get(k, k), "p": round(p * 100)}
                for k, p in sugg.suggested.get(str(unit.pk), [])
                if k in names
            ]
        context.update(row=row, checked=mine_now, coded=unit.pk in done, prev=prev, hints=hints)
    return render(request, "insight/code.html", _context(project, "code", **context))


@login_required
@shows_user_errors
@require_http_methods(["GET"])
def agreement(request: HttpRequest, pid: int) -> HttpResponse:
    project = queries.access_project(_user(request), pid)
    ids = list(queries.studied_units(project).values_list("pk", flat=True))
    ratings = coded.ratings(project, ids)
    keys = list(Code.objects.filter(project=project).values_list("key", flat=True))
    coders = coded.coder_labels(ratings)
    names = {c.key: codebook.label(c.key, c.label) for c in Code.objects.filter(project=project)}
    report = stats.as_dict(stats.agreement(ratings, keys), coders)
    for c in report["codes"]:
        c["label"] = names.get(c["code"], c["code"])
    curve = stats.saturation(ids, ratings)
    you = coders.get(_user(request).pk, "")
    return render(
        request,
        "insight/agreement.html",
        _context(
            project,
            "agreement",
            report=report,
            names=names,
            curve=curve,
            you=you,
            coders=len(coders),
        ),
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def disagreements(request: HttpRequest, pid: int) -> HttpResponse:
    project = queries.access_project(_user(request), pid)
    if request.method == "POST":
        try:
            actions.do_agree(
                _user(request), project, request.POST.get("unit"), request.POST.getlist("codes")
            )
            messages.success(request, _("Settled."))
        except UserError as e:
            flash_error(request, e)
        return redirect("insight:disagreements", pid=pid)
    units = queries.studied_units(project)
    ids = list(units.values_list("pk", flat=True))
    ratings = coded.ratings(project, ids)
    keys = list(Code.objects.filter(project=project).values_list("key", flat=True))
    agreed = coded.agreed(project, ids)
    found = [d for d in stats.disagreements(ratings, keys) if d.unit not in agreed][:30]
    rows = {r.unit: r for r in queries.rows(project, units.filter(pk__in=[d.unit for d in found]))}
    coders = coded.coder_labels(ratings)
    names = {c["key"]: c["label"] for c in _code_list(project)}
    items = [
        {
            "row": rows[d.unit],
            "by": [(coders[c], [names[k] for k in sorted(v)]) for c, v in sorted(d.codes.items())],
            "disputed": set(d.disputed),
            "applied": set().union(*d.codes.values()),
        }
        for d in found
    ]
    return render(
        request,
        "insight/disagreements.html",
        _context(
            project, "disagreements", items=items, codes=_code_list(project), settled=len(agreed)
        ),
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def suggestions(request: HttpRequest, pid: int) -> HttpResponse:
    project = queries.access_project(_user(request), pid)
    if request.method == "POST":
        actions.do_train(_user(request), project)
        messages.success(request, _("Suggestions updated. They show in the coding view."))
        return redirect("insight:suggestions", pid=pid)
    result = Suggestions.objects.filter(project=project).first()
    scores = []
    if result is not None:
        for c in _code_list(project):
            s = result.scores.get(c["key"])
            if s is not None:
                scores.append({**c, **s})
    return render(
        request,
        "insight/suggestions.html",
        _context(project, "suggestions", result=result, scores=scores),
    )


@login_required
@shows_user_errors
@require_http_methods(["GET", "POST"])
def export_page(request: HttpRequest, pid: int) -> HttpResponse:
    project = queries.access_project(_user(request), pid)
    if request.method == "POST":
        fmt = request.POST.get("format", "csv")
        if fmt not in export.FORMATS:
            fmt = "csv"
        data, record = export.build(project, _user(request), fmt)
        response = HttpResponse(data, content_type="application/zip")
        name = f"tongzhou-project-{project.pk}-{record.at:%Y%m%d-%H%M}-{fmt}.zip"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return render(
        request,
        "insight/export.html",
        _context(project, "export", exports=project.exports.all()[:10]),
    )
