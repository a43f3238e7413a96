"""`tongzhou backup` / `tongzhou restore` round trips: the restored server holds exactly what
the original held (every row of every table, every media file) and keeps working.

Each side is a separate data directory (and, on PostgreSQL, a separate database) driven
through the real command line, as an operator would.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import dj_database_url
import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
BASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = BASE_URL.startswith(("postgres://", "postgresql://"))

FILL = """
from tongzhou.demo import load_demo
from tongzhou import storage
from tongzhou.crypto import encrypt_bytes
load_demo()
print(storage.save(encrypt_bytes(b"a voice message")))
"""

SEND_AFTER_RESTORE = """
from tongzhou.accounts.models import User
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.models import Message
from tongzhou.groups.models import Membership
m = Membership.objects.select_related("user").order_by("pk").first()
newest = Message.objects.order_by("-pk").values_list("pk", flat=True).first()
message, created = do_send_message(m.user, m.group_id, client_id="after-restore", text="还在")
assert created and message["id"] > newest, (message["id"], newest)
print("ok")
"""


def run(
    env: dict[str, str], *args: str, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "tongzhou.cli", *args]
    if code:
        cmd[2] = "import django; django.setup()\n" + code
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def side_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TONGZHOU_", "DATABASE_URL"))}
    env.update(TONGZHOU_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="tongzhou.settings")
    env.pop("REDIS_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def content(env: dict[str, str]) -> tuple[list[dict[str, object]], dict[str, str]]:
    """Every row of every table, and every media file's hash."""
    rows = json.loads(ok(run(env, "manage", "dumpdata", "--indent", "0")))
    media = Path(env["TONGZHOU_DATA_DIR"]) / "media"
    files = {
        str(p.relative_to(media)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(media.rglob("*"))
        if p.is_file()
    }
    return rows, files


@pytest.fixture
def databases() -> Iterator[tuple[str | None, str | None]]:
    """Two empty databases (PostgreSQL pass) or none (SQLite files in the data dirs)."""
    if not ON_POSTGRES:
        yield None, None
        return
    config = dj_database_url.parse(BASE_URL)
    admin = f"postgresql://{config['USER']}@{config['HOST']}:{config['PORT']}/postgres"
    names = [f"tz_backup_{which}_{uuid.uuid4().hex[:8]}" for which in ("src", "dst")]
    with psycopg.connect(admin, autocommit=True) as c:
        for name in names:
            c.execute(f"CREATE DATABASE {name}")
    base = BASE_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            for name in names:
                c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_backup_and_restore_round_trip(
    tmp_path: Path, databases: tuple[str | None, str | None]
) -> None:
    source = side_env(tmp_path / "source", databases[0])
    target = side_env(tmp_path / "target", databases[1])
    ok(run(source, "migrate"))
    media_name = ok(run(source, code=FILL)).strip().splitlines()[-1]
    before = content(source)
    # The voice message, and the demo's chat export waiting for the leader to check names.
    assert len(before[0]) > 50 and len(before[1]) == 2

    archive = tmp_path / "backups" / "tongzhou.tar"
    said = ok(run(source, "backup", str(archive)))
    assert "Keep TONGZHOU_DATA_KEYS apart" in said
    # Health data: only the owner may read the file.
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert f"media/{media_name[:2]}/{media_name}" in names
    assert manifest["engine"] == ("postgresql" if ON_POSTGRES else "sqlite")
    assert manifest["media_files"] == 2 and manifest["counts"]["messages"] > 10

    said = ok(run(target, "restore", str(archive)))
    assert "Restored the backup" in said
    assert content(target) == before

    # Restoring over a database that holds accounts needs --force, and says why.
    refused = run(target, "restore", str(archive))
    assert refused.returncode == 1
    assert "already holds" in refused.stderr and "--force" in refused.stderr
    ok(run(target, "restore", "--force", str(archive)))
    assert content(target) == before

    # The restored server goes on: new ids continue after the restored ones.
    assert ok(run(target, code=SEND_AFTER_RESTORE)).strip().endswith("ok")


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    env = side_env(tmp_path / "x", None)
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"\xff\xd8 not a tar")
    done = run(env, "restore", str(junk))
    assert done.returncode == 1
    assert "is not a Tongzhou backup" in done.stderr
    assert not (tmp_path / "x" / "tongzhou.sqlite3").exists()  # nothing was touched
