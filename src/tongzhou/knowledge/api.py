from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from tongzhou.accounts.models import User
from tongzhou.groups.queries import access_group
from tongzhou.knowledge import actions
from tongzhou.knowledge.models import Comment
from tongzhou.knowledge.queries import entries_of, entry_dict, glossary_of, history, term_dict
from tongzhou.knowledge.search import Filters, search

router = Router(tags=["knowledge"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # the API's auth guarantees it


class EntryIn(Schema):
    title: str
    body: str
    category: str
    tags: list[str] = []
    sources: list[int] = []  # chat messages it was made from
    question: int | None = None  # the question it answers


class EntryPatch(Schema):
    title: str | None = None
    body: str | None = None
    category: str | None = None
    tags: list[str] | None = None
    note: str = ""  # what changed and why, for the history


class CheckIn(Schema):
    on: bool = True


class CommentIn(Schema):
    text: str


class GuideIn(Schema):
    entries: list[int]


class TermIn(Schema):
    term: str
    also: str = ""
    meaning: str


class TermPatch(Schema):
    term: str | None = None
    also: str | None = None
    meaning: str | None = None


class SearchQuery(Schema):
    q: str
    group: int | None = None
    sender: int | None = None
    since: date | None = None  # first day, inclusive
    until: date | None = None  # last day, inclusive
    questions: bool = False
    answered: bool = False
    attachments: bool = False
    type: str | None = None  # entry, term or message
    before: int | None = None  # the next page of messages: next_before of the last answer
    limit: int = 20


def _comment_dict(c: Comment) -> dict[str, Any]:
    return {
        "id": c.pk,
        "author": c.author_id,
        "text": c.text,
        "created_at": c.created_at.isoformat(),
        "resolved": c.resolved_at is not None,
    }


@router.get("/search", operation_id="search")
def search_all(request: HttpRequest, params: Query[SearchQuery]) -> dict[str, Any]:
    """Knowledge entries, glossary words and messages in the groups you belong to, in Chinese
    (simplified or traditional) and English. Entries come first, then glossary words, then
    messages newest first; sender, dates, questions, answered and attachments filter messages
    only (entries and words are then left out)."""
    f = Filters(**params.dict(exclude={"q"}))
    return search(_user(request), params.q, f)


@router.get("/groups/{gid}/entries", operation_id="list_entries")
def list_entries(
    request: HttpRequest,
    gid: int,
    category: str | None = None,
    tag: str | None = None,
    state: str | None = None,
) -> dict[str, Any]:
    """The group's knowledge entries, newest change first; `state`: draft, reviewed or due
    (reviewed long enough ago to need another look)."""
    membership = access_group(request.user, gid)
    entries = entries_of(membership.group, category=category, tag=tag, state=state)
    return {"entries": [entry_dict(e, full=False) for e in entries[:500]]}


@router.post("/groups/{gid}/entries", response={201: dict}, operation_id="create_entry")
def create_entry(request: HttpRequest, gid: int, payload: EntryIn) -> Status[dict[str, Any]]:
    """Write an entry (a draft until a moderator reviews it), optionally from chat messages
    (credited to their authors and linked back) or from a question."""
    entry = actions.do_create_entry(_user(request), gid, **payload.dict())
    return Status(201, entry_dict(entry))


@router.get("/groups/{gid}/entries/{eid}", operation_id="get_entry")
def get_entry(request: HttpRequest, gid: int, eid: int) -> dict[str, Any]:
    membership = access_group(request.user, gid)
    entry = actions.entry_in(membership, eid)
    actions.mark_read(membership.user_id, entry)
    return entry_dict(entry)


@router.patch("/groups/{gid}/entries/{eid}", operation_id="edit_entry")
def edit_entry(request: HttpRequest, gid: int, eid: int, payload: EntryPatch) -> dict[str, Any]:
    """The author or a moderator changes it; it then needs a new review."""
    entry = actions.do_edit_entry(_user(request), gid, eid, **payload.dict())
    return entry_dict(entry)


@router.delete("/groups/{gid}/entries/{eid}", response={204: None}, operation_id="delete_entry")
def delete_entry(request: HttpRequest, gid: int, eid: int) -> Status[None]:
    actions.do_delete_entry(_user(request), gid, eid)
    return Status(204, None)


@router.post("/groups/{gid}/entries/{eid}/review", operation_id="review_entry")
def review_entry(request: HttpRequest, gid: int, eid: int) -> dict[str, Any]:
    """A moderator marks it reviewed (again)."""
    return entry_dict(actions.do_review(_user(request), gid, eid))


@router.post("/groups/{gid}/entries/{eid}/check", operation_id="check_entry")
def check_entry(request: HttpRequest, gid: int, eid: int, payload: CheckIn) -> dict[str, Any]:
    """A verified professional marks it checked, or (on=false) takes the mark back."""
    return entry_dict(actions.do_check(_user(request), gid, eid, payload.on))


@router.get("/groups/{gid}/entries/{eid}/revisions", operation_id="entry_revisions")
def entry_revisions(request: HttpRequest, gid: int, eid: int) -> dict[str, Any]:
    """Every saved version, newest first, with what changed: [op, text] pieces where op is
    same, del or ins."""
    membership = access_group(request.user, gid)
    rows = history(actions.entry_in(membership, eid))
    return {"revisions": [{k: v for k, v in r.items() if k != "at"} for r in rows]}


@router.post(
    "/groups/{gid}/entries/{eid}/comments", response={201: dict}, operation_id="comment_entry"
)
def comment_entry(
    request: HttpRequest, gid: int, eid: int, payload: CommentIn
) -> Status[dict[str, Any]]:
    """A correction or remark on an entry."""
    return Status(201, _comment_dict(actions.do_comment(_user(request), gid, eid, payload.text)))


@router.post("/groups/{gid}/entries/{eid}/comments/{cid}/resolve", operation_id="resolve_comment")
def resolve_comment(request: HttpRequest, gid: int, eid: int, cid: int) -> dict[str, Any]:
    return _comment_dict(actions.do_resolve_comment(_user(request), gid, eid, cid))


def _guide_dict(request: HttpRequest, gid: int) -> dict[str, Any]:
    guide = actions.guide_of(access_group(request.user, gid))
    return {
        "steps": [
            {"entry": entry_dict(s["entry"], full=False), "read": s["read"]} for s in guide["steps"]
        ],
        "read": guide["read"],
        "total": guide["total"],
    }


@router.get("/groups/{gid}/guide", operation_id="get_guide")
def get_guide(request: HttpRequest, gid: int) -> dict[str, Any]:
    """The newcomer guide in order, with your progress."""
    return _guide_dict(request, gid)


@router.put("/groups/{gid}/guide", operation_id="set_guide")
def set_guide(request: HttpRequest, gid: int, payload: GuideIn) -> dict[str, Any]:
    """The leader sets the guide: these entries, in this order."""
    actions.do_set_guide(_user(request), gid, payload.entries)
    return _guide_dict(request, gid)


@router.get("/groups/{gid}/glossary", operation_id="list_glossary")
def list_glossary(request: HttpRequest, gid: int) -> dict[str, Any]:
    membership = access_group(request.user, gid)
    return {"terms": glossary_of(membership.group_id)}


@router.post("/groups/{gid}/glossary", response={201: dict}, operation_id="add_term")
def add_term(request: HttpRequest, gid: int, payload: TermIn) -> Status[dict[str, Any]]:
    """Leaders and moderators add one of the group's own words and its meaning."""
    return Status(201, term_dict(actions.do_add_term(_user(request), gid, **payload.dict())))


@router.patch("/groups/{gid}/glossary/{tid}", operation_id="edit_term")
def edit_term(request: HttpRequest, gid: int, tid: int, payload: TermPatch) -> dict[str, Any]:
    return term_dict(actions.do_edit_term(_user(request), gid, tid, **payload.dict()))


@router.delete("/groups/{gid}/glossary/{tid}", response={204: None}, operation_id="delete_term")
def delete_term(request: HttpRequest, gid: int, tid: int) -> Status[None]:
    actions.do_delete_term(_user(request), gid, tid)
    return Status(204, None)
