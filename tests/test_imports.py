"""Importing a group's old chat: the steps a leader takes (upload, check names, import),
what members then see (a History apart from the live chat, search, placeholders they can
claim), and that nothing is added twice, half-written or lost."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from tongzhou.chat.models import Message
from tongzhou.imports import actions, load
from tongzhou.imports.models import (
    Candidate,
    HistoryEvent,
    ImportedMessage,
    ImportedPerson,
    ImportJob,
    TermCandidate,
)
from tongzhou.knowledge.models import Entry
from tongzhou.tasks import run_pending

from .conftest import World

pytestmark = pytest.mark.django_db

WA = """12/03/2023, 09:01 - Messages and calls are end-to-end encrypted. No one outside of this chat can read them.
12/03/2023, 09:02 - 王 芳 joined using this group's invite link
12/03/2023, 09:05 - 王 芳: 请问放疗后口干怎么办？有什么好办法吗
12/03/2023, 09:07 - 李姐: 多喝水，用漱口水，我放疗后口干了半年，慢慢会好的
12/03/2023, 09:08 - 老张: 可以试试含片，医生开的那种，挺有用的
12/03/2023, 09:09 - 王 芳: 谢谢
13/03/2023, 10:00 - 李姐: <Media omitted>
13/03/2023, 10:01 - 老张: 今天复查结果出来了
12/03/2023, 09:05 复诊，记得带片子
"""
LATER = (
    WA
    + """14/03/2023, 08:00 - 王 芳: 早上好，大家今天都好吗
14/03/2023, 08:02 - 李姐: 好的
"""
)


def _import(world: World, text: str, names: dict[str, str] | None = None, **kw: Any) -> ImportJob:
    leader = world.users["leader"]
    assert leader is not None
    job = actions.do_upload(
        leader, world.group.pk, "WhatsApp Chat.txt", text.encode(), zone="Asia/Shanghai", **kw
    )
    actions.read_job(job)
    assert job.status == ImportJob.Status.READY, job.error
    actions.do_start_import(leader, world.group.pk, job.pk, names or {})
    job.refresh_from_db()
    actions.import_now(job)
    job.refresh_from_db()
    return job


def history(world: World) -> list[Message]:
    return list(
        Message.objects.filter(group=world.group, status=Message.Status.HISTORY).order_by(
            "created_at", "id"
        )
    )


def test_a_whatsapp_export_becomes_the_groups_history(world: World) -> None:
    job = _import(world, WA, {"王 芳": "小王"})
    assert job.status == ImportJob.Status.DONE
    assert job.result["added"] == 6 and job.result["events"] == 2
    rows = history(world)
    assert [m.sender.display_name for m in rows] == ["小王", "李姐", "老张", "小王", "李姐", "老张"]
    # Local times of the export, in the zone the leader chose (Shanghai, UTC+8).
    assert rows[0].created_at.isoformat() == "2023-03-12T01:05:00+00:00"
    assert rows[0].kind == Message.Kind.QUESTION
    # A continuation line that looks like a timestamp stays in its message.
    assert rows[-1].text == "今天复查结果出来了\n12/03/2023, 09:05 复诊，记得带片子"
    media = ImportedMessage.objects.get(message=rows[4])
    assert rows[4].text == "" and media.media == [""]
    kinds = sorted(HistoryEvent.objects.filter(group=world.group).values_list("kind", flat=True))
    assert kinds == ["join", "other"]


def test_placeholders_are_not_members_and_cannot_sign_in(world: World) -> None:
    _import(world, WA)
    people = ImportedPerson.objects.filter(group=world.group)
    assert sorted(p.name for p in people) == ["李姐", "王 芳", "老张"]
    for p in people:
        assert not p.user.is_active and not p.user.has_usable_password()
        assert not p.user.memberships.exists()
    assert not Client().login(username=people[0].user.username, password="")
    members = world.client("member").get(f"/api/v1/groups/{world.group.pk}/members")
    assert "李姐" not in json.dumps(members.json(), ensure_ascii=False)


def test_history_stays_out_of_the_live_chat_but_is_searched(world: World) -> None:
    _import(world, WA)
    c = world.client("member")
    live = c.get(f"/api/v1/groups/{world.group.pk}/messages").json()["messages"]
    assert not any("口干" in m["text"] for m in live)
    page = c.get(f"/groups/{world.group.pk}/history/").content.decode()
    assert "请问放疗后口干怎么办" in page and "李姐" in page
    found = c.get("/search/", {"q": "口干", "group": world.group.pk}).content.decode()
    assert f"/groups/{world.group.pk}/history/?m=" in found
    api = c.get("/api/v1/search", {"q": "口干"}).json()["results"]
    assert any(r.get("history") for r in api if r["type"] == "message")


def test_a_permalink_opens_the_page_holding_the_message(world: World) -> None:
    _import(world, WA)
    target = history(world)[2]
    r = world.client("member").get(f"/groups/{world.group.pk}/history/", {"m": target.pk})
    assert r.status_code == 302 and r["Location"].endswith(f"month=2023-03&page=1#m-{target.pk}")
    assert f'id="m-{target.pk}"' in world.client("member").get(r["Location"]).content.decode()


def test_importing_twice_or_an_overlapping_export_adds_nothing_twice(world: World) -> None:
    first = _import(world, WA)
    again = _import(world, WA)
    assert again.result["added"] == 0 and again.result["skipped"] == 8
    later = _import(world, LATER)
    assert later.result["added"] == 2 and later.result["skipped"] == 8
    assert len(history(world)) == 8
    assert first.result["added"] == 6
    assert ImportedPerson.objects.filter(group=world.group).count() == 3


def test_the_same_line_twice_in_one_minute_is_kept_twice(world: World) -> None:
    text = "12/03/2023, 09:05 - 李姐: 好的\n12/03/2023, 09:05 - 李姐: 好的\n"
    assert _import(world, text).result["added"] == 2
    assert _import(world, text).result["added"] == 0


def test_a_failure_midway_leaves_nothing_half_imported(world: World) -> None:
    leader = world.users["leader"]
    assert leader is not None
    job = actions.do_upload(leader, world.group.pk, "chat.txt", WA.encode(), zone="UTC")
    actions.read_job(job)
    actions.do_start_import(leader, world.group.pk, job.pk, {})
    job.refresh_from_db()
    with mock.patch.object(load, "_link_replies", side_effect=RuntimeError("disk full")):
        with pytest.raises(RuntimeError):
            actions.import_now(job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "nothing of it was saved" in job.error
    assert not Message.objects.filter(status=Message.Status.HISTORY).exists()
    assert not ImportedPerson.objects.exists() and not HistoryEvent.objects.exists()
    assert job.file == ""  # the upload is deleted either way


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"hello, this is not a chat export\njust text\n", "chat.txt, line 1:"),
        (b"", "The file is empty."),
        (b'{"name": "x", "messages": [', "chat.txt, line"),
    ],
)
def test_a_wrong_file_is_refused_with_its_name_and_line(
    world: World, data: bytes, expected: str
) -> None:
    leader = world.users["leader"]
    assert leader is not None
    if not data:
        with pytest.raises(actions.UserError, match="empty"):
            actions.do_upload(leader, world.group.pk, "chat.txt", data)
        return
    job = actions.do_upload(leader, world.group.pk, "chat.txt", data)
    actions.read_job(job)
    assert job.status == ImportJob.Status.FAILED
    assert job.error.startswith(expected), job.error
    assert not Message.objects.exists()


def test_a_damaged_file_imports_what_parses_and_names_the_rest(world: World) -> None:
    broken = WA.replace("12/03/2023, 09:08 - 老张:", "12/03/2023 09:08 老张 -", 1)
    job = _import(world, broken)
    # The damaged line joined the message before it (WhatsApp continuation) or was reported.
    assert job.result["added"] >= 5
    assert job.status == ImportJob.Status.DONE


def test_replies_are_linked_from_a_telegram_export(world: World) -> None:
    export = {
        "name": "鼻咽癌互助群",
        "type": "private_supergroup",
        "id": 1,
        "messages": [
            {
                "id": 10,
                "type": "message",
                "date": "2023-03-12T09:05:00",
                "date_unixtime": "1678583100",
                "from": "王芳",
                "from_id": "user1",
                "text": "升白针打几天？",
                "text_entities": [],
            },
            {
                "id": 11,
                "type": "message",
                "date": "2023-03-12T09:07:00",
                "date_unixtime": "1678583220",
                "from": "李姐",
                "from_id": "user2",
                "reply_to_message_id": 10,
                "text": "一般三天，看白细胞的数",
                "text_entities": [],
            },
        ],
    }
    _import(world, json.dumps(export, ensure_ascii=False))
    q, a = history(world)
    assert a.reply_to_id == q.pk
    page = world.client("member").get(f"/groups/{world.group.pk}/history/").content.decode()
    assert f'href="#m-{q.pk}"' in page


def test_a_member_claims_their_messages_after_the_leader_confirms(world: World) -> None:
    _import(world, WA)
    member, leader = world.users["member"], world.users["leader"]
    assert member is not None and leader is not None
    li = ImportedPerson.objects.get(group=world.group, name="李姐")
    c = world.client("member")
    r = c.post(f"/groups/{world.group.pk}/history/people/", {"action": "claim", "person": li.pk})
    assert r.status_code == 302
    li.refresh_from_db()
    assert li.claim_requested_by == member and li.claimed_by is None
    assert not Message.objects.filter(sender=member, status=Message.Status.HISTORY).exists()
    # A plain member cannot confirm their own claim.
    c.post(f"/groups/{world.group.pk}/history/people/", {"action": "confirm", "person": li.pk})
    li.refresh_from_db()
    assert li.claimed_by is None
    world.client("leader").post(
        f"/groups/{world.group.pk}/history/people/", {"action": "confirm", "person": li.pk}
    )
    li.refresh_from_db()
    assert li.claimed_by == member
    assert Message.objects.filter(sender=member, status=Message.Status.HISTORY).count() == 2
    # A later import of the same person's lines carries the member's name, not a copy.
    _import(world, LATER)
    assert Message.objects.filter(sender=member, status=Message.Status.HISTORY).count() == 3


def test_answered_questions_and_group_words_wait_for_review(world: World) -> None:
    lines = []
    names = ["王 芳", "李姐", "老张", "阿梅", "小陈"]
    for day in range(1, 20):
        asker, a1, a2 = names[day % 5], names[(day + 1) % 5], names[(day + 2) % 5]
        lines += [
            f"{day:02d}/04/2023, 09:00 - {asker}: 请问升白针打完骨头疼怎么办？",
            f"{day:02d}/04/2023, 09:03 - {a1}: 升白针打完骨头疼很正常，可以吃点止痛药，多休息",
            f"{day:02d}/04/2023, 09:05 - {a2}: 我也是，两三天就好了，毕业以后就不用打升白针了",
            f"{day:02d}/04/2023, 09:06 - {asker}: 谢谢",
        ]
    job = _import(world, "\n".join(lines) + "\n")
    assert job.result["candidates"] == 19
    cand = Candidate.objects.filter(group=world.group).first()
    assert cand is not None and len(cand.answers) == 2
    terms = set(TermCandidate.objects.filter(group=world.group).values_list("term", flat=True))
    assert "升白针" in terms  # ordinary words are measured on real-sized data in test_import_mining
    # A moderator turns a suggestion into a draft entry through the knowledge form.
    mod = world.client("moderator")
    page = mod.get(f"/groups/{world.group.pk}/history/review/").content.decode()
    assert "升白针打完骨头疼" in page
    form = mod.get(
        f"/groups/{world.group.pk}/knowledge/new/",
        {"m": [cand.question_id, *cand.answers], "candidate": cand.pk},
    )
    assert form.status_code == 200
    r = mod.post(
        f"/groups/{world.group.pk}/knowledge/new/",
        {
            "m": [cand.question_id, *cand.answers],
            "candidate": cand.pk,
            "title": "升白针后骨头疼",
            "body": "很常见，止痛药和休息；两三天会好。",
            "category": "treatment",
            "tags": "",
        },
    )
    assert r.status_code == 302, r.content.decode()[:500]
    cand.refresh_from_db()
    assert cand.status == Candidate.Status.USED and cand.entry is not None
    assert Entry.objects.get(pk=cand.entry.pk).sources.count() == 3
    # …and a word into the glossary, with the meaning the moderator writes.
    term = TermCandidate.objects.get(group=world.group, term="升白针")
    mod.post(
        f"/groups/{world.group.pk}/history/review/",
        {"action": "add_term", "term": term.pk, "meaning": "提升白细胞的针剂"},
    )
    term.refresh_from_db()
    assert term.status == TermCandidate.Status.USED
    assert world.group.glossary.filter(term="升白针").exists()


@pytest.mark.django_db(transaction=True)  # the worker commits, as in production
def test_the_upload_page_runs_the_whole_way_in_the_background(
    world: World,
) -> None:
    c = world.client("leader")
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = c.post(
        f"/groups/{world.group.pk}/import/",
        {
            "file": SimpleUploadedFile("WhatsApp Chat.txt", WA.encode()),
            "format": "auto",
            "timezone": "Asia/Shanghai",
        },
    )
    assert r.status_code == 302
    job = ImportJob.objects.get()
    run_pending()
    status = c.get(f"/api/v1/groups/{world.group.pk}/imports/{job.pk}").json()
    assert status["status"] == "ready" and status["summary"]["messages"] == 6
    page = c.get(r["Location"]).content.decode()
    assert "王 芳" in page and "Import now" in page
    names = {f"name-{i}": "" for i in range(3)}
    names[f"name-{[p['name'] for p in status['summary']['people']].index('老张')}"] = "张大哥"
    c.post(r["Location"], {"action": "start", **names})
    run_pending()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.progress == 1.0
    assert Message.objects.filter(sender__display_name="张大哥").count() == 2
    assert "Imported" in c.get(r["Location"]).content.decode()


@pytest.mark.django_db(transaction=True)  # the worker commits, as in production
def test_the_api_upload_and_start(world: World) -> None:
    c = world.client("leader")
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = c.post(
        f"/api/v1/groups/{world.group.pk}/imports",
        {"file": SimpleUploadedFile("chat.txt", WA.encode()), "timezone": "Asia/Shanghai"},
    )
    assert r.status_code == 201, r.json()
    jid = r.json()["id"]
    run_pending()
    r = c.post(
        f"/api/v1/groups/{world.group.pk}/imports/{jid}/start",
        {"names": {"李姐": "L"}},
        content_type="application/json",
    )
    assert r.status_code == 200, r.json()
    run_pending()
    done = c.get(f"/api/v1/groups/{world.group.pk}/imports/{jid}").json()
    assert done["status"] == "done" and done["result"]["added"] == 6
    again = c.post(
        f"/api/v1/groups/{world.group.pk}/imports/{jid}/start", {}, content_type="application/json"
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_ready"
    bad = c.post(
        f"/api/v1/groups/{world.group.pk}/imports",
        {"file": SimpleUploadedFile("chat.txt", WA.encode()), "timezone": "Mars/Base"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_timezone"


def test_the_command_line_import(world: World, capsys: Any, tmp_path: Any) -> None:
    from tongzhou.imports import command

    path = tmp_path / "chat.txt"
    path.write_text(WA, encoding="utf-8-sig")  # with a BOM, as Windows tools write it
    args = ["import", str(path), "--group", str(world.group.pk), "--timezone", "Asia/Shanghai"]
    import argparse

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    assert command.run(parser.parse_args([*args, "--name", "王 芳=小王"])) == 0
    out = capsys.readouterr()
    assert "6 messages from 3 people" in out.out and "Added 6 messages" in out.out
    assert Message.objects.filter(sender__display_name="小王").count() == 2
    assert command.run(parser.parse_args(args)) == 0
    assert "Added 0 messages (8 were already here)" in capsys.readouterr().out
    assert command.run(parser.parse_args([*args, "--name", "nobody=x"])) == 2
    bad = tmp_path / "bad.txt"
    bad.write_text("not a chat\n")
    assert command.run(parser.parse_args(["import", str(bad), "--group", str(world.group.pk)])) == 1
    assert "bad.txt, line 1:" in capsys.readouterr().err


def test_discarding_deletes_the_upload_and_an_import_stays_imported(world: World) -> None:
    from tongzhou import storage

    leader = world.users["leader"]
    assert leader is not None
    job = actions.do_upload(leader, world.group.pk, "chat.txt", WA.encode(), zone="UTC")
    actions.read_job(job)
    name = job.file
    assert storage.read(name)  # kept, encrypted, while the leader checks the names
    actions.do_discard(leader, world.group.pk, job.pk)
    with pytest.raises(FileNotFoundError):
        storage.read(name)
    done = _import(world, WA)
    with pytest.raises(actions.UserError) as refused:
        actions.do_discard(leader, world.group.pk, done.pk)
    assert refused.value.code == "already_imported"
    assert len(history(world)) == 6


def test_the_leader_can_say_which_order_the_dates_are_in(world: World) -> None:
    text = "03/04/2023, 09:00 - 李姐: 早上好\n05/04/2023, 09:00 - 老张: 早\n"
    dmy = _import(world, text)  # days 3 and 5 fit both orders; 24 h reads day first
    assert history(world)[0].created_at.month == 4
    leader = world.users["leader"]
    assert leader is not None
    job = actions.do_upload(
        leader, world.group.pk, "chat.txt", text.encode(), zone="Asia/Shanghai", date_order="mdy"
    )
    actions.read_job(job)
    assert job.summary["first"].startswith("2023-03-04")
    assert dmy.result["added"] == 2
    with pytest.raises(actions.UserError):
        actions.do_upload(leader, world.group.pk, "c.txt", text.encode(), date_order="dym")
