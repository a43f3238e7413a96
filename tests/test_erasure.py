"""Members own their data: a complete download, and deletion that leaves nothing behind."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from tongzhou import storage
from tongzhou.accounts.actions import do_update_profile
from tongzhou.accounts.models import User
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.attachments import do_upload
from tongzhou.chat.changes import do_react
from tongzhou.chat.models import Attachment, Message
from tongzhou.groups.actions import do_add_join_question, do_apply, do_decide
from tongzhou.groups.models import Group, Membership

from .conftest import PASSWORD, World, build_world, make_user
from .media_samples import jpeg_with_gps, recording


def unzip(content: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return {
            n: (z.read(n).decode() if n.endswith(".txt") else json.loads(z.read(n)))
            for n in z.namelist()
        }


def test_download_my_data_has_everything_about_me_and_nothing_about_others(
    world: World,
) -> None:
    member = world.users["member"]
    do_update_profile(member, {"cancer_type": "鼻咽癌", "stage": "III", "health_consent": True})  # type: ignore[arg-type]
    do_send_message(member, world.group.pk, client_id="m1", text="我的放疗第三周")  # type: ignore[arg-type]
    theirs, _ = do_send_message(
        world.users["leader"], world.group.pk, client_id="l1", text="leader's words"
    )  # type: ignore[arg-type]
    do_react(member, world.group.pk, theirs["id"], "🤗", True)  # type: ignore[arg-type]
    from tongzhou.knowledge.actions import do_comment, do_create_entry

    written = do_create_entry(
        member,  # type: ignore[arg-type]
        world.group.pk,
        title="我的经验",
        body="放疗期间多喝水",
        category="rehab",
    )
    do_comment(member, world.group.pk, written.pk, "补充：温水更好")  # type: ignore[arg-type]
    from tongzhou.community.aid import do_create_request
    from tongzhou.community.routines import do_check_in, do_create_routine

    pills = do_create_routine(member, world.group.pk, own=True, title="吃药 · pills", time="08:00")  # type: ignore[arg-type]
    do_check_in(member, world.group.pk, pills.pk)  # type: ignore[arg-type]
    do_create_request(member, world.group.pk, kind="company", title="陪我去复查")  # type: ignore[arg-type]
    do_create_request(world.users["leader"], world.group.pk, kind="lodging", title="leader's words")  # type: ignore[arg-type]
    c = world.client("member")
    r = c.get("/api/v1/me/export")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/zip"
    assert r["Content-Disposition"].startswith("attachment;")
    assert r["Cache-Control"] == "no-store"
    files = unzip(r.content)
    assert set(files) == {
        "README.txt",
        "account.json",
        "groups.json",
        "messages.json",
        "reactions.json",
        "knowledge.json",
        "safety.json",
        "direct_messages.json",
        "community.json",
    }
    assert [v["text"] for v in files["knowledge.json"]["entry_versions"]] == ["放疗期间多喝水"]
    assert [c["text"] for c in files["knowledge.json"]["comments"]] == ["补充：温水更好"]
    assert "media/" in files["README.txt"]
    account = files["account.json"]
    assert account["username"] == "member1"
    assert account["profile"]["cancer_type"] == "鼻咽癌"  # decrypted: it is theirs
    assert [c["kind"] for c in account["consents"]] == ["health_data"]
    assert [m["text"] for m in files["messages.json"]] == ["我的放疗第三周"]
    assert [(r["message"], r["emoji"]) for r in files["reactions.json"]] == [(theirs["id"], "🤗")]
    assert [m["group"] for m in files["groups.json"]["memberships"]] == [world.group.name]
    assert files["groups.json"]["applications"][0]["status"] == "approved"
    community = files["community.json"]
    assert [x["title"] for x in community["own_routines"]] == ["吃药 · pills"]
    assert [x["routine_id"] for x in community["check_ins"]] == [pills.pk]
    assert [x["title"] for x in community["aid_requests"]] == ["陪我去复查"]
    assert "leader's words" not in r.content.decode("latin-1")
    page = c.get("/accounts/export/")
    assert page.status_code == 200 and unzip(page.content)["account.json"] == account


def test_delete_keeping_messages_signs_them_former_member(world: World) -> None:
    member = world.users["member"]
    do_send_message(member, world.group.pk, client_id="m1", text="经验分享：多喝水")  # type: ignore[arg-type]
    c = world.client("member")
    r = c.post(
        "/api/v1/me/delete",
        {"password": PASSWORD, "messages": "keep"},
        content_type="application/json",
    )
    assert r.status_code == 204
    assert not User.objects.filter(username="member1").exists()
    assert c.get("/api/v1/me").status_code == 401
    assert not Client().login(username="member1", password=PASSWORD)
    seen = world.client("leader").get(f"/api/v1/groups/{world.group.pk}/messages").json()
    kept = [m for m in seen["messages"] if m["text"] == "经验分享：多喝水"]
    assert kept and kept[0]["sender"] == {
        "id": None,
        "display_name": "Former member",
        "badge": None,
    }
    zh = world.client("leader").get(
        f"/api/v1/groups/{world.group.pk}/messages", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "已退出的成员" in json.dumps(zh.json(), ensure_ascii=False)


def test_delete_refuses_a_wrong_password_or_no_choice_and_keeps_everything(world: World) -> None:
    c = world.client("member")
    r = c.post(
        "/api/v1/me/delete",
        {"password": "nope", "messages": "keep"},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "wrong_password"
    r = c.post(
        "/accounts/delete/", {"password": PASSWORD, "messages": ""}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert r.status_code == 400 and "请选择" in r.content.decode()
    assert c.get("/api/v1/me").status_code == 200


def test_a_leaving_leader_hands_the_group_to_the_longest_serving_moderator(world: World) -> None:
    leader = world.users["leader"]
    alone = Group.objects.create(name="Just me", created_by=leader)
    Membership.objects.create(group=alone, user=leader, role=Membership.GroupRole.LEADER)
    r = world.client("leader").post("/accounts/delete/", {"password": PASSWORD, "messages": "keep"})
    assert r.status_code == 302
    heir = Membership.objects.get(group=world.group, role=Membership.GroupRole.LEADER)
    assert heir.user == world.users["moderator"]
    assert not Group.objects.filter(pk=alone.pk).exists()  # nobody left to hand it to


def full_dump() -> str:
    """Every row of every table, as text: what a stolen database would show."""
    chunks = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names(cur):
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            chunks.append(repr(cur.fetchall()))
    return "\n".join(chunks)


def raw_sqlite_bytes() -> bytes:
    """The database file itself (after a checkpoint), where deleted rows could linger."""
    with connection.cursor() as cur:
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path = Path(connection.settings_dict["NAME"])
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


@pytest.mark.django_db(transaction=True)
def test_erasure_leaves_no_canary_in_the_database_or_the_data_folder() -> None:
    world = build_world()
    canary = "cnry7f3a"
    person = make_user(f"{canary}u", f"{canary} name")
    do_add_join_question(
        Membership.objects.get(group=world.group, user=world.users["leader"]), "How did you hear?"
    )
    do_update_profile(
        person,
        {
            "cancer_type": f"{canary} type",
            "stage": f"{canary}s",
            "hospital": f"{canary} hospital",
            "health_consent": True,
        },
    )
    app = do_apply(
        person,
        world.group,
        role="patient",
        diagnosis=f"{canary} dx",
        note=f"{canary} note",
        answers=[f"{canary} answer"],
        health_consent=True,
    )
    do_decide(world.users["leader"], app, approve=True)  # type: ignore[arg-type]
    first, _ = do_send_message(person, world.group.pk, client_id=f"{canary}c", text=f"{canary} 1")
    do_send_message(
        person, world.group.pk, client_id="c2", text=f"a {canary} 2", reply_to=first["id"]
    )
    # A reply by someone else quotes it (the quote is read live, never copied).
    do_send_message(
        world.users["member"], world.group.pk, client_id="r", text="thanks", reply_to=first["id"]
    )  # type: ignore[arg-type]
    signed_in = Client(HTTP_USER_AGENT=f"{canary}-agent/1.0")
    assert signed_in.login(username=f"{canary}u", password=PASSWORD)
    # A photo and a recording named by their phone after the person, one of them never sent.
    photo = signed_in.post(
        f"/api/v1/groups/{world.group.pk}/attachments",
        {"kind": "image", "file": SimpleUploadedFile(f"{canary}.jpg", jpeg_with_gps(canary))},
    ).json()
    do_send_message(person, world.group.pk, client_id="p", text="", attachment=photo["id"])
    signed_in.post(
        f"/api/v1/groups/{world.group.pk}/attachments",
        {"kind": "voice", "file": SimpleUploadedFile(f"{canary}.webm", recording(1))},
    )
    theirs = [n for a in Attachment.objects.filter(uploader=person) for n in a.files()]
    assert len(theirs) == 3 and all(storage._path(n).exists() for n in theirs)
    assert canary in full_dump()  # the sweep can see a canary when there is one
    if connection.vendor == "sqlite":
        assert canary.encode() in raw_sqlite_bytes()

    r = signed_in.post(
        "/api/v1/me/delete",
        {"password": PASSWORD, "messages": "remove"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN="x",
    )
    assert r.status_code == 204, r.content

    assert canary not in full_dump()
    if connection.vendor == "sqlite":
        assert canary.encode() not in raw_sqlite_bytes()
    assert not any(storage._path(n).exists() for n in theirs)
    assert not Attachment.objects.filter(pk=photo["id"]).exists()
    for path in Path(settings.DATA_DIR).rglob("*"):
        assert canary not in path.name
        if path.is_file() and path.stat().st_size < 50_000_000:
            assert canary.encode() not in path.read_bytes(), path
    # Others' messages are untouched; the quote of the erased message is gone.
    thanks = Message.objects.get(text="thanks")
    assert thanks.reply_to_id is None


def test_the_download_holds_my_pictures_and_recordings(world: World) -> None:
    member = world.users["member"]
    photo = do_upload(member, world.group.pk, "image", jpeg_with_gps())  # type: ignore[arg-type]
    do_send_message(member, world.group.pk, client_id="p", text="食谱", attachment=photo.pk)  # type: ignore[arg-type]
    voice = do_upload(member, world.group.pk, "voice", recording(2))  # type: ignore[arg-type]
    do_send_message(member, world.group.pk, client_id="v", text="", attachment=voice.pk)  # type: ignore[arg-type]
    r = world.client("member").get("/api/v1/me/export")
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        names = set(z.namelist())
        messages = json.loads(z.read("messages.json"))
        picture = z.read(f"media/image-{photo.pk}.jpg")
        sound = z.read(f"media/voice-{voice.pk}.webm")
    assert {f"media/image-{photo.pk}.jpg", f"media/voice-{voice.pk}.webm"} <= names
    assert [m.get("attachment", {}).get("file") for m in messages] == [
        f"media/image-{photo.pk}.jpg",
        f"media/voice-{voice.pk}.webm",
    ]
    assert picture.startswith(b"\xff\xd8")  # a JPEG they can open, not the encrypted file
    assert sound.startswith(b"\x1a\x45\xdf\xa3")  # a WebM (EBML) file


def test_leaving_with_messages_kept_keeps_their_pictures_and_drops_unsent_uploads(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    member = world.users["member"]
    sent = do_upload(member, world.group.pk, "image", jpeg_with_gps())  # type: ignore[arg-type]
    do_send_message(member, world.group.pk, client_id="p", text="", attachment=sent.pk)  # type: ignore[arg-type]
    unsent = do_upload(member, world.group.pk, "image", jpeg_with_gps())  # type: ignore[arg-type]
    with django_capture_on_commit_callbacks(execute=True):
        r = world.client("member").post(
            "/api/v1/me/delete",
            {"password": PASSWORD, "messages": "keep"},
            content_type="application/json",
        )
    assert r.status_code == 204
    sent.refresh_from_db()
    assert sent.uploader is None and storage._path(sent.file).exists()
    assert world.client("leader").get(f"/media/{sent.pk}/").status_code == 200
    assert not Attachment.objects.filter(pk=unsent.pk).exists()
    assert not storage._path(unsent.file).exists()
