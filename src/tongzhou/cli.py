"""The `tongzhou` command: demo, migrate, serve, worker, import, backup, restore, manage."""

from __future__ import annotations

import argparse
import copy
import logging
import os
import sys
from typing import Any


class NoQueryString(logging.Filter):
    """Access log lines keep the path but not the query string: searches are health
    questions, and they have no place in a server log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = str(args[2]).split("?", 1)[0]
            record.args = tuple(args)
        return True


def _log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_query"] = {"()": "tongzhou.cli.NoQueryString"}
    config["handlers"]["access"]["filters"] = ["no_query"]
    return config


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongzhou.settings")
    import django

    django.setup()


def _migrate(verbosity: int = 0) -> None:
    from django.conf import settings
    from django.core.management import call_command

    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=verbosity)


def _serve(host: str, port: int) -> None:
    import uvicorn
    from django.conf import settings

    if settings.WORKER == "inside":
        from tongzhou.tasks import start_inside_worker

        start_inside_worker()

    uvicorn.run(
        "tongzhou.asgi:application",
        host=host,
        port=port,
        proxy_headers=True,
        ws_max_size=64 * 1024,  # the same limit the chat consumer enforces
        log_config=_log_config(),
        log_level=os.environ.get("TONGZHOU_LOG_LEVEL", "info").lower(),
    )


def _work(*, once: bool, status: bool) -> None:
    import json
    import signal
    import threading

    from tongzhou import tasks

    if status:
        print(json.dumps(tasks.queue_status(), indent=2))
        return
    if once:
        tasks.run_periodic()
        tasks.run_pending()
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())  # finish the task at hand, then stop
    print("Tongzhou worker running; Ctrl+C to stop.", flush=True)
    tasks.work(stop)


def _backup_or_restore(ns: argparse.Namespace) -> int:
    from pathlib import Path

    from tongzhou.backup import BackupError, backup, restore

    try:
        if ns.command == "backup":
            manifest = backup(Path(ns.path))
            print(
                f"Backed up {manifest['counts']['messages']} messages, "
                f"{manifest['counts']['accounts']} accounts and {manifest['media_files']} media "
                f"files to {ns.path}. Keep TONGZHOU_DATA_KEYS apart from it: it is needed to read it."
            )
        else:
            manifest = restore(Path(ns.path), force=ns.force)
            _migrate()  # a backup from an older version gets this version's schema
            print(
                f"Restored the backup of {manifest['created_at']} "
                f"({manifest['counts']['messages']} messages, {manifest['media_files']} media "
                "files). Start the servers with the same TONGZHOU_DATA_KEYS as when it was made."
            )
    except BackupError as e:
        print(f"tongzhou {ns.command}: {e}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tongzhou", description="Tongzhou (同舟) server")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("demo", "migrate, load demo content, serve, print the demo logins"),
        ("serve", "serve from environment settings"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
    sub.add_parser("migrate", help="apply database migrations")
    worker = sub.add_parser("worker", help="run background tasks (scale-out mode)")
    worker.add_argument("--once", action="store_true", help="run what is due, then exit")
    worker.add_argument(
        "--status", action="store_true", help="print the queue (counts, recent failures), then exit"
    )
    back = sub.add_parser("backup", help="snapshot the database and media into one file")
    back.add_argument(
        "path", help="the backup file to write, e.g. /backups/tongzhou-2026-11-24.tar"
    )
    rest = sub.add_parser("restore", help="replace the database and media with a backup's")
    rest.add_argument("path", help="a file written by `tongzhou backup`")
    rest.add_argument(
        "--force", action="store_true", help="replace a database that already holds accounts"
    )
    from tongzhou.imports import command as import_command

    import_command.add_parser(sub)
    manage = sub.add_parser("manage", help="any Django management command")
    manage.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)

    _setup()
    if ns.command == "migrate":
        _migrate(verbosity=1)
        return 0
    if ns.command == "manage":
        from django.core.management import execute_from_command_line

        execute_from_command_line(["tongzhou manage", *ns.args])
        return 0
    if ns.command == "demo":
        from tongzhou.demo import DEMO_PASSWORD, load_demo

        _migrate()
        logins = load_demo()
        url = f"http://{ns.host}:{ns.port}/"
        print(f"\nTongzhou demo is running at {url}\n")
        print(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, what in logins:
            print(f"  {username:<12} {what}")
        print("\nPress Ctrl+C to stop.\n", flush=True)
        _serve(ns.host, ns.port)
        return 0
    if ns.command == "import":
        return import_command.run(ns)
    if ns.command in ("backup", "restore"):
        return _backup_or_restore(ns)
    if ns.command == "worker":
        _work(once=ns.once, status=ns.status)
        return 0
    if ns.command == "serve":
        _serve(ns.host, ns.port)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
