"""Insight benchmark: the leaders' dashboard on a 100,000-message group, and a research
project's pages and actions on 2,000 units coded by 3 coders.

    python bench/insight.py [--messages 100000] [--runs 7] [--train-runs 3]
                            [--database-url URL] [--no-sqlite] [--wait-load 1.0]
                            [--quick] [--write] [--out docs/performance.md] [--json FILE]
    python bench/insight.py --from-json FILE --write   # the section again from saved figures

Each database is measured in its own process (settings read DATABASE_URL once, at Django
setup): this script re-invokes itself with `--db sqlite` (a fresh data directory, the
settings' pragmas) and, when --database-url (default: $DATABASE_URL) names a PostgreSQL
server, `--db postgres` on a fresh database created there and dropped afterwards. Every
child process:

1. Building (seeded). Group A: 150 members (leader included; Chinese display names, health
   details in 70 % of the profiles) and --messages live messages over the last 400 days, from
   members weighted by a Zipf law, by hour of day as people write; ~13 % questions (a
   `Question` row each), answers as replies to an open question from someone else (one to
   three per question, three in four questions answered; the `Question`'s first answer set as
   the product sets it), members' experiences over several sentences, and chat (greetings,
   thanks, encouragement), from the templates of bench/imports.py (drugs, symptoms, tests,
   hospitals). Group B: the same, half of its messages live over the last 400 days and half
   imported history before that (400 to 1,100 days ago; 150 imported people, 60 of them
   claimed by members and the rest placeholders; no replies, as in a WhatsApp export, and
   the answers the import would recognise as `Candidate` rows). PostgreSQL then gets the
   VACUUM ANALYZE autovacuum would run after such a load; SQLite nothing.
2. Research on group A, through `tongzhou.insight.actions`: every member says yes
   (`do_decide_consent`; 70 % also to health details, 30 % to quotes), the leader starts a
   project (`do_create_project`) and grants it to 3 researchers (`do_grant`), a researcher
   draws 2,000 units (`do_sample`). The 3 coders' codings of those units are written in bulk
   (`Coding` rows and their codes, through the models): each message has codes it plainly
   carries (a question `qa.question`, an answer `qa.answer` and mostly informational
   support, a story of one's treatment mastery and physiological states, encouragement
   emotional support and verbal persuasion...), each coder applies each of those with
   probability 0.80-0.92 (their own care) and any other code with probability 0.015. 40
   disagreements are settled with `do_agree`. Then 1,000 more units (`do_sample`), uncoded.
3. Timing (`time.perf_counter`, and the process's CPU time beside it), each measurement
   once untimed, then --runs times (--train-runs for the training); median, min and max.
   Pages go through `django.test.Client` with a signed-in user (`force_login`): the whole
   middleware stack, the view and its template, no network. Measured: `dashboard.compute`
   for 30/90/365 days and everything, and the dashboard page (90 days and everything), on A
   and on B (history counted, as it is by default, and the whole period without it); the
   coding page (GET /research/P/code/: the next message not coded by this coder, which is
   what a coder waits for between messages) before and after suggestions exist, and saving a
   code (the POST, then the GET of the next message it redirects to); the agreement and
   disagreements pages; `export.build` as CSV and as JSONL; `actions.do_train` (TF-IDF and
   one logistic regression per code with 5-fold cross-validation over the coded units,
   predictions for the uncoded), its first call in the process (scikit-learn imported and
   jieba's dictionary loaded) apart. Queries per page are counted in one more call; any
   measurement slower than --slow-ms is timed again with Python's cyclic garbage collector
   off during each call (what its pauses cost) and gets a cProfile pass (collector off).

With --wait-load X each child waits, after building and before timing, until the 1-minute
load average is under X (polled every 30 s, at most --wait-max seconds) and reports the
load it found. With --write the section between the `insight` markers in --out is replaced
(hand-written notes between the `insight-notes` markers are kept); it is printed either way.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import json
import math
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "src"))

import delivery  # noqa: E402  (machine facts and the section writer)
import imports as ibench  # noqa: E402  (the chat's words: drugs, symptoms, templates)
import search as sbench  # noqa: E402  (Django set-up in a fresh data directory)

START_MARK = "<!-- insight:start -->"
END_MARK = "<!-- insight:end -->"
NOTES_NAME = "insight"
DB_LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
MEMBERS = 150
MESSAGES = 100_000
LIVE_DAYS = 400
HISTORY_DAYS = (400, 1100)  # imported history: this many days ago
HISTORY_PEOPLE, CLAIMED = 150, 60
SAMPLE, MORE_UNITS, CODERS, SETTLED = 2000, 1000, 3, 40
SLOW_MS = 300.0  # a page a person waits for between messages
QUESTION_SHARE, STORY_SHARE, ANSWER_SHARE = 0.13, 0.10, 0.35
HOUR_WEIGHTS = [0.2, 0.1, 0.05, 0.05, 0.1, 0.3, 1, 2, 3, 3, 3, 2.5, 2, 2, 2.5, 2.5, 2.5, 2.5, 3,
                3.5, 4, 4, 3, 1]  # fmt: skip
CANCERS = ("肺癌", "乳腺癌", "结直肠癌", "胃癌", "肝癌", "鼻咽癌", "卵巢癌", "淋巴瘤")
STAGES = ("I", "II", "IIIA", "IIIB", "IV")
REGIONS = ("cn", "cn", "cn", "cn", "hk", "tw", "us", "uk", "au")
PROFILE_HOSPITALS = (
    "北京协和医院",
    "复旦大学附属肿瘤医院",
    "中山大学肿瘤防治中心",
    "四川大学华西医院",
)

# --------------------------------------------------------------------------- the chat

# Codes a message plainly carries, by what it is: code -> probability the message carries it
# (decided once per message; the coders then see it, or miss it, each with their own care).
QUESTION_CODES = {"qa.question": 1.0, "efficacy.physiological": 0.3, "support.network": 0.05}
ANSWER_CODES = {
    "qa.answer": 1.0,
    "support.informational": 0.85,
    "efficacy.vicarious": 0.35,
    "support.emotional": 0.2,
    "efficacy.persuasion": 0.15,
}
STORY_CODES = {
    "efficacy.mastery": 0.6,
    "efficacy.physiological": 0.5,
    "support.informational": 0.3,
    "efficacy.vicarious": 0.25,
    "efficacy.persuasion": 0.2,
}
CHEER = ("加油", "抱抱", "心态", "好好的", "别怕", "fingers crossed", "顺利", "Stable")
WELCOME = ("欢迎", "早上好", "晚安", "Good morning", "一起", "交流会", "谢谢", "Thank")
CHEER_CODES = {"support.emotional": 0.8, "efficacy.persuasion": 0.5, "support.esteem": 0.15}
WELCOME_CODES = {"support.network": 0.6, "support.esteem": 0.15, "support.tangible": 0.1}
CHAT_CODES = {"support.emotional": 0.08, "support.network": 0.05}


@dataclass
class Said:
    """One generated message, in time order."""

    at: dt.datetime
    sender: int  # user id
    text: str
    kind: str  # "question" or "text"
    truth: frozenset[str]  # the codes it carries
    answers: int | None = None  # index of the question it answers
    wanted: int = 0  # questions: answers still to come


def draw(codes: dict[str, float], rng: random.Random) -> frozenset[str]:
    return frozenset(k for k, p in codes.items() if rng.random() < p)


def chat_line(rng: random.Random, names: list[str]) -> tuple[str, frozenset[str]]:
    text = ibench.fill(rng.choice(ibench.CHATTER), rng, names)
    if any(w in text for w in CHEER):
        return text, draw(CHEER_CODES, rng)
    if any(w in text for w in WELCOME):
        return text, draw(WELCOME_CODES, rng)
    return text, draw(CHAT_CODES, rng)


def story(rng: random.Random, names: list[str]) -> str:
    parts = [
        ibench.fill(rng.choice(ibench.SENTENCES), rng, names) for _ in range(rng.randint(2, 5))
    ]
    if rng.random() < 0.3:
        parts = [f"{j}. {p}" for j, p in enumerate(parts, 1)]
    return "\n".join(parts)


def make_chat(
    rng: random.Random,
    senders: list[int],
    weights: list[float],
    names: list[str],
    count: int,
    days: tuple[float, float],
    now: dt.datetime,
) -> list[Said]:
    """`count` messages between days[1] and days[0] days ago, in time order: questions, the
    answers to them (from someone else, soon after, sometimes much later), stories and chat."""
    day_w = [rng.uniform(0.4, 1.6) for _ in range(int(days[1] - days[0]) + 1)]
    picked_days = rng.choices(range(len(day_w)), day_w, k=count)
    hours = rng.choices(range(24), HOUR_WEIGHTS, k=count)
    times = [
        (now - dt.timedelta(days=days[0] + d)).replace(hour=h, minute=0, second=0)
        + dt.timedelta(seconds=rng.randrange(3600))
        for d, h in zip(picked_days, hours, strict=True)
    ]  # `now` is local time: people write by their own clock
    times = sorted(t if t < now else t - dt.timedelta(days=1) for t in times)
    out: list[Said] = []
    open_questions: list[int] = []
    for at in times:
        sender = rng.choices(senders, weights)[0]
        others = [q for q in open_questions[-8:] if out[q].sender != sender]
        if others and rng.random() < ANSWER_SHARE:
            # Mostly the latest question; sometimes one asked a while ago.
            q = others[-1] if rng.random() < 0.8 else rng.choice(open_questions)
            if out[q].sender == sender:
                q = others[-1]
            text = ibench.fill(rng.choice(ibench.ANSWERS), rng, names)
            out.append(Said(at, sender, text, "text", draw(ANSWER_CODES, rng), answers=q))
            out[q].wanted -= 1
            if out[q].wanted <= 0:
                open_questions.remove(q)
            continue
        roll = rng.random()
        if roll < QUESTION_SHARE:
            text = ibench.fill(rng.choice(ibench.QUESTIONS), rng, names)
            said = Said(at, sender, text, "question", draw(QUESTION_CODES, rng))
            said.wanted = rng.choice((0, 1, 1, 1, 2, 3))  # a quarter never answered
            out.append(said)
            if said.wanted:
                open_questions.append(len(out) - 1)
        elif roll < QUESTION_SHARE + STORY_SHARE:
            out.append(Said(at, sender, story(rng, names), "text", draw(STORY_CODES, rng)))
        else:
            text, truth = chat_line(rng, names)
            out.append(Said(at, sender, text, "text", truth))
    return out


# --------------------------------------------------------------------------- building


def make_people(prefix: str, n: int, rng: random.Random, *, active: bool = True) -> list[int]:
    """Users with Chinese display names and profiles (health details in 70 % of them)."""
    from django.contrib.auth.hashers import make_password

    from tongzhou.accounts.models import Profile, User

    unusable = make_password(None)
    names = ibench.make_names(rng)
    while len(names) < n:
        names += [f"{x}{len(names)}" for x in ibench.make_names(rng)]
    users = User.objects.bulk_create(
        User(
            username=f"{prefix}{i:04d}" if active else f"imported-{prefix}{i:04d}",
            display_name=names[i],
            password=unusable,
            is_active=active,
        )
        for i in range(n)
    )
    profiles = []
    for u in users:
        p = Profile(user=u, timezone="Asia/Shanghai" if active else "")
        if active and rng.random() < 0.7:
            p.role = rng.choice(("patient", "patient", "patient", "carer"))
            p.cancer_type = rng.choice(CANCERS)
            p.stage = rng.choice(STAGES)
            p.phase = rng.choice(("new", "treatment", "treatment", "finished", "survivor"))
            p.diagnosis_year = rng.randint(2012, 2025)
            p.region = rng.choice(REGIONS)
            p.hospital = rng.choice(PROFILE_HOSPITALS) if rng.random() < 0.5 else ""
        profiles.append(p)
    Profile.objects.bulk_create(profiles)
    return [u.pk for u in users]


def make_group(name: str, user_ids: list[int], rng: random.Random, now: dt.datetime) -> int:
    """A group led by the first user (`do_create_group`), the others members who joined over
    the last two years; two moderators."""
    from tongzhou.accounts.models import User
    from tongzhou.groups.actions import do_create_group
    from tongzhou.groups.models import Group, Membership

    group = do_create_group(User.objects.get(pk=user_ids[0]), name)
    Group.objects.filter(pk=group.pk).update(member_cap=max(150, len(user_ids)))
    Membership.objects.filter(group=group, user_id=user_ids[0]).update(
        joined_at=now - dt.timedelta(days=LIVE_DAYS + 30)
    )
    Membership.objects.bulk_create(
        Membership(
            group=group,
            user_id=uid,
            role=Membership.GroupRole.MODERATOR if i < 2 else Membership.GroupRole.MEMBER,
            joined_at=now - dt.timedelta(days=rng.uniform(0, 730)),
        )
        for i, uid in enumerate(user_ids[1:])
    )
    return group.pk


def insert_chat(gid: int, chat: list[Said], status: str, tag: str) -> list[int]:
    """The messages (bulk), then the replies and the live questions' `Question` rows as the
    product keeps them; imported history gets no replies (a WhatsApp export has none) but
    the answers the import recognised. Returns the message ids in the chat's order."""
    from django.db import connection

    from tongzhou.chat.models import Message
    from tongzhou.imports.models import Candidate
    from tongzhou.questions.models import Question

    rows = Message.objects.bulk_create(
        (
            Message(
                group_id=gid,
                sender_id=s.sender,
                client_id=f"{tag}{i}",
                text=s.text,
                kind=s.kind,
                status=status,
                created_at=s.at,
            )
            for i, s in enumerate(chat)
        ),
        batch_size=2000,
    )
    ids = [m.pk for m in rows]
    answers: dict[int, list[int]] = {}
    for i, s in enumerate(chat):
        if s.answers is not None:
            answers.setdefault(s.answers, []).append(i)
    if status == Message.Status.VISIBLE:
        with connection.cursor() as cur:
            cur.executemany(
                "UPDATE chat_message SET reply_to_id = %s WHERE id = %s",
                [(ids[q], ids[a]) for q, got in answers.items() for a in got],
            )
        Question.objects.bulk_create(
            (
                Question(
                    message_id=ids[i],
                    group_id=gid,
                    asker_id=s.sender,
                    asked_at=s.at,
                    first_answer_id=ids[answers[i][0]] if i in answers else None,
                    first_answer_at=chat[answers[i][0]].at if i in answers else None,
                )
                for i, s in enumerate(chat)
                if s.kind == "question"
            ),
            batch_size=2000,
        )
    else:
        Candidate.objects.bulk_create(
            (
                Candidate(
                    group_id=gid,
                    question_id=ids[q],
                    answers=[ids[a] for a in got],
                    score=0.5,
                )
                for q, got in answers.items()
            ),
            batch_size=2000,
        )
    return ids


def joined_before_writing(gid: int, chat: list[Said]) -> None:
    """Members joined before their first live message."""
    from tongzhou.groups.models import Membership

    first: dict[int, dt.datetime] = {}
    for s in chat:
        first.setdefault(s.sender, s.at)
    for m in Membership.objects.filter(group_id=gid, user_id__in=list(first)):
        if m.joined_at > first[m.user_id]:
            m.joined_at = first[m.user_id] - dt.timedelta(hours=1)
            m.save(update_fields=["joined_at"])


def build_world(args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from django.utils import timezone

    from tongzhou.accounts.models import User
    from tongzhou.imports.models import ImportedPerson

    now = timezone.localtime()
    t0 = time.perf_counter()
    world: dict[str, Any] = {"now": now.isoformat()}
    zipf = [1 / (i + 1) ** 0.9 for i in range(MEMBERS)]  # a few people write most

    members_a = make_people("insa", MEMBERS, rng)
    gid_a = make_group("同舟病友群 A", members_a, rng, now)
    names_a = list(User.objects.filter(pk__in=members_a).values_list("display_name", flat=True))
    chat_a = make_chat(rng, members_a, zipf, names_a, args.messages, (0, LIVE_DAYS), now)
    ids_a = insert_chat(gid_a, chat_a, "visible", "a")
    joined_before_writing(gid_a, chat_a)

    members_b = make_people("insb", MEMBERS, rng)
    gid_b = make_group("同舟病友群 B", members_b, rng, now)
    placeholders = make_people("insh", HISTORY_PEOPLE - CLAIMED, rng, active=False)
    history_people = members_b[:CLAIMED] + placeholders  # the claimed ones now write as members
    ImportedPerson.objects.bulk_create(
        ImportedPerson(
            group_id=gid_b,
            name=f"导入的人{i}",
            user_id=uid,
            claimed_by_id=members_b[i] if i < CLAIMED else None,
        )
        for i, uid in enumerate(placeholders)
    )
    live_b = args.messages - args.messages // 2
    chat_b = make_chat(rng, members_b, zipf, names_a, live_b, (0, LIVE_DAYS), now)
    hist_b = make_chat(rng, history_people, zipf, names_a, args.messages // 2, HISTORY_DAYS, now)
    insert_chat(gid_b, hist_b, "history", "h")
    insert_chat(gid_b, chat_b, "visible", "b")
    joined_before_writing(gid_b, chat_b)
    world.update(
        gid_a=gid_a,
        gid_b=gid_b,
        leader_a=members_a[0],
        leader_b=members_b[0],
        members_a=members_a,
        truth={ids_a[i]: sorted(s.truth) for i, s in enumerate(chat_a)},
        messages_a=len(chat_a),
        questions_a=sum(s.kind == "question" for s in chat_a),
        replies_a=sum(s.answers is not None for s in chat_a),
        live_b=len(chat_b),
        history_b=len(hist_b),
        questions_history_b=sum(s.kind == "question" for s in hist_b),
        recognised_b=len({s.answers for s in hist_b if s.answers is not None}),
        build_messages_s=time.perf_counter() - t0,
    )
    return world


def build_research(world: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Consent, a project, 3 researchers, 2,000 coded units and 1,000 uncoded ones."""
    from django.utils import timezone

    from tongzhou.accounts.actions import do_register
    from tongzhou.accounts.models import User
    from tongzhou.insight import actions
    from tongzhou.insight.models import Code, Coding, Unit

    t0 = time.perf_counter()
    gid = world["gid_a"]
    for uid in world["members_a"]:
        actions.do_decide_consent(
            User.objects.get(pk=uid),
            gid,
            messages=True,
            health=rng.random() < 0.7,
            quotes=rng.random() < 0.3,
        )
    leader = User.objects.get(pk=world["leader_a"])
    project = actions.do_create_project(
        leader,
        gid,
        title="病友之间的支持 · Support between members",
        purpose="群里的病友互相给予哪些支持，新病友如何获得信心。Which kinds of support members "
        "give each other, and how newcomers gain confidence.",
        ends_on=timezone.localdate() + dt.timedelta(days=365),
    )
    coders = []
    for i in range(CODERS):
        user = do_register(f"coder{i + 1}", "bench-insight-Passw0rd!", f"研究员 {i + 1}")
        actions.do_grant(leader, project, user.username)
        coders.append(user)
    added = actions.do_sample(coders[0], project, size=SAMPLE)
    units = list(Unit.objects.filter(project=project).values_list("pk", "message_id"))
    codes = dict(Code.objects.filter(project=project).values_list("key", "pk"))
    care = [0.80 + 0.12 * i / max(CODERS - 1, 1) for i in range(CODERS)]
    decided: dict[int, dict[int, frozenset[str]]] = {c.pk: {} for c in coders}
    for coder, p in zip(coders, care, strict=True):
        for unit, message in units:
            truth = world["truth"][message]
            decided[coder.pk][unit] = frozenset(
                k for k in codes if (rng.random() < p if k in truth else rng.random() < 0.015)
            )
    made = Coding.objects.bulk_create(
        Coding(unit_id=unit, coder=coder, coded_at=timezone.now())
        for coder in coders
        for unit, _m in units
    )
    through = Coding.codes.through
    through.objects.bulk_create(
        (
            through(coding_id=c.pk, code_id=codes[k])
            for c in made
            for k in decided[c.coder_id][c.unit_id]
        ),
        batch_size=5000,
    )
    differ = [
        (unit, message) for unit, message in units if len({decided[c.pk][unit] for c in coders}) > 1
    ]
    for unit, message in differ[:SETTLED]:
        actions.do_agree(coders[0], project, unit, world["truth"][message])
    more = actions.do_sample(coders[0], project, size=MORE_UNITS)
    applied = sum(len(v) for d in decided.values() for v in d.values())
    return {
        "pid": project.pk,
        "coders": [c.pk for c in coders],
        "units": added + more,
        "coded": added,
        "uncoded": more,
        "codings": len(made),
        "codes_applied": applied,
        "differ": len(differ),
        "settled": min(SETTLED, len(differ)),
        "care": care,
        "build_s": time.perf_counter() - t0,
    }


# --------------------------------------------------------------------------- measuring


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)  # ms
    cpu: list[float] = field(default_factory=list)  # ms, this process

    def as_dict(self) -> dict[str, Any]:
        w = self.wall
        return {
            "runs": len(w),
            "median": statistics.median(w),
            "min": min(w),
            "max": max(w),
            "cpu_median": statistics.median(self.cpu),
            "all": [round(x, 2) for x in w],
        }


def timed(fn: Callable[[], Any], runs: int, warm: bool = True) -> dict[str, Any]:
    if warm:
        fn()
    t = Timing()
    for _ in range(runs):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        t.wall.append((time.perf_counter() - w0) * 1000)
        t.cpu.append((time.process_time() - c0) * 1000)
    return t.as_dict()


def count_queries(fn: Callable[[], Any]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def without_gc(fn: Callable[[], Any], runs: int) -> float:
    """Median ms with Python's cyclic garbage collector off during each call (collected
    before it, untimed): what the collections' pauses cost the measurement."""
    wall = []
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            fn()
            wall.append((time.perf_counter() - t0) * 1000)
        finally:
            gc.enable()
    return statistics.median(wall)


def profile(fn: Callable[[], Any], top: int = 10) -> dict[str, Any]:
    """cProfile of one call: the costliest functions by own time, and by cumulative time
    among the project's own functions (shares of the profiled total)."""
    prof = cProfile.Profile()
    gc.collect()
    gc.disable()  # a collection's pause would land on whatever function ran at the time
    try:
        prof.enable()
        fn()
        prof.disable()
    finally:
        gc.enable()
    st = pstats.Stats(prof)
    total = st.total_tt or 1e-9  # type: ignore[attr-defined]  # pstats keeps it there

    def name(key: tuple[str, int, str]) -> str:
        path, line, func = key
        func = func.split(" at 0x", 1)[0] + (">" if " at 0x" in func else "")
        for cut in ("/src/", "site-packages/", "/lib/python3."):
            path = path.split(cut, 1)[-1]
        path = path.split("/", 1)[-1] if path[:2].isdigit() else path  # "11/collections/..."
        return f"{path}:{line}({func})" if line else func

    def ours(path: str, func: str) -> bool:
        # Our functions below the middleware and the views' decorators.
        return "/tongzhou/" in path and func not in ("__call__", "wrapper", "inner")

    rows = st.stats  # type: ignore[attr-defined]  # {key: (cc, nc, tt, ct, callers)}
    own = sorted(rows.items(), key=lambda kv: -kv[1][2])[:top]
    ours = sorted(((k, v) for k, v in rows.items() if ours(k[0], k[2])), key=lambda kv: -kv[1][3])[
        :top
    ]
    return {
        "total_s": total,
        "own": [(name(k), v[2] / total, v[1]) for k, v in own],
        "cumulative_ours": [(name(k), v[3] / total, v[1]) for k, v in ours],
    }


class Pages:
    """GETs and POSTs through Django's test client, signed in as `user`."""

    def __init__(self, user_id: int) -> None:
        from django.test import Client

        from tongzhou.accounts.models import User

        self.client = Client()
        self.client.force_login(User.objects.get(pk=user_id))

    def get(self, url: str) -> int:
        r = self.client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        return len(r.content)

    def post(self, url: str, data: dict[str, Any]) -> str:
        r = self.client.post(url, data)
        assert r.status_code == 302, (url, r.status_code, r.content[:300])
        return str(r["Location"])


def wait_for_quiet(limit: float, longest: float) -> dict[str, Any]:
    """Poll the 1-minute load average every 30 s until it is under `limit`."""
    t0 = time.monotonic()
    seen = [os.getloadavg()[0]]
    while seen[-1] >= limit and time.monotonic() - t0 < longest:
        print(f"  load {seen[-1]:.2f} ≥ {limit:g}: waiting", flush=True)
        time.sleep(30)
        seen.append(os.getloadavg()[0])
    return {"limit": limit, "waited_s": time.monotonic() - t0, "found": seen[-1],
            "quiet": seen[-1] < limit}  # fmt: skip


def measure(
    args: argparse.Namespace, world: dict[str, Any], research: dict[str, Any]
) -> dict[str, Any]:
    from tongzhou.insight import actions, export
    from tongzhou.insight.dashboard import compute
    from tongzhou.insight.models import Project, Unit

    out: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    queries: dict[str, int] = {}
    runs = args.runs

    def run(key: str, fn: Callable[[], Any], n: int = runs, warm: bool = True) -> None:
        out[key] = timed(fn, n, warm)
        r = out[key]
        print(f"  {key:<44} median {r['median']:8.1f} ms  (min {r['min']:.1f}, max "
              f"{r['max']:.1f}; CPU {r['cpu_median']:.1f})", flush=True)  # fmt: skip

    gid_a, gid_b = world["gid_a"], world["gid_b"]
    for days in (30, 90, 365, None):
        run(f"A.compute.{days or 'all'}", lambda d=days: compute(gid_a, days=d))
        queries[f"A.compute.{days or 'all'}"] = count_queries(lambda d=days: compute(gid_a, days=d))
    leader_a = Pages(world["leader_a"])
    for q in ("90", "all"):
        url = f"/groups/{gid_a}/insight/?days={q}"
        sizes[f"A.page.{q}"] = leader_a.get(url)
        queries[f"A.page.{q}"] = count_queries(lambda u=url: leader_a.get(u))
        run(f"A.page.{q}", lambda u=url: leader_a.get(u))

    for days in (30, 90, 365, None):
        run(f"B.compute.{days or 'all'}", lambda d=days: compute(gid_b, days=d))
        queries[f"B.compute.{days or 'all'}"] = count_queries(lambda d=days: compute(gid_b, days=d))
    run("B.compute.all.nohistory", lambda: compute(gid_b, days=None, history=False))
    queries["B.compute.all.nohistory"] = count_queries(
        lambda: compute(gid_b, days=None, history=False)
    )
    leader_b = Pages(world["leader_b"])
    for q in ("90", "all"):
        url = f"/groups/{gid_b}/insight/?days={q}"
        sizes[f"B.page.{q}"] = leader_b.get(url)
        queries[f"B.page.{q}"] = count_queries(lambda u=url: leader_b.get(u))
        run(f"B.page.{q}", lambda u=url: leader_b.get(u))

    pid = research["pid"]
    coder = Pages(research["coders"][0])
    project = Project.objects.get(pk=pid)
    from tongzhou.accounts.models import User

    researcher = User.objects.get(pk=research["coders"][0])
    pages = {
        "R.code": f"/research/{pid}/code/",
        "R.agreement": f"/research/{pid}/agreement/",
        "R.disagreements": f"/research/{pid}/disagreements/",
    }
    for key, url in pages.items():
        sizes[key] = coder.get(url)
        queries[key] = count_queries(lambda u=url: coder.get(u))
        run(key, lambda u=url: coder.get(u))
    export_sizes: dict[str, int] = {}
    for fmt in ("csv", "jsonl"):
        export_sizes[fmt] = len(export.build(project, researcher, fmt)[0])
        queries[f"R.export.{fmt}"] = count_queries(
            lambda f=fmt: export.build(project, researcher, f)
        )
        run(f"R.export.{fmt}", lambda f=fmt: export.build(project, researcher, f))
    sizes.update({f"R.export.{k}": v for k, v in export_sizes.items()})

    # The first training in the process imports scikit-learn and loads jieba's dictionary.
    c0, w0 = time.process_time(), time.perf_counter()
    trained = actions.do_train(researcher, project)
    out["R.train.first"] = {
        "runs": 1,
        "median": (time.perf_counter() - w0) * 1000,
        "min": math.nan,
        "max": math.nan,
        "cpu_median": (time.process_time() - c0) * 1000,
    }
    print(f"  R.train.first {out['R.train.first']['median']:.0f} ms", flush=True)
    run("R.train", lambda: actions.do_train(researcher, project), args.train_runs, warm=False)
    out["train_result"] = {
        "units": trained.units,
        "suggested_units": len(trained.suggested),
        "scores": trained.scores,
    }
    sizes["R.code.suggested"] = coder.get(pages["R.code"])
    queries["R.code.suggested"] = count_queries(lambda: coder.get(pages["R.code"]))
    run("R.code.suggested", lambda: coder.get(pages["R.code"]))

    # Saving: each POST codes the next uncoded unit, then the page it redirects to.
    todo = list(
        Unit.objects.filter(project_id=pid)
        .exclude(codings__coder_id=research["coders"][0])
        .order_by("position")
        .values_list("pk", "position")
    )
    saves, nexts = Timing(), Timing()
    for i, (unit, position) in enumerate(todo[: runs + 1]):
        c0, w0 = time.process_time(), time.perf_counter()
        where = coder.post(
            pages["R.code"] + "?show=todo",
            {"unit": unit, "position": position, "codes": ["qa.question"]},
        )
        c1, w1 = time.process_time(), time.perf_counter()
        coder.get(where)
        c2, w2 = time.process_time(), time.perf_counter()
        if i:  # the first is the warm-up
            saves.wall.append((w1 - w0) * 1000)
            saves.cpu.append((c1 - c0) * 1000)
            nexts.wall.append((w2 - w1) * 1000)
            nexts.cpu.append((c2 - c1) * 1000)
    out["R.save"], out["R.save.next"] = saves.as_dict(), nexts.as_dict()
    for key in ("R.save", "R.save.next"):
        print(f"  {key:<44} median {out[key]['median']:8.1f} ms", flush=True)

    profiles: dict[str, Any] = {}
    again: dict[str, Callable[[], Any]] = {
        "A.page.90": lambda: leader_a.get(f"/groups/{gid_a}/insight/?days=90"),
        "A.page.all": lambda: leader_a.get(f"/groups/{gid_a}/insight/?days=all"),
        "B.page.all": lambda: leader_b.get(f"/groups/{gid_b}/insight/?days=all"),
        "R.code.suggested": lambda: coder.get(pages["R.code"]),
        "R.agreement": lambda: coder.get(pages["R.agreement"]),
        "R.disagreements": lambda: coder.get(pages["R.disagreements"]),
        "R.export.csv": lambda: export.build(project, researcher, "csv"),
        "R.train": lambda: actions.do_train(researcher, project),
    }
    for key, fn in again.items():
        if out[key]["median"] > args.slow_ms or key in args.profile:
            print(f"== profiling {key}", flush=True)
            profiles[key] = profile(fn)
            profiles[key]["no_gc_ms"] = without_gc(fn, runs)
            print(f"  {key} without the garbage collector: median "
                  f"{profiles[key]['no_gc_ms']:.1f} ms", flush=True)  # fmt: skip
            for n, share, calls in profiles[key]["cumulative_ours"][:8]:
                print(f"    {share:6.1%} cum  {calls:>8} calls  {n}")
            for n, share, calls in profiles[key]["own"][:8]:
                print(f"    {share:6.1%} own  {calls:>8} calls  {n}")
    return {"timings": out, "sizes": sizes, "queries": queries, "profiles": profiles}


# --------------------------------------------------------------------------- child


def code_version() -> str:
    def git(*argv: str) -> str:
        r = subprocess.run(["git", *argv], capture_output=True, text=True, cwd=REPO)
        return r.stdout.strip() if r.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--", "src/tongzhou/insight")
    return commit + (" with uncommitted changes in src/tongzhou/insight/" if dirty else "")


def child(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=f"tz-insight-{args.db}-"))
    result: dict[str, Any] = {"db": args.db, "code": code_version()}
    try:
        sbench.setup_django(work)
        from django.db import connection

        if connection.vendor == "sqlite":
            import sqlite3

            result["version"] = f"SQLite {sqlite3.sqlite_version}"
        else:
            with connection.cursor() as c:
                c.execute("SHOW server_version")
                result["version"] = f"PostgreSQL {c.fetchone()[0].split()[0]}"
        rng = random.Random(args.seed)
        print(f"== {result['version']}: building", flush=True)
        world = build_world(args, rng)
        print(f"  {world['messages_a']:,} messages in A ({world['questions_a']:,} questions, "
              f"{world['replies_a']:,} replies); B {world['live_b']:,} live + "
              f"{world['history_b']:,} history, in {world['build_messages_s']:.0f} s",
              flush=True)  # fmt: skip
        research = build_research(world, rng)
        print(f"  project {research['pid']}: {research['units']} units, "
              f"{research['codings']} codings, {research['differ']} units where coders "
              f"differ, in {research['build_s']:.0f} s", flush=True)  # fmt: skip
        if connection.vendor == "postgresql":
            t0 = time.perf_counter()
            with connection.cursor() as c:
                c.execute("VACUUM ANALYZE")
            result["vacuum_s"] = time.perf_counter() - t0
        world.pop("truth")
        world.pop("members_a")
        result["world"], result["research"] = world, research
        connection.close()  # a fresh connection, as a server process would have
        if args.wait_load:
            result["quiet"] = wait_for_quiet(args.wait_load, args.wait_max)
        result["load_before"] = os.getloadavg()
        print(f"== timing ({args.runs} runs each; load {result['load_before'][0]:.2f})",
              flush=True)  # fmt: skip
        t0 = time.perf_counter()
        result.update(measure(args, world, research))
        result["timing_s"] = time.perf_counter() - t0
        result["load_after"] = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["runtime_s"] = time.perf_counter() - started
    result["code_end"] = code_version()
    result["measured_at"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    Path(args.result).write_text(json.dumps(result, indent=1, default=str))
    return 0


# --------------------------------------------------------------------------- parent


def with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def run_child(db: str, args: argparse.Namespace) -> dict[str, Any] | None:
    out = Path(tempfile.mkstemp(prefix=f"tz-insight-{db}-", suffix=".json")[1])
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    dbname = f"tz_insight_{os.getpid()}"
    admin = with_database(args.database_url, "postgres") if args.database_url else ""
    try:
        if db == "postgres":
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE \"{dbname}\" ENCODING 'UTF8'")
            env["DATABASE_URL"] = with_database(args.database_url, dbname)
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            f"--db={db}",
            f"--result={out}",
            f"--messages={args.messages}",
            f"--runs={args.runs}",
            f"--train-runs={args.train_runs}",
            f"--seed={args.seed}",
            f"--slow-ms={args.slow_ms}",
            f"--wait-load={args.wait_load}",
            f"--wait-max={args.wait_max}",
            *[f"--profile={p}" for p in args.profile],
        ]
        proc = subprocess.run(cmd, env=env, check=False, cwd=REPO)
        if proc.returncode != 0 or not out.stat().st_size:
            print(f"!! the {db} run failed (exit {proc.returncode})")
            return None
        return dict(json.loads(out.read_text()))
    finally:
        if db == "postgres":
            import psycopg

            with contextlib.suppress(Exception), psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        out.unlink(missing_ok=True)


# --------------------------------------------------------------------------- report

ROWS = [
    ("dashboard", "A.compute.30", "`compute`, 30 days"),
    ("dashboard", "A.compute.90", "`compute`, 90 days"),
    ("dashboard", "A.compute.365", "`compute`, 365 days"),
    ("dashboard", "A.compute.all", "`compute`, everything (400 days)"),
    ("dashboard", "A.page.90", "**page**, 90 days (the default)"),
    ("dashboard", "A.page.all", "**page**, everything"),
    ("history", "B.compute.30", "`compute`, 30 days"),
    ("history", "B.compute.90", "`compute`, 90 days"),
    ("history", "B.compute.365", "`compute`, 365 days"),
    ("history", "B.compute.all", "`compute`, everything (1,100 days, by the month)"),
    ("history", "B.compute.all.nohistory", "`compute`, everything, history not counted"),
    ("history", "B.page.90", "**page**, 90 days"),
    ("history", "B.page.all", "**page**, everything"),
    ("research", "R.code", "**coding page**, next uncoded message (no suggestions yet)"),
    ("research", "R.code.suggested", "**coding page**, next uncoded message, with suggestions"),
    ("research", "R.save", "saving a coding (POST, answered by a redirect)"),
    ("research", "R.save.next", "the next message after saving (the redirect's GET)"),
    ("research", "R.agreement", "**agreement page**"),
    ("research", "R.disagreements", "**disagreements page**"),
    ("research", "R.export.csv", "`export.build`, CSV"),
    ("research", "R.export.jsonl", "`export.build`, JSONL"),
    ("research", "R.train.first", "`do_train`, first call in the process"),
    ("research", "R.train", "`do_train`, again"),
]
TITLES = {
    "dashboard": "Dashboard, group A ({messages_a:,} live messages)",
    "history": "Dashboard, group B ({live_b:,} live messages and {history_b:,} imported)",
    "research": "Research project on group A ({units:,} units, {coded:,} coded by {n} coders)",
}


def ms(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def shown_args() -> list[str]:
    """The command line as a reader would rerun it: without where the output went or the
    server's address."""
    hidden = ("--out", "--json", "--from-json", "--database-url")
    out, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a in hidden:
            skip = True
        elif not a.startswith(tuple(h + "=" for h in hidden)):
            out.append(a)
    return out


def render(results: list[dict[str, Any]], args: argparse.Namespace, runtime_s: float) -> str:
    m = delivery.machine()
    r0 = results[0]
    w, rs = r0["world"], r0["research"]
    ended = [r["measured_at"] for r in results if r.get("measured_at")]
    when = max(ended) if ended else dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    shown = shown_args()
    if args.database_url:
        shown.append("--database-url URL")
    first, last = results[0]["code"], results[-1].get("code_end", results[-1]["code"])
    code = first if first == last else f"{first} at the start, {last} at the end"
    loads = "; ".join(
        f"{DB_LABELS[r['db']]} "
        + (
            (
                f"{r['quiet']['found']:.2f} (already under {r['quiet']['limit']:g})"
                if r["quiet"]["waited_s"] < 1
                else f"{r['quiet']['found']:.2f} after waiting {r['quiet']['waited_s']:.0f} s "
                f"for it to fall under {r['quiet']['limit']:g}"
                + ("" if r["quiet"]["quiet"] else " (it did not)")
            )
            + ", "
            if "quiet" in r
            else ""
        )
        + "{:.2f}/{:.2f}/{:.2f} when timing began, {:.2f}/{:.2f}/{:.2f} when it ended".format(
            *r["load_before"], *r["load_after"]
        )
        for r in results
    )
    lines = [
        START_MARK,
        "## Insight: dashboard and research (`bench/insight.py`)",
        "",
        f"Measured {when} with `{' '.join(['python bench/insight.py', *shown])}` (whole run "
        f"{runtime_s:.0f} s). Tongzhou {code}; " + ", ".join(r["version"] for r in results) + ".",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory']} memory, {m['os']}, "
        f"Python {m['python']}. **Shared machine:** other work ran on the same CPUs; load "
        f"average (1 min, then 1/5/15 min): {loads}.",
        "",
        "**Method.** Each database in its own process and a fresh data directory (SQLite in "
        "WAL mode with the settings' pragmas"
        + (
            "; PostgreSQL a fresh database on a local server, VACUUM ANALYZE after the load"
            if any(r["db"] == "postgres" for r in results)
            else ""
        )
        + "). Generated and seeded (`--seed "
        f"{args.seed}`): group A, {MEMBERS} members and {w['messages_a']:,} live messages "
        f"over {LIVE_DAYS} days ({w['questions_a']:,} questions, {w['replies_a']:,} answers "
        "as replies, stories and chat from the templates of bench/imports.py, Zipf-weighted "
        f"senders); group B, {w['live_b']:,} live messages over {LIVE_DAYS} days and "
        f"{w['history_b']:,} imported ones {HISTORY_DAYS[0]}–{HISTORY_DAYS[1]} days ago "
        f"({HISTORY_PEOPLE} imported people, {CLAIMED} claimed by members; "
        f"{w['questions_history_b']:,} imported questions, {w['recognised_b']:,} with answers "
        "the import recognised). The research project on A: every member consents "
        "(`do_decide_consent`), `do_create_project`, `do_grant` to 3 researchers, "
        f"`do_sample` of {SAMPLE:,}; the 3 coders' codings of those written in bulk through "
        "the models (each message has the codes it plainly carries by what it is: a "
        "question, an answer, a story of treatment, encouragement, a welcome; each coder "
        "applies each of them with probability "
        + "/".join(f"{c:.2f}" for c in rs["care"])
        + f" and any other code with 0.015: {rs['codes_applied']:,} codes applied, "
        f"{rs['differ']:,} units where coders differ, {rs['settled']} settled with "
        f"`do_agree`), then `do_sample` of {MORE_UNITS:,} more, left uncoded. Pages through "
        "`django.test.Client` signed in (`force_login`: middleware, view, template; no "
        f"network). Each figure: one untimed call, then {args.runs} timed "
        f"({args.train_runs} for `do_train`); median and min–max of the wall time in ms, and "
        "the median CPU time of this process (on PostgreSQL the server's work is not in "
        "it). *Saving* codes the next uncoded message with one code, each save a new "
        "message.",
        "",
    ]
    for section, title in TITLES.items():
        head = "| what | " + " | ".join(
            f"{DB_LABELS[r['db']]} median (min–max) | CPU" for r in results
        )
        lines += [
            f"**{title.format(**w, **rs, n=len(rs['coders']))}**, ms:",
            "",
            head + " | queries |",
            "|---|" + "---:|---:|" * len(results) + "---:|",
        ]
        for sec, key, label in ROWS:
            if sec != section:
                continue
            cells = []
            for r in results:
                t = r["timings"].get(key)
                if t is None:
                    cells.append("– | –")
                    continue
                rng = f" ({ms(t['min'])}–{ms(t['max'])})" if t["runs"] > 1 else ""
                cells.append(f"{ms(t['median'])}{rng} | {ms(t['cpu_median'])}")
            q = r0["queries"].get(key)
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {q if q else ''} |")
        lines.append("")
    tr = r0["timings"]["train_result"]
    f1 = {k: v for k, v in tr["scores"].items() if v.get("f1") is not None}
    lines += [
        f"Sizes (first database): dashboard page {r0['sizes']['A.page.90'] / 1024:.0f} KB "
        f"(90 days) and {r0['sizes']['A.page.all'] / 1024:.0f} KB (everything); coding page "
        f"{r0['sizes']['R.code.suggested'] / 1024:.0f} KB; agreement page "
        f"{r0['sizes']['R.agreement'] / 1024:.0f} KB; export zip "
        f"{r0['sizes']['R.export.csv'] / 1024:.0f} KB (CSV), "
        f"{r0['sizes']['R.export.jsonl'] / 1024:.0f} KB (JSONL). `do_train` learned from "
        f"{tr['units']:,} coded units and suggested codes for {tr['suggested_units']:,} of "
        f"the uncoded; cross-validated F1 "
        + ", ".join(
            f"{k} {v['f1']:.2f}" for k, v in sorted(f1.items(), key=lambda kv: -kv[1]["f1"])
        )
        + " (generated texts, so these say nothing about real messages).",
        "",
    ]
    profiled = [(r, k, p) for r in results for k, p in r["profiles"].items()]
    if profiled:
        lines += [
            f"**Where the time goes**, for each figure above {args.slow_ms:g} ms: the median "
            "with Python's cyclic garbage collector off during each call (what its pauses "
            "cost: the pages allocate many short-lived objects), and a cProfile of one call "
            "with the collector off (shares of the profiled time, which the profiler inflates "
            "for Python more than for C): the largest cumulative among our functions, then the "
            "largest own times.",
            "",
        ]
        for r, key, p in profiled:
            label = next(lb for _s, k, lb in ROWS if k == key).replace("**", "")
            group = {"A": "A, ", "B": "B, "}.get(key[0], "")
            ours = ", ".join(f"`{n}` {s:.0%}" for n, s, _c in p["cumulative_ours"][1:5])
            own = ", ".join(f"`{n}` {s:.0%}" for n, s, _c in p["own"][:4])
            with_gc = r["timings"][key]["median"]
            lines.append(
                f"- {DB_LABELS[r['db']]}, {group}{label}: {ms(with_gc)} ms, without the "
                f"collector {ms(p['no_gc_ms'])} ms. Profile: {ours}; own time {own}."
            )
        lines.append("")
    lines += ["NOTES_PLACEHOLDER", END_MARK]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=MESSAGES, help="messages per group")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each measurement")
    parser.add_argument("--train-runs", type=int, default=3, help="timed runs of do_train")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="also on this PostgreSQL server (a fresh database, dropped "
                        "afterwards; default: $DATABASE_URL)")  # fmt: skip
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--slow-ms", type=float, default=SLOW_MS,
                        help="profile anything slower than this")  # fmt: skip
    parser.add_argument("--profile", action="append", default=[],
                        help="profile this measurement too (e.g. R.code.suggested)")  # fmt: skip
    parser.add_argument("--wait-load", type=float, default=0.0,
                        help="before timing, wait for the 1-minute load to fall under this")  # fmt: skip
    parser.add_argument("--wait-max", type=float, default=900.0, help="wait at most, seconds")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10,000 messages, 2 runs")
    parser.add_argument("--write", action="store_true", help="replace the section in --out")
    parser.add_argument("--out", default="docs/performance.md")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--from-json", help="write the section from results saved by --json")
    parser.add_argument("--db", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.db:
        return child(args)
    replay = bool(args.from_json)
    if replay:  # the figures and the command line of that run; write here
        saved = json.loads(Path(args.from_json).read_text())
        results, runtime = saved["results"], saved["runtime_s"]
        write, out = args.write, args.out
        args = parser.parse_args(saved["argv"])
        args.write, args.out, args.json = write, out, None
        sys.argv[1:] = saved["argv"]
    if args.quick:
        args.messages, args.runs, args.train_runs = 10_000, 2, 1
    if not replay:
        started = time.perf_counter()
        dbs = ([] if args.no_sqlite else ["sqlite"]) + (["postgres"] if args.database_url else [])
        results = [r for db in dbs if (r := run_child(db, args)) is not None]
        runtime = time.perf_counter() - started
        print(f"== total {runtime:.0f} s")
    if not results:
        return 1
    if args.json:
        saved = {"argv": sys.argv[1:], "runtime_s": runtime, "results": results}
        Path(args.json).write_text(json.dumps(saved, indent=1, default=str, ensure_ascii=False))
    section = render(results, args, runtime)
    out = REPO / args.out if not Path(args.out).is_absolute() else Path(args.out)
    notes = delivery.old_notes(out, NOTES_NAME)
    section = section.replace("NOTES_PLACEHOLDER", notes.strip()).replace("\n\n\n", "\n\n")
    print(section)
    if args.write:
        delivery.replace_section(out, section, START_MARK, END_MARK)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
