"""`tongzhou import FILE --group G`: the same steps as the upload page, in a terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("import", help="import a WhatsApp, Telegram or WeChat chat export")
    p.add_argument(
        "file", help="the export: WhatsApp .txt, Telegram result.json, WeChat csv/txt/html"
    )
    p.add_argument("--group", type=int, required=True, help="the group's number (its page's URL)")
    p.add_argument("--format", default="auto", choices=("auto", "whatsapp", "telegram", "wechat"))
    p.add_argument(
        "--timezone", default="", help="the zone the export's times are in (default: the server's)"
    )
    p.add_argument(
        "--name",
        action="append",
        default=[],
        metavar="IN_FILE=SHOWN",
        help="show a sender under another name (repeat for each); default: the name in the file",
    )
    p.add_argument(
        "--chat", default="", help="Telegram whole-account export: the chat's name or id"
    )
    p.add_argument(
        "--date-order",
        default="",
        choices=("", "dmy", "mdy", "ymd"),
        help="WhatsApp: day/month/year order, when the file's dates cannot tell",
    )
    p.add_argument("--dry-run", action="store_true", help="read and report; import nothing")


class Bar:
    """A progress bar on a terminal; one line per step otherwise (logs, CI)."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.tty, self.last = out, out.isatty(), -1

    def __call__(self, fraction: float) -> None:
        pct = int(fraction * 100)
        if pct == self.last:
            return
        self.last = pct
        if self.tty:
            filled = pct * 30 // 100
            self.out.write(f"\r[{'#' * filled}{' ' * (30 - filled)}] {pct:3d}%")
            if pct == 100:
                self.out.write("\n")
        elif pct in (0, 10, 30, 80, 100):
            self.out.write(f"{pct}%\n")
        self.out.flush()


def run(ns: argparse.Namespace) -> int:
    from django.utils.translation import gettext as _

    from tongzhou.errors import UserError
    from tongzhou.groups.models import Group, Membership
    from tongzhou.imports import actions
    from tongzhou.imports.models import ImportJob
    from tongzhou.imports.records import FormatError

    path = Path(ns.file)
    try:
        data = path.read_bytes()
    except OSError as e:
        print(f"{path}: {e.strerror}", file=sys.stderr)
        return 1
    group = Group.objects.filter(pk=ns.group).first()
    if group is None:
        print(f"There is no group {ns.group}.", file=sys.stderr)
        return 1
    names = {}
    for pair in ns.name:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            print(f"--name {pair!r}: write it as NAME_IN_FILE=NAME_SHOWN", file=sys.stderr)
            return 2
        names[old.strip()] = new.strip()
    try:
        zone = actions.check_zone(ns.timezone)
    except UserError as e:
        print(f"--timezone {ns.timezone!r}: {e.message}", file=sys.stderr)
        return 2
    leader = (
        Membership.objects.filter(group=group, role=Membership.GroupRole.LEADER)
        .values_list("user", flat=True)
        .first()
    )
    job = ImportJob(
        group=group,
        created_by_id=leader,
        filename=path.name[-200:],
        size=len(data),
        requested_format=ns.format,
        zone=zone,
        options={"chat": ns.chat[:200], "date_order": ns.date_order},
        status=ImportJob.Status.READING,
    )
    from tongzhou import storage

    job.file = storage.save(data)
    job.save()
    parsed = actions.read_job(job)
    if job.status == ImportJob.Status.FAILED:
        print(job.error, file=sys.stderr)
        return 1
    s = job.summary
    print(
        _(
            "%(file)s: %(format)s (%(variant)s), %(messages)d messages from %(people)d people, "
            "%(system)d system lines, %(first)s to %(last)s"
        )
        % {
            "file": job.filename,
            "format": job.format,
            "variant": job.variant,
            "messages": s["messages"],
            "people": s["people_total"],
            "system": s["system"],
            "first": (s["first"] or "")[:10],
            "last": (s["last"] or "")[:10],
        }
    )
    for p in s["problems"]:
        print(
            "  " + _("line %(line)d: %(problem)s") % {"line": p["line"], "problem": _(p["message"])}
        )
    if s["problems_total"] > len(s["problems"]):
        print("  " + _("… and %(n)d more lines") % {"n": s["problems_total"] - len(s["problems"])})
    unknown = sorted(set(names) - {p["name"] for p in s["people"]})
    if unknown:
        print(f"--name: nobody called {', '.join(unknown)} in this file", file=sys.stderr)
        return 2
    if ns.dry_run:
        actions.do_discard_quiet(job)
        return 0
    job.pseudonyms = names
    job.status = ImportJob.Status.IMPORTING
    job.save(update_fields=["pseudonyms", "status"])
    try:
        result = actions.import_now(job, Bar(sys.stderr), parsed)
    except FormatError:
        print(job.error, file=sys.stderr)
        return 1
    print(
        _(
            "Added %(added)d messages (%(skipped)d were already here), %(events)d system lines, "
            "%(people)d new people; %(candidates)d answered questions and %(terms)d words "
            "wait for the moderators' review."
        )
        % {
            "added": result["added"],
            "skipped": result["skipped"],
            "events": result["events"],
            "people": result["people_new"],
            "candidates": result["candidates"],
            "terms": result["terms"],
        }
    )
    return 0
