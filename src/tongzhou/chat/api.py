from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from tongzhou.accounts.models import User
from tongzhou.chat.actions import do_mark_read, do_send_message
from tongzhou.chat.queries import list_messages
from tongzhou.groups.queries import access_group

router = Router(tags=["chat"])


class MessageIn(Schema):
    client_id: str
    text: str
    kind: str = "text"
    reply_to: int | None = None


class ReadIn(Schema):
    last_read_id: int


@router.post("/groups/{gid}/messages", response={200: dict, 201: dict}, operation_id="send_message")
def send_message(request: HttpRequest, gid: int, payload: MessageIn) -> Status[dict[str, Any]]:
    user: User = request.user  # type: ignore[assignment]  # auth guarantees a signed-in user
    message, created = do_send_message(
        user,
        gid,
        client_id=payload.client_id,
        text=payload.text,
        kind=payload.kind,
        reply_to=payload.reply_to,
    )
    answer: dict[str, Any] = {**message, "notices": []}
    return Status(201 if created else 200, answer)


@router.get("/groups/{gid}/messages", operation_id="list_messages")
def get_messages(
    request: HttpRequest,
    gid: int,
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    membership = access_group(request.user, gid)
    return {"messages": list_messages(membership.group_id, after=after, before=before, limit=limit)}


@router.post("/groups/{gid}/read", operation_id="mark_read")
def mark_read(request: HttpRequest, gid: int, payload: ReadIn) -> dict[str, int]:
    membership = access_group(request.user, gid)
    return {"last_read_id": do_mark_read(membership, payload.last_read_id)}
