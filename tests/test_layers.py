"""The in-process layer keeps slow or long-lived sockets in their group."""

from __future__ import annotations

import asyncio
import time

from tongzhou.layers import LocalChannelLayer


async def test_an_expired_event_is_dropped_but_the_socket_stays_in_its_group() -> None:
    layer = LocalChannelLayer(expiry=1)
    layer.sweep_interval = 0
    await layer.group_add("grp.1", "specific.slow")
    await layer.group_send("grp.1", {"type": "message.new", "n": 1})
    await asyncio.sleep(1.2)  # the slow socket did not read in time
    await layer.group_send("grp.1", {"type": "message.new", "n": 2})
    got = await asyncio.wait_for(layer.receive("specific.slow"), 1)
    assert got["n"] == 2  # 1 expired (the consumer repairs it from the database)...
    await layer.group_send("grp.1", {"type": "message.new", "n": 3})
    assert (await asyncio.wait_for(layer.receive("specific.slow"), 1))[
        "n"
    ] == 3  # ...and it is still subscribed


async def test_group_membership_does_not_expire() -> None:
    layer = LocalChannelLayer(group_expiry=1)
    layer.sweep_interval = 0
    await layer.group_add("grp.1", "specific.old")
    layer.groups["grp.1"]["specific.old"] = time.time() - 10 * 86400  # joined ten days ago
    await layer.group_send("grp.1", {"type": "message.new", "n": 1})
    assert (await asyncio.wait_for(layer.receive("specific.old"), 1))["n"] == 1


async def test_the_sweep_runs_at_most_once_per_interval() -> None:
    layer = LocalChannelLayer(expiry=0)
    await layer.group_add("grp.1", "specific.a")
    layer._clean_expired()  # a sweep now; the next is a second away
    await layer.group_send("grp.1", {"type": "message.new", "n": 1})
    await layer.group_send("grp.1", {"type": "message.new", "n": 2})
    # Both are already past expiry, but no sweep ran in between, so both are still queued.
    assert layer.channels["specific.a"].qsize() == 2
