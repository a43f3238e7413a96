"""Direct messages over the API: conversations, messages, blocks and reports. Every call goes
through community/dm.py, the same code as the pages and the socket."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from tongzhou.accounts.models import User
from tongzhou.community import dm
from tongzhou.groups.queries import access_moderation

router = Router(tags=["direct messages"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # the API's auth guarantees it


class StartIn(Schema):
    user: int  # the member to write to
    client_id: str
    text: str
    group: int | None = None  # the group you share (default: the one you may start from)


class SendIn(Schema):
    client_id: str
    text: str


class ReadIn(Schema):
    last_read_id: int | None = None  # default: the newest message


class BlockIn(Schema):
    user: int


class ReportIn(Schema):
    reason: str  # spam, misinformation, crisis, harassment, false_identity, other
    note: str = ""


class HandleIn(Schema):
    action: str  # handled, warn, mute, remove
    reason: str = ""  # for warn, mute and remove: goes in the audit log
    minutes: int | None = None  # for mute


@router.get("/dm/conversations", operation_id="list_conversations")
def list_conversations(request: HttpRequest) -> dict[str, Any]:
    """Your conversations, the latest first, each with the other person, the last message
    and how many are unread; `unread` is your total."""
    user = _user(request)
    return {
        "conversations": [dm.conversation_dict(c, user) for c in dm.conversations_of(user)[:200]],
        "unread": dm.unread_dm_count(user.pk),
    }


@router.post(
    "/dm/conversations", response={200: dict, 201: dict}, operation_id="start_conversation"
)
def start_conversation(request: HttpRequest, payload: StartIn) -> Status[dict[str, Any]]:
    """Write to a member you share a group with (201). If you already talk, the message goes
    to that conversation; the same client_id again answers 200 with the stored message."""
    user = _user(request)
    conv, message, created, notices = dm.do_start_conversation(
        user, payload.user, client_id=payload.client_id, text=payload.text, group=payload.group
    )
    return Status(
        201 if created else 200,
        {
            "conversation": dm.conversation_dict(conv, user),
            "message": message,
            "notices": notices,
        },
    )


@router.get("/dm/conversations/{convid}", operation_id="get_conversation")
def get_conversation(request: HttpRequest, convid: int) -> dict[str, Any]:
    user = _user(request)
    return dm.conversation_dict(dm.access_conversation(user, convid), user)


@router.get("/dm/conversations/{convid}/messages", operation_id="list_direct_messages")
def list_direct_messages(
    request: HttpRequest,
    convid: int,
    after: int | None = None,
    before: int | None = None,
    limit: int = dm.PAGE,
) -> dict[str, Any]:
    """In id order: the newest page, or the page after/before an id."""
    conv = dm.access_conversation(_user(request), convid)
    return {"messages": dm.list_messages(conv, after=after, before=before, limit=limit)}


@router.post(
    "/dm/conversations/{convid}/messages",
    response={200: dict, 201: dict},
    operation_id="send_direct_message",
)
def send_direct_message(
    request: HttpRequest, convid: int, payload: SendIn
) -> Status[dict[str, Any]]:
    """Reply (201); the same client_id again answers 200 with the stored message."""
    message, created, notices = dm.do_send_dm(
        _user(request), convid, client_id=payload.client_id, text=payload.text
    )
    return Status(201 if created else 200, {"message": message, "notices": notices})


@router.post("/dm/conversations/{convid}/read", operation_id="mark_conversation_read")
def mark_conversation_read(request: HttpRequest, convid: int, payload: ReadIn) -> dict[str, Any]:
    user = _user(request)
    last = dm.do_mark_read(user, convid, payload.last_read_id)
    return {"last_read_id": last, "unread": dm.unread_dm_count(user.pk)}


@router.get("/dm/blocks", operation_id="list_blocks")
def list_blocks(request: HttpRequest) -> dict[str, Any]:
    """The members you have blocked."""
    return {
        "blocked": [
            {
                "user": {"id": b.blocked_id, "display_name": b.blocked.display_name},
                "since": b.created_at.isoformat(),
            }
            for b in dm.blocked_by(_user(request))
        ]
    }


@router.post("/dm/blocks", response={201: dict}, operation_id="block_member")
def block_member(request: HttpRequest, payload: BlockIn) -> Status[dict[str, Any]]:
    """Neither of you can then write to the other; they are not told."""
    block = dm.do_block(_user(request), payload.user)
    return Status(201, {"user": block.blocked_id, "since": block.created_at.isoformat()})


@router.delete("/dm/blocks/{dmuid}", response={204: None}, operation_id="unblock_member")
def unblock_member(request: HttpRequest, dmuid: int) -> Status[None]:
    dm.do_unblock(_user(request), dmuid)
    return Status(204, None)


@router.post(
    "/dm/messages/{dmid}/report", response={201: dict}, operation_id="report_direct_message"
)
def report_direct_message(
    request: HttpRequest, dmid: int, payload: ReportIn
) -> Status[dict[str, Any]]:
    """Hand this one message you received to the leader and moderators of the group you met
    in. They see only it and who sent it."""
    report = dm.do_report_dm(_user(request), dmid, reason=payload.reason, note=payload.note)
    return Status(201, {"id": report.pk, "reason": report.reason, "group": report.group_id})


@router.get("/groups/{gid}/dm-reports", operation_id="list_dm_reports")
def list_dm_reports(request: HttpRequest, gid: int) -> dict[str, Any]:
    """Reported direct messages waiting for the group's leader and moderators."""
    mod = access_moderation(_user(request), gid)
    return {"reports": [dm.dm_report_dict(r) for r in dm.open_dm_reports(mod.group_id)]}


@router.post("/groups/{gid}/dm-reports/{dmid}/handle", operation_id="handle_dm_report")
def handle_dm_report(
    request: HttpRequest, gid: int, dmid: int, payload: HandleIn
) -> dict[str, Any]:
    """Mark the reports of this message handled, after warning, muting or removing its
    sender if you choose (those go in the audit log)."""
    mod = access_moderation(_user(request), gid)
    reports = dm.do_handle_dm_report(
        mod, dmid, payload.action, reason=payload.reason, minutes=payload.minutes
    )
    return {"handled": [r.pk for r in reports]}
