"""Pictures and voice messages end to end through the API: upload, send, fetch, listen."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from PIL import Image

from tongzhou import storage
from tongzhou.chat.models import Attachment

from . import media_samples as samples
from .conftest import World


def stored_files() -> set[str]:
    from django.conf import settings

    return {p.name for p in Path(settings.MEDIA_ROOT).glob("*/*")}


def upload(
    client: Client, gid: int, data: bytes, kind: str = "image", name: str = "photo.jpg"
) -> Any:
    return client.post(
        f"/api/v1/groups/{gid}/attachments",
        {"kind": kind, "file": SimpleUploadedFile(name, data, content_type="image/jpeg")},
    )


def send(client: Client, gid: int, attachment: int | None, text: str = "", cid: str = "c1") -> Any:
    return client.post(
        f"/api/v1/groups/{gid}/messages",
        {"client_id": cid, "text": text, "attachment": attachment},
        content_type="application/json",
    )


def sent_picture(world: World, data: bytes | None = None) -> dict[str, Any]:
    c = world.client("member")
    up = upload(c, world.group.pk, data or samples.jpeg_with_gps("where I live"))
    assert up.status_code == 201, up.content
    r = send(c, world.group.pk, up.json()["id"], text="my CT report")
    assert r.status_code == 201, r.content
    return dict(r.json())


def test_a_picture_arrives_rotated_resized_and_without_exif(world: World) -> None:
    message = sent_picture(world)
    a = message["attachment"]
    assert a["kind"] == "image" and a["mime"] == "image/jpeg"
    assert (a["width"], a["height"]) == (900, 1200)  # EXIF said "rotate": applied, then dropped
    r = world.client("leader").get(a["url"])
    assert r.status_code == 200
    assert r["Content-Type"] == "image/jpeg"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Disposition"] == f'inline; filename="tongzhou-{a["id"]}.jpg"'
    assert r["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "no-cache" in r["Cache-Control"]
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (900, 1200)
    assert not img.getexif()  # no GPS, no camera model, no description
    assert b"Exif" not in r.content and b"where I live" not in r.content
    thumb = world.client("member").get(a["thumb_url"])
    assert thumb.status_code == 200
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 480
    download = world.client("member").get(a["url"] + "?download=1")
    assert download["Content-Disposition"].startswith("attachment;")


def test_others_see_the_picture_in_the_history_and_fetch_it_only_while_members(
    world: World,
) -> None:
    message = sent_picture(world)
    history = world.client("moderator").get(f"/api/v1/groups/{world.group.pk}/messages").json()
    shown = next(m for m in history["messages"] if m["id"] == message["id"])
    assert shown["attachment"]["url"] == message["attachment"]["url"]
    url = message["attachment"]["url"]
    missing = world.client("member").get("/media/999999/")
    for role in ("anonymous", "applicant", "rejected", "removed", "outsider"):
        r = world.client(role).get(url)
        assert r.status_code == 404, role
        assert r.content == missing.content  # "not yours" reads like "no such file"
    from tongzhou.groups.models import Membership

    lead = Membership.objects.get(group=world.group, user=world.users["leader"])
    target = Membership.objects.get(group=world.group, user=world.users["moderator"])
    from tongzhou.groups.actions import do_remove_member

    assert world.client("moderator").get(url).status_code == 200
    do_remove_member(lead, target)
    assert world.client("moderator").get(url).status_code == 404  # gone with the membership


def test_an_unsent_upload_is_the_uploaders_alone(world: World) -> None:
    up = upload(world.client("member"), world.group.pk, samples.png_with_alpha()).json()
    assert up["mime"] == "image/png"  # transparency kept
    assert world.client("member").get(up["url"]).status_code == 200
    assert world.client("leader").get(up["url"]).status_code == 404
    # Nobody else can send it, in this group or another.
    r = send(world.client("leader"), world.group.pk, up["id"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "attachment_not_found"
    r = send(world.client("member"), world.other_group.pk, up["id"])
    assert r.status_code == 404
    assert send(world.client("member"), world.group.pk, up["id"], cid="a").status_code == 201
    r = send(world.client("member"), world.group.pk, up["id"], cid="b")
    assert r.status_code == 409 and r.json()["error"]["code"] == "attachment_used"


@pytest.mark.parametrize(
    ("data", "kind", "code"),
    [
        (b"%PDF-1.4 not a picture" * 50, "image", "not_an_image"),
        (b"<svg onload=alert(1)></svg>", "image", "not_an_image"),
        (samples.png_bomb(), "image", "image_too_many_pixels"),
        (samples.jpeg_with_gps()[:4000], "image", "not_an_image"),
        (samples.video(), "voice", "not_a_recording"),
        (samples.recording(62), "voice", "recording_too_long"),
        (samples.png_with_alpha(), "voice", "not_a_recording"),
        (samples.png_with_alpha(), "pdf", "invalid_kind"),
    ],
    ids=["pdf", "svg", "bomb", "truncated", "video", "too-long", "picture-as-voice", "kind"],
)
def test_bad_files_are_refused_clearly_and_nothing_is_kept(
    world: World, data: bytes, kind: str, code: str
) -> None:
    before = set(stored_files())
    r = upload(world.client("member"), world.group.pk, data, kind=kind, name="photo.jpg")
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] == code
    zh = world.client("member")
    zh_r = zh.post(
        f"/api/v1/groups/{world.group.pk}/attachments",
        {"kind": kind, "file": SimpleUploadedFile("x.jpg", data)},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh_r.json()["error"]["message"])
    assert set(stored_files()) == before
    assert not Attachment.objects.exists()


def test_size_caps_are_checked_before_and_after_reading(world: World, settings: Any) -> None:
    c = world.client("member")
    r = c.post(
        f"/api/v1/groups/{world.group.pk}/attachments",
        data=b"x" * 10,
        content_type="multipart/form-data; boundary=zz",
        CONTENT_LENGTH=str(200_000_000),
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
    settings.IMAGE_MAX_BYTES = 50_000
    r = upload(c, world.group.pk, samples.jpeg_with_gps())
    assert r.status_code == 413
    assert "MB" in r.json()["error"]["message"]


def test_no_file_and_upload_rate(world: World, settings: Any) -> None:
    c = world.client("member")
    r = c.post(f"/api/v1/groups/{world.group.pk}/attachments", {"kind": "image"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "no_file"
    settings.UPLOADS_PER_HOUR = 2
    for _ in range(2):
        assert upload(c, world.group.pk, samples.png_with_alpha()).status_code == 201
    r = upload(c, world.group.pk, samples.png_with_alpha())
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_uploads"


def test_a_voice_message_has_its_duration_a_played_dot_and_byte_ranges(world: World) -> None:
    member = world.client("member")
    up = upload(member, world.group.pk, samples.recording(3.5), kind="voice", name="v.webm")
    assert up.status_code == 201, up.content
    a = up.json()
    assert a["kind"] == "voice" and a["mime"] == "audio/webm"
    assert 3400 <= a["duration_ms"] <= 3600
    sent = send(member, world.group.pk, a["id"]).json()
    assert sent["text"] == "" and sent["attachment"]["duration_ms"] == a["duration_ms"]

    def played(role: str) -> bool:
        page = world.client(role).get(f"/api/v1/groups/{world.group.pk}/messages").json()
        return bool(
            next(m for m in page["messages"] if m["id"] == sent["id"])["attachment"]["played"]
        )

    assert played("member")  # your own recording has no dot
    assert not played("leader")
    r = world.client("leader").get(a["url"], HTTP_RANGE="bytes=0-99")
    assert r.status_code == 206 and len(r.content) == 100
    assert r["Content-Range"].startswith("bytes 0-99/")
    assert world.client("leader").get(a["url"], HTTP_RANGE="bytes=999999-").status_code == 416
    assert world.client("leader").post(f"/api/v1/attachments/{a['id']}/played").status_code == 200
    assert played("leader") and not played("moderator")
    assert world.client("outsider").post(f"/api/v1/attachments/{a['id']}/played").status_code == 404


def test_safari_recordings_in_mp4_are_accepted(world: World) -> None:
    data = samples.recording(2, container="mp4", codec="aac", rate=44100)
    r = upload(world.client("member"), world.group.pk, data, kind="voice", name="v.mp4")
    assert r.status_code == 201, r.content
    assert r.json()["mime"] == "audio/mp4"


def test_a_cached_copy_is_revalidated_so_access_is_checked_every_time(world: World) -> None:
    a = sent_picture(world)["attachment"]
    first = world.client("leader").get(a["url"])
    again = world.client("leader").get(a["url"], HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert (
        world.client("outsider").get(a["url"], HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 404
    )


def test_files_are_encrypted_on_disk_and_rotate_with_the_key(world: World, settings: Any) -> None:
    from cryptography.fernet import Fernet

    old = Fernet.generate_key().decode()
    settings.DATA_KEYS = [old]
    a = sent_picture(world)["attachment"]
    stored = Attachment.objects.get(pk=a["id"])
    raw = storage._path(stored.file).read_bytes()
    assert b"JFIF" not in raw and not raw.startswith(b"\xff\xd8")  # not a readable JPEG
    new = Fernet.generate_key().decode()
    settings.DATA_KEYS = [new, old]
    call_command("rotate_data_key", stdout=io.StringIO())
    settings.DATA_KEYS = [new]
    r = world.client("leader").get(a["url"])
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).format == "JPEG"


def test_deleting_the_group_removes_the_files(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a = sent_picture(world)["attachment"]
    stored = Attachment.objects.get(pk=a["id"])
    names = stored.files()
    assert len(names) == 2 and all(storage._path(n).exists() for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        world.group.delete()
    assert not any(storage._path(n).exists() for n in names)
