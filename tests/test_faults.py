"""No lost messages on the scale-out setup (PostgreSQL + Redis + two server processes), under
faults: a server killed with SIGKILL mid-burst, Redis restarted mid-burst, PostgreSQL
restarted mid-burst. DESIGN.md §2: the database is the source of truth, a retried send with
the same client_id never duplicates, and a client that reconnects with `after=` misses nothing.

Each member is a real client: a WebSocket receiving live (reconnecting with `after=` to
whichever server answers, as behind a load balancer) and HTTP sends, retried with the same
client_id after a dropped connection or a 503 "unavailable" answer. At the end every member
must hold every acknowledged message exactly once, in id order, and the database must hold
exactly the acknowledged messages.

They start their own PostgreSQL and Redis, so they run once, in the SQLite pass of
scripts/test (not again when DATABASE_URL points the rest of the suite at PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from tests.cluster import Cluster, available

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(available() is not None, reason=str(available())),
    pytest.mark.skipif(
        bool(os.environ.get("DATABASE_URL")), reason="runs once, in the SQLite pass"
    ),
]

MEMBERS = 150
logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # Not under pytest's tmp_path: its parents are closed to the postgres user.
    c = Cluster(Path(tempfile.mkdtemp(prefix="tongzhou-cluster-")), servers=2)
    try:
        c.start()
        c.start_server(0)
        c.start_server(1)
        c.start_worker()
        yield c
    finally:
        c.stop()
        shutil.rmtree(c.root, ignore_errors=True)


@pytest.fixture(scope="module")
def group(cluster: Cluster) -> dict[str, Any]:
    return cluster.setup_group(MEMBERS)


@dataclass
class Member:
    n: int
    token: str
    home: int  # the server this member's load balancer sends it to while it is up
    after: int  # the last message id this member holds
    received: list[int] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)
    connects: int = 0
    answers: Counter[str] = field(default_factory=Counter)  # what the sends met, by kind

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Burst:
    """`total` messages spread over the members, each member sending back to back."""

    def __init__(self, cluster: Cluster, group: dict[str, Any], total: int) -> None:
        self.cluster = cluster
        self.gid = group["group"]
        self.total = total
        start = self.newest()
        self.members = [
            Member(n, token, home=n % 2, after=start) for n, token in enumerate(group["tokens"])
        ]
        self.start_id = start
        self.acked = 0
        self.questions = 0

    def newest(self) -> int:
        rows = self.cluster.sql(
            "SELECT coalesce(max(id), 0) FROM chat_message WHERE group_id = %s", self.gid
        )
        return int(rows[0][0])

    def share(self, n: int) -> int:
        base, extra = divmod(self.total, len(self.members))
        return base + (1 if n < extra else 0)

    async def listen(self, m: Member) -> None:
        """Receive for ever, reconnecting with after= to whichever server answers."""
        while True:
            for server in (m.home, 1 - m.home):
                url = f"ws://127.0.0.1:{self.cluster.ports[server]}/ws/groups/{self.gid}/?after={m.after}"
                try:
                    async with connect(
                        url,
                        additional_headers=m.headers,
                        compression=None,
                        open_timeout=10,
                        max_queue=None,
                    ) as ws:
                        m.connects += 1
                        async for raw in ws:
                            frame = json.loads(raw)
                            if frame["type"] == "message.new":
                                m.received.append(frame["message"]["id"])
                                m.after = max(m.after, frame["message"]["id"])
                except (OSError, WebSocketException, TimeoutError):
                    pass
            await asyncio.sleep(0.2)

    async def send(self, m: Member, clients: list[httpx.AsyncClient]) -> None:
        for i in range(self.share(m.n)):
            client_id = f"burst-{self.start_id}-{m.n}-{i}"
            question = (m.n + i) % 10 == 0
            body = {
                "client_id": client_id,
                "text": f"第{i}条 from member {m.n}" + ("，放疗后吃什么好？" if question else ""),
                "kind": "question" if question else "text",
            }
            server = m.home
            while True:  # the same client_id until it is acknowledged
                try:
                    r = await clients[server].post(
                        f"/api/v1/groups/{self.gid}/messages", json=body, headers=m.headers
                    )
                except httpx.TransportError:
                    m.answers["connection lost"] += 1
                    server = 1 - server  # the balancer's other backend
                    await asyncio.sleep(0.1)
                    continue
                if r.status_code in (200, 201):
                    m.acked[client_id] = r.json()["id"]
                    self.acked += 1
                    self.questions += question
                    m.answers[str(r.status_code)] += 1
                    break
                error = r.json().get("error", {})
                m.answers[f"{r.status_code} {error.get('code')}"] += 1
                assert r.status_code == 503 and error.get("code") == "unavailable", r.text[:300]
                assert error.get("retryable") is True and r.headers.get("Retry-After")
                await asyncio.sleep(0.3)

    async def run(
        self, fault: Callable[[], Awaitable[None]] | None = None, at: float = 0.3
    ) -> None:
        limits = httpx.Limits(max_connections=MEMBERS + 10)
        clients = [
            httpx.AsyncClient(base_url=self.cluster.url(i), timeout=60, limits=limits)
            for i in range(len(self.cluster.ports))
        ]
        listeners = [asyncio.create_task(self.listen(m)) for m in self.members]
        try:
            await self.until(lambda: all(m.connects for m in self.members), 60, "all connected")
            senders = [asyncio.create_task(self.send(m, clients)) for m in self.members]
            if fault is not None:
                await self.until(lambda: self.acked >= self.total * at, 600, "burst under way")
                await fault()
            await asyncio.wait_for(asyncio.gather(*senders), 900)
            await self.drain(len(self.expected()))
        finally:
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
            for c in clients:
                await c.aclose()

    async def drain(self, want: int, stall: float = 60.0) -> None:
        """Wait while deliveries keep coming: on a busy machine the sockets may lag the sends
        by minutes, but a lost message shows as no progress at all for `stall` seconds."""
        last, last_change = -1, time.monotonic()
        while not all(len(m.received) >= want for m in self.members):
            got = sum(len(m.received) for m in self.members)
            if got != last:
                last, last_change = got, time.monotonic()
            elif time.monotonic() - last_change > stall:
                short = [
                    (m.n, m.home, want - len(m.received), m.connects)
                    for m in self.members
                    if len(m.received) < want
                ]
                raise AssertionError(
                    f"no delivery for {stall:.0f} s; (member, home, missing, connects): {short[:20]}"
                )
            await asyncio.sleep(0.2)

    def expected(self) -> list[int]:
        return sorted(i for m in self.members for i in m.acked.values())

    @staticmethod
    async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting: {what}")
            await asyncio.sleep(0.05)

    def assert_no_loss(self) -> None:
        expected = self.expected()
        assert len(expected) == self.total
        assert len(set(expected)) == self.total, "two sends were answered with one message"
        stored = [
            r[0]
            for r in self.cluster.sql(
                "SELECT id FROM chat_message WHERE group_id = %s AND id > %s ORDER BY id",
                self.gid,
                self.start_id,
            )
        ]
        assert stored == expected, "the database holds exactly the acknowledged messages"
        for m in self.members:
            assert m.received == expected, (
                f"member {m.n}: {len(m.received)} received, "
                f"{len(set(m.received))} distinct, expected {len(expected)}; in order: "
                f"{m.received == sorted(m.received)}"
            )
        # No partial writes: every question kept its tracking row with it.
        questions = self.cluster.sql(
            "SELECT count(*), count(q.message_id) FROM chat_message m "
            "LEFT JOIN questions_question q ON q.message_id = m.id "
            "WHERE m.group_id = %s AND m.id > %s AND m.kind = 'question'",
            self.gid,
            self.start_id,
        )[0]
        assert questions[0] == self.questions > 0 and questions[1] == questions[0]

    def answers(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for m in self.members:
            total.update(m.answers)
        return total


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the metrics")


def test_members_on_two_processes_get_each_others_messages(
    cluster: Cluster, group: dict[str, Any]
) -> None:
    burst = Burst(cluster, group, total=300)
    asyncio.run(burst.run())
    burst.assert_no_loss()
    assert burst.answers() == Counter({"201": 300})
    assert all(m.connects == 1 for m in burst.members)
    # Each process reports its own sends and deliveries to Prometheus.
    for i in range(2):
        text = httpx.get(f"{cluster.url(i)}/metrics", timeout=10).text
        assert metric(text, "tongzhou_messages_sent_total") >= 150 - 1
        assert metric(text, "tongzhou_deliveries_total") >= 300 * MEMBERS / 2 - 1
        assert metric(text, "tongzhou_connected_sockets") == 0
        assert metric(text, 'tongzhou_tasks{state="ready"}') >= 30  # questions' routing


def test_killing_a_server_mid_burst_loses_nothing(cluster: Cluster, group: dict[str, Any]) -> None:
    burst = Burst(cluster, group, total=10_000)

    async def kill_and_restart() -> None:
        cluster.kill_server(1)  # kill -9: no goodbye to its sockets, requests cut mid-way
        await asyncio.sleep(1.0)
        await asyncio.to_thread(cluster.start_server, 1)  # the supervisor brings it back

    asyncio.run(burst.run(kill_and_restart))
    burst.assert_no_loss()
    answers = burst.answers()
    assert answers["connection lost"] > 0, answers  # the fault did cut sends in flight
    assert set(answers) <= {"201", "200", "connection lost"}, answers
    # Members of the killed process reconnected; the others never had to.
    assert all(m.connects >= 2 for m in burst.members if m.home == 1)
    assert all(m.connects == 1 for m in burst.members if m.home == 0)


def test_restarting_redis_mid_burst(cluster: Cluster, group: dict[str, Any]) -> None:
    burst = Burst(cluster, group, total=2_000)
    seen: dict[str, Any] = {}

    async def restart_redis() -> None:
        cluster.stop_redis()
        await asyncio.sleep(0.5)
        r = await asyncio.to_thread(httpx.get, f"{cluster.url(0)}/readyz", timeout=10)
        seen["down"] = (r.status_code, r.json())
        before = sum(len(m.received) for m in burst.members)
        await asyncio.sleep(1.0)
        cluster.start_redis()
        seen["during"] = sum(len(m.received) for m in burst.members) - before

    asyncio.run(burst.run(restart_redis))
    burst.assert_no_loss()
    assert seen["down"] == (
        503,
        {"status": "unavailable", "checks": {"database": "ok", "fanout": "unavailable"}},
    )
    # Sending went on while Redis was away, and nobody had to reconnect: live delivery
    # resumed on the same sockets and what the fan-out lost was read from the database.
    assert set(burst.answers()) <= {"201"}, burst.answers()
    assert all(m.connects == 1 for m in burst.members)
    assert httpx.get(f"{cluster.url(0)}/readyz", timeout=10).status_code == 200


def test_restarting_postgresql_mid_burst(cluster: Cluster, group: dict[str, Any]) -> None:
    burst = Burst(cluster, group, total=2_000)
    seen: dict[str, Any] = {}

    async def restart_postgres() -> None:
        await asyncio.to_thread(cluster.stop_postgres, "fast")
        # A balancer's health check waits a few seconds, not the pool's 10 s request timeout.
        r = await asyncio.to_thread(httpx.get, f"{cluster.url(1)}/readyz", timeout=5)
        seen["down"] = (r.status_code, r.json())
        await asyncio.sleep(1.0)
        await asyncio.to_thread(cluster.start_postgres)

    asyncio.run(burst.run(restart_postgres))
    burst.assert_no_loss()
    answers = burst.answers()
    assert seen["down"][0] == 503 and seen["down"][1]["checks"]["database"] == "unavailable"
    # Sends in flight were told to try again (never a 500), and trying again made no copy.
    assert answers["503 unavailable"] > 0, answers
    assert set(answers) <= {"201", "200", "503 unavailable", "connection lost"}, answers
    faults = ("Internal Server Error", "unhandled API error")
    assert not [e for e in cluster.errors_in_logs() if any(f in e for f in faults)]
