"""`tongzhou backup` and `tongzhou restore`: a consistent snapshot of the database (SQLite's
online backup or pg_dump) and then the media files, in one tar file readable only by its owner.

Neither holds the data key (TONGZHOU_DATA_KEYS): keep it apart from the backups, as a backup
without its key cannot be read, by a thief or by you.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from tongzhou import __version__

FORMAT = 1
DB_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


class BackupError(Exception):
    """A refusal to show the operator as it is (the command line is English-only)."""


def _engine() -> str:
    vendor = connections["default"].vendor
    if vendor not in DB_MEMBER:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {vendor}.")
    return vendor


def _pg_tool(name: str) -> str:
    """The newest installed PostgreSQL client tool (pg_dump must not be older than the server)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3])
    )
    if found:
        return str(found[-1])
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise BackupError(
        f"{name} was not found: install the PostgreSQL client (Debian: postgresql-client)."
    )


def _pg_env() -> dict[str, str]:
    """Connection settings for pg_dump / pg_restore through the environment, so that no
    password appears on a command line (visible to every user of the machine)."""
    db: dict[str, Any] = dict(settings.DATABASES["default"])
    env = dict(os.environ)
    for key, var in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
        ("NAME", "PGDATABASE"),
    ):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = db["OPTIONS"]["sslmode"]
    return env


def _run(args: list[str], env: dict[str, str]) -> None:
    # pg_dump and pg_restore, with an argument list (never a shell)
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # nosec B603
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-2000:]}")


def _sqlite_copy(source: str, target: str) -> None:
    """SQLite's online backup: a consistent copy while the server keeps writing."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def _counts() -> dict[str, int]:
    from tongzhou.accounts.models import User
    from tongzhou.chat.models import Message
    from tongzhou.groups.models import Group

    return {
        "accounts": User.objects.count(),
        "groups": Group.objects.count(),
        "messages": Message.objects.count(),
    }


def _media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def backup(path: Path) -> dict[str, Any]:
    """Write the snapshot to `path` (a .tar file, created with mode 0600). The database is
    copied first and the media after it, so every file a backed-up row names is there (a
    newer file is harmless)."""
    engine = _engine()
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".tongzhou-backup-") as tmp:
        db_file = Path(tmp) / DB_MEMBER[engine]
        if engine == "sqlite":
            _sqlite_copy(str(settings.DATABASES["default"]["NAME"]), str(db_file))
        else:
            _run(
                [
                    _pg_tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--file={db_file}",
                ],
                _pg_env(),
            )
        media = _media_files()
        manifest = {
            "format": FORMAT,
            "engine": engine,
            "tongzhou": __version__,
            "created_at": timezone.now().isoformat(),
            "counts": _counts(),
            "media_files": len(media),
        }
        partial = Path(tmp) / "backup.tar"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            info.mode = 0o600
            tar.addfile(info, fileobj=_bytes(data))
            tar.add(db_file, arcname=db_file.name)
            root = Path(settings.MEDIA_ROOT)
            for file in media:
                try:
                    tar.add(file, arcname=f"media/{file.relative_to(root)}")
                except FileNotFoundError:  # deleted since the listing (an erasure): fine
                    continue
        os.replace(partial, path)  # never a half-written backup under the real name
    return manifest


def _bytes(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        with tarfile.open(path) as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            manifest: dict[str, Any] = json.load(member)
    except (OSError, tarfile.TarError, KeyError, ValueError) as e:
        raise BackupError(f"{path} is not a Tongzhou backup ({type(e).__name__}: {e}).") from e
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"{path} has backup format {manifest.get('format')}; this version reads {FORMAT}."
        )
    return manifest


def _holds_data() -> int:
    """Accounts in the current database (0 when it is new or not even migrated)."""
    from tongzhou.accounts.models import User

    try:
        return User.objects.count()
    except DatabaseError:
        return 0


def restore(path: Path, *, force: bool = False) -> dict[str, Any]:
    """Replace this server's database and media with the backup's. Stop every server and
    worker process first. Refuses to overwrite a database holding accounts without `force`."""
    engine = _engine()
    manifest = read_manifest(path)
    if manifest["engine"] != engine:
        raise BackupError(
            f"This backup is of a {manifest['engine']} database but this server is set up for "
            f"{engine}. Restore it with the same kind of database (see docs/deploy.md)."
        )
    existing = _holds_data()
    if existing and not force:
        raise BackupError(
            f"The database already holds {existing} account(s). Restoring replaces everything: "
            "stop every Tongzhou process, then run again with --force."
        )
    connections.close_all()
    media_root = Path(settings.MEDIA_ROOT)
    media_root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=media_root.parent, prefix=".tongzhou-restore-") as tmp:
        with tarfile.open(path) as tar:
            tar.extractall(tmp, filter="data")  # no absolute paths, links or ../ escapes
        db_file = Path(tmp) / DB_MEMBER[engine]
        if engine == "sqlite":
            _sqlite_copy(str(db_file), str(settings.DATABASES["default"]["NAME"]))
        else:
            _run(
                [
                    _pg_tool("pg_restore"),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    f"--dbname={_pg_env().get('PGDATABASE', '')}",
                    str(db_file),
                ],
                _pg_env(),
            )
        restored_media = Path(tmp) / "media"
        restored_media.mkdir(exist_ok=True)
        old = Path(tmp) / "media.before"
        if media_root.exists():
            media_root.rename(old)
        restored_media.rename(media_root)
    connections.close_all()
    return manifest
