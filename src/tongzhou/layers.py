"""The in-process channel layer, fit for sockets that stay open for days."""

from __future__ import annotations

import time
from typing import Any

from channels.layers import InMemoryChannelLayer


class LocalChannelLayer(InMemoryChannelLayer):
    """Channels' in-memory layer with three changes, all found by bench/delivery.py:

    - When a queued event expires, only that event is dropped. Channels also removes the
      channel from every group, which silently cut an overloaded socket off its group for
      good; here the consumer repairs the gap from the database on its next event.
    - Group memberships do not expire (Channels drops them after a day); a consumer leaves
      its group when its socket closes.
    - The sweep over every queue runs at most once a second, not on every receive: with N
      members that sweep made each message cost O(N^2).
    """

    sweep_interval = 1.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._next_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.time()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.sweep_interval
        for channel, queue in list(self.channels.items()):
            while not queue.empty() and queue._queue[0][0] < now:
                queue.get_nowait()
                if queue.empty():
                    self.channels.pop(channel, None)
