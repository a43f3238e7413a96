"""Fan-out of events to the sockets of a group's members.

Events are published only after the transaction that made them commits, once per group per
event; each process's channel layer delivers them to its own consumers. The layer may lose
events (a restart): the database stays the source of truth and clients catch up with `after=`.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def group_channel(group_id: int) -> str:
    return f"grp.{group_id}"


def publish(group_id: int, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_channel(group_id), event)
    except Exception:  # the layer may be down; clients recover from the database
        log.exception("fan-out failed for group %s event %s", group_id, event.get("type"))


def send_event_on_commit(group_id: int, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: publish(group_id, event))
