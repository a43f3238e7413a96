"""Access-matrix rows of imported chat histories (see tests/community_cases/__init__.py).

Importing is the leader's alone; the history and its people are every member's (members
claim their own messages, the leader confirms); what the history taught is for moderators.

Paths under /history/ or /import are opened with an imported history in the group: a short
WhatsApp export, read and imported as the leader does it. {ijdid}: that import (done);
{ipid}: one of its people nobody has asked for; {ipcid}: one whose messages the member asked
for (the leader has not decided yet); {ihmid}: its question; {icid}: the answered question
suggested for the knowledge base; {itid}: a word suggested for the glossary. {ijid}: a later
export, read and waiting for the leader to check the names."""

from __future__ import annotations

from typing import Any

from django.apps import apps

from tests.access import MEMBERS, MODS, Upload, expect
from tests.conftest import World
from tongzhou.imports.models import Candidate, ImportedPerson, ImportJob, TermCandidate

HISTORY = (
    "12/03/2023, 09:05 - 王 芳: 请问放疗后口干怎么办？\n"
    "12/03/2023, 09:07 - 李姐: 多喝水，用漱口水，我放疗后口干了半年\n"
)
LATER = (
    "13/03/2023, 20:15 - 王 芳: 谢谢李姐，我试试\n"
    "13/03/2023, 20:16 - 张医生: Sip water often, and see a dentist before radiotherapy.\n"
)
HISTORY_FILE = "WhatsApp Chat with 老群.txt"
LATER_FILE = "WhatsApp Chat with 老群 (2).txt"
ZONE = "Asia/Shanghai"

UPLOAD = Upload("WhatsApp Chat.txt", LATER.encode(), (("format", "whatsapp"), ("timezone", ZONE)))
LEADER = {"leader"}

PLACEHOLDERS = ("{ijid}", "{ijdid}", "{ipid}", "{ipcid}", "{ihmid}", "{icid}", "{itid}")

API_CASES: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("list_imports", "get", "/api/v1/groups/{gid}/imports", None, expect(LEADER, 200)),
    ("upload_import", "post", "/api/v1/groups/{gid}/imports", UPLOAD, expect(LEADER, 201)),
    ("get_import", "get", "/api/v1/groups/{gid}/imports/{ijid}", None, expect(LEADER, 200)),
    (
        "start_import",
        "post",
        "/api/v1/groups/{gid}/imports/{ijid}/start",
        {"names": {}},
        expect(LEADER, 200),
    ),
    (
        "discard_import",
        "post",
        "/api/v1/groups/{gid}/imports/{ijid}/discard",
        None,
        expect(LEADER, 200),
    ),
]
PAGE_CASES: list[tuple[str, str, dict[str, int]]] = [
    ("imports", "/groups/{gid}/import/", expect(LEADER, 200)),
    ("import_job", "/groups/{gid}/import/{ijid}/", expect(LEADER, 200)),
    ("import_done", "/groups/{gid}/import/{ijdid}/", expect(LEADER, 200)),
    ("history", "/groups/{gid}/history/", expect(MEMBERS, 200)),
    # A message's place in the history (a search result, a suggestion's link): sent on to it.
    ("history_message", "/groups/{gid}/history/?m={ihmid}", expect(MEMBERS, 302)),
    ("history_people", "/groups/{gid}/history/people/", expect(MEMBERS, 200)),
    ("history_review", "/groups/{gid}/history/review/", expect(MODS, 200)),
]
PAGE_POSTS: list[tuple[str, str, dict[str, str] | Upload, dict[str, int]]] = [
    ("import_upload", "/groups/{gid}/import/", UPLOAD, expect(LEADER, 302)),
    (
        "import_names",
        "/groups/{gid}/import/{ijid}/",
        {"action": "start", "name-0": "芳姐"},
        expect(LEADER, 302),
    ),
    ("import_discard", "/groups/{gid}/import/{ijid}/", {"action": "discard"}, expect(LEADER, 302)),
    (
        "history_claim",
        "/groups/{gid}/history/people/",
        {"action": "claim", "person": "{ipid}"},
        expect(MEMBERS, 302),
    ),
    (
        "history_withdraw",
        "/groups/{gid}/history/people/",
        {"action": "withdraw", "person": "{ipcid}"},
        expect(MEMBERS, 302),
    ),
    (
        "history_confirm",
        "/groups/{gid}/history/people/",
        {"action": "confirm", "person": "{ipcid}"},
        expect(LEADER, 302),
    ),
    (
        "history_decline",
        "/groups/{gid}/history/people/",
        {"action": "decline", "person": "{ipcid}"},
        expect(LEADER, 302),
    ),
    (
        "history_rename",
        "/groups/{gid}/history/people/",
        {"action": "rename", "person": "{ipid}", "name": "Li"},
        expect(LEADER, 302),
    ),
    (
        "history_dismiss",
        "/groups/{gid}/history/review/",
        {"action": "dismiss", "candidate": "{icid}"},
        expect(MODS, 302),
    ),
    (
        "history_dismiss_term",
        "/groups/{gid}/history/review/",
        {"action": "dismiss_term", "term": "{itid}"},
        expect(MODS, 302),
    ),
    (
        "history_add_term",
        "/groups/{gid}/history/review/",
        {"action": "add_term", "term": "{itid}", "meaning": "放疗后唾液少 · a dry mouth"},
        expect(MODS, 302),
    ),
]


def _read(world: World, filename: str, text: str) -> ImportJob:
    """An export the leader uploaded and the worker read (once per world)."""
    from tongzhou.imports import actions

    job = ImportJob.objects.filter(group=world.group, filename=filename).first()
    if job is None:
        job = actions.do_upload(
            world.users["leader"],  # type: ignore[arg-type]
            world.group.pk,
            filename,
            text.encode(),
            fmt="whatsapp",
            zone=ZONE,
        )
        actions.read_job(job)
        assert job.status == ImportJob.Status.READY, job.error
    return job


def _history(world: World) -> ImportJob:
    """The imported history, its suggestions, and the member's claim (once per world)."""
    from tongzhou.imports import actions, queries

    job = _read(world, HISTORY_FILE, HISTORY)
    if job.status == ImportJob.Status.DONE:
        return job
    actions.import_now(job)
    gid = world.group.pk
    # The mining heuristics decide what they suggest; these rows need one of each.
    if not Candidate.objects.filter(group_id=gid).exists():
        question, answer = queries.history(gid).order_by("created_at")[:2]
        Candidate.objects.create(
            group_id=gid, job=job, question=question, answers=[answer.pk], score=1.0
        )
    if not TermCandidate.objects.filter(group_id=gid).exists():
        TermCandidate.objects.create(
            group_id=gid, job=job, term="口干", messages=2, people=2, score=1.0
        )
    wang = ImportedPerson.objects.get(group_id=gid, name="王 芳")
    actions.do_request_claim(world.users["member"], gid, wang.pk)  # type: ignore[arg-type]
    return job


def ids(world: World, path: str) -> dict[str, Any]:
    """Objects this feature's paths name ({placeholder}: value), made only when named."""
    found: dict[str, Any] = {}
    if not any(p in path for p in ("/history/", "/import", *PLACEHOLDERS)):
        return found
    gid = world.group.pk
    done = _history(world)
    found["ijdid"] = done.pk
    found["ipid"] = ImportedPerson.objects.get(group_id=gid, name="李姐").pk
    found["ipcid"] = ImportedPerson.objects.get(group_id=gid, name="王 芳").pk
    found["icid"] = Candidate.objects.filter(group_id=gid).earliest("id").pk
    found["ihmid"] = Candidate.objects.filter(group_id=gid).earliest("id").question_id
    found["itid"] = TermCandidate.objects.filter(group_id=gid).earliest("id").pk
    if "{ijid}" in path:
        found["ijid"] = _read(world, LATER_FILE, LATER).pk
    return found


def snapshot() -> list[Any]:
    """Every row of every imports table, and the names the history's people go by: a refused
    request changes none of them."""
    return [
        *(
            sorted(map(repr, model.objects.values_list()))
            for model in apps.get_app_config("imports").get_models()
        ),
        sorted(ImportedPerson.objects.values_list("id", "user__display_name")),
    ]
