"""Fan-out of events to the sockets of a group's members.

Events are published only after the transaction that made them commits, once per group per
event; each process's channel layer delivers them to its own consumers. The layer may lose
events (a restart): the database stays the source of truth and clients catch up with `after=`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from tongzhou import metrics

log = logging.getLogger(__name__)


def group_channel(group_id: int) -> str:
    return f"grp.{group_id}"


def user_channel(user_id: int) -> str:
    """Every socket a person has open, whatever the group: told when their sign-in changes."""
    return f"usr.{user_id}"


def _publish(channel: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    event["at"] = time.time()  # for the delivery-latency metric
    try:
        async_to_sync(layer.group_send)(channel, event)
    except Exception as e:  # the layer may be down; clients recover from the database
        metrics.FANOUT_ERRORS.inc()
        log.warning(
            "fan-out failed for %s event %s: %s", channel, event.get("type"), type(e).__name__
        )


def publish(group_id: int, event: dict[str, Any]) -> None:
    _publish(group_channel(group_id), event)


def publish_to_user(user_id: int, event: dict[str, Any]) -> None:
    _publish(user_channel(user_id), event)


def send_event_on_commit(group_id: int, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: publish(group_id, event))


def recheck_sockets_on_commit(user_id: int) -> None:
    """Ask each of the person's open sockets to check its sign-in again (ended sessions,
    revoked tokens, a new password, a deactivated account) and close if it is no longer valid."""
    transaction.on_commit(lambda: _publish(user_channel(user_id), {"type": "auth.changed"}))
