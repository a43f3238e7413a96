"""The direct-messages socket (`ws/messages/`): one per open conversation page or client.

It listens on the person's own channel (realtime.user_channel), where direct messages,
notifications, reminders and sign-in changes arrive. With `?conversation=ID&after=ID` it first
sends the messages of that conversation the client missed, from the database. It closes when
the sign-in ends (4401). Clients may also send a reply over it: {"type": "send",
"conversation", "client_id", "text"}, answered with an "ack" or an "error", like the chat.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils.translation import gettext as _

from tongzhou.accounts.wsauth import still_signed_in
from tongzhou.community import dm
from tongzhou.errors import UserError
from tongzhou.ratelimit import TokenBucket
from tongzhou.realtime import user_channel

log = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_BIG = 1009
MAX_FRAME_BYTES = 16 * 1024
REPLAY_LIMIT = 200


def _replay(user: Any, conversation: int, after: int) -> list[dm.DirectMessageDict]:
    try:
        conv = dm.access_conversation(user, conversation)
    except UserError:
        return []
    return dm.list_messages(conv, after=after, limit=REPLAY_LIMIT)


class DirectMessageConsumer(AsyncJsonWebsocketConsumer):
    joined: bool = False
    closing: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.send_allowance = TokenBucket(capacity=10, per_second=1.0)
        self.sent_ids: set[int] = set()

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        # Subscribe first: a message committed while we replay waits in the channel and is
        # dropped as a duplicate by id.
        await self.channel_layer.group_add(user_channel(user.pk), self.channel_name)
        self.joined = True
        await self.accept()
        qs = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            conversation = int(qs.get("conversation", ["0"])[0])
            after = int(qs.get("after", ["-1"])[0])
        except ValueError:
            conversation, after = 0, -1
        if conversation > 0 and after >= 0:
            for m in await database_sync_to_async(_replay)(user, conversation, after):
                self.sent_ids.add(m["id"])
                await self.send_json(
                    {"type": "dm.new", "conversation": m["conversation"], "message": m}
                )

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        self.closing = True
        await super().close(code=code, reason=reason)

    async def send_json(self, content: Any, close: bool = False) -> None:
        if not self.closing:
            await super().send_json(content, close=close)

    async def disconnect(self, code: int) -> None:
        if self.joined:
            self.joined = False
            await self.channel_layer.group_discard(
                user_channel(self.scope["user"].pk), self.channel_name
            )

    async def dispatch(self, message: dict[str, Any]) -> None:
        # An event type this socket has no use for (a later feature's) is dropped, never a crash.
        if message.get("type", "").startswith("websocket.") or hasattr(
            self, get_handler_name(message)
        ):
            await super().dispatch(message)
        else:
            log.debug("dm socket ignores event %s", message.get("type"))

    # Events from the person's own channel.
    async def dm_new(self, event: dict[str, Any]) -> None:
        message = event.get("message")
        if message is not None:
            if message["id"] in self.sent_ids:
                return
            self.sent_ids.add(message["id"])
        await self.send_json(
            {
                "type": "dm.new",
                "conversation": event.get("conversation"),
                "message": message,
                "unread": event.get("unread", 0),
            }
        )

    async def notify_new(self, event: dict[str, Any]) -> None:
        await self.send_json(
            {"type": "notify.new", "notification": event["notification"], "unread": event["unread"]}
        )

    async def reminder_new(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "reminder.new", "reminder": event["reminder"]})

    async def member_removed(self, event: dict[str, Any]) -> None:
        # Conversations outlive a group: the page rechecks whether it may still write.
        if event.get("user_id") == self.scope["user"].pk:
            await self.send_json({"type": "member.removed"})

    async def auth_changed(self, event: dict[str, Any]) -> None:
        if not await database_sync_to_async(still_signed_in)(self.scope):
            await self.close(code=CLOSE_UNAUTHENTICATED)

    # Sending over the socket.
    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if self.closing:
            return
        size = len(text_data.encode()) if text_data else len(bytes_data or b"")
        if size > MAX_FRAME_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            content = json.loads(text_data) if text_data else None
        except ValueError:
            content = None
        if not isinstance(content, dict) or content.get("type") != "send":
            await self.send_error(None, "bad_event", _("Frames are JSON objects of type 'send'."))
            return
        if not self.send_allowance.take():
            await self.send_error(
                content.get("client_id"),
                "rate_limited",
                _("You are sending too fast. Please wait a moment."),
            )
            return
        if not await database_sync_to_async(still_signed_in)(self.scope):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        try:
            message, _created, notices = await database_sync_to_async(dm.do_send_dm)(
                self.scope["user"],
                content.get("conversation"),
                client_id=content.get("client_id"),
                text=content.get("text"),
            )
        except UserError as e:
            await self.send_error(content.get("client_id"), e.code, str(e.message))
            return
        await self.send_json(
            {
                "type": "ack",
                "client_id": content.get("client_id"),
                "message": message,
                "notices": notices,
            }
        )

    async def send_error(self, client_id: Any, code: str, message: str) -> None:
        await self.send_json(
            {"type": "error", "client_id": client_id, "error": {"code": code, "message": message}}
        )
