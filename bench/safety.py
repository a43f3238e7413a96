"""Safety benchmark: the time all safety checks add to a send (p50/p99), at 150 and 1,000
members; the goal is p99 under 5 ms.

    python bench/safety.py [--sizes 150,1000] [--iterations 2000] [--sends 500]
                           [--dbs sqlite,postgres] [--pg-url URL] [--out docs/performance.md]

Every send runs, in `chat.actions.do_send_message`: `check_may_send` (mute, and the minute
and hour rate limits counted from the sender's Message rows), `safety.checks.
check_personal_data` (regexes; a 422 the sender may override), then inside the send's
transaction, after the group's row lock, `safety.checks.check_message` (spam signals, the
same text sent to another group within a day as a query, crisis phrases, the group's
active claims and their patterns) and, when something was found, `record` (reports and
alerts to the moderators). The benchmark calls whatever these functions are now: the
figures are of the code at the commit it names.

Each (database, size) is measured in its own process (settings read DATABASE_URL once, at
Django setup): this script re-invokes itself with `--db sqlite` (the embedded default: a
fresh data directory, the settings' pragmas) and `--db postgres` (a fresh database created
on the server at --pg-url and dropped afterwards; skipped, and said so, when no server
answers there). Every child process:

1. Building: group A with N members (`groups.actions.do_create_group`, so the 7 seeded
   claims; 1 % moderators, 3 % joined in the last two days, so "new member" applies) and
   a second group B holding a third of A's members and 40 of its own. History: max(5,000,
   20 × N) generated chat messages in A (bench/search.py's writer: ~60 % Chinese) and 30 %
   as many in B, from members weighted by a Zipf law (some members write far more than
   others), 60 % spread over the last 30 days and 40 % over the last 24 hours (none in the
   last 10 minutes, so no one is near the minute limit). Half of the spam texts in the
   sample below were already sent to B by their sender in the last day, so the duplicate
   query finds them.
2. The sample: --iterations messages in a fixed mix (`MIX`): generated chat; honest
   messages from tests/data/{spam,crisis,misinformation}.tsv that look like spam, crisis
   or claims (label `ok`); spam from spam.tsv (WeChat and QQ ids, links, phone numbers,
   selling); personal data (phone numbers, ID and bank card numbers, addresses, written
   here); crisis from crisis.tsv; quack claims from misinformation.tsv; and long pasted
   texts (1,000 to 4,000 characters). Senders drawn by the same Zipf weights.
3. Timing (`time.perf_counter_ns`, the sender's membership read untimed before each, as
   do_send_message does through `access_group`): `check_may_send` + `check_personal_data`
   (its UserError caught: every sample runs all three checks, the upper bound for one send)
   + `check_message` inside `transaction.atomic()` after the group's `select_for_update`
   (the lock not counted). The sample once untimed, then once timed. Then one pass timing
   each part alone (the rate limits, each detector, the duplicate and claims look-ups,
   `fold` past its cache), SQL statements per send counted, each detector's patterns over
   the long texts, and a cProfile pass (shares, not times: the profiler slows Python more
   than C).
4. `record` alone, for the samples where something was found (spam, claims, crisis), in a
   transaction rolled back afterwards (so the alerts' on-commit push is not in it).
5. For context: --sends full `do_send_message` calls (after 20 untimed), senders taken in
   turn (so none reaches the rate limit), personal data sent with
   `confirm_personal_data=True` (the "send anyway" a refused send is followed by). These
   are committed (the link previews queued, not fetched).

The parent collects the results and replaces the section between the `safety` markers in
--out (hand-written notes between the `safety-notes` markers are kept).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import json
import math
import os
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import delivery  # noqa: E402  (machine facts, percentiles and the section writer)
import questions as qbench  # noqa: E402  (users and groups)
import search as sbench  # noqa: E402  (chat texts, Django set-up)

START_MARK = "<!-- safety:start -->"
END_MARK = "<!-- safety:end -->"
GOAL_MS = 5.0
DEFAULT_PG = "postgres://postgres@127.0.0.1:55432/postgres"
DB_LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
DATA = HERE.parent / "tests" / "data"

# The mix of the sample, in shares: mostly ordinary talk, with the rarer kinds well
# represented (in a real group they are rarer still) so that each has enough samples.
MIX = {
    "chat": 0.70,
    "honest look-alike": 0.10,
    "spam": 0.06,
    "personal data": 0.04,
    "crisis": 0.04,
    "quack claim": 0.04,
    "long (1–4k chars)": 0.02,
}
NEW_MEMBER_SHARE = 0.03
SHARED_SHARE = 1 / 3
DUPLICATE_SHARE = 0.5  # of spam samples from a member also in B: a copy already sent there

# fmt: off
PERSONAL_ZH = [
    "我电话{mobile}，明天到了医院门口打给我", "我的手机是 {mobile_spaced}，有事直接打",
    "老公的电话{mobile_cn}，有事找他", "我住{city_zh}天河区天河路{n}号，有需要的可以来拿药",
    "快递寄到越秀区东风中路{n}号{n2}栋{n3}单元502室就行", "身份证号{id}，谁帮我在网上挂个号？",
    "我的卡号{card}，谁方便帮我先垫一下医药费", "住院押金要交，我妈的身份证{id}，银行卡{card}",
    "{mobile}是我新号码，旧的不用了", "放疗科护士站电话020-87343{n4}，我打不通的时候打这个",
    "东风小区{n2}栋{n3}单元401，我们楼下就有药店",
]
PERSONAL_EN = [
    "Call me on +44 7700 900{n3}{n3} if you need a lift to the hospital",
    "My number is +852 9123 {n4}, text me anytime", "I'm at {n} Station Road if anyone wants the spare wigs",
    "Send it to Flat {n3}, {n} Green Lane, I'm home all week",
    "My card is {card_spaced}, could someone check if the pharmacy charged me twice?",
    "You can reach my husband on +61 412 345 {n3}{n3}{n3}",
]
# fmt: on


# --------------------------------------------------------------------------- texts


def read_tsv(name: str) -> list[tuple[str, str]]:
    """(label, text) rows of a tests/data file (the text is the last column)."""
    rows = []
    for line in (DATA / name).read_text().splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) >= 3 and cols[-1].strip():
            rows.append((cols[0], cols[-1]))
    return rows


def id_number(rng: random.Random) -> str:
    """A valid Chinese resident ID number (GB 11643 check character)."""
    from tongzhou.safety.pii import _CHECK, _WEIGHTS

    birth = f"{rng.randint(1940, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = f"44010{rng.randint(0, 9)}{birth}{rng.randint(100, 999)}"
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + _CHECK[total % 11].upper()


def card_number(rng: random.Random) -> str:
    """A 19-digit bank card number passing the Luhn check."""
    from tongzhou.safety.pii import luhn

    body = "622202" + "".join(str(rng.randint(0, 9)) for _ in range(12))
    return next(body + str(d) for d in range(10) if luhn(body + str(d)))


def personal_text(rng: random.Random) -> str:
    mobile = f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
    card = card_number(rng)
    slots = {
        "mobile": mobile,
        "mobile_spaced": f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}",
        "mobile_cn": mobile.translate(str.maketrans("0123456789", "零一二三四五六七八九")),
        "city_zh": rng.choice(["广州市", "深圳市", "长沙市"]),
        "n": str(rng.randint(1, 400)),
        "n2": str(rng.randint(1, 30)),
        "n3": str(rng.randint(1, 9)),
        "n4": str(rng.randint(1000, 9999)),
        "id": id_number(rng),
        "card": card,
        "card_spaced": " ".join(card[i : i + 4] for i in range(0, len(card), 4)),
    }
    template = rng.choice(PERSONAL_ZH if rng.random() < 0.6 else PERSONAL_EN)
    return template.format(**slots)


def long_text(writer: sbench.ChatWriter, rng: random.Random) -> str:
    """A pasted article or a long story: chat sentences joined up to 1,000–4,000 chars."""
    want = rng.randint(1000, 4000)
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < want:
        parts.append(writer.message()[0])
    return "\n".join(parts)[:want]


def zipf(n: int, rng: random.Random, s: float = 0.9) -> list[float]:
    w = [1 / (i + 1) ** s for i in range(n)]
    rng.shuffle(w)
    return w


def make_samples(
    n: int, seed: int, world: dict[str, Any], sender_rng: random.Random
) -> list[dict[str, Any]]:
    """The timed messages: (category, text, sender) in a shuffled order. The texts and their
    order depend on the seed alone, so every size times the same texts."""
    rng = random.Random(seed)
    writer = sbench.ChatWriter(seed)
    spam = read_tsv("spam.tsv")
    crisis = read_tsv("crisis.tsv")
    misinfo = read_tsv("misinformation.tsv")
    pools = {
        "honest look-alike": [t for lab, t in spam + crisis + misinfo if lab == "ok"],
        "spam": [t for lab, t in spam if lab == "spam"],
        "crisis": [t for lab, t in crisis if lab == "crisis"],
        "quack claim": [t for lab, t in misinfo if lab != "ok"],
    }
    counts = {c: round(share * n) for c, share in MIX.items()}
    counts["chat"] += n - sum(counts.values())
    members, weights, shared = world["members_a"], world["weights_a"], set(world["shared"])
    out = []
    for cat, k in counts.items():
        for _ in range(k):
            if cat == "chat":
                text = writer.message()[0]
            elif cat == "personal data":
                text = personal_text(rng)
            elif cat.startswith("long"):
                text = long_text(writer, rng)
            else:
                text = rng.choice(pools[cat])
            sender = sender_rng.choices(members, weights)[0]
            duplicate = False
            if cat == "spam" and len(text) >= 12 and sender_rng.random() < DUPLICATE_SHARE:
                sender = sender_rng.choice(world["shared"])
                duplicate = True
            out.append(
                {
                    "cat": cat,
                    "text": text,
                    "sender": sender,
                    "shared": sender in shared,
                    "dup": duplicate,
                }
            )
    order = list(range(len(out)))
    rng.shuffle(order)
    return [out[i] for i in order]


# --------------------------------------------------------------------------- building


def build_world(size: int, rng: random.Random) -> dict[str, Any]:
    from django.utils import timezone

    from tongzhou.groups.models import Membership

    members_a = qbench.make_users(f"a{size}m", size)
    gid_a = qbench.make_group(f"Safety group {size}", members_a, rng)
    now = timezone.now()
    new = rng.sample(members_a[1:], k=max(1, round(NEW_MEMBER_SHARE * size)))
    Membership.objects.filter(group_id=gid_a, user_id__in=new).update(
        joined_at=now - dt.timedelta(hours=20)
    )
    shared = rng.sample(members_a[1:], k=round(SHARED_SHARE * size))
    own_b = qbench.make_users(f"b{size}m", 40)
    gid_b = qbench.make_group(f"Second group {size}", own_b, rng)
    Membership.objects.bulk_create(
        [
            Membership(
                group_id=gid_b, user_id=u, joined_at=now - dt.timedelta(days=rng.randint(4, 900))
            )
            for u in shared
        ]
    )
    return {
        "gid_a": gid_a,
        "gid_b": gid_b,
        "members_a": members_a,
        "weights_a": zipf(len(members_a), rng),
        "shared": shared,
        "own_b": own_b,
        "new_members": len(new),
    }


def build_history(
    world: dict[str, Any],
    n_a: int,
    samples: list[dict[str, Any]],
    writer: sbench.ChatWriter,
    rng: random.Random,
) -> dict[str, Any]:
    from django.db import transaction
    from django.utils import timezone

    from tongzhou.chat.models import Message

    now = timezone.now()

    def when() -> dt.datetime:
        if rng.random() < 0.6:
            return now - dt.timedelta(days=30 * rng.random(), minutes=10)
        return now - dt.timedelta(minutes=10) - dt.timedelta(hours=23.8 * rng.random())

    weight_of = dict(zip(world["members_a"], world["weights_a"], strict=True))
    senders_b = world["shared"] + world["own_b"]
    weights_b = [weight_of.get(u, 0.05) for u in senders_b]
    rows: list[tuple[dt.datetime, int, int, str]] = []
    for _ in range(n_a):
        sender = rng.choices(world["members_a"], world["weights_a"])[0]
        rows.append((when(), world["gid_a"], sender, writer.message()[0]))
    n_b = round(0.3 * n_a)
    for _ in range(n_b):
        rows.append(
            (when(), world["gid_b"], rng.choices(senders_b, weights_b)[0], writer.message()[0])
        )
    copies = 0
    for s in samples:
        if s["dup"]:
            rows.append(
                (
                    now - dt.timedelta(hours=rng.uniform(1, 20)),
                    world["gid_b"],
                    s["sender"],
                    s["text"],
                )
            )
            copies += 1
    rows.sort()
    t0 = time.perf_counter()
    with transaction.atomic():
        Message.objects.bulk_create(
            [
                Message(group_id=g, sender_id=u, client_id=f"h{i}", text=text, created_at=at)
                for i, (at, g, u, text) in enumerate(rows)
            ],
            batch_size=2000,
        )
    day = now - dt.timedelta(hours=24)
    per_sender_day: dict[int, int] = {}
    for at, _g, u, _t in rows:
        if at >= day:
            per_sender_day[u] = per_sender_day.get(u, 0) + 1
    return {
        "messages_a": n_a,
        "messages_b": n_b + copies,
        "copies_in_b": copies,
        "insert_s": time.perf_counter() - t0,
        "busiest_sender_day": max(per_sender_day.values()),
        "last_day": sum(per_sender_day.values()),
    }


# --------------------------------------------------------------------------- measuring


def summary(ns: list[int] | list[float], scale: float = 1e6) -> dict[str, float]:
    """p50/p90/p99/max/mean of nanosecond samples, in ms (scale 1e6) or µs (1e3)."""
    s = sorted(x / scale for x in ns)
    return {
        "n": len(s),
        "p50": delivery.pct(s, 0.50),
        "p90": delivery.pct(s, 0.90),
        "p99": delivery.pct(s, 0.99),
        "max": s[-1] if s else math.nan,
        "mean": statistics.fmean(s) if s else math.nan,
    }


class Checks:
    """The safety work of one send, as do_send_message does it."""

    cpu_ns = 0  # the thread's CPU time in the last run's checks (no waiting for the CPU)

    def __init__(self, gid: int) -> None:
        from tongzhou.accounts.models import User

        self.gid = gid
        self.users = {u.pk: u for u in User.objects.filter(memberships__group_id=gid)}

    def membership(self, uid: int) -> Any:
        from tongzhou.groups.queries import access_group

        return access_group(self.users[uid], self.gid)

    def run(self, membership: Any, text: str, prof: cProfile.Profile | None = None) -> Any:
        """(ns in check_may_send, in check_personal_data, in check_message; verdict;
        personal data found)."""
        from django.db import transaction

        from tongzhou.chat.actions import check_may_send
        from tongzhou.errors import UserError
        from tongzhou.groups.models import Group
        from tongzhou.safety.checks import check_message, check_personal_data

        clock, cpu = time.perf_counter_ns, time.thread_time_ns
        found = False
        if prof:
            prof.enable()
        c0, t0 = cpu(), clock()
        check_may_send(membership)
        t1 = clock()
        try:
            check_personal_data(text, False)
        except UserError:
            found = True
        t2, c2 = clock(), cpu()
        if prof:
            prof.disable()
        with transaction.atomic():
            Group.objects.select_for_update().only("pk").get(pk=self.gid)
            if prof:
                prof.enable()
            c3, t3 = cpu(), clock()
            verdict = check_message(membership, membership.group, text, None)
            t4, c4 = clock(), cpu()
            if prof:
                prof.disable()
        self.cpu_ns = (c2 - c0) + (c4 - c3)
        return (t1 - t0, t2 - t1, t4 - t3), verdict, found


def steal_ms() -> float:
    """CPU time the hypervisor gave to others, all CPUs, since boot (0 where unknown): it
    counts as this thread's CPU time too, so it is reported beside the figures."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        return int(fields[8]) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def flagged(verdict: Any) -> bool:
    return bool(verdict.spam or verdict.claims or verdict.crisis)


def time_checks(checks: Checks, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The sample once untimed (warm), once timed."""
    for s in samples:
        checks.run(checks.membership(s["sender"]), s["text"])
    total, may, pii, msg, cpu = [], [], [], [], []
    steal0, wall0 = steal_ms(), time.perf_counter()
    by_cat: dict[str, list[int]] = {}
    found = {"spam": 0, "held": 0, "claims": 0, "crisis": 0, "personal_data": 0, "duplicate": 0}
    for s in samples:
        m = checks.membership(s["sender"])
        (a, b, c), verdict, pii_found = checks.run(m, s["text"])
        total.append(a + b + c)
        cpu.append(checks.cpu_ns)
        may.append(a)
        pii.append(b)
        msg.append(c)
        by_cat.setdefault(s["cat"], []).append(a + b + c)
        s["flagged"] = flagged(verdict)
        s["verdict"] = verdict
        found["spam"] += bool(verdict.spam)
        found["held"] += verdict.hold
        found["claims"] += bool(verdict.claims)
        found["crisis"] += bool(verdict.crisis)
        found["personal_data"] += pii_found
        found["duplicate"] += "duplicate" in verdict.spam
    steal, wall = steal_ms() - steal0, time.perf_counter() - wall0
    slow = sorted(zip(total, samples, strict=True), key=lambda x: -x[0])[:5]
    lengths = [len(s["text"]) for s in samples]
    fit = statistics.linear_regression(lengths, [ns / 1e6 for ns in total])
    return {
        "total": summary(total),
        "short": summary(
            [ns for ns, s in zip(total, samples, strict=True) if not s["cat"].startswith("long")]
        ),
        "ms_per_1000_chars": fit.slope * 1000,
        "ms_at_0_chars": fit.intercept,
        "cpu": summary(cpu),
        "steal_ms": steal,
        "pass_s": wall,
        "check_may_send": summary(may),
        "check_personal_data": summary(pii),
        "check_message": summary(msg),
        "by_category": {c: summary(v) for c, v in by_cat.items()},
        "found": found,
        "slowest": [
            {"ms": ns / 1e6, "cat": s["cat"], "chars": len(s["text"]), "text": s["text"][:60]}
            for ns, s in slow
        ],
    }


def time_parts(checks: Checks, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Each part of the checks alone, in µs."""
    from datetime import timedelta

    from django.utils import timezone

    from tongzhou.chat.actions import check_may_send
    from tongzhou.safety.checks import _duplicate_elsewhere, active_claims
    from tongzhou.safety.claims import matching
    from tongzhou.safety.crisis import crisis_signals
    from tongzhou.safety.pii import personal_data
    from tongzhou.safety.spam import Sender, spam_signals
    from tongzhou.safety.textscan import fold

    clock = time.perf_counter_ns
    parts: dict[str, list[int]] = {}
    long_parts: dict[str, list[int]] = {}
    current = parts

    def timed(name: str, fn: Any, *a: Any) -> Any:
        t = clock()
        out = fn(*a)
        ns = clock() - t
        parts.setdefault(name, []).append(ns)
        if current is long_parts:
            long_parts.setdefault(name, []).append(ns)
        return out

    for s in samples:
        current = long_parts if s["cat"].startswith("long") else parts
        m = checks.membership(s["sender"])
        text = s["text"]
        group = m.group
        timed("rate limits, counted in the database (`check_may_send`)", check_may_send, m)
        timed("`personal_data` (regexes)", personal_data, text)
        new = m.joined_at > timezone.now() - timedelta(days=group.new_member_days)
        timed("`spam_signals` (regexes)", spam_signals, text, Sender(new_member=new))
        if len(text) >= 12:
            timed(
                "same text in another group (query)",
                _duplicate_elsewhere,
                m.user_id,
                group.pk,
                text,
            )
        timed("`crisis_signals` (regexes)", crisis_signals, text)
        claims = timed("`active_claims` (a query, or the process's copy)", active_claims, group.pk)
        timed("claim `matching` (regexes)", matching, text, claims)
        # the NFKC and OpenCC work itself, past any cache of folded texts
        timed("`fold` (NFKC + OpenCC), uncached", getattr(fold, "__wrapped__", fold), text)
    return {
        "all": {k: summary(v, 1e3) for k, v in parts.items()},
        "long": {k: summary(v, 1e3) for k, v in long_parts.items()},
    }


def regex_costs(samples: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    """Each detector's compiled patterns run alone (finditer to the end) over the folded long
    texts: (name, mean µs per text, µs per 1,000 characters), the costliest first; the
    thread's CPU time, best of three passes."""
    from tongzhou.safety import claims, crisis, pii, spam, textscan

    texts = [
        textscan.digits_spelled(textscan.fold(s["text"]))
        for s in samples
        if s["cat"].startswith("long")
    ]
    if not texts:
        return []
    chars = sum(len(t) for t in texts)
    out = []
    for mod in (spam, crisis, pii, claims, textscan):
        for name, value in vars(mod).items():
            if isinstance(value, re.Pattern):
                best = math.inf
                for _ in range(3):
                    t = time.thread_time_ns()
                    for text in texts:
                        for _m in value.finditer(text):
                            pass
                    best = min(best, time.thread_time_ns() - t)
                out.append(
                    (
                        f"{mod.__name__.rsplit('.', 1)[-1]}.{name}",
                        best / 1e3 / len(texts),
                        best / 1e3 / chars * 1000,
                    )
                )
    return sorted(out, key=lambda x: -x[1])[:8]


def sql_per_send(checks: Checks, samples: list[dict[str, Any]]) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for s in samples[:200]:
        m = checks.membership(s["sender"])
        with CaptureQueriesContext(connection) as ctx:
            checks.run(m, s["text"])
        # not counted: the group's lock and the savepoint/transaction statements
        counts.append(
            sum(
                1
                for q in ctx.captured_queries
                if 'FROM "groups_group"' not in q["sql"]
                and not q["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
            )
        )
    return {"min": min(counts), "max": max(counts), "mean": statistics.fmean(counts)}


def profile(checks: Checks, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the checks' time goes, from cProfile over one more pass."""
    prof = cProfile.Profile()
    for s in samples:
        checks.run(checks.membership(s["sender"]), s["text"], prof)
    stats: dict[Any, Any] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values()) or 1.0
    groups = {
        "regular expressions (re)": 0.0,
        "OpenCC conversion": 0.0,
        "database driver": 0.0,
        "Django ORM": 0.0,
        "other Python": 0.0,
    }
    for (f, _l, n), v in stats.items():
        tt = v[2]
        if "re.Pattern" in n or f.endswith(("/re/__init__.py", "/re/_compiler.py")):
            groups["regular expressions (re)"] += tt
        elif "opencc" in f.lower() or "opencc" in n.lower():
            groups["OpenCC conversion"] += tt
        elif "sqlite3." in n or "psycopg" in f or "psycopg" in n:
            groups["database driver"] += tt
        elif "/django/db/" in f:
            groups["Django ORM"] += tt
        else:
            groups["other Python"] += tt
    top = sorted(stats.items(), key=lambda kv: -kv[1][2])[:12]
    cum = sorted(
        ((k, v) for k, v in stats.items() if "tongzhou/" in k[0]), key=lambda kv: -kv[1][3]
    )[:12]

    def name(k: tuple[str, int, str]) -> str:
        f, line, n = k
        if f == "~":
            return re.sub(r" at 0x[0-9a-f]+", "", n)
        short = f.split("site-packages/")[-1].split("src/")[-1]
        return f"{short}:{line}({n})"

    return {
        "shares": {k: v / total for k, v in groups.items()},
        "top_tottime": [(name(k), v[2] / total, v[1]) for k, v in top],
        "top_cumulative": [(name(k), v[3] / total, v[1]) for k, v in cum],
    }


def time_record(gid: int, samples: list[dict[str, Any]], limit: int = 300) -> dict[str, Any]:
    """`record` alone for the samples where something was found, rolled back each time."""
    from django.db import transaction

    from tongzhou.chat.models import Message
    from tongzhou.safety.checks import record

    class Rollback(Exception):
        pass

    out = []
    chosen = [s for s in samples if s.get("flagged")][:limit]
    for i, s in enumerate(chosen):
        v = s["verdict"]
        with contextlib.suppress(Rollback), transaction.atomic():
            msg = Message.objects.create(
                group_id=gid,
                sender_id=s["sender"],
                client_id=f"rec{i}",
                text=s["text"],
                status=Message.Status.HELD if v.hold else Message.Status.VISIBLE,
            )
            t = time.perf_counter_ns()
            record(msg, v)
            out.append(time.perf_counter_ns() - t)
            raise Rollback
    return summary(out[5:] if len(out) > 10 else out)


def time_sends(world: dict[str, Any], samples: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """Full do_send_message calls, committed; senders in turn."""
    from tongzhou.accounts.models import User
    from tongzhou.chat.actions import do_send_message
    from tongzhou.errors import UserError

    gid = world["gid_a"]
    users = {u.pk: u for u in User.objects.filter(memberships__group_id=gid)}
    order = list(world["members_a"])
    random.Random(3).shuffle(order)
    all_ms, flagged_ms, plain_ms, errors = [], [], [], 0
    warm = 20
    for i in range(n + warm):
        s = samples[i % len(samples)]
        user = users[order[i % len(order)]]
        t = time.perf_counter_ns()
        try:
            do_send_message(
                user,
                gid,
                client_id=f"bench-{i}",
                text=s["text"],
                confirm_personal_data=True,
            )
        except UserError:
            errors += 1
            continue
        ns = time.perf_counter_ns() - t
        if i < warm:
            continue
        all_ms.append(ns)
        (flagged_ms if s.get("flagged") else plain_ms).append(ns)
    return {
        "all": summary(all_ms),
        "flagged": summary(flagged_ms),
        "plain": summary(plain_ms),
        "errors": errors,
    }


def code_version() -> str:
    def git(*argv: str) -> str:
        try:
            return subprocess.run(
                ["git", "--no-optional-locks", *argv],
                cwd=HERE.parent,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--", "src/tongzhou/safety", "src/tongzhou/chat")
    return commit + (" with uncommitted changes to the safety/chat code" if dirty else "")


def child(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=f"tz-safety-{args.db}-"))
    size = args.size
    result: dict[str, Any] = {"db": args.db, "members": size}
    try:
        sbench.setup_django(work)
        from django.db import connection

        with connection.cursor() as c:
            if connection.vendor == "sqlite":
                import sqlite3

                result["version"] = f"SQLite {sqlite3.sqlite_version}"
            else:
                c.execute("SHOW server_version")
                result["version"] = f"PostgreSQL {c.fetchone()[0].split()[0]}"
        result["code"] = code_version()
        rng = random.Random(args.seed + size)
        writer = sbench.ChatWriter(args.seed + size + 1)  # the history's texts
        print(f"== {result['version']}, {size} members: building", flush=True)
        world = build_world(size, rng)
        samples = make_samples(args.iterations, args.seed, world, rng)
        n_a = max(5000, 20 * size)
        h = build_history(world, n_a, samples, writer, rng)
        from tongzhou.safety.models import Claim

        h["claims"] = Claim.objects.filter(group_id=world["gid_a"], active=True).count()
        h["members_a"] = len(world["members_a"])
        h["members_b"] = len(world["shared"]) + len(world["own_b"])
        h["shared"] = len(world["shared"])
        h["new_members"] = world["new_members"]
        if connection.vendor == "postgresql":
            with connection.cursor() as c:
                c.execute("VACUUM ANALYZE")
        result["history"] = h
        result["sample"] = {
            "n": len(samples),
            "by_category": {c: sum(1 for s in samples if s["cat"] == c) for c in MIX},
            "mean_chars": statistics.fmean(len(s["text"]) for s in samples),
            "chinese": sum(any("\u4e00" <= ch <= "\u9fff" for ch in s["text"]) for s in samples)
            / len(samples),
        }
        print(
            f"  {h['messages_a']:,} messages in A, {h['messages_b']:,} in B "
            f"({h['copies_in_b']} spam copies); busiest sender {h['busiest_sender_day']} "
            f"in the last day; {h['claims']} claims",
            flush=True,
        )
        connection.close()  # a fresh connection, as a server process would have
        checks = Checks(world["gid_a"])
        print(f"== timing the checks: {len(samples)} sends, 1 warm + 1 timed pass", flush=True)
        t0 = time.perf_counter()
        r = time_checks(checks, samples)
        result["checks"] = r
        result["checks_s"] = time.perf_counter() - t0
        t = r["total"]
        print(
            f"  safety p50 {t['p50']:.3f}  p90 {t['p90']:.3f}  p99 {t['p99']:.3f}  "
            f"max {t['max']:.3f} ms  (check_message p99 {r['check_message']['p99']:.3f}, "
            f"check_may_send p99 {r['check_may_send']['p99']:.3f}, check_personal_data p99 "
            f"{r['check_personal_data']['p99']:.3f})",
            flush=True,
        )
        for c, st in r["by_category"].items():
            print(f"    {c:<20} p50 {st['p50']:.3f}  p99 {st['p99']:.3f}  max {st['max']:.3f}")
        print(f"  found: {r['found']}", flush=True)
        result["parts"] = time_parts(checks, samples)
        for k, st in result["parts"]["all"].items():
            lg = result["parts"]["long"].get(k, {"p50": math.nan})
            print(
                f"    {k:<56} p50 {st['p50']:8.1f}  p99 {st['p99']:8.1f} µs; "
                f"long texts p50 {lg['p50']:8.1f} µs"
            )
        result["regexes_long"] = regex_costs(samples)
        print(
            "  patterns over the long texts, µs per text: "
            + ", ".join(f"{n} {us:,.0f}" for n, us, _k in result["regexes_long"]),
            flush=True,
        )
        result["sql"] = sql_per_send(checks, samples)
        result["profile"] = profile(checks, samples)
        print("  profile: " + share_text(result["profile"]["shares"]), flush=True)
        for n, share, calls in result["profile"]["top_tottime"]:
            print(f"    {share:6.1%}  {calls:>8} calls  {n}")
        result["record"] = time_record(world["gid_a"], samples)
        rec = result["record"]
        print(f"  record: {rec['n']} flagged, p50 {rec['p50']:.3f}, p99 {rec['p99']:.3f} ms")
        print(f"== {args.sends} full sends", flush=True)
        result["sends"] = time_sends(world, samples, args.sends)
        sd = result["sends"]["all"]
        print(f"  do_send_message p50 {sd['p50']:.2f}  p99 {sd['p99']:.2f} ms", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["runtime_s"] = time.perf_counter() - started
    result["code_end"] = code_version()
    for s in result.get("checks", {}).get("slowest", []):
        s["text"] = s["text"].replace("|", "/").replace("\n", " ")
    Path(args.result).write_text(json.dumps(result, indent=1, default=str))
    return 0


# --------------------------------------------------------------------------- PostgreSQL


def pg_check(url: str) -> str | None:
    """None when a server answers at url; else why not."""
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as e:  # any failure means: not measured
        return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def run_child(db: str, size: int, args: argparse.Namespace) -> dict[str, Any] | None:
    out = Path(tempfile.mkstemp(prefix=f"tz-safety-{db}-", suffix=".json")[1])
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    dbname = f"tz_safety_{os.getpid()}_{size}"
    admin = args.pg_url
    try:
        if db == "postgres":
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{dbname}"')
            env["DATABASE_URL"] = f"{admin.rsplit('/', 1)[0]}/{dbname}"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            f"--db={db}",
            f"--size={size}",
            f"--result={out}",
            f"--iterations={args.iterations}",
            f"--sends={args.sends}",
            f"--seed={args.seed}",
        ]
        proc = subprocess.run(cmd, env=env, check=False)
        if proc.returncode != 0 or not out.stat().st_size:
            print(f"!! the {db} run at {size} members failed (exit {proc.returncode})")
            return None
        return dict(json.loads(out.read_text()))
    finally:
        if db == "postgres":
            import psycopg

            with contextlib.suppress(Exception), psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        out.unlink(missing_ok=True)


# --------------------------------------------------------------------------- report


def fmt(x: float | None, digits: int = 2) -> str:
    return delivery.fmt(x if x is not None else math.nan, digits)


def share_text(sh: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in sorted(sh.items(), key=lambda kv: -kv[1]))


def render(
    results: list[dict[str, Any]],
    skipped: dict[str, str],
    args: argparse.Namespace,
    runtime_s: float,
) -> str:
    m = delivery.machine()
    versions = sorted({r["version"] for r in results})
    codes = sorted({r["code"] for r in results} | {r.get("code_end", r["code"]) for r in results})
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cmd = " ".join(["python bench/safety.py", *sys.argv[1:]])
    lines = [
        START_MARK,
        "## Safety checks on a send (`bench/safety.py`)",
        "",
        f"Measured {when} with `{cmd}` (whole run {runtime_s:.0f} s). Machine: {m['cpus']} "
        f"CPUs ({m['cpu_model']}), {m['memory']} memory, {m['os']}, Python {m['python']}; "
        f"{', '.join(versions)}. Load average {args.load_before[0]:.1f} at the start and "
        f"{args.load_after[0]:.1f} at the end. Code: {', '.join(codes)}"
        + (" (it changed during the run)." if len(codes) > 1 else "."),
    ]
    for db, why in skipped.items():
        lines += ["", f"*{DB_LABELS[db]} not measured:* {why}."]
    r0 = results[0]
    mix = ", ".join(
        f"{c} {n / r0['sample']['n']:.0%}" for c, n in r0["sample"]["by_category"].items()
    )
    lines += [
        "",
        "**Method.** Each database and size in its own process, the real models and the "
        "product's functions called in-process, as a server process would; SQLite is the "
        "embedded default (a fresh data directory, the settings' pragmas: WAL, "
        "`synchronous=FULL`, `BEGIN IMMEDIATE`)"
        + (
            ", PostgreSQL a fresh database on the server at `--pg-url` (after `VACUUM "
            "ANALYZE` of the loaded history)."
            if any(r["db"] == "postgres" for r in results)
            else "."
        ),
        "",
        "- *Group.* Group A of N members made with `groups.actions.do_create_group` (so its "
        f"{r0['history']['claims']} seeded claims), 1 % moderators, "
        f"{NEW_MEMBER_SHARE * 100:.0f} % joined in the last two days (the *new member* signal "
        "applies to them); group B holds a third of A's members and 40 of its own.",
        "- *History.* max(5,000, 20 × N) generated chat messages in A (the writer of "
        "`bench/search.py`, ~60 % Chinese) and 30 % as many in B, sent by members weighted by "
        "a Zipf law (s = 0.9), 60 % over the last 30 days and 40 % over the last 24 hours "
        "(none in the last 10 minutes); half of the spam texts in the sample had already been "
        "sent to B by the same member within the day, so the duplicate query finds them. "
        "The busiest member sent "
        + ", ".join(
            f"{r['history']['busiest_sender_day']:,} messages in the last day at "
            f"{r['members']:,} members"
            for r in results
            if r["db"] == r0["db"]
        )
        + " (the duplicate query reads each of that day's messages by its sender).",
        f"- *Sample.* {r0['sample']['n']:,} messages per size: {mix} (*honest look-alike*: "
        "the `ok` rows of `tests/data/{spam,crisis,misinformation}.tsv`; spam, crisis and "
        "claims from the same files; personal data: phone, ID and bank card numbers and "
        "addresses written in `bench/safety.py`; long: chat joined up to 1,000–4,000 "
        f"characters). Mean length {r0['sample']['mean_chars']:.0f} characters, "
        f"{r0['sample']['chinese']:.0%} with Chinese. Senders drawn by the history's weights.",
        "- *Timed* (`time.perf_counter_ns`), per message: `check_may_send` + "
        "`check_personal_data` (its `UserError` caught, so every message runs all three "
        "checks: the most one send can cost) + `check_message` inside `transaction.atomic()` "
        "after the group's `select_for_update` (the lock not counted), as "
        "`do_send_message` calls them. The sender's membership is read (untimed) before each, "
        "as `access_group` does. The sample once untimed, then once timed; percentiles by "
        "nearest rank. `record` (reports and alerts, only when something was found) is "
        "measured apart, in transactions rolled back; the full `do_send_message` (committed, "
        f"{args.sends} sends after 20 untimed, senders in turn, personal data sent with "
        "`confirm_personal_data=True`) is given for context.",
        "",
        f"**Time added to a send by the safety checks, ms** (goal: p99 under {GOAL_MS:g} ms; "
        "*SQL*: statements per send, not counting the lock):",
        "",
        "| database | members | messages (A / B) | all checks p50 / p90 / p99 / max | "
        "CPU time p50 / p99 | `check_may_send` p50 / p99 | `check_personal_data` p50 / p99 | "
        "`check_message` p50 / p99 | SQL | full `do_send_message` p50 / p99 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        t, h, c = r["checks"]["total"], r["history"], r["checks"]
        sd = r["sends"]["all"]
        sql = r["sql"]
        sqltxt = f"{sql['min']}" if sql["min"] == sql["max"] else f"{sql['min']}–{sql['max']}"
        lines.append(
            f"| {DB_LABELS[r['db']]} | {r['members']:,} | {h['messages_a']:,} / "
            f"{h['messages_b']:,} | **{fmt(t['p50'])} / {fmt(t['p90'])} / {fmt(t['p99'])}** / "
            f"{fmt(t['max'])} | {fmt(c['cpu']['p50'])} / {fmt(c['cpu']['p99'])} "
            f"| {fmt(c['check_may_send']['p50'])} / "
            f"{fmt(c['check_may_send']['p99'])} | {fmt(c['check_personal_data']['p50'])} / "
            f"{fmt(c['check_personal_data']['p99'])} | {fmt(c['check_message']['p50'])} / "
            f"{fmt(c['check_message']['p99'])} | {sqltxt} | {fmt(sd['p50'])} / "
            f"{fmt(sd['p99'])} |"
        )
    lines += [
        "",
        "*CPU time*: the benchmark thread's own CPU time in the same checks "
        "(`time.thread_time_ns`): the wall-clock time less any wait for a CPU held by "
        "another process, and on PostgreSQL less the wait for the server's answers too. The "
        "hypervisor's steal time would still count in it; over all CPUs during the timed "
        "passes it was "
        + ", ".join(
            f"{r['checks']['steal_ms']:.0f} ms in {r['checks']['pass_s']:.1f} s "
            f"({DB_LABELS[r['db']]} {r['members']:,})"
            for r in results
        )
        + f". Goal (p99 under {GOAL_MS:g} ms):",
        "",
    ]
    for r in results:
        c = r["checks"]
        p99 = c["total"]["p99"]
        lg = next(v for k, v in c["by_category"].items() if k.startswith("long"))
        n_long = next(v for k, v in r["sample"]["by_category"].items() if k.startswith("long"))
        lines.append(
            f"- {DB_LABELS[r['db']]}, {r['members']:,} members: "
            f"**{'met' if p99 < GOAL_MS else 'missed'}**, p99 {p99:.2f} ms over "
            f"{c['total']['n']:,} sends. Without the {n_long} long texts p99 "
            f"{c['short']['p99']:.2f} ms; the long texts alone p50 {lg['p50']:.2f}, max "
            f"{lg['max']:.2f} ms. A least-squares line over the sample: "
            f"{c['ms_at_0_chars']:.2f} ms + {c['ms_per_1000_chars']:.2f} ms per 1,000 "
            f"characters. The checks are {c['total']['p50'] / r['sends']['all']['p50']:.0%} "
            "of a whole send at p50."
        )
    lines += [
        "",
        "**By kind of message**, all checks, ms, p50 / p99 / max:",
        "",
        "| kind | " + " | ".join(f"{DB_LABELS[r['db']]} {r['members']:,}" for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for c in MIX:
        cells = []
        for r in results:
            st = r["checks"]["by_category"].get(c)
            cells.append(f"{fmt(st['p50'])} / {fmt(st['p99'])} / {fmt(st['max'])}" if st else "–")
        n = r0["sample"]["by_category"][c]
        lines.append(f"| {c} ({n:,}) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "What the checks found in the sample (per size): "
        + "; ".join(
            f"{DB_LABELS[r['db']]} {r['members']:,}: "
            + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in r["checks"]["found"].items())
            for r in results
        )
        + ". `record` for those found (spam, claims or crisis; rolled back, so the alerts' "
        "push after commit is not in it), ms p50 / p99: "
        + "; ".join(
            f"{DB_LABELS[r['db']]} {r['members']:,}: {fmt(r['record']['p50'])} / "
            f"{fmt(r['record']['p99'])} ({r['record']['n']} messages)"
            for r in results
        )
        + ". Whole sends of those messages, ms p50 / p99: "
        + "; ".join(
            f"{DB_LABELS[r['db']]} {r['members']:,}: {fmt(r['sends']['flagged']['p50'])} / "
            f"{fmt(r['sends']['flagged']['p99'])} (others {fmt(r['sends']['plain']['p50'])} / "
            f"{fmt(r['sends']['plain']['p99'])})"
            for r in results
        )
        + ".",
        "",
        "**Each part alone**, µs p50 / p99 over the whole sample, and p50 over the long "
        "texts alone (one more pass, each part called as `check_message` calls it; the "
        "duplicate query only runs for texts of 12 characters or more):",
        "",
        "| part | "
        + " | ".join(f"{DB_LABELS[r['db']]} {r['members']:,} (long)" for r in results)
        + " |",
        "|---|" + "---:|" * len(results),
    ]
    for part in r0["parts"]["all"]:
        cells = []
        for r in results:
            a, lg = r["parts"]["all"].get(part), r["parts"]["long"].get(part)
            cells.append(
                f"{fmt(a['p50'], 0)} / {fmt(a['p99'], 0)} ({fmt(lg['p50'] if lg else None, 0)})"
                if a
                else "–"
            )
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "**Where the time goes.** At p50 (parts above, whole sample): "
        + "; ".join(
            f"{DB_LABELS[r['db']]} {r['members']:,}: the queries (through the ORM) "
            f"{sum(v['p50'] for k, v in r['parts']['all'].items() if 'quer' in k or 'rate' in k):,.0f} µs, "
            f"the detectors' regexes "
            f"{sum(v['p50'] for k, v in r['parts']['all'].items() if 'regexes' in k):,.0f} µs"
            for r in results
        )
        + ". cProfile over one more pass (own time, rough shares: the profiler slows Python "
        "more than C):",
        "",
    ]
    for r in results:
        p = r["profile"]
        tops = ", ".join(f"`{n}` {s:.1%}" for n, s, _c in p["top_tottime"][:5])
        lines.append(
            f"- {DB_LABELS[r['db']]}, {r['members']:,} members: {share_text(p['shares'])}. "
            f"Largest: {tops}."
        )
    if r0.get("regexes_long"):
        lines += [
            "",
            "The costliest patterns over the long texts alone (each compiled pattern of the "
            "detectors run to the end of the folded text, as it is whenever it finds nothing; "
            "mean µs per text, the same texts in every run; in brackets µs per 1,000 "
            "characters in the first run):",
            "",
            "| pattern | "
            + " | ".join(f"{DB_LABELS[r['db']]} {r['members']:,}" for r in results)
            + " |",
            "|---|" + "---:|" * len(results),
        ]
        for name, _us, per_k in r0["regexes_long"][:6]:
            cells = []
            for r in results:
                got = {n: us for n, us, _k in r.get("regexes_long", [])}
                cells.append(f"{got[name]:,.0f}" if name in got else "–")
            cells[0] += f" ({per_k:,.0f})"
            lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    lines += ["", "Slowest sends (all checks):", ""]
    for r in results:
        sl = "; ".join(
            f"{s['ms']:.2f} ms ({s['cat']}, {s['chars']:,} chars)" for s in r["checks"]["slowest"]
        )
        lines.append(f"- {DB_LABELS[r['db']]}, {r['members']:,} members: {sl}.")
    errors = [r for r in results if r["sends"]["errors"]]
    if errors:
        lines += [
            "",
            "Refused full sends (rate limits): "
            + ", ".join(
                f"{DB_LABELS[r['db']]} {r['members']}: {r['sends']['errors']}" for r in errors
            )
            + ".",
        ]
    lines += ["", "NOTES_PLACEHOLDER", END_MARK]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="150,1000", help="comma-separated member counts")
    parser.add_argument("--iterations", type=int, default=2000, help="timed sends per size")
    parser.add_argument("--sends", type=int, default=500, help="full do_send_message calls")
    parser.add_argument("--dbs", default="sqlite,postgres", help="databases to measure")
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG,
        help="PostgreSQL server (a database is created on it and dropped afterwards)",
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", default="docs/performance.md", help="'-' to skip writing")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--db", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.db:
        return child(args)

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    dbs = [d.strip() for d in args.dbs.split(",") if d.strip()]
    started = time.perf_counter()
    args.load_before = os.getloadavg()
    skipped: dict[str, str] = {}
    if "postgres" in dbs:
        why = pg_check(args.pg_url)
        if why is not None:
            host = args.pg_url.split("@")[-1].rsplit("/", 1)[0]
            skipped["postgres"] = f"no server answered at `{host}` ({why})"
            print(f"== PostgreSQL skipped: {skipped['postgres']}", flush=True)
            dbs.remove("postgres")
    results = []
    for db in dbs:
        for size in sizes:
            r = run_child(db, size, args)
            if r is not None:
                results.append(r)
    args.load_after = os.getloadavg()
    runtime = time.perf_counter() - started
    print(f"== total {runtime:.0f} s")
    if not results:
        return 1
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "argv": sys.argv[1:],
                    "runtime_s": runtime,
                    "skipped": skipped,
                    "results": results,
                },
                indent=1,
                default=str,
            )
        )
    section = render(results, skipped, args, runtime)
    notes = delivery.old_notes(Path(args.out), "safety") if args.out != "-" else ""
    section = section.replace("NOTES_PLACEHOLDER", notes).replace("\n\n\n", "\n\n")
    if args.out == "-":
        print(section)
    else:
        delivery.replace_section(Path(args.out), section, START_MARK, END_MARK)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
