"""A scale-out Tongzhou on this machine for fault tests: its own PostgreSQL and Redis, several
`tongzhou serve` processes and a `tongzhou worker`, each a real process on a free port, and
the means to break them (kill -9, restarts). Nothing is mocked.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = (
    Path(
        sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))[-1]
    ).parent
    if Path("/usr/lib/postgresql").exists()
    else None
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def available() -> str | None:
    """Why a cluster cannot run here, or None."""
    if PG_BIN is None or not (PG_BIN / "initdb").exists():
        return "PostgreSQL is not installed"
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    return None


class Cluster:
    def __init__(self, root: Path, servers: int = 2) -> None:
        self.root = root
        self.pg_dir = root / "pg"
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.ports = [free_port() for _ in range(servers)]
        self.servers: list[subprocess.Popen[bytes] | None] = [None] * servers
        self.worker: subprocess.Popen[bytes] | None = None
        self.redis: subprocess.Popen[bytes] | None = None
        self.database = "tongzhou"

    # ------------------------------------------------------------------ set-up

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TONGZHOU_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))
        }
        env.update(
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{self.pg_port}/{self.database}",
            REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            TONGZHOU_DATA_DIR=str(self.root / "data"),
            TONGZHOU_WORKER="external",
            TONGZHOU_LOG_LEVEL="WARNING",
            # 150 members sending thousands of messages in a minute are a test, not abuse.
            TONGZHOU_RATE_LIMITS="send_minute=1000000/60,send_hour=1000000/3600",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def _as_postgres(self, *args: str) -> None:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(cmd)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.pg_dir.mkdir()
        (self.root / "data").mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.pg_dir, "postgres")
        self._as_postgres(
            "initdb", "-D", str(self.pg_dir), "-A", "trust", "-U", "postgres", "-E", "UTF8"
        )
        self.start_postgres()
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as c:
            c.execute(f"CREATE DATABASE {self.database}")
        self.start_redis()
        self.manage("migrate")

    def dsn(self, database: str | None = None) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/{database or self.database}"

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "tongzhou.cli", *args],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def setup_group(self, members: int) -> dict[str, Any]:
        """A group of `members` (its leader included) with an API token each."""
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "delivery_setup.py"), str(members - 1)],
            env={**self.env(), "DJANGO_SETTINGS_MODULE": "tongzhou.settings"},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        data = json.loads(done.stdout)
        return {"group": data["group"], "tokens": [data["sender"], *data["receivers"]]}

    # ------------------------------------------------------------------ processes

    def start_postgres(self) -> None:
        self._as_postgres(
            "pg_ctl",
            "-D",
            str(self.pg_dir),
            "-l",
            str(self.pg_dir / "log"),
            "-w",
            "-o",
            f"'-p {self.pg_port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=300'",
            "start",
        )

    def stop_postgres(self, mode: str = "fast") -> None:
        self._as_postgres("pg_ctl", "-D", str(self.pg_dir), "-m", mode, "-w", "stop")

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.redis_port)

    def stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.kill()  # as a crash would: no goodbye to the subscribers
            self.redis.wait()
            self.redis = None

    def start_server(self, i: int) -> None:
        log = open(self.root / f"server{i}.log", "ab")
        self.servers[i] = subprocess.Popen(
            [sys.executable, "-m", "tongzhou.cli", "serve", "--port", str(self.ports[i])],
            env=self.env(),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready(i)

    def kill_server(self, i: int) -> None:
        proc = self.servers[i]
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.servers[i] = None

    def start_worker(self) -> None:
        log = open(self.root / "worker.log", "ab")
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "tongzhou.cli", "worker"],
            env=self.env(),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def wait_ready(self, i: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.servers[i]
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"server {i} exited:\n{self.log_tail(i)}")
            try:
                if httpx.get(f"{self.url(i)}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server {i} not ready:\n{self.log_tail(i)}")

    def log_tail(self, i: int | str, chars: int = 4000) -> str:
        name = f"server{i}.log" if isinstance(i, int) else i
        path = self.root / name
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def errors_in_logs(self) -> list[str]:
        """Tracebacks and ERROR lines from every server and the worker."""
        found = []
        for path in self.root.glob("*.log"):
            if path.name == "log":
                continue
            for line in path.read_text(errors="replace").splitlines():
                if " ERROR " in line or line.startswith("Traceback"):
                    found.append(f"{path.name}: {line}")
        return found

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn()) as c:
            return c.execute(query, params).fetchall()  # type: ignore[arg-type]

    def stop(self) -> None:
        for i, proc in enumerate(self.servers):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                self.servers[i] = None
        if self.worker is not None:
            self.worker.terminate()
            try:
                self.worker.wait(10)
            except subprocess.TimeoutExpired:
                self.worker.kill()
        self.stop_redis()
        if (self.pg_dir / "postmaster.pid").exists():
            try:
                self.stop_postgres("immediate")
            except subprocess.CalledProcessError:
                pass


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")
