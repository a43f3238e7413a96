"""Delivery benchmark: how fast does one group's message reach every connected member?

    python bench/delivery.py [--sizes 10,150,1000] [--out docs/performance.md]

For each size N it starts a real server (`tongzhou serve`, default settings: SQLite in a
fresh data directory, in-process fan-out), creates a sender and N members with API tokens
(bench/delivery_setup.py), connects the N members over WebSocket (live only, no `after=`)
and has the sender POST messages to /api/v1/groups/<gid>/messages:

  fixed rate   --rate messages per second for --duration seconds (POSTs may overlap)
  full speed   --burst messages back to back, each POST waiting for its answer

It reports send→deliver latency (just before the POST → receipt by each member, over all
members × messages), deliveries per second (all receipts / first send → last receipt),
missing, duplicate and out-of-order deliveries, and the server's peak RSS (sampled every
100 ms with psutil). The figures replace the section between the `delivery` markers in
--out, so other benchmarks can share the file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from websockets.asyncio.client import ClientConnection, connect

HERE = Path(__file__).resolve().parent
START_MARK = "<!-- delivery:start -->"
END_MARK = "<!-- delivery:end -->"
DOC_HEADER = """# Performance

Measured figures from the benchmarks in `bench/`. Each benchmark rewrites only its own
section (between its `<!-- name:start -->` / `<!-- name:end -->` markers); rerun it to
refresh the figures.
"""


# --------------------------------------------------------------------------- measurement


@dataclass
class Phase:
    """One sending mode at one size: what was sent, what each member received."""

    tag: str  # one letter, part of every message text: "bench <tag> <seq>"
    label: str
    members: int
    send_times: dict[int, float] = field(default_factory=dict)
    post_ok: set[int] = field(default_factory=set)
    post_latencies: list[float] = field(default_factory=list)
    post_errors: list[str] = field(default_factory=list)
    first_receipt: dict[tuple[int, int], float] = field(default_factory=dict)
    duplicates: int = 0
    out_of_order: int = 0
    unexpected: int = 0  # receipts of a message whose POST did not answer 201
    started: float = 0.0
    sends_done: float = 0.0
    ended: float = 0.0  # last first-receipt, or the time-out
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    peak_rss: int = 0

    def on_receipt(self, member: int, seq: int, now: float) -> None:
        key = (member, seq)
        if key in self.first_receipt:
            self.duplicates += 1
            return
        if seq not in self.send_times:
            self.unexpected += 1
            return
        self.first_receipt[key] = now

    def delivered_ok(self) -> int:
        return sum(1 for (_m, seq) in self.first_receipt if seq in self.post_ok)

    def results(self) -> dict[str, Any]:
        latencies = sorted(t - self.send_times[seq] for (_m, seq), t in self.first_receipt.items())
        expected = self.members * len(self.post_ok)
        delivered = self.delivered_ok()
        last = max(self.first_receipt.values(), default=self.started)
        wall = max(last - self.started, 1e-9)
        return {
            "mode": self.label,
            "members": self.members,
            "messages": len(self.send_times),
            "posts_ok": len(self.post_ok),
            "post_errors": len(self.post_errors),
            "post_error_samples": self.post_errors[:5],
            "expected": expected,
            "delivered": len(self.first_receipt),
            "missing": expected - delivered,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "unexpected": self.unexpected,
            "p50_ms": pct(latencies, 0.50) * 1000,
            "p99_ms": pct(latencies, 0.99) * 1000,
            "max_ms": (latencies[-1] if latencies else math.nan) * 1000,
            "post_p50_ms": pct(sorted(self.post_latencies), 0.50) * 1000,
            "post_p99_ms": pct(sorted(self.post_latencies), 0.99) * 1000,
            "send_seconds": self.sends_done - self.started,
            "wall_seconds": wall,
            "deliveries_per_s": len(self.first_receipt) / wall,
            "server_cpu_s": self.server_cpu,
            "client_cpu_s": self.client_cpu,
            "server_peak_rss_mb": self.peak_rss / 2**20,
        }


def pct(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


class RssSampler(threading.Thread):
    """Samples the server's resident set (with any children) every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.stop_event = threading.Event()

    def rss_now(self) -> int:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def cpu_seconds(self) -> float:
        with contextlib.suppress(psutil.Error):
            t = self.proc.cpu_times()
            return t.user + t.system
        return math.nan

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.samples.append((time.perf_counter(), self.rss_now()))
            except psutil.Error:
                return
            self.stop_event.wait(self.interval)

    def peak(self, since: float = 0.0, until: float = math.inf) -> int:
        return max((r for t, r in list(self.samples) if since <= t <= until), default=0)


# --------------------------------------------------------------------------- clients


class Members:
    """N WebSocket clients; each frame is routed to the phase named in the message text."""

    def __init__(self) -> None:
        self.phases: dict[str, Phase] = {}
        self.sockets: list[ClientConnection] = []
        self.readers: list[asyncio.Task[None]] = []
        self.last_id: list[int] = []
        self.connect_failures: list[str] = []
        self.closed_early: list[str] = []
        self.other_frames = 0
        self.stopping = False

    async def connect_all(
        self, url: str, tokens: list[str], batch: int, compression: str | None
    ) -> None:
        async def one(token: str) -> ClientConnection | None:
            try:
                return await connect(
                    url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    ping_interval=None,
                    open_timeout=60,
                    compression=compression,
                )
            except Exception as e:
                self.connect_failures.append(f"{type(e).__name__}: {e}")
                return None

        for i in range(0, len(tokens), batch):
            for ws in await asyncio.gather(*(one(t) for t in tokens[i : i + batch])):
                if ws is not None:
                    member = len(self.sockets)
                    self.sockets.append(ws)
                    self.last_id.append(0)
                    self.readers.append(asyncio.create_task(self.read(member, ws)))

    async def read(self, member: int, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                now = time.perf_counter()
                event = json.loads(raw)
                if event.get("type") != "message.new":
                    self.other_frames += 1
                    continue
                message = event["message"]
                parts = message.get("text", "").split()
                if len(parts) != 3 or parts[0] != "bench" or parts[1] not in self.phases:
                    self.other_frames += 1
                    continue
                phase = self.phases[parts[1]]
                if message["id"] <= self.last_id[member]:
                    phase.out_of_order += 1
                self.last_id[member] = max(self.last_id[member], message["id"])
                phase.on_receipt(member, int(parts[2]), now)
        except Exception as e:
            if not self.stopping:
                self.closed_early.append(f"member {member}: {type(e).__name__}: {e}")
        else:
            if not self.stopping:
                self.closed_early.append(f"member {member}: closed {ws.close_code}")

    async def close_all(self) -> None:
        self.stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True), 30
            )
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)


class Sender:
    def __init__(self, base: str, gid: int, token: str) -> None:
        self.url = f"{base}/api/v1/groups/{gid}/messages"
        self.client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
        )
        self.run_id = uuid.uuid4().hex[:8]

    async def post(self, phase: Phase, seq: int) -> None:
        body = {"client_id": f"{self.run_id}-{phase.tag}-{seq}", "text": f"bench {phase.tag} {seq}"}
        t0 = time.perf_counter()
        phase.send_times[seq] = t0
        try:
            r = await self.client.post(self.url, json=body)
        except httpx.HTTPError as e:
            phase.post_errors.append(f"{seq}: {type(e).__name__}: {e}")
            return
        phase.post_latencies.append(time.perf_counter() - t0)
        if r.status_code == 201:
            phase.post_ok.add(seq)
        else:
            phase.post_errors.append(f"{seq}: HTTP {r.status_code} {r.text[:200]}")

    async def aclose(self) -> None:
        await self.client.aclose()


async def wait_delivered(phase: Phase, timeout: float) -> None:
    """Until every member has every successfully sent message, or the time-out."""
    expected = phase.members * len(phase.post_ok)
    deadline = time.perf_counter() + timeout
    while phase.delivered_ok() < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    if phase.delivered_ok() < expected:
        phase.ended = time.perf_counter()
    else:
        phase.ended = max(phase.first_receipt.values(), default=time.perf_counter())


async def run_phase(
    phase: Phase,
    sender: Sender,
    sampler: RssSampler,
    timeout: float,
    *,
    rate: float | None,
    count: int,
) -> None:
    cpu0, ccpu0 = sampler.cpu_seconds(), time.process_time()
    phase.started = time.perf_counter()
    if rate is None:  # full speed: back to back, each POST waits for its answer
        for seq in range(count):
            await sender.post(phase, seq)
    else:  # fixed rate: start a POST every 1/rate seconds whether or not the last answered
        tasks = []
        for seq in range(count):
            delay = phase.started + seq / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(sender.post(phase, seq)))
        await asyncio.gather(*tasks)
    phase.sends_done = time.perf_counter()
    await wait_delivered(phase, timeout)
    phase.server_cpu = sampler.cpu_seconds() - cpu0
    phase.client_cpu = time.process_time() - ccpu0
    phase.peak_rss = sampler.peak(phase.started, time.perf_counter())


# --------------------------------------------------------------------------- one size


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tongzhou_cmd() -> list[str]:
    exe = shutil.which("tongzhou")
    return [exe] if exe else [sys.executable, "-m", "tongzhou.cli"]


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode} before answering")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/api/v1/openapi.json", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("server did not answer in time")


def prepare(n: int, prefix: str) -> tuple[Path, dict[str, str], dict[str, Any]]:
    """A fresh, migrated data directory with a group of N members (delivery_setup.py)."""
    work = Path(tempfile.mkdtemp(prefix=f"{prefix}-{n}-"))
    env = {
        **os.environ,
        "TONGZHOU_DATA_DIR": str(work / "data"),
        # Upper case: settings.py passes the value to logging as is, and "warning" fails there.
        "TONGZHOU_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "tongzhou.settings",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    subprocess.run([*tongzhou_cmd(), "migrate"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [sys.executable, str(HERE / "delivery_setup.py"), str(n)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return work, env, json.loads(out.strip().splitlines()[-1])


async def run_size(n: int, args: argparse.Namespace) -> dict[str, Any]:
    t_setup = time.perf_counter()
    work, env, setup = prepare(n, "tz-delivery")
    setup_s = time.perf_counter() - t_setup

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = work / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*tongzhou_cmd(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    members = Members()
    sender = Sender(base, setup["group"], setup["sender"])
    sampler = RssSampler(server.pid)
    result: dict[str, Any] = {"members": n, "setup_s": setup_s}
    try:
        wait_ready(base, server)
        sampler.start()
        time.sleep(0.3)
        result["rss_idle_mb"] = sampler.rss_now() / 2**20

        t0 = time.perf_counter()
        ws_url = f"ws://127.0.0.1:{port}/ws/groups/{setup['group']}/"
        await members.connect_all(
            ws_url, setup["receivers"], args.batch, None if args.no_compression else "deflate"
        )
        result["connect_s"] = time.perf_counter() - t0
        result["connected"] = len(members.sockets)
        result["connect_failures"] = len(members.connect_failures)
        result["connect_failure_samples"] = members.connect_failures[:5]
        await asyncio.sleep(0.5)
        result["rss_connected_mb"] = sampler.rss_now() / 2**20
        connected = len(members.sockets)

        # Warm-up: the first request pays for lazy imports and URL resolution; not counted.
        warm = Phase("w", "warm-up", connected)
        members.phases["w"] = warm
        await run_phase(warm, sender, sampler, args.timeout, rate=None, count=3)

        fixed = Phase("r", f"fixed {args.rate:g} msg/s", connected)
        members.phases["r"] = fixed
        count = round(args.rate * args.duration)
        await run_phase(fixed, sender, sampler, args.timeout, rate=args.rate, count=count)

        full = Phase("f", "full speed", connected)
        members.phases["f"] = full
        await run_phase(full, sender, sampler, args.timeout, rate=None, count=args.burst)

        await asyncio.sleep(1.0)  # let any late duplicate arrive before counting
        result["phases"] = [fixed.results(), full.results()]
        result["warmup_missing"] = warm.results()["missing"]
        result["closed_early"] = len(members.closed_early)
        result["closed_early_samples"] = members.closed_early[:5]
        result["other_frames"] = members.other_frames
        result["server_peak_rss_mb"] = sampler.peak() / 2**20
    finally:
        await members.close_all()
        await sender.aclose()
        sampler.stop_event.set()
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log_text = log_path.read_text(errors="replace")
        bad = [
            line
            for line in log_text.splitlines()
            if "ERROR" in line or "Traceback" in line or "CRITICAL" in line
        ]
        result["server_log_errors"] = len(bad)
        result["server_log_error_samples"] = bad[:10]
        if args.keep:
            result["work_dir"] = str(work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return result


# --------------------------------------------------------------------------- report


def machine() -> dict[str, str]:
    def cmd(*argv: str) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return ""

    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = next((ln for ln in cmd("free", "-h").splitlines() if ln.startswith("Mem:")), "")
    return {
        "cpus": cmd("nproc").strip() or str(os.cpu_count()),
        "cpu_model": model or platform.processor(),
        "memory": mem.split()[1] if mem else "?",
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def fmt(x: float, digits: int = 1) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def render(results: list[dict[str, Any]], args: argparse.Namespace, runtime_s: float) -> str:
    m = machine()
    lines = [
        START_MARK,
        "## Message delivery (`bench/delivery.py`)",
        "",
        f"Measured {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} with "
        f"`{' '.join(['python bench/delivery.py', *sys.argv[1:]])}` "
        f"(whole run {runtime_s:.0f} s).",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory']} memory, {m['os']}, "
        f"Python {m['python']}. The benchmark clients and the server share these "
        f"{m['cpus']} CPUs.",
        "",
        "**Method.** Each size gets a fresh data directory and a real server "
        "(`tongzhou serve`, default settings: SQLite in WAL mode, in-process fan-out, one "
        "uvicorn process with uvloop and httptools, `TONGZHOU_LOG_LEVEL=WARNING`). A sender "
        "(the group's leader) and N members are created directly in the database with API "
        "tokens; the N members connect to `/ws/groups/<gid>/` with a bearer token, without "
        f"`after=` (live only), {args.batch} connections at a time, "
        f"{'without' if args.no_compression else 'with'} permessage-deflate (as browsers "
        "negotiate). All N members are clients in one asyncio process"
        f"{' on uvloop' if not args.no_uvloop else ''}; the sender POSTs "
        "`/api/v1/groups/<gid>/messages` from the same process with httpx. Three warm-up "
        "messages are sent and delivered first and not counted. Then:",
        "",
        f"- *fixed*: {round(args.rate * args.duration)} messages at {args.rate:g} msg/s (a "
        "POST starts every "
        f"{1000 / args.rate:.0f} ms whether or not the previous one has answered);",
        f"- *full speed*: {args.burst} messages back to back, each POST waiting for its "
        "201 answer before the next.",
        "",
        "Latency is from just before the POST to the moment a member's client has read the "
        "frame, over every member × message (p50/p99 by nearest rank). Deliveries/s is "
        "all first receipts divided by the time from the first POST to the last receipt. "
        "*Missing* counts (member, message) pairs never received within "
        f"{args.timeout:g} s of the last POST; *dup* counts a message received twice by the "
        "same member; *order* counts frames whose id was not above the last id that member "
        "had seen. Server RSS is the peak of psutil samples every 100 ms during that mode.",
        "",
        "| members | mode | msgs | deliveries | p50 ms | p99 ms | max ms | deliveries/s "
        "| missing | dup | order | server peak RSS |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for p in r["phases"]:
            lines.append(
                f"| {r['members']:,} | {p['mode']} | {p['messages']} | {p['delivered']:,} "
                f"| {fmt(p['p50_ms'])} | {fmt(p['p99_ms'])} | {fmt(p['max_ms'], 0)} "
                f"| {fmt(p['deliveries_per_s'], 0)} | {p['missing']} | {p['duplicates']} "
                f"| {p['out_of_order']} | {fmt(p['server_peak_rss_mb'], 0)} MB |"
            )
    lines += [
        "",
        "Details per size (RSS idle = server just started; connected = after all sockets "
        "opened; CPU = seconds used during the mode by the server process / by the client "
        "process, and the server's divided by messages and by deliveries; POST = time for the "
        "sender's request to be answered):",
        "",
        "| members | connect all | RSS idle → connected | mode | POST p50 / p99 ms "
        "| send time | server CPU | per msg / per delivery | client CPU | POST errors | server log errors |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for p in r["phases"]:
            lines.append(
                f"| {r['members']:,} | {r['connect_s']:.1f} s "
                f"| {r['rss_idle_mb']:.0f} → {r['rss_connected_mb']:.0f} MB | {p['mode']} "
                f"| {fmt(p['post_p50_ms'])} / {fmt(p['post_p99_ms'])} "
                f"| {p['send_seconds']:.1f} s | {p['server_cpu_s']:.1f} s "
                f"| {p['server_cpu_s'] / max(p['messages'], 1) * 1e3:.1f} ms "
                f"/ {p['server_cpu_s'] / max(p['delivered'], 1) * 1e6:.0f} µs "
                f"| {p['client_cpu_s']:.1f} s | {p['post_errors']} | {r['server_log_errors']} |"
            )
    problems = []
    for r in results:
        if r["connect_failures"] or r["closed_early"] or r["warmup_missing"]:
            problems.append(
                f"- {r['members']} members: {r['connect_failures']} connections refused, "
                f"{r['closed_early']} closed early, {r['warmup_missing']} warm-up deliveries "
                "missing."
            )
    if problems:
        lines += ["", "Problems seen during the run:", "", *problems]
    lines += ["", "NOTES_PLACEHOLDER", END_MARK]
    return "\n".join(lines) + "\n"


def replace_section(path: Path, section: str, start: str, end: str) -> None:
    """Put `section` between its markers in the shared performance page (or append it)."""
    text = path.read_text() if path.exists() else DOC_HEADER
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _old, after = rest.split(end, 1)
        text = before + section.rstrip("\n") + after
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_section(path: Path, section: str, notes: str) -> None:
    section = section.replace("NOTES_PLACEHOLDER", notes.strip() if notes else "").replace(
        "\n\n\n", "\n\n"
    )
    replace_section(path, section, START_MARK, END_MARK)


def old_notes(path: Path, name: str = "delivery") -> str:
    """Keep the hand-written notes (between the `<name>-notes` markers) across reruns."""
    if not path.exists():
        return ""
    text = path.read_text()
    a, b = f"<!-- {name}-notes:start -->", f"<!-- {name}-notes:end -->"
    if a in text and b in text:
        return a + text.split(a, 1)[1].split(b, 1)[0] + b
    return ""


def raise_fd_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,150,1000", help="comma-separated member counts")
    parser.add_argument("--out", default="docs/performance.md", help="'-' to skip writing")
    parser.add_argument("--rate", type=float, default=5.0, help="fixed-rate mode, msg/s")
    parser.add_argument("--duration", type=float, default=10.0, help="fixed-rate mode, s")
    parser.add_argument("--burst", type=int, default=200, help="full-speed mode, messages")
    parser.add_argument("--batch", type=int, default=50, help="connections opened at a time")
    parser.add_argument("--timeout", type=float, default=60.0, help="wait for deliveries, s")
    parser.add_argument("--no-compression", action="store_true", help="no permessage-deflate")
    parser.add_argument("--no-uvloop", action="store_true", help="plain asyncio in the client")
    parser.add_argument("--keep", action="store_true", help="keep data dirs and server logs")
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    # The server is a child process with the same limit: members' sockets on both sides.
    raise_fd_limit(2 * max(sizes) + 1024)

    runner: Any = asyncio.run
    if not args.no_uvloop:
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            args.no_uvloop = True

    t0 = time.perf_counter()
    results = []
    for n in sizes:
        print(f"== {n} members", flush=True)
        r = runner(run_size(n, args))
        results.append(r)
        for p in r["phases"]:
            print(
                f"  {p['mode']:<14} p50 {fmt(p['p50_ms'])} ms  p99 {fmt(p['p99_ms'])} ms  "
                f"{fmt(p['deliveries_per_s'], 0)} deliveries/s  missing {p['missing']}  "
                f"dup {p['duplicates']}  order {p['out_of_order']}  "
                f"rss {fmt(p['server_peak_rss_mb'], 0)} MB  post errors {p['post_errors']}",
                flush=True,
            )
        print(
            f"  connect {r['connect_s']:.1f} s, connected {r['connected']}/{n}, "
            f"closed early {r['closed_early']}, server log errors {r['server_log_errors']}",
            flush=True,
        )
        for line in r["server_log_error_samples"] + r["connect_failure_samples"]:
            print(f"    {line}", flush=True)
    runtime = time.perf_counter() - t0
    print(f"== total {runtime:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if args.out != "-":
        out = Path(args.out)
        write_section(out, render(results, args, runtime), old_notes(out))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
