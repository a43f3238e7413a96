"""Race: Tongzhou against Matrix Synapse, one group of 150 live members, same machine.

    python bench/synapse_race.py [--quick] [--out docs/performance.md]

One run starts a throwaway PostgreSQL cluster (fsync=off) with one database per server,
then measures each server in turn, alone, on loopback:

  Tongzhou  one `tongzhou serve` process on PostgreSQL, in-process fan-out (no Redis),
            members on WebSocket `/ws/groups/<gid>/` (as bench/delivery.py does)
  Synapse   one homeserver process (matrix-synapse from PyPI, installed on the first run
            into bench/.venv-synapse, never a project dependency) on PostgreSQL, every rate
            limit lifted, no federation, presence off; members receive by /sync long-poll
            with `since=` tokens and a filter limited to the room's m.room.message timeline

The workload is the same for both: a sender (the room's creator / the group's leader)
sends to 150 receiving members, first at a fixed rate (POSTs/PUTs may overlap), then at
full speed (each send waits for its answer). It reports send→deliver latency over every
member × message, deliveries per second, missing/duplicate/out-of-order deliveries, the
server's CPU and peak RSS and PostgreSQL's CPU, and the ratios Tongzhou / Synapse. The
figures replace the section between the `synapse-race` markers in --out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
import psutil
import psycopg

# Shared with the delivery benchmark: the WebSocket members, the phase bookkeeping, the
# RSS/CPU sampler and the report helpers.
from delivery import (
    Members,
    Phase,
    RssSampler,
    fmt,
    free_port,
    machine,
    old_notes,
    raise_fd_limit,
    replace_section,
    tongzhou_cmd,
    wait_ready,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV = HERE / ".venv-synapse"
SYNAPSE_SPEC = "matrix-synapse~=1.163.0"
START_MARK = "<!-- synapse-race:start -->"
END_MARK = "<!-- synapse-race:end -->"
NOTES_NAME = "synapse-race"
SERVER_NAME = "bench.test"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
# The benchmark sender must never meet the per-person send limit (20 a minute by default).
TZ_RATE_LIMITS = "send_minute=1000000/60,send_hour=1000000/3600"


# --------------------------------------------------------------------------- measurement


@dataclass
class RacePhase(Phase):
    """delivery.Phase plus what both servers can be judged on alike: when each send was
    answered, and the order in which each member received the messages."""

    answered: dict[int, float] = field(default_factory=dict)
    arrivals: dict[int, list[int]] = field(default_factory=dict)
    pg_cpu: float = 0.0
    other_cpu: float = 0.0  # the machine's busy CPU not used by server, PostgreSQL, client
    gaps: int = 0  # Synapse: /sync timelines marked `limited` (events skipped)

    def on_receipt(self, member: int, seq: int, now: float) -> None:
        if (member, seq) not in self.first_receipt and seq in self.send_times:
            self.arrivals.setdefault(member, []).append(seq)
        super().on_receipt(member, seq, now)

    def disorder(self) -> int:
        """Receipts that came after a message whose send began only once theirs had been
        answered: the server had both in that order, so the member must too. (Overlapping
        sends have no defined order; message ids are Tongzhou's alone.)"""
        count = 0
        for seqs in self.arrivals.values():
            latest_start = -math.inf
            for seq in seqs:
                answered = self.answered.get(seq)
                if answered is not None and latest_start > answered:
                    count += 1
                latest_start = max(latest_start, self.send_times[seq])
        return count

    def results(self) -> dict[str, Any]:
        r = super().results()
        r["id_out_of_order"] = r.pop("out_of_order")
        r["out_of_order"] = self.disorder()
        r["pg_cpu_s"] = self.pg_cpu
        r["other_cpu_s"] = self.other_cpu
        r["gaps"] = self.gaps
        return r


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all CPUs), to show other load."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "steal", 0.0)


class PgCpu:
    """CPU seconds used by a PostgreSQL cluster: the postmaster, its live backends, and
    (through children_user/children_system) the backends that have already exited, since
    Tongzhou opens a connection per request."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)

    def seconds(self) -> float:
        try:
            t = self.proc.cpu_times()
            total = t.user + t.system + t.children_user + t.children_system
            for child in self.proc.children():
                with contextlib.suppress(psutil.Error):
                    c = child.cpu_times()
                    total += c.user + c.system
            return total
        except psutil.Error:
            return math.nan


class Sender:
    """The one person sending; the same httpx client for both servers."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.client = httpx.AsyncClient(
            headers=headers,
            timeout=120,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
        )
        self.run_id = uuid.uuid4().hex[:8]

    async def request(self, phase: RacePhase, seq: int) -> httpx.Response:
        raise NotImplementedError

    async def post(self, phase: RacePhase, seq: int, ok_status: int) -> None:
        t0 = time.perf_counter()
        phase.send_times[seq] = t0
        try:
            r = await self.request(phase, seq)
        except httpx.HTTPError as e:
            phase.post_errors.append(f"{seq}: {type(e).__name__}: {e}")
            return
        phase.answered[seq] = time.perf_counter()
        phase.post_latencies.append(phase.answered[seq] - t0)
        if r.status_code == ok_status:
            phase.post_ok.add(seq)
        else:
            phase.post_errors.append(f"{seq}: HTTP {r.status_code} {r.text[:200]}")

    async def send(self, phase: RacePhase, seq: int) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        await self.client.aclose()


class TongzhouSender(Sender):
    def __init__(self, base: str, gid: int, token: str) -> None:
        super().__init__({"Authorization": f"Bearer {token}"})
        self.url = f"{base}/api/v1/groups/{gid}/messages"

    async def request(self, phase: RacePhase, seq: int) -> httpx.Response:
        body = {"client_id": f"{self.run_id}-{phase.tag}-{seq}", "text": f"bench {phase.tag} {seq}"}
        return await self.client.post(self.url, json=body)

    async def send(self, phase: RacePhase, seq: int) -> None:
        await self.post(phase, seq, 201)


class SynapseSender(Sender):
    def __init__(self, base: str, room: str, token: str) -> None:
        super().__init__({"Authorization": f"Bearer {token}"})
        self.url = f"{base}/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/send/m.room.message"

    async def request(self, phase: RacePhase, seq: int) -> httpx.Response:
        body = {"msgtype": "m.text", "body": f"bench {phase.tag} {seq}"}
        return await self.client.put(f"{self.url}/{self.run_id}-{phase.tag}-{seq}", json=body)

    async def send(self, phase: RacePhase, seq: int) -> None:
        await self.post(phase, seq, 200)


# --------------------------------------------------------------------------- /sync members


class HttpConn:
    """A bare keep-alive HTTP/1.1 connection. The 150 /sync loops would spend more of the
    shared CPUs in httpx than in reading the answers; this keeps the client's share small,
    like the WebSocket client's on the Tongzhou side."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, target: str, token: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n".encode()
        )
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {}
        for line in head[1:]:
            name, _sep, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                chunks.append((await self.reader.readexactly(size + 2))[:-2])
            body = b"".join(chunks)
        else:  # no length: the body runs to the end of the connection
            body = await self.reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class SyncMembers:
    """N Matrix clients, each in a /sync long-poll loop on its own connection, as Matrix
    clients receive live; timeline events are routed to the phase named in their body."""

    def __init__(self, host: str, port: int, room: str) -> None:
        self.host, self.port, self.room = host, port, room
        self.phases: dict[str, RacePhase] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.start_errors: list[str] = []
        self.errors: list[str] = []
        self.other_events = 0
        self.polls = 0
        self.stopping = False

    async def start(self, tokens: list[str], filter_ids: list[str], batch: int) -> None:
        """Initial sync for each member (its `since` token), then the long-poll loops."""

        async def first(token: str, filter_id: str) -> tuple[HttpConn, str] | None:
            conn = HttpConn(self.host, self.port)
            try:
                status, body = await conn.get(self.target(filter_id, None, 0), token)
                if status != 200:
                    raise RuntimeError(f"initial sync HTTP {status}: {body[:200]!r}")
                return conn, json.loads(body)["next_batch"]
            except Exception as e:
                self.start_errors.append(f"initial sync: {type(e).__name__}: {e}")
                conn.close()
                return None

        pairs = list(zip(tokens, filter_ids, strict=True))
        for i in range(0, len(pairs), batch):
            chunk = pairs[i : i + batch]
            for (token, filter_id), got in zip(
                chunk, await asyncio.gather(*(first(t, f) for t, f in chunk)), strict=True
            ):
                if got is not None:
                    member = len(self.tasks)
                    self.tasks.append(
                        asyncio.create_task(self.loop(member, token, filter_id, *got))
                    )

    def target(self, filter_id: str, since: str | None, timeout_ms: int) -> str:
        query = {"filter": filter_id, "timeout": str(timeout_ms)}
        if since:
            query["since"] = since
        return "/_matrix/client/v3/sync?" + urllib.parse.urlencode(query)

    async def loop(
        self, member: int, token: str, filter_id: str, conn: HttpConn, since: str
    ) -> None:
        try:
            while not self.stopping:
                status, body = await conn.get(self.target(filter_id, since, 30_000), token)
                now = time.perf_counter()
                if status != 200:
                    self.errors.append(f"member {member}: HTTP {status} {body[:200]!r}")
                    await asyncio.sleep(1)
                    continue
                self.polls += 1
                answer = json.loads(body)
                since = answer["next_batch"]
                room = answer.get("rooms", {}).get("join", {}).get(self.room)
                if not room:
                    continue
                timeline = room.get("timeline", {})
                events = timeline.get("events", [])
                for event in events:
                    parts = str(event.get("content", {}).get("body", "")).split()
                    if len(parts) != 3 or parts[0] != "bench" or parts[1] not in self.phases:
                        self.other_events += 1
                        continue
                    self.phases[parts[1]].on_receipt(member, int(parts[2]), now)
                if timeline.get("limited") and events:
                    tag = str(events[-1].get("content", {}).get("body", "")).split()[1:2]
                    if tag and tag[0] in self.phases:
                        self.phases[tag[0]].gaps += 1
        except Exception as e:
            if not self.stopping:
                self.errors.append(f"member {member}: {type(e).__name__}: {e}")
        finally:
            conn.close()

    async def close_all(self) -> None:
        self.stopping = True
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


# --------------------------------------------------------------------------- one race leg


async def wait_delivered(phase: RacePhase, timeout: float) -> None:
    expected = phase.members * len(phase.post_ok)
    deadline = time.perf_counter() + timeout
    while phase.delivered_ok() < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    phase.ended = time.perf_counter()


async def run_phase(
    phase: RacePhase,
    sender: Sender,
    sampler: RssSampler,
    pg: PgCpu,
    timeout: float,
    *,
    rate: float | None,
    count: int,
) -> None:
    cpu0, pg0, ccpu0 = sampler.cpu_seconds(), pg.seconds(), time.process_time()
    busy0 = machine_busy()
    phase.started = time.perf_counter()
    if rate is None:  # full speed: back to back, each send waits for its answer
        for seq in range(count):
            await sender.send(phase, seq)
    else:  # fixed rate: a send every 1/rate seconds whether or not the last answered
        tasks = []
        for seq in range(count):
            delay = phase.started + seq / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(sender.send(phase, seq)))
        await asyncio.gather(*tasks)
    phase.sends_done = time.perf_counter()
    await wait_delivered(phase, timeout)
    phase.server_cpu = sampler.cpu_seconds() - cpu0
    phase.pg_cpu = pg.seconds() - pg0
    phase.client_cpu = time.process_time() - ccpu0
    phase.other_cpu = machine_busy() - busy0 - phase.server_cpu - phase.pg_cpu - phase.client_cpu
    phase.peak_rss = sampler.peak(phase.started, time.perf_counter())


async def run_modes(
    receivers: Members | SyncMembers,
    members: int,
    sender: Sender,
    sampler: RssSampler,
    pg: PgCpu,
    args: argparse.Namespace,
) -> tuple[list[dict[str, Any]], int]:
    """Warm-up (not counted), then the fixed-rate and the full-speed modes."""
    warm = RacePhase("w", "warm-up", members)
    receivers.phases["w"] = warm
    await run_phase(warm, sender, sampler, pg, args.timeout, rate=None, count=args.warmup)
    fixed = RacePhase("r", f"fixed {args.rate:g} msg/s", members)
    receivers.phases["r"] = fixed
    count = round(args.rate * args.duration)
    await run_phase(fixed, sender, sampler, pg, args.timeout, rate=args.rate, count=count)
    full = RacePhase("f", "full speed", members)
    receivers.phases["f"] = full
    await run_phase(full, sender, sampler, pg, args.timeout, rate=None, count=args.burst)
    await asyncio.sleep(1.0)  # let any late duplicate arrive before counting
    return [fixed.results(), full.results()], warm.results()["missing"]


def log_errors(path: Path) -> list[str]:
    text = path.read_text(errors="replace") if path.exists() else ""
    # Whole words: Synapse logs retried serialisation failures as "[TXN OPERROR]" warnings.
    return [ln for ln in text.splitlines() if re.search(r"\b(ERROR|CRITICAL|Traceback)\b", ln)]


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def race_tongzhou(pg: Postgres, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {
        **os.environ,
        "TONGZHOU_DATA_DIR": str(work / "tz-data"),
        "DATABASE_URL": pg.url("tongzhou"),
        "TONGZHOU_WORKER": "inside",
        "TONGZHOU_LOG_LEVEL": "WARNING",
        "TONGZHOU_RATE_LIMITS": TZ_RATE_LIMITS,
        "DJANGO_SETTINGS_MODULE": "tongzhou.settings",
    }
    env.pop("REDIS_URL", None)  # one process, in-process fan-out, like Synapse's one process
    t0 = time.perf_counter()
    subprocess.run([*tongzhou_cmd(), "migrate"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [sys.executable, str(HERE / "delivery_setup.py"), str(args.members)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    setup = json.loads(out.strip().splitlines()[-1])
    result: dict[str, Any] = {"server": "Tongzhou", "setup_s": time.perf_counter() - t0}

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = work / "tongzhou.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*tongzhou_cmd(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    members = Members()
    sender = TongzhouSender(base, setup["group"], setup["sender"])
    sampler = RssSampler(server.pid)
    try:
        wait_ready(base, server)
        sampler.start()
        await asyncio.sleep(0.3)
        result["rss_idle_mb"] = sampler.rss_now() / 2**20
        t1 = time.perf_counter()
        await members.connect_all(
            f"ws://127.0.0.1:{port}/ws/groups/{setup['group']}/",
            setup["receivers"],
            args.batch,
            None if args.no_compression else "deflate",
        )
        result["connect_s"] = time.perf_counter() - t1
        result["connected"] = len(members.sockets)
        result["connect_errors"] = members.connect_failures[:5]
        await asyncio.sleep(0.5)
        result["rss_connected_mb"] = sampler.rss_now() / 2**20
        result["phases"], result["warmup_missing"] = await run_modes(
            members, len(members.sockets), sender, sampler, PgCpu(pg.postmaster_pid()), args
        )
        result["closed_early"] = members.closed_early[:5]
    finally:
        await members.close_all()
        await sender.aclose()
        sampler.stop_event.set()
        stop_process(server)
    result["log_errors"] = log_errors(log_path)
    return result


# --------------------------------------------------------------------------- Synapse


def synapse_python() -> Path:
    """The benchmark's own venv with matrix-synapse; pip from PyPI on the first run only."""
    python = VENV / "bin" / "python"
    check = "import synapse, psycopg2"
    if (
        python.exists()
        and subprocess.run([python, "-c", check], capture_output=True).returncode == 0
    ):
        return python
    print(f"== installing {SYNAPSE_SPEC} into {VENV.relative_to(REPO)} (first run)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", SYNAPSE_SPEC,
         "psycopg2-binary"],
        check=True,
    )  # fmt: skip
    return python


def synapse_version(python: Path) -> str:
    code = "import importlib.metadata as m; print(m.version('matrix-synapse'))"
    return subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()
    ).stdout.strip()


def synapse_config(python: Path, pg: Postgres, work: Path, port: int) -> list[Path]:
    """A generated config (keys and secrets) and our overrides on top: Synapse merges the
    files given with -c, later ones winning key by key."""
    conf = work / "synapse"
    conf.mkdir()
    generated = conf / "homeserver.yaml"
    subprocess.run(
        [python, "-m", "synapse.app.homeserver", "--server-name", SERVER_NAME,
         "--config-path", str(generated), "--data-directory", str(conf / "data"),
         "--generate-config", "--report-stats=no"],
        check=True, capture_output=True, cwd=conf,
    )  # fmt: skip
    log_config = conf / "log.yaml"
    log_config.write_text(
        json.dumps(
            {  # WARNING and above to a file, like TONGZHOU_LOG_LEVEL=WARNING (no access log)
                "version": 1,
                "formatters": {"f": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
                "handlers": {
                    "file": {
                        "class": "logging.FileHandler",
                        "formatter": "f",
                        "filename": str(work / "synapse.log"),
                    }
                },
                "root": {"level": "WARNING", "handlers": ["file"]},
                "disable_existing_loggers": False,
            }
        )
    )
    unlimited = {"per_second": 1_000_000, "burst_count": 1_000_000}
    overrides = {
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],  # no federation
            }
        ],
        "database": {
            "name": "psycopg2",
            "args": {
                "user": "postgres",
                "dbname": "synapse",
                "host": "127.0.0.1",
                "port": pg.port,
                "cp_min": 5,
                "cp_max": 10,
            },
        },
        "log_config": str(log_config),
        "registration_shared_secret": secrets.token_hex(16),
        "enable_registration": False,
        "bcrypt_rounds": 4,  # set-up speed only: 151 registrations, no logins measured
        "presence": {"enabled": False},
        "federation_domain_whitelist": [],
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "report_stats": False,
        "enable_metrics": False,
        "url_preview_enabled": False,
        "rc_message": unlimited,
        "rc_registration": unlimited,
        "rc_registration_token_validity": unlimited,
        "rc_login": {"address": unlimited, "account": unlimited, "failed_attempts": unlimited},
        "rc_admin_redaction": unlimited,
        "rc_joins": {"local": unlimited, "remote": unlimited},
        "rc_joins_per_room": unlimited,
        "rc_key_requests": unlimited,
        "rc_3pid_validation": unlimited,
        "rc_invites": {"per_room": unlimited, "per_user": unlimited, "per_issuer": unlimited},
        "rc_third_party_invite": unlimited,
        "rc_media_create": unlimited,
        "rc_presence": {"per_user": unlimited},
        "rc_delayed_event_mgmt": unlimited,
        "rc_room_creation": unlimited,
        "rc_reports": unlimited,
        "rc_user_directory": unlimited,
        "rc_profile": unlimited,
    }
    override_path = conf / "overrides.yaml"
    override_path.write_text(json.dumps(overrides, indent=1))  # JSON is YAML
    return [generated, override_path]


async def synapse_setup(base: str, secret: str, n: int) -> tuple[str, str, list[str], list[str]]:
    """Register a sender and N members (shared-secret admin API), the sender creates a
    public room, the members join it and upload their /sync filter."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:

        async def register(name: str) -> tuple[str, str]:
            nonce = (await client.get("/_synapse/admin/v1/register")).json()["nonce"]
            password = "bench-" + name
            mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
            for part in (nonce, name, password, "notadmin"):
                mac.update(part.encode())
                if part != "notadmin":
                    mac.update(b"\x00")
            r = await client.post(
                "/_synapse/admin/v1/register",
                json={"nonce": nonce, "username": name, "password": password,
                      "admin": False, "mac": mac.hexdigest()},
            )  # fmt: skip
            r.raise_for_status()
            return r.json()["user_id"], r.json()["access_token"]

        limit = asyncio.Semaphore(10)

        async def limited(coro: Any) -> Any:
            async with limit:
                return await coro

        users = await asyncio.gather(*(limited(register(f"bench{i:05d}")) for i in range(n + 1)))
        (_sender_id, sender_token), receivers = users[0], users[1:]
        r = await client.post(
            "/_matrix/client/v3/createRoom",
            headers={"Authorization": f"Bearer {sender_token}"},
            json={"preset": "public_chat", "name": f"Race ({n} members)"},
        )
        r.raise_for_status()
        room = r.json()["room_id"]

        sync_filter = {
            "room": {
                "rooms": [room],
                # Big enough that no /sync answer is cut short (`limited`) in these runs.
                "timeline": {"types": ["m.room.message"], "limit": 1000},
                "state": {"types": []},
                "ephemeral": {"types": []},
                "account_data": {"types": []},
            },
            "presence": {"types": []},
            "account_data": {"types": []},
        }

        async def join(user_id: str, token: str) -> str:
            auth = {"Authorization": f"Bearer {token}"}
            r = await client.post(
                f"/_matrix/client/v3/join/{urllib.parse.quote(room)}", headers=auth, json={}
            )
            r.raise_for_status()
            r = await client.post(
                f"/_matrix/client/v3/user/{urllib.parse.quote(user_id)}/filter",
                headers=auth,
                json=sync_filter,
            )
            r.raise_for_status()
            return str(r.json()["filter_id"])

        filters = await asyncio.gather(*(limited(join(u, t)) for u, t in receivers))
    return room, sender_token, [t for _u, t in receivers], list(filters)


async def race_synapse(pg: Postgres, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    python = synapse_python()
    result: dict[str, Any] = {"server": "Synapse", "version": synapse_version(python)}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    configs = synapse_config(python, pg, work, port)
    secret = json.loads(configs[1].read_text())["registration_shared_secret"]
    log_path = work / "synapse.log"
    with (work / "synapse.out").open("wb") as out:
        server = subprocess.Popen(
            [python, "-m", "synapse.app.homeserver", *(a for c in configs for a in ("-c", str(c)))],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=work / "synapse",
        )
    sampler = RssSampler(server.pid)
    members: SyncMembers | None = None
    sender: SynapseSender | None = None
    try:
        t0 = time.perf_counter()
        deadline = time.monotonic() + 180  # the first start creates the schema
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"Synapse exited with {server.returncode}: "
                    + (work / "synapse.out").read_text(errors="replace")[-2000:]
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/_matrix/client/versions", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("Synapse did not answer in time")
            await asyncio.sleep(0.3)
        result["start_s"] = time.perf_counter() - t0
        sampler.start()
        await asyncio.sleep(0.3)
        result["rss_idle_mb"] = sampler.rss_now() / 2**20

        t0 = time.perf_counter()
        room, sender_token, tokens, filters = await synapse_setup(base, secret, args.members)
        result["setup_s"] = time.perf_counter() - t0

        t1 = time.perf_counter()
        members = SyncMembers("127.0.0.1", port, room)
        await members.start(tokens, filters, args.batch)
        result["connect_s"] = time.perf_counter() - t1
        result["connected"] = len(members.tasks)
        result["connect_errors"] = members.start_errors[:5]
        await asyncio.sleep(0.5)
        result["rss_connected_mb"] = sampler.rss_now() / 2**20
        sender = SynapseSender(base, room, sender_token)
        result["phases"], result["warmup_missing"] = await run_modes(
            members, len(members.tasks), sender, sampler, PgCpu(pg.postmaster_pid()), args
        )
        result["closed_early"] = members.errors[:5]
        result["polls"] = members.polls
    finally:
        if members is not None:
            await members.close_all()
        if sender is not None:
            await sender.aclose()
        sampler.stop_event.set()
        stop_process(server)
    result["log_errors"] = log_errors(log_path)
    return result


# --------------------------------------------------------------------------- PostgreSQL


class Postgres:
    """A throwaway cluster, run as the `postgres` user (it refuses root), fsync=off."""

    def __init__(self, work: Path) -> None:
        self.dir = work / "pg"
        self.port = free_port()
        self.started = False

    def as_pg(self, *argv: str) -> None:
        cmd = list(argv)
        if os.geteuid() == 0:
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(map(shlex.quote, argv))]
        subprocess.run(cmd, check=True, capture_output=True)

    def start(self) -> None:
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir.parent, "postgres")
            shutil.chown(self.dir, "postgres")
        self.as_pg(str(PG_BIN / "initdb"), "-D", str(self.dir), "-A", "trust", "-U", "postgres",
                   "-E", "UTF8")  # fmt: skip
        opts = (
            f"-p {self.port} -k {self.dir.parent} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=300"
        )
        self.as_pg(str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-o", opts, "-l",
                   str(self.dir / "log"), "-w", "start")  # fmt: skip
        self.started = True
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE tongzhou ENCODING 'UTF8'")
            # Synapse refuses a database whose collation is not C.
            conn.execute(
                "CREATE DATABASE synapse ENCODING 'UTF8' LC_COLLATE='C' LC_CTYPE='C' "
                "TEMPLATE template0"
            )

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def postmaster_pid(self) -> int:
        return int((self.dir / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        if self.started and (self.dir / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self.as_pg(str(PG_BIN / "pg_ctl"), "-D", str(self.dir), "-m", "immediate", "stop")
        self.started = False

    def version(self) -> str:
        with psycopg.connect(self.url("postgres")) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]).split()[0] if row else "?"


@contextlib.contextmanager
def workspace(keep: bool) -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="tz-synapse-race-"))
    try:
        yield work
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- report


def tongzhou_commit() -> str:
    def git(*argv: str) -> str:
        r = subprocess.run(["git", *argv], capture_output=True, text=True, cwd=REPO)
        return r.stdout.strip() if r.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src")
    return commit + (" with uncommitted changes in src/" if dirty else "")


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def ratios(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    if "Tongzhou" not in results or "Synapse" not in results:
        return []
    out = []
    for tz, syn in zip(results["Tongzhou"]["phases"], results["Synapse"]["phases"], strict=True):
        out.append(
            {
                "mode": tz["mode"],
                "throughput": ratio(tz["deliveries_per_s"], syn["deliveries_per_s"]),
                "p99": ratio(syn["p99_ms"], tz["p99_ms"]),
                "p50": ratio(syn["p50_ms"], tz["p50_ms"]),
            }
        )
    return out


def render(
    results: dict[str, dict[str, Any]], args: argparse.Namespace, runtime_s: float, pg_version: str
) -> str:
    m = machine()
    syn = results.get("Synapse", {})
    count = round(args.rate * args.duration)
    lines = [
        START_MARK,
        "## Tongzhou against Matrix Synapse (`bench/synapse_race.py`)",
        "",
        f"Measured {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} with "
        f"`{' '.join(['python bench/synapse_race.py', *sys.argv[1:]])}` "
        f"(whole run {runtime_s:.0f} s, first-run install of Synapse not included).",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory']} memory, {m['os']}, "
        f"Python {m['python']}. Versions: Tongzhou {tongzhou_commit()}, Synapse "
        f"{syn.get('version', 'not run')} (matrix-synapse from PyPI in `bench/.venv-synapse`), "
        f"PostgreSQL {pg_version}.",
        "",
        "**Method.** One run, one machine, loopback only. A throwaway PostgreSQL cluster "
        "(`fsync=off`, so disk flushes do not count for either) holds one database per "
        "server; each server is then measured alone, the other stopped:",
        "",
        "- *Tongzhou*: one `tongzhou serve` process (uvicorn, uvloop, httptools) on "
        "PostgreSQL, no `REDIS_URL` (in-process fan-out), `TONGZHOU_WORKER=inside`, "
        "`TONGZHOU_LOG_LEVEL=WARNING`, the per-person send limit lifted with "
        f"`TONGZHOU_RATE_LIMITS={TZ_RATE_LIMITS}`. Users, group and API tokens are made by "
        f"`bench/delivery_setup.py`; the {args.members} members connect to "
        "`/ws/groups/<gid>/` with a bearer token, "
        f"{'without' if args.no_compression else 'with'} permessage-deflate; the leader "
        "POSTs `/api/v1/groups/<gid>/messages`.",
        "- *Synapse*: one homeserver process (its default single-process setup) on "
        "PostgreSQL (psycopg2, `cp_max` 10), config generated by `--generate-config` plus "
        "overrides: every `rc_*` rate limit at 1,000,000/s, client listener only (no "
        "federation listener, empty federation whitelist, no key servers), presence "
        "disabled (cheaper /sync), logging at WARNING, `bcrypt_rounds: 4` (set-up only), "
        "caches and push rules at their defaults. Users are registered with the "
        "shared-secret admin API; the sender creates a `public_chat` room and the "
        f"{args.members} members join it. Each member uploads a filter (only this room's "
        "`m.room.message` timeline, limit 1000, no state, ephemeral, presence or account "
        "data), takes an initial `/sync` for its `since` token, then long-polls `/sync?"
        "since=…&timeout=30000` in a loop on its own keep-alive connection, as Matrix "
        "clients receive live. The sender PUTs `/rooms/{room}/send/m.room.message/{txnId}`.",
        "",
        f"Clients: all {args.members} receivers and the sender are one asyncio process"
        f"{' on uvloop' if not args.no_uvloop else ''}, sharing the {m['cpus']} CPUs with "
        "the server and PostgreSQL (the /sync loops use a bare HTTP/1.1 reader, the sender "
        f"httpx for both). {args.warmup} warm-up messages are sent and delivered first and "
        "not counted. Then:",
        "",
        f"- *fixed*: {count} messages at {args.rate:g} msg/s (a send starts every "
        f"{1000 / args.rate:.0f} ms whether or not the previous one has answered);",
        f"- *full speed*: {args.burst} messages back to back, each send waiting for its "
        "answer before the next.",
        "",
        "Latency is from just before the send to the moment a member's client has read the "
        "frame or /sync answer, over every member × message (nearest-rank percentiles). "
        "Deliveries/s is all first receipts divided by the time from the first send to the "
        "last receipt; in *fixed* mode it is bounded by the offered load "
        f"({args.rate:g} × {args.members} = {args.rate * args.members:,.0f}/s), so only the "
        "*full speed* ratio measures capacity. *Missing* counts (member, message) pairs "
        f"never received within {args.timeout:g} s of the last send; *dup* a message "
        "received twice by one member; *order* a message received after one whose send "
        "began only once its own had been answered. CPU is seconds used during the mode by "
        "the server process and by the PostgreSQL cluster (all backends); RSS is the "
        "server's peak (psutil, every 100 ms).",
        "",
        "| server | mode | msgs | deliveries | p50 ms | p99 ms | max ms | deliveries/s "
        "| missing | dup | order | server peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        for p in r["phases"]:
            lines.append(
                f"| {name} | {p['mode']} | {p['messages']} | {p['delivered']:,} "
                f"| {fmt(p['p50_ms'])} | {fmt(p['p99_ms'])} | {fmt(p['max_ms'], 0)} "
                f"| {fmt(p['deliveries_per_s'], 0)} | {p['missing']} | {p['duplicates']} "
                f"| {p['out_of_order']} | {fmt(p['server_peak_rss_mb'], 0)} MB |"
            )
    lines += [
        "",
        "Costs (send = time for the sender's POST/PUT to be answered; CPU = seconds used "
        "during the mode, with the server's share of one core over first send → last "
        "receipt, and the server's per message and per delivery; *other* = the machine's "
        "busy CPU not used by server, PostgreSQL or client, i.e. other work on the machine):",
        "",
        "| server | mode | send p50 / p99 ms | server CPU | per msg / per delivery "
        "| PostgreSQL CPU | client CPU | other processes' CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        for p in r["phases"]:
            share = p["server_cpu_s"] / max(p["wall_seconds"], 1e-9)
            lines.append(
                f"| {name} | {p['mode']} | {fmt(p['post_p50_ms'])} / {fmt(p['post_p99_ms'])} "
                f"| {p['server_cpu_s']:.1f} s ({share:.0%}) "
                f"| {p['server_cpu_s'] / max(p['messages'], 1) * 1e3:.1f} ms "
                f"/ {p['server_cpu_s'] / max(p['delivered'], 1) * 1e6:,.0f} µs "
                f"| {p['pg_cpu_s']:.1f} s | {p['client_cpu_s']:.1f} s "
                f"| {p['other_cpu_s']:.1f} s |"
            )
    rs = ratios(results)
    if rs:
        lines += [
            "",
            "Ratios (goal: Tongzhou ≥ 10× Synapse's deliveries/s and ≤ 1/10 of its p99):",
            "",
            "| mode | Tongzhou / Synapse deliveries/s | Synapse / Tongzhou p99 "
            "| Synapse / Tongzhou p50 | goal met? |",
            "|---|---:|---:|---:|---|",
        ]
        for x in rs:
            met = [
                "throughput " + ("yes" if x["throughput"] >= 10 else "no"),
                "p99 " + ("yes" if x["p99"] >= 10 else "no"),
            ]
            if x["mode"] != "full speed":
                met[0] = "throughput: capped by the offered load"
            lines.append(
                f"| {x['mode']} | {fmt(x['throughput'], 2)}× | {fmt(x['p99'], 1)}× "
                f"| {fmt(x['p50'], 1)}× | {', '.join(met)} |"
            )
    lines += [
        "",
        "Set-up (not measured in the table): "
        + "; ".join(
            f"{name}: "
            + (f"start on an empty database {r['start_s']:.1f} s, " if "start_s" in r else "")
            + f"users/group set-up {r.get('setup_s', math.nan):.1f} s, "
            f"{r['connected']}/{args.members} receivers live in {r['connect_s']:.1f} s, "
            f"RSS idle → receivers live {r['rss_idle_mb']:.0f} → {r['rss_connected_mb']:.0f} MB"
            for name, r in results.items()
        )
        + ".",
    ]
    problems = []
    for name, r in results.items():
        n_err = len(r["log_errors"])
        gaps = sum(p["gaps"] for p in r["phases"])
        errs = sum(p["post_errors"] for p in r["phases"])
        if r["connect_errors"] or r["closed_early"] or r["warmup_missing"] or n_err or gaps or errs:
            problems.append(
                f"- {name}: {len(r['connect_errors'])} receivers failed to start, "
                f"{len(r['closed_early'])} stopped early, {r['warmup_missing']} warm-up "
                f"deliveries missing, {errs} send errors, {gaps} /sync gaps, {n_err} server "
                "log errors."
            )
    if problems:
        lines += ["", "Problems seen during the run:", "", *problems]
    lines += ["", "NOTES_PLACEHOLDER", END_MARK]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    # Read the notes and the file just before writing: other benchmarks write other sections.
    notes = old_notes(path, NOTES_NAME)
    section = section.replace("NOTES_PLACEHOLDER", notes.strip()).replace("\n\n\n", "\n\n")
    replace_section(path, section, START_MARK, END_MARK)


# --------------------------------------------------------------------------- main


def print_result(r: dict[str, Any]) -> None:
    for p in r["phases"]:
        print(
            f"  {r['server']:<8} {p['mode']:<14} p50 {fmt(p['p50_ms'])} ms  "
            f"p99 {fmt(p['p99_ms'])} ms  {fmt(p['deliveries_per_s'], 0)} deliveries/s  "
            f"missing {p['missing']}  dup {p['duplicates']}  order {p['out_of_order']}  "
            f"gaps {p['gaps']}  send p50 {fmt(p['post_p50_ms'])} ms  "
            f"cpu srv {p['server_cpu_s']:.1f} s pg {p['pg_cpu_s']:.1f} s "
            f"cli {p['client_cpu_s']:.1f} s other {p['other_cpu_s']:.1f} s  rss {fmt(p['server_peak_rss_mb'], 0)} MB  "
            f"send errors {p['post_errors']}",
            flush=True,
        )
        for line in p["post_error_samples"]:
            print(f"    {line}", flush=True)
    print(
        f"  {r['server']}: set-up {r.get('setup_s', math.nan):.1f} s, receivers "
        f"{r['connected']} live in {r['connect_s']:.1f} s, warm-up missing "
        f"{r['warmup_missing']}, server log errors {len(r['log_errors'])}",
        flush=True,
    )
    for line in r["connect_errors"] + r["closed_early"] + r["log_errors"][:10]:
        print(f"    {line}", flush=True)


async def race(args: argparse.Namespace) -> tuple[dict[str, dict[str, Any]], str]:
    results: dict[str, dict[str, Any]] = {}
    with workspace(args.keep) as work:
        pg = Postgres(work)
        try:
            pg.start()
            pg_version = pg.version()
            for name in args.servers:
                print(f"== {name}, {args.members} members", flush=True)
                leg = race_tongzhou if name == "tongzhou" else race_synapse
                r = await leg(pg, work, args)
                results[r["server"]] = r
                print_result(r)
        finally:
            pg.stop()
    return results, pg_version


def on_sigterm(_signum: int, _frame: Any) -> NoReturn:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 members, short modes")
    parser.add_argument("--members", type=int, default=150, help="receiving members")
    parser.add_argument("--rate", type=float, default=5.0, help="fixed-rate mode, msg/s")
    parser.add_argument("--duration", type=float, default=10.0, help="fixed-rate mode, s")
    parser.add_argument("--burst", type=int, default=200, help="full-speed mode, messages")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up messages, not counted")
    parser.add_argument("--batch", type=int, default=50, help="receivers started at a time")
    parser.add_argument("--timeout", type=float, default=60.0, help="wait for deliveries, s")
    parser.add_argument("--servers", default="tongzhou,synapse", help="which, in this order")
    parser.add_argument("--no-compression", action="store_true", help="no permessage-deflate")
    parser.add_argument("--no-uvloop", action="store_true", help="plain asyncio in the client")
    parser.add_argument("--out", default="docs/performance.md", help="'-' to skip writing")
    parser.add_argument("--keep", action="store_true", help="keep the work dir and logs")
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    if args.quick:
        args.members, args.duration, args.burst, args.timeout = 20, 4.0, 40, 20.0
    args.servers = [s.strip().lower() for s in args.servers.split(",") if s.strip()]
    if set(args.servers) - {"tongzhou", "synapse"}:
        parser.error("--servers takes tongzhou and/or synapse")
    raise_fd_limit(4 * args.members + 1024)
    # SIGTERM runs the finally blocks too, so no server outlives the run.
    signal.signal(signal.SIGTERM, on_sigterm)

    runner: Any = asyncio.run
    if not args.no_uvloop:
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            args.no_uvloop = True

    if "synapse" in args.servers:
        synapse_python()  # install before the clock starts
    t0 = time.perf_counter()
    results, pg_version = runner(race(args))
    runtime = time.perf_counter() - t0
    for x in ratios(results):
        print(
            f"== {x['mode']}: Tongzhou/Synapse deliveries/s {fmt(x['throughput'], 2)}×, "
            f"Synapse/Tongzhou p99 {fmt(x['p99'], 1)}×, p50 {fmt(x['p50'], 1)}×"
        )
    print(f"== total {runtime:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    if args.out != "-":
        out = Path(args.out)
        write_section(out, render(results, args, runtime, pg_version))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
