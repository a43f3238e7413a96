"""One consumer per open socket: authenticate, check membership, replay, then push live."""

from __future__ import annotations

import json
import random
import time
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils.translation import gettext as _

from tongzhou import metrics
from tongzhou.accounts.wsauth import still_signed_in
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.changes import CHANGES_PAGE, changes_after
from tongzhou.chat.queries import last_message_id, list_messages
from tongzhou.errors import UserError
from tongzhou.groups.queries import membership_of
from tongzhou.health import DATABASE_DOWN, unavailable_text
from tongzhou.ratelimit import TokenBucket
from tongzhou.realtime import group_channel, user_channel

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_BIG = 1009
REPLAY_PAGE = 200
MAX_FRAME_BYTES = 64 * 1024
# How stale a socket's knowledge of its membership may get if a removal event is lost.
RECHECK_SECONDS = 30.0


class GroupChatConsumer(AsyncJsonWebsocketConsumer):
    group_id: int
    last_sent_id: int
    joined: bool = False
    counted: bool = False  # in the connected-sockets metric
    checked_at: float = 0.0
    closing: bool = False  # once set, nothing more is sent or accepted on this socket

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A person types; a burst of 10 and then one message a second is plenty.
        self.send_allowance = TokenBucket(capacity=10, per_second=1.0)

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.group_id = int(self.scope["url_route"]["kwargs"]["group_id"])
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        # Subscribe before checking membership and before replaying: a removal that commits
        # meanwhile still reaches us, and events published meanwhile wait in our channel and
        # are dropped as duplicates by id when they are handled.
        await self.channel_layer.group_add(group_channel(self.group_id), self.channel_name)
        await self.channel_layer.group_add(user_channel(user.pk), self.channel_name)
        self.joined = True
        if not await self.still_member():
            await self.accept()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        qs = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            after = int(qs.get("after", ["-1"])[0])
        except ValueError:
            after = -1
        newest = await database_sync_to_async(self._newest)()
        await self.accept()
        self.counted = True
        metrics.CONNECTED.inc()
        if after >= 0:
            # A cursor beyond the newest message (a restored backup, a bad client) would
            # otherwise swallow every later message as a "duplicate".
            self.last_sent_id = min(after, newest)
            await self.replay_until(None, recheck=False)  # membership was just checked
        else:  # no cursor: only live messages from now on
            self.last_sent_id = newest
        try:
            since = int(qs.get("changes_after", ["-1"])[0])
        except ValueError:
            since = -1
        while since >= 0:  # edits, deletions and reactions the client missed while away
            changed = await database_sync_to_async(changes_after)(
                self.group_id, since, min(after, newest)
            )
            for seq, message in changed:
                await self.send_json(
                    {"type": "message.updated", "message": message, "change_seq": seq}
                )
                since = seq
            if len(changed) < CHANGES_PAGE:
                break

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        self.closing = True
        await super().close(code=code, reason=reason)

    async def send_json(self, content: Any, close: bool = False) -> None:
        if not self.closing:
            await super().send_json(content, close=close)

    async def still_member(self) -> bool:
        """Membership from the database, not from events (which the fan-out may lose)."""
        # Spread over 20-30 s: sockets that connected together (after a restart) must not all
        # recheck at the same moment (bench/scaleout.py saw a 5 s stall from that).
        self.checked_at = time.monotonic() - random.uniform(0, RECHECK_SECONDS / 3)
        member = await database_sync_to_async(membership_of)(self.scope["user"], self.group_id)
        return member is not None

    async def still_signed_in(self) -> bool:
        return bool(await database_sync_to_async(still_signed_in)(self.scope))

    async def recheck(self) -> bool:
        """Sign-in and membership, both from the database; closes the socket if either went."""
        if not await self.still_signed_in():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return False
        if not await self.still_member():
            await self.close(code=CLOSE_FORBIDDEN)
            return False
        return True

    def _newest(self) -> int:
        return last_message_id(self.group_id)

    async def replay_until(self, upto: int | None, *, recheck: bool = True) -> bool:
        """Send every visible message after last_sent_id (up to `upto`), from the database.
        False when the socket was closed instead (no longer a member)."""
        if recheck and not await self.recheck():
            return False
        while True:
            page = await database_sync_to_async(list_messages)(
                self.group_id,
                after=self.last_sent_id,
                limit=REPLAY_PAGE,
                viewer_id=self.scope["user"].pk,
            )
            for m in page:
                if upto is not None and m["id"] > upto:
                    return True
                await self.send_json({"type": "message.new", "message": m})
                metrics.DELIVERIES.inc()
                self.last_sent_id = m["id"]
            if len(page) < REPLAY_PAGE:
                if upto is not None:
                    self.last_sent_id = max(self.last_sent_id, upto)
                return True

    async def disconnect(self, code: int) -> None:
        if self.counted:
            self.counted = False
            metrics.CONNECTED.dec()
        if self.joined:
            await self.channel_layer.group_discard(group_channel(self.group_id), self.channel_name)
            await self.channel_layer.group_discard(
                user_channel(self.scope["user"].pk), self.channel_name
            )

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections (a thread hop) before every handler. The
        # fan-out handlers below reach the database only through database_sync_to_async,
        # which does that itself, so skip the hop on the hot path: once per member per message.
        if message["type"] in ("message.new", "message.updated", "member.removed", "auth.changed"):
            handler = getattr(self, get_handler_name(message))
            await handler(message)
            return
        await super().dispatch(message)

    # Events from the group's channel.
    async def message_new(self, event: dict[str, Any]) -> None:
        message = event["message"]
        if message["id"] <= self.last_sent_id:
            return  # already sent by the replay
        if time.monotonic() - self.checked_at > RECHECK_SECONDS and not await self.recheck():
            return  # a removal or sign-out event was lost
        if event.get("prev_id", 0) > self.last_sent_id:
            # An earlier message's event has not reached us (late or lost): read it from the
            # database so the client never sees a gap.
            if not await self.replay_until(message["id"] - 1):
                return
        if message.get("status") != "visible":
            self.last_sent_id = message["id"]
            return
        await self.send_json({"type": "message.new", "message": message})
        metrics.DELIVERIES.inc()
        if "at" in event:
            metrics.DELIVERY_SECONDS.observe(max(time.time() - event["at"], 0.0))
        self.last_sent_id = message["id"]

    async def message_updated(self, event: dict[str, Any]) -> None:
        if event["message"]["id"] > self.last_sent_id:
            # Not sent yet. A held message just approved will never come as new: read it
            # (and anything before it) from the database now. Otherwise it goes out as new,
            # in its current state, when it is.
            if event["message"].get("status") == "visible":
                await self.replay_until(event["message"]["id"])
            return
        held = event["message"].get("status") == "held"
        if held and event["message"]["sender"]["id"] != self.scope["user"].pk:
            return  # a held message (turned down, say) is its sender's alone
        await self.send_json(
            {
                "type": "message.updated",
                "message": event["message"],
                "change_seq": event["change_seq"],
            }
        )

    async def group_announcement(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "group.announcement", "announcement": event["announcement"]})

    # Events from the person's own channel.
    async def notify_new(self, event: dict[str, Any]) -> None:
        # Only to a member still here: a removal may not have closed this socket yet.
        if time.monotonic() - self.checked_at > RECHECK_SECONDS and not await self.recheck():
            return
        await self.send_json(
            {"type": "notify.new", "notification": event["notification"], "unread": event["unread"]}
        )

    async def reminder_new(self, event: dict[str, Any]) -> None:
        # A reminder came due (community/reminders.py): the open chat shows it.
        await self.send_json({"type": "reminder.new", "reminder": event["reminder"]})

    async def dm_new(self, event: dict[str, Any]) -> None:
        # A direct message arrived: the chat shows that one is waiting, not its words.
        await self.send_json({"type": "dm.new", "unread": event.get("unread", 0)})

    async def member_removed(self, event: dict[str, Any]) -> None:
        if event["user_id"] == self.scope["user"].pk:
            await self.close(code=CLOSE_FORBIDDEN)

    async def auth_changed(self, event: dict[str, Any]) -> None:
        # Sent to the person's own sockets only: a session ended, a token was revoked, the
        # password changed or the account was deactivated. Check which sockets that ends.
        await self.recheck()

    # Sending over the socket (the browser uses the HTTP API; other clients may use this).
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
        await self.receive_json(content)

    async def send_error(self, client_id: Any, code: str, message: str, **extra: Any) -> None:
        error = {"code": code, "message": message, **extra}
        await self.send_json({"type": "error", "client_id": client_id, "error": error})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        reply_to = content.get("reply_to")
        if reply_to is not None and (not isinstance(reply_to, int) or isinstance(reply_to, bool)):
            reply_to = -1  # refused by check_send_message like any reply that is not here
        try:
            message, _created = await database_sync_to_async(do_send_message)(
                self.scope["user"],
                self.group_id,
                client_id=content.get("client_id"),
                text=content.get("text"),
                kind=content.get("kind") or "text",
                reply_to=reply_to,
                attachment=content.get("attachment"),  # an id from the upload call
                confirm_personal_data=content.get("confirm_personal_data") is True,
            )
            from tongzhou.chat.api import notices_for

            notices = await database_sync_to_async(notices_for)(message, self.scope["user"])
        except UserError as e:
            await self.send_error(content.get("client_id"), e.code, str(e.message))
            return
        except DATABASE_DOWN:  # the same frame sent again later is safe (client_id)
            metrics.DATABASE_UNAVAILABLE.inc()
            await self.send_error(
                content.get("client_id"), "unavailable", unavailable_text(), retryable=True
            )
            return
        await self.send_json(
            {
                "type": "ack",
                "client_id": content.get("client_id"),
                "message": message,
                "notices": notices,
            }
        )
