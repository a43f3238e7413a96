"""Scale-out benchmark: two server processes, PostgreSQL and Redis fan-out, 1,500 members.

    python bench/scaleout.py [--groups 10] [--members 150] [--quick] [--out docs/performance.md]

The script starts a throwaway deployment and measures delivery across it:

- PostgreSQL: `search.Postgres` from bench/search.py (initdb as the postgres user on a
  temporary directory, a free port, as scripts/test does), then `fsync=off` (ALTER SYSTEM +
  reload: nothing here needs to survive a crash); a redis-server on a free port without
  persistence (`--save '' --appendonly no`).
- `tongzhou migrate`, then --groups groups of --members members plus a leader each, with API
  tokens, created directly in the database (bench/scaleout_setup.py).
- Two `tongzhou serve` processes (A and B) and one `tongzhou worker`, all on the same
  DATABASE_URL and REDIS_URL (so the channel layer is channels_redis'
  RedisPubSubChannelLayer), `TONGZHOU_WORKER=external`, `TONGZHOU_LOG_LEVEL=WARNING`, and
  rate limits raised (`TONGZHOU_RATE_LIMITS`) so the senders are not asked to wait.
- Half of each group's members connect over WebSocket to A, the other half to B, so every
  message crosses processes through Redis. Each group's leader POSTs its messages to A and
  B in turn. The clients are bench/delivery.py's (`Members`, `Sender`, `Phase`), one asyncio
  process on the same machine.

Modes, as in bench/delivery.py, after two warm-up messages per group (not counted):

  fixed rate   each group --rate msg/s for --duration s, the groups' sends spread evenly
  full speed   all senders at once, each --burst messages back to back (a POST waits for
               its answer before the next)

Reported: send→deliver latency over every member × message (p50/p99/max, and split by
whether the member's socket is on the process that took the POST), deliveries/s, missing,
duplicate and out-of-order deliveries, deliveries to a member of another group, POST errors,
CPU seconds of every process during each mode, and the RSS of every process (psutil, all
sampled together every 100 ms): before connecting, with all members connected and idle,
and the peak during each mode. PostgreSQL sessions opened and Redis commands per mode give
context. The figures replace the section between the `scaleout` markers in --out; the
hand-written notes between the `scaleout-notes` markers are kept.

--quick (2 groups × 50 members, short modes) is a smoke run; it writes no document unless
--out is given.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import delivery  # noqa: E402  (clients, phases, percentiles, machine facts, section writer)
import search  # noqa: E402  (the throwaway PostgreSQL)

START_MARK = "<!-- scaleout:start -->"
END_MARK = "<!-- scaleout:end -->"
NOTES_NAME = "scaleout"
GOAL_MB = 300
RATE_LIMITS = "send_minute=1000000/60,send_hour=1000000/3600"
SERVES = ("serve A", "serve B")
TONGZHOU = (*SERVES, "worker")
PROCESSES = (*TONGZHOU, "Redis", "PostgreSQL")
SUMS = {"serve A + B": SERVES, "Tongzhou": TONGZHOU}


# --------------------------------------------------------------------------- measurement


@dataclass
class GroupPhase(delivery.Phase):
    """One group's share of a mode. A receipt by a member of another group is a fan-out bug:
    it is counted apart and not as a delivery."""

    member_set: set[int] = field(default_factory=set)
    wrong_group: int = 0

    def on_receipt(self, member: int, seq: int, now: float) -> None:
        if member not in self.member_set:
            self.wrong_group += 1
            return
        super().on_receipt(member, seq, now)


@dataclass
class GroupRun:
    index: int
    gid: int
    senders: list[delivery.Sender]  # one per server process; POSTs alternate between them
    receivers: list[str]
    member_set: set[int] = field(default_factory=set)

    def process_of(self, seq: int) -> int:
        # Groups start on different processes, so A and B take equal shares at every moment.
        return (seq + self.index) % 2


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU of a process and all its children, the exited ones too (PostgreSQL forks a
    backend per connection, and the settings close connections after each use)."""
    try:
        t = proc.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        children = proc.children(recursive=True)
    except psutil.Error:
        return math.nan
    for child in children:
        with contextlib.suppress(psutil.Error):
            ct = child.cpu_times()
            total += ct.user + ct.system
    return total


class Fleet(threading.Thread):
    """The RSS of every process of the deployment, sampled together every `interval` s, so
    a sum is taken at one instant (the peak of a sum, not the sum of peaks)."""

    def __init__(self, pids: dict[str, int], interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.procs = {name: delivery.RssSampler(pid) for name, pid in pids.items()}
        self.interval = interval
        self.samples: list[tuple[float, dict[str, int]]] = []
        # PostgreSQL runs a process per connection: how many it has shows connection use.
        self.pg_procs: list[tuple[float, int]] = []
        self.stop_event = threading.Event()

    def rss_now(self) -> dict[str, int]:
        out = {}
        for name, sampler in self.procs.items():
            try:
                out[name] = sampler.rss_now()
            except psutil.Error:  # the process has gone; a missing sample shows it
                out[name] = 0
        return out

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(s.proc) for name, s in self.procs.items()}

    def run(self) -> None:
        while not self.stop_event.is_set():
            now = time.perf_counter()
            self.samples.append((now, self.rss_now()))
            with contextlib.suppress(psutil.Error):
                self.pg_procs.append((now, len(self.procs["PostgreSQL"].proc.children())))
            self.stop_event.wait(self.interval)

    def pg_procs_peak(self, since: float = 0.0, until: float = math.inf) -> int:
        return max((n for t, n in list(self.pg_procs) if since <= t <= until), default=0)

    def peak(self, names: tuple[str, ...], since: float = 0.0, until: float = math.inf) -> int:
        return max(
            (sum(r[n] for n in names) for t, r in list(self.samples) if since <= t <= until),
            default=0,
        )

    def peaks_mb(self, since: float = 0.0, until: float = math.inf) -> dict[str, float]:
        """Each process's peak and the peaks of the two sums, in MB."""
        rows = {n: (n,) for n in PROCESSES} | SUMS
        return {name: self.peak(names, since, until) / 2**20 for name, names in rows.items()}

    def snapshot_mb(self) -> dict[str, float]:
        now = self.rss_now()
        rows = {n: (n,) for n in PROCESSES} | SUMS
        return {name: sum(now[n] for n in names) / 2**20 for name, names in rows.items()}


@dataclass
class Mode:
    """One sending mode over all groups, with the deployment's costs while it ran."""

    label: str
    phases: list[GroupPhase]
    started: float = 0.0
    sends_done: float = 0.0
    ended: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    client_cpu: float = 0.0
    pg_sessions: int = 0
    pg_commits: int = 0
    redis_commands: int = 0


class Counters:
    """PostgreSQL's and Redis' own counters, read before and after each mode over one
    connection each, kept open so that reading them adds no session of its own."""

    def __init__(self, pg_url: str, redis_port: int) -> None:
        import psycopg
        import redis

        self.pg = psycopg.connect(pg_url, autocommit=True)
        self.redis = redis.Redis(port=redis_port)

    def read(self) -> tuple[int, int, int]:
        row = self.pg.execute(
            "SELECT sessions, xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
        sessions, commits = row if row else (0, 0)
        commands = int(self.redis.info("stats")["total_commands_processed"])
        return int(sessions), int(commits), commands

    def close(self) -> None:
        self.pg.close()
        self.redis.close()


async def wait_all(phases: list[GroupPhase], timeout: float) -> None:
    """Until every member has every successfully sent message of its group, or the time-out.
    len() first: delivered_ok() walks every receipt, too dear to run every 50 ms."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        expected = sum(p.members * len(p.post_ok) for p in phases)
        if sum(len(p.first_receipt) for p in phases) >= expected and (
            sum(p.delivered_ok() for p in phases) >= expected
        ):
            return
        await asyncio.sleep(0.05)


async def send_group(
    run: GroupRun, phase: GroupPhase, groups: int, *, rate: float | None, count: int
) -> None:
    if rate is None:  # full speed: back to back, each POST waits for its answer
        for seq in range(count):
            await run.senders[run.process_of(seq)].post(phase, seq)
    else:  # fixed rate; the groups' start times spread over one interval
        start = phase.started + run.index / (rate * groups)
        tasks = []
        for seq in range(count):
            delay = start + seq / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(run.senders[run.process_of(seq)].post(phase, seq)))
        await asyncio.gather(*tasks)
    phase.sends_done = time.perf_counter()


async def run_mode(
    tag: str,
    label: str,
    runs: list[GroupRun],
    members: delivery.Members,
    fleet: Fleet,
    counters: Counters,
    timeout: float,
    *,
    rate: float | None,
    count: int,
) -> Mode:
    phases = []
    for run in runs:
        # The tag is a word of the message text ("bench r3 7"): the mode's letter, the group.
        phase = GroupPhase(
            f"{tag}{run.index}", label, len(run.member_set), member_set=run.member_set
        )
        members.phases[phase.tag] = phase
        phases.append(phase)
    mode = Mode(label, phases)
    pg0, commits0, redis0 = await asyncio.to_thread(counters.read)
    cpu0, ccpu0 = fleet.cpu(), time.process_time()
    mode.started = time.perf_counter()
    for phase in phases:
        phase.started = mode.started
    await asyncio.gather(
        *(
            send_group(run, ph, len(runs), rate=rate, count=count)
            for run, ph in zip(runs, phases, strict=True)
        )
    )
    mode.sends_done = time.perf_counter()
    await wait_all(phases, timeout)
    mode.ended = time.perf_counter()
    cpu1 = fleet.cpu()
    mode.cpu = {name: cpu1[name] - cpu0[name] for name in cpu0}
    mode.client_cpu = time.process_time() - ccpu0
    pg1, commits1, redis1 = await asyncio.to_thread(counters.read)
    # Reading the counters is one commit and one command of the next reading.
    mode.pg_sessions, mode.pg_commits = pg1 - pg0, commits1 - commits0 - 1
    mode.redis_commands = redis1 - redis0 - 1
    return mode


# delivery.Phase.results() counts that add up over the groups.
SUMMED = (
    *("messages", "posts_ok", "post_errors", "expected", "delivered", "missing"),
    *("duplicates", "out_of_order", "unexpected"),
)


def summarize(
    mode: Mode, runs: list[GroupRun], process_of_member: list[int], fleet: Fleet
) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for phase in mode.phases:
        r = phase.results()
        for key in SUMMED:
            counts[key] = counts.get(key, 0) + r[key]
        counts["wrong_group"] = counts.get("wrong_group", 0) + phase.wrong_group
    latencies: list[float] = []
    same: list[float] = []
    cross: list[float] = []
    for run, phase in zip(runs, mode.phases, strict=True):
        for (member, seq), t in phase.first_receipt.items():
            latency = t - phase.send_times[seq]
            latencies.append(latency)
            on_same = process_of_member[member] == run.process_of(seq)
            (same if on_same else cross).append(latency)
    for values in (latencies, same, cross):
        values.sort()
    posts = sorted(x for p in mode.phases for x in p.post_latencies)
    # Second by second (by send time): where in the mode a slow tail came from.
    by_second: dict[int, list[float]] = {}
    for phase in mode.phases:
        for (_member, seq), t in phase.first_receipt.items():
            sent = phase.send_times[seq]
            by_second.setdefault(int(sent - mode.started), []).append(t - sent)
    timeline = []
    for second, values in sorted(by_second.items()):
        values.sort()
        t0 = mode.started + second
        timeline.append(
            {
                "second": second,
                "deliveries": len(values),
                "p50_ms": delivery.pct(values, 0.5) * 1000,
                "p99_ms": delivery.pct(values, 0.99) * 1000,
                "pg_procs": fleet.pg_procs_peak(t0, t0 + 1),
            }
        )
    last = max((max(p.first_receipt.values(), default=0.0) for p in mode.phases), default=0.0)
    wall = max(last - mode.started, 1e-9) if last else mode.ended - mode.started
    return {
        "mode": mode.label,
        **counts,
        "post_error_samples": [e for p in mode.phases for e in p.post_errors][:5],
        "p50_ms": delivery.pct(latencies, 0.50) * 1000,
        "p99_ms": delivery.pct(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else math.nan) * 1000,
        "same_p50_ms": delivery.pct(same, 0.50) * 1000,
        "same_p99_ms": delivery.pct(same, 0.99) * 1000,
        "cross_p50_ms": delivery.pct(cross, 0.50) * 1000,
        "cross_p99_ms": delivery.pct(cross, 0.99) * 1000,
        "post_p50_ms": delivery.pct(posts, 0.50) * 1000,
        "post_p99_ms": delivery.pct(posts, 0.99) * 1000,
        "send_seconds": mode.sends_done - mode.started,
        "wall_seconds": wall,
        "deliveries_per_s": len(latencies) / wall,
        "messages_per_s": counts["posts_ok"] / wall,
        "cpu_s": mode.cpu,
        "client_cpu_s": mode.client_cpu,
        "peak_rss_mb": fleet.peaks_mb(mode.started, mode.ended),
        "pg_procs_peak": fleet.pg_procs_peak(mode.started, mode.ended),
        "timeline": timeline,
        "pg_sessions": mode.pg_sessions,
        "pg_commits": mode.pg_commits,
        "redis_commands": mode.redis_commands,
    }


# --------------------------------------------------------------------------- clients


async def measure(
    setup: dict[str, Any],
    bases: list[str],
    fleet: Fleet,
    counters: Counters,
    args: argparse.Namespace,
) -> dict[str, Any]:
    members = delivery.Members()
    runs = [
        GroupRun(
            i,
            g["group"],
            [delivery.Sender(base, g["group"], g["sender"]) for base in bases],
            g["receivers"],
        )
        for i, g in enumerate(setup["groups"])
    ]
    process_of_member: list[int] = []
    result: dict[str, Any] = {}
    compression = None if args.no_compression else "deflate"
    try:
        await asyncio.sleep(0.5)
        result["rss_started_mb"] = fleet.snapshot_mb()
        t0 = time.perf_counter()

        async def connect_side(p: int) -> None:
            ws_base = bases[p].replace("http://", "ws://")
            for run in runs:
                half = len(run.receivers) // 2
                tokens = run.receivers[:half] if p == 0 else run.receivers[half:]
                url = f"{ws_base}/ws/groups/{run.gid}/"
                await members.connect_all(url, tokens, args.batch, compression)

        # Both processes take handshakes at once; connect_all numbers sockets in the order
        # they open, so each member's group and process are read back from its socket.
        await asyncio.gather(connect_side(0), connect_side(1))
        by_gid = {run.gid: run for run in runs}
        ports = [int(base.rsplit(":", 1)[1]) for base in bases]
        for member, ws in enumerate(members.sockets):
            assert ws.request is not None
            by_gid[int(ws.request.path.split("/")[3])].member_set.add(member)
            process_of_member.append(ports.index(ws.remote_address[1]))
        result["connect_s"] = time.perf_counter() - t0
        result["connected"] = len(members.sockets)
        result["connect_failures"] = len(members.connect_failures)
        result["connect_failure_samples"] = members.connect_failures[:5]
        await asyncio.sleep(2.0)  # idle: let the handshakes' garbage go before the reading
        result["rss_connected_mb"] = fleet.snapshot_mb()
        result["members_per_process"] = [process_of_member.count(p) for p in (0, 1)]

        common = (runs, members, fleet, counters, args.timeout)
        # Warm-up: the first requests pay for lazy imports and URL resolution on each process.
        warm = await run_mode("w", "warm-up", *common, rate=None, count=2)
        count = round(args.rate * args.duration)
        fixed = await run_mode(
            "r", f"fixed {args.rate:g} msg/s per group", *common, rate=args.rate, count=count
        )
        full = await run_mode("f", "full speed", *common, rate=None, count=args.burst)
        await asyncio.sleep(1.0)  # let any late duplicate arrive before counting
        result["warmup_missing"] = summarize(warm, runs, process_of_member, fleet)["missing"]
        result["modes"] = [summarize(m, runs, process_of_member, fleet) for m in (fixed, full)]
        result["closed_early"] = len(members.closed_early)
        result["closed_early_samples"] = members.closed_early[:5]
        result["other_frames"] = members.other_frames
        result["peak_rss_mb"] = fleet.peaks_mb()
    finally:
        await members.close_all()
        for run in runs:
            for sender in run.senders:
                await sender.aclose()
    return result


# --------------------------------------------------------------------------- deployment


class Deployment:
    """PostgreSQL, Redis, two servers and a worker; `stop()` ends whatever was started."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.pg = search.Postgres(None)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}
        self.env: dict[str, str] = {}
        self.pg_url = ""
        self.redis_port = 0
        self.ports: list[int] = []

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        path = self.work / f"{name.replace(' ', '-').lower()}.log"
        self.logs[name] = path
        with path.open("wb") as log:
            self.procs[name] = subprocess.Popen(
                argv, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self.procs[name]

    def start_databases(self) -> None:
        import psycopg
        import redis

        self.pg_url = self.pg.start()
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("SELECT pg_reload_conf()")
        self.redis_port = delivery.free_port()
        self.spawn(
            "Redis",
            [
                "redis-server",
                *("--port", str(self.redis_port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.work)),
            ],
        )
        client = redis.Redis(port=self.redis_port)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.procs["Redis"].poll() is not None:
                    raise
                time.sleep(0.1)
        client.close()

    def postgres_pid(self) -> int:
        assert self.pg.work is not None
        return int((self.pg.work / "pg" / "postmaster.pid").read_text().split()[0])

    def prepare(self, groups: int, members: int) -> dict[str, Any]:
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tongzhou.settings",
            "DATABASE_URL": self.pg_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "TONGZHOU_DATA_DIR": str(self.work / "data"),
            "TONGZHOU_WORKER": "external",
            # Upper case: settings.py passes the value to logging as is.
            "TONGZHOU_LOG_LEVEL": "WARNING",
            "TONGZHOU_RATE_LIMITS": RATE_LIMITS,
        }
        subprocess.run(
            [*delivery.tongzhou_cmd(), "migrate"], env=self.env, check=True, capture_output=True
        )
        out = subprocess.run(
            [sys.executable, str(HERE / "scaleout_setup.py"), str(groups), str(members)],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return dict(json.loads(out.strip().splitlines()[-1]))

    def start_servers(self) -> list[str]:
        bases = []
        for name in SERVES:
            port = delivery.free_port()
            self.ports.append(port)
            self.spawn(
                name,
                [*delivery.tongzhou_cmd(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            )
            bases.append(f"http://127.0.0.1:{port}")
        self.spawn("worker", [*delivery.tongzhou_cmd(), "worker"])
        for name, base in zip(SERVES, bases, strict=True):
            delivery.wait_ready(base, self.procs[name])
        if self.procs["worker"].poll() is not None:
            raise RuntimeError(f"worker exited with {self.procs['worker'].returncode}")
        return bases

    def pids(self) -> dict[str, int]:
        return {
            **{n: self.procs[n].pid for n in (*TONGZHOU, "Redis")},
            "PostgreSQL": self.postgres_pid(),
        }

    def log_problems(self) -> dict[str, list[str]]:
        """Lines at WARNING and above in each process's log (the level they run at), and
        PostgreSQL's errors."""
        out = {}
        for name, path in self.logs.items():
            if name == "Redis":
                continue
            text = path.read_text(errors="replace") if path.exists() else ""
            out[name] = [
                line
                for line in text.splitlines()
                if any(w in line for w in ("WARNING", "ERROR", "CRITICAL", "Traceback", "FATAL"))
            ]
        return out

    def stop(self) -> None:
        # Servers first (they hold connections to PostgreSQL and Redis), the worker, Redis.
        for name in (*TONGZHOU, "Redis"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.pg.work is not None:  # its log goes with its directory: keep a copy
            with contextlib.suppress(OSError):
                shutil.copy(self.pg.work / "pg" / "log", self.work / "postgresql.log")
                self.logs["PostgreSQL"] = self.work / "postgresql.log"
        self.pg.stop()

    def versions(self) -> dict[str, str]:
        def out(*argv: str) -> str:
            try:
                return subprocess.run(argv, capture_output=True, text=True, check=True).stdout
            except (OSError, subprocess.CalledProcessError):
                return "?"

        pg = out(f"{self.pg.pgbin}/postgres", "--version").split()
        redis_v = [w for w in out("redis-server", "--version").split() if w.startswith("v=")]
        return {
            "postgres": pg[2] if len(pg) > 2 else "?",  # postgres (PostgreSQL) 15.18 (Debian …)
            "redis": redis_v[0][2:] if redis_v else "?",
        }


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="tz-scaleout-"))
    dep = Deployment(work)
    result: dict[str, Any] = {"groups": args.groups, "members": args.members}
    fleet: Fleet | None = None
    try:
        t0 = time.perf_counter()
        dep.start_databases()
        result["versions"] = dep.versions()
        setup = dep.prepare(args.groups, args.members)
        result["setup_s"] = time.perf_counter() - t0
        print(f"  deployment ready in {result['setup_s']:.0f} s", flush=True)
        bases = dep.start_servers()
        fleet = Fleet(dep.pids())
        fleet.start()
        counters = Counters(dep.pg_url, dep.redis_port)
        try:
            result.update(runner(args)(measure(setup, bases, fleet, counters, args)))
        finally:
            counters.close()
    finally:
        if fleet is not None:
            fleet.stop_event.set()
        dep.stop()
        problems = dep.log_problems()
        result["log_problems"] = {k: len(v) for k, v in problems.items()}
        result["log_problem_samples"] = {k: v[:10] for k, v in problems.items() if v}
        if args.keep:
            result["work_dir"] = str(work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return result


def runner(args: argparse.Namespace) -> Any:
    if not args.no_uvloop:
        try:
            import uvloop

            return uvloop.run
        except ImportError:
            args.no_uvloop = True
    return asyncio.run


# --------------------------------------------------------------------------- report


def commit() -> str:
    def git(*argv: str) -> str:
        try:
            return subprocess.run(
                ["git", *argv], cwd=HERE.parent, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    rev = git("rev-parse", "--short", "HEAD") or "?"
    return rev + (
        " with uncommitted changes in src/" if git("status", "--porcelain", "src") else ""
    )


def mb(x: float) -> str:
    return f"{x:,.0f} MB"


def render(r: dict[str, Any], args: argparse.Namespace, runtime_s: float) -> str:
    m = delivery.machine()
    f = delivery.fmt
    fixed, full = r["modes"]
    per_group = round(args.rate * args.duration)
    lines = [
        START_MARK,
        "## Scale-out: two processes, PostgreSQL and Redis (`bench/scaleout.py`)",
        "",
        f"Measured {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} with "
        f"`{' '.join(['python bench/scaleout.py', *sys.argv[1:]])}` (whole run "
        f"{runtime_s:.0f} s). Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory']} "
        f"memory, {m['os']}, Python {m['python']}; PostgreSQL {r['versions']['postgres']}, "
        f"Redis {r['versions']['redis']}. Code: {commit()}. Load average "
        f"{args.load_before:.1f} at the start, {args.load_after:.1f} at the end. Every "
        f"process below and the benchmark clients share these {m['cpus']} CPUs.",
        "",
        "**Method.** The script starts a throwaway deployment: PostgreSQL (initdb on a "
        "temporary directory, default configuration but `fsync=off`), redis-server without "
        "persistence, `tongzhou migrate`, then two `tongzhou serve` processes (A and B, one "
        "uvicorn process each) and one `tongzhou worker`, all with the same `DATABASE_URL` "
        "and `REDIS_URL` (fan-out through channels_redis' `RedisPubSubChannelLayer`), "
        "`TONGZHOU_WORKER=external`, `TONGZHOU_LOG_LEVEL=WARNING` and "
        f'`TONGZHOU_RATE_LIMITS="{RATE_LIMITS}"` (the product\'s 20 messages a minute per '
        f"person would stop the senders). {r['groups']} groups of {r['members']} members and a "
        "leader each are created directly in the database with API tokens "
        f"(`bench/scaleout_setup.py`). Half of each group's members connect to "
        f"`/ws/groups/<gid>/` on A, the other half on B ({r['members_per_process'][0]:,} + "
        f"{r['members_per_process'][1]:,} sockets, live only, "
        f"{'without' if args.no_compression else 'with'} permessage-deflate, {args.batch} "
        "handshakes at a time on each process, group after group), so every message crosses processes through Redis. Each group's "
        "leader POSTs `/api/v1/groups/<gid>/messages` to A and B in turn. All clients are one "
        f"asyncio process{'' if args.no_uvloop else ' on uvloop'} (bench/delivery.py's "
        "`Members` and `Sender`). Two warm-up messages per group first, not counted. Then:",
        "",
        f"- *fixed*: each group {per_group} messages at {args.rate:g} msg/s "
        f"({args.rate * r['groups']:g} msg/s in all, the groups' sends spread evenly over each "
        "interval; a POST starts on time whether or not the previous one has answered);",
        f"- *full speed*: all {r['groups']} leaders at once, each {args.burst} messages back "
        "to back (each POST waits for its 201 answer before the next).",
        "",
        "Latency is from just before the POST to the moment a member's client has read the "
        "frame, over every member × message (nearest rank); *same / other* splits it by "
        "whether the member's socket is on the process that took the POST. Deliveries/s is "
        "all first receipts divided by the time from the first POST to the last receipt. "
        f"*Missing*: (member, message) pairs not received within {args.timeout:g} s of the "
        "last POST; *dup*: a message received twice by a member; *order*: a frame whose id was "
        "not above the last one that member had seen; *other group*: a frame delivered to a "
        "member of another group. RSS: psutil, every process sampled together every 100 ms "
        "(PostgreSQL: the postmaster and all its processes; their shared memory counts once "
        "in each). CPU: seconds used during the mode (PostgreSQL with its exited backends). "
        "PostgreSQL sessions and commits: `pg_stat_database` before and after the mode; "
        "processes: the most child processes of the postmaster in any sample (one per open "
        "connection, plus 5 of its own); Redis commands: `INFO stats` before and after.",
        "",
        "| mode | msgs | deliveries | p50 ms | p99 ms | max ms | deliveries/s | msgs/s "
        "| missing | dup | order | other group | POST errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in r["modes"]:
        lines.append(
            f"| {p['mode']} | {p['messages']:,} | {p['delivered']:,} | {f(p['p50_ms'])} "
            f"| {f(p['p99_ms'])} | {f(p['max_ms'], 0)} | {f(p['deliveries_per_s'], 0)} "
            f"| {f(p['messages_per_s'])} | {p['missing']} | {p['duplicates']} "
            f"| {p['out_of_order']} | {p['wrong_group']} | {p['post_errors']} |"
        )
    lines += [
        "",
        "| mode | p50 / p99 ms, same process | p50 / p99 ms, other process | POST p50 / p99 ms "
        "| sending took | last receipt | PostgreSQL sessions / commits / processes at most "
        "| Redis commands |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in r["modes"]:
        lines.append(
            f"| {p['mode']} | {f(p['same_p50_ms'])} / {f(p['same_p99_ms'])} "
            f"| {f(p['cross_p50_ms'])} / {f(p['cross_p99_ms'])} "
            f"| {f(p['post_p50_ms'])} / {f(p['post_p99_ms'])} | {p['send_seconds']:.1f} s "
            f"| {p['wall_seconds']:.1f} s | {p['pg_sessions']:,} / {p['pg_commits']:,} "
            f"/ {p['pg_procs_peak']} "
            f"| {p['redis_commands']:,} |"
        )
    lines += [
        "",
        "**CPU** during each mode, seconds (cores busy on average over the mode's time to the "
        "last receipt):",
        "",
        "| mode | " + " | ".join(PROCESSES) + " | clients | all |",
        "|---|" + "---:|" * (len(PROCESSES) + 2),
    ]
    for p in r["modes"]:
        wall = p["wall_seconds"]
        cells = [p["cpu_s"][n] for n in PROCESSES] + [p["client_cpu_s"]]
        cells.append(sum(cells))
        lines.append(
            f"| {p['mode']} | " + " | ".join(f"{c:.1f} ({c / wall:.2f})" for c in cells) + " |"
        )
    rows = [*SERVES, "serve A + B", "worker", "Tongzhou", "Redis", "PostgreSQL"]
    names = {"Tongzhou": "Tongzhou: A + B + worker", "PostgreSQL": "PostgreSQL (all processes)"}
    lines += [
        "",
        f"**Memory** (RSS) with {r['connected']:,} members connected: *started* = servers "
        "answering, nobody connected; *connected* = 2 s after the last handshake, idle; "
        "*peak* = highest sample during the mode (sums: the highest sum at one instant).",
        "",
        f"| process | started | {r['connected']:,} connected, idle | peak, {fixed['mode']} "
        "| peak, full speed |",
        "|---|---:|---:|---:|---:|",
    ]
    started = r["rss_started_mb"]
    for row in rows:
        bold = "**" if row in ("serve A + B", "Tongzhou") else ""
        lines.append(
            f"| {bold}{names.get(row, row)}{bold} | {mb(started[row])} "
            f"| {mb(r['rss_connected_mb'][row])} | {mb(fixed['peak_rss_mb'][row])} "
            f"| {mb(full['peak_rss_mb'][row])} |"
        )
    peak_sum = r["peak_rss_mb"]["Tongzhou"]
    peak_one = max(r["peak_rss_mb"][n] for n in SERVES)
    verdict = "met" if peak_sum <= GOAL_MB else "missed"
    lines += [
        "",
        f"Goal: server RSS ≤ {GOAL_MB} MB at 1,500 connected members (this run: "
        f"{r['connected']:,}). Compared with the sum of all Tongzhou processes (both servers "
        "and the worker: the single-process server runs the worker inside), at its highest "
        f"over the whole run: **{mb(peak_sum)}, {verdict}** "
        f"({mb(r['rss_connected_mb']['Tongzhou'])} connected and idle). The two servers "
        f"together peaked at {mb(r['peak_rss_mb']['serve A + B'])}; each alone at "
        f"{mb(r['peak_rss_mb'][SERVES[0]])} (A) and {mb(r['peak_rss_mb'][SERVES[1]])} (B), "
        f"{'within' if peak_one <= GOAL_MB else 'over'} the goal. Redis and PostgreSQL "
        "are not counted in the goal.",
        "",
        f"Connecting all {r['connected']:,} sockets took {r['connect_s']:.1f} s "
        f"({r['connected'] / max(r['connect_s'], 1e-9):.0f} handshakes/s; both processes at once, "
        f"{args.batch} handshakes at a time on each). Setting up the deployment (databases, migrate, users) took "
        f"{r['setup_s']:.0f} s.",
    ]
    problems = []
    if r["connect_failures"] or r["closed_early"] or r["warmup_missing"]:
        problems.append(
            f"- {r['connect_failures']} connections refused, {r['closed_early']} closed early, "
            f"{r['warmup_missing']} warm-up deliveries missing."
        )
    for name, count in r["log_problems"].items():
        if count:
            problems.append(f"- {name}: {count} log lines at WARNING or above, e.g.:")
            problems += [f"  `{line[:300]}`" for line in r["log_problem_samples"][name][:3]]
    for p in r["modes"]:
        if p["post_errors"]:
            problems.append(f"- {p['mode']}: {p['post_errors']} POST errors, e.g.:")
            problems += [f"  `{e[:300]}`" for e in p["post_error_samples"][:3]]
    lines += [
        "",
        "Problems seen during the run:"
        if problems
        else "No problems seen during "
        "the run: no connection refused or closed early, no log line at WARNING or "
        "above from the servers or the worker.",
    ]
    if problems:
        lines += ["", *problems]
    lines += ["", "NOTES_PLACEHOLDER", END_MARK]
    return "\n".join(lines) + "\n"


def write(path: Path, section: str) -> None:
    """Notes and the rest of the file are read just before writing: other benchmarks may
    have rewritten their sections while this one ran."""
    notes = delivery.old_notes(path, NOTES_NAME) or (
        f"<!-- {NOTES_NAME}-notes:start -->\n### Reading the figures (notes written by hand; "
        f"kept when the benchmark reruns)\n\n(none yet)\n<!-- {NOTES_NAME}-notes:end -->"
    )
    delivery.replace_section(
        path, section.replace("NOTES_PLACEHOLDER", notes.strip()), START_MARK, END_MARK
    )


def print_summary(r: dict[str, Any]) -> None:
    f = delivery.fmt
    print(
        f"  connected {r['connected']} in {r['connect_s']:.1f} s "
        f"({r['members_per_process'][0]} on A, {r['members_per_process'][1]} on B), "
        f"refused {r['connect_failures']}, closed early {r['closed_early']}, "
        f"warm-up missing {r['warmup_missing']}"
    )
    print(
        "  RSS connected: "
        + ", ".join(f"{k} {v:.0f}" for k, v in r["rss_connected_mb"].items())
        + " MB"
    )
    for p in r["modes"]:
        print(
            f"  {p['mode']:<26} p50 {f(p['p50_ms'])} ms  p99 {f(p['p99_ms'])} ms  max "
            f"{f(p['max_ms'], 0)} ms  {f(p['deliveries_per_s'], 0)} deliveries/s  "
            f"missing {p['missing']}  dup {p['duplicates']}  order {p['out_of_order']}  "
            f"other group {p['wrong_group']}  post errors {p['post_errors']}"
        )
        print(
            "    cpu s: "
            + ", ".join(f"{k} {v:.1f}" for k, v in p["cpu_s"].items())
            + f", clients {p['client_cpu_s']:.1f}; peak RSS MB: "
            + ", ".join(f"{k} {v:.0f}" for k, v in p["peak_rss_mb"].items())
        )
        print(
            f"    POST p50 {f(p['post_p50_ms'])} ms p99 {f(p['post_p99_ms'])} ms; PostgreSQL "
            f"sessions {p['pg_sessions']}, processes at most {p['pg_procs_peak']}"
        )
        print(
            "    by second sent (p50/p99 ms, PostgreSQL processes): "
            + ", ".join(
                f"{t['second']}: {t['p50_ms']:.0f}/{t['p99_ms']:.0f} {t['pg_procs']}"
                for t in p["timeline"]
            )
        )
        for line in p["post_error_samples"]:
            print(f"    {line}")
    for name, lines in r["log_problem_samples"].items():
        print(f"  {name} log: {r['log_problems'][name]} lines at WARNING or above")
        for line in lines:
            print(f"    {line}")
    for line in r["connect_failure_samples"] + r["closed_early_samples"]:
        print(f"    {line}")


def interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--members", type=int, default=150, help="per group, besides the leader")
    parser.add_argument("--rate", type=float, default=1.0, help="fixed mode, msg/s per group")
    parser.add_argument("--duration", type=float, default=15.0, help="fixed mode, s")
    parser.add_argument("--burst", type=int, default=100, help="full speed, messages per group")
    parser.add_argument("--batch", type=int, default=50, help="handshakes at a time")
    parser.add_argument("--timeout", type=float, default=60.0, help="wait for deliveries, s")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 groups × 50, short")
    parser.add_argument("--no-compression", action="store_true", help="no permessage-deflate")
    parser.add_argument("--no-uvloop", action="store_true", help="plain asyncio in the client")
    parser.add_argument("--keep", action="store_true", help="keep the logs and data directory")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument(
        "--out", help="default docs/performance.md ('-' with --quick); '-' to skip writing"
    )
    args = parser.parse_args()
    if args.quick:
        args.groups, args.members, args.duration, args.burst = 2, 50, 5.0, 20
    out = args.out or ("-" if args.quick else "docs/performance.md")
    # The servers are children and inherit the limit; clients and servers hold the sockets.
    delivery.raise_fd_limit(2 * args.groups * args.members + 2048)
    # A terminated run still stops PostgreSQL, Redis and the servers (run()'s finally).
    signal.signal(signal.SIGTERM, interrupted)

    args.load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    print(f"== {args.groups} groups × {args.members} members, 2 servers + worker", flush=True)
    result = run(args)
    runtime = time.perf_counter() - t0
    args.load_after = os.getloadavg()[0]
    if "modes" not in result:
        print("run failed; see above", file=sys.stderr)
        return 1
    print_summary(result)
    print(f"== total {runtime:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if out != "-":
        write(Path(out), render(result, args, runtime))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
