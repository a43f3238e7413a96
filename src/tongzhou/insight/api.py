"""Research over the API: a member's consent, and a researcher's units, codes, agreement and
export, for coders who bring their own tools. The leader's dashboard as figures."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema

from tongzhou.accounts.models import User
from tongzhou.errors import UserError
from tongzhou.groups.queries import access_group, access_moderation
from tongzhou.insight import actions, coded, consent, dashboard, export, queries, stats
from tongzhou.insight.models import Code, Export
from tongzhou.insight.views import FILTERS

router = Router(tags=["research"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # the API's auth guarantees it


class ConsentIn(Schema):
    messages: bool
    health: bool = False
    quotes: bool = False


class CodesIn(Schema):
    codes: list[str]


class ExportIn(Schema):
    format: str = "csv"


def _consent(user: User, gid: int) -> dict[str, Any]:
    text = consent.current_text(gid)
    mine = consent.in_force(gid, user.pk)
    return {
        "text": text.text,
        "version": text.version,
        "mine": None
        if mine is None
        else {
            "messages": mine.messages,
            "health": mine.health,
            "quotes": mine.quotes,
            "version": mine.version,
            "decided_at": mine.decided_at.isoformat(),
        },
        "research_access": [
            {
                "project": p.pk,
                "title": p.title,
                "purpose": p.purpose,
                "ends_on": p.ends_on.isoformat(),
                "researchers": [
                    r.user.display_name for r in p.researchers.all() if r.revoked_at is None
                ],
                "exports": Export.objects.filter(project=p).count(),
            }
            for p in queries.research_access(gid)
        ],
    }


@router.get("/groups/{gid}/research/consent", operation_id="get_research_consent")
def get_consent(request: HttpRequest, gid: int) -> dict[str, Any]:
    """The group's consent text, the caller's choice in force, and who has research access."""
    access_group(_user(request), gid)
    return _consent(_user(request), gid)


@router.put("/groups/{gid}/research/consent", operation_id="set_research_consent")
def set_consent(request: HttpRequest, gid: int, payload: ConsentIn) -> dict[str, Any]:
    """Say yes or no. `health` and `quotes` need `messages`; each is off unless sent true."""
    actions.do_decide_consent(
        _user(request),
        gid,
        messages=payload.messages,
        health=payload.health,
        quotes=payload.quotes,
    )
    return _consent(_user(request), gid)


@router.get("/groups/{gid}/insight", operation_id="get_dashboard")
def get_dashboard(request: HttpRequest, gid: int, days: str = "90", history: str = "") -> Any:
    """The leaders' dashboard as figures (leader and moderators). Aggregates only."""
    membership = access_moderation(_user(request), gid)
    return dashboard.as_json(membership.group, days=days, history=history)


@router.get("/research/projects", operation_id="list_research_projects")
def list_projects(request: HttpRequest) -> dict[str, Any]:
    return {
        "projects": [
            {
                "id": p.pk,
                "title": p.title,
                "group": p.group.name,
                "purpose": p.purpose,
                "ends_on": p.ends_on.isoformat(),
                "open": p.is_open,
            }
            for p in queries.projects_of(_user(request))
        ]
    }


@router.get("/research/projects/{pid}/units", operation_id="list_research_units")
def list_units(
    request: HttpRequest, pid: int, show: str = "all", after: int = 0, limit: int = 50
) -> dict[str, Any]:
    """The coding set as the caller may see it: pseudonymised, redacted, with the caller's own
    codes (others' stay hidden, so coders code independently). `show`: all, todo, mine."""
    project = queries.access_project(_user(request), pid)
    if show not in FILTERS:
        raise UserError("bad_filter", _("Please choose which messages: all, todo or mine."))
    me = _user(request).pk
    units = queries.studied_units(project).filter(position__gt=after)
    if show == "todo":
        units = units.exclude(codings__coder_id=me)
    elif show == "mine":
        units = units.filter(codings__coder_id=me)
    page = list(units[: max(1, min(limit, 200))])
    rows = queries.rows(project, page)
    mine = coded.ratings(project, [u.pk for u in page]).get(me, {})
    return {
        "codes": list(Code.objects.filter(project=project).values_list("key", flat=True)),
        "units": [
            {
                "id": r.unit,
                "position": r.position,
                "author": r.author,
                "created_at": r.at.isoformat(),
                "kind": r.kind,
                "imported": r.history,
                "text": r.text,
                "reply_text": r.reply_text,
                "my_codes": sorted(mine[r.unit]) if r.unit in mine else None,
            }
            for r in rows
        ],
    }


@router.put("/research/projects/{pid}/units/{uid}/codes", operation_id="code_research_unit")
def code_unit(request: HttpRequest, pid: int, uid: int, payload: CodesIn) -> dict[str, Any]:
    """The caller's codes for a unit, replacing theirs (an empty list: no code applies)."""
    project = queries.access_project(_user(request), pid)
    coding = actions.do_code(_user(request), project, uid, payload.codes)
    return {"unit": uid, "codes": sorted(coding.codes.values_list("key", flat=True))}


@router.get("/research/projects/{pid}/agreement", operation_id="get_research_agreement")
def get_agreement(request: HttpRequest, pid: int) -> dict[str, Any]:
    project = queries.access_project(_user(request), pid)
    ids = [u.pk for u in queries.studied_units(project)]
    ratings = coded.ratings(project, ids)
    keys = list(Code.objects.filter(project=project).values_list("key", flat=True))
    coders = coded.coder_labels(ratings)
    return {
        "you": coders.get(_user(request).pk),
        "agreement": stats.as_dict(stats.agreement(ratings, keys), coders),
        "saturation": stats.saturation(ids, ratings),
    }


@router.post("/research/projects/{pid}/export", operation_id="export_research_project")
def export_project(request: HttpRequest, pid: int, payload: ExportIn) -> HttpResponse:
    """A zip (CSV or JSONL) of the coded, consented, pseudonymised messages, the members
    table generalised to k ≥ 5, the codebook and the agreement report."""
    project = queries.access_project(_user(request), pid)
    if payload.format not in export.FORMATS:
        raise UserError("bad_format", _("Please choose the format: csv or jsonl."))
    data, _record = export.build(project, _user(request), payload.format)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="project-{project.pk}.zip"'
    return response
