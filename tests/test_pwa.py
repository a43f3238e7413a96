"""The installable app's files and the reading settings (issue 9), without a browser; the
browser side is tests/e2e/test_phone_app.py."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from tongzhou import pwa
from tongzhou.accounts.actions import do_register
from tongzhou.accounts.models import Profile

pytestmark = pytest.mark.django_db


def test_the_service_worker_is_served_from_the_root_with_the_files_it_keeps() -> None:
    r = Client().get("/sw.js")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/javascript")
    assert r["Service-Worker-Allowed"] == "/"
    assert "no-cache" in r["Cache-Control"]  # a new version is picked up at once
    body = r.content.decode()
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", body).group(1))  # type: ignore[union-attr]
    assert "/offline/" in shell and "/static/tongzhou/app.css" in shell
    assert "/static/tongzhou/chat.js" in shell and "/static/tongzhou/sw.js" not in shell
    for url in shell:  # every file it will try to keep exists (one 404 fails the install)
        assert Client().get(url).status_code == 200, url


def test_changing_any_kept_file_changes_the_version(tmp_path, monkeypatch) -> None:
    static = tmp_path / "static"
    (static / "tongzhou").mkdir(parents=True)
    (static / "tongzhou" / "sw.js").write_text("// worker")
    (static / "tongzhou" / "app.css").write_text("body {}")
    monkeypatch.setattr(pwa, "STATIC", static)
    pwa.shell.cache_clear()
    try:
        before = pwa.shell()[0]
        pwa.shell.cache_clear()
        (static / "tongzhou" / "app.css").write_text("body { color: red }")
        assert pwa.shell()[0] != before
    finally:
        pwa.shell.cache_clear()


@pytest.mark.parametrize(("language", "name"), [("en", "Tongzhou"), ("zh-hans", "同舟")])
def test_the_manifest_speaks_the_readers_language(language: str, name: str) -> None:
    r = Client(headers={"accept-language": language}).get("/manifest.webmanifest")
    assert r["Content-Type"] == "application/manifest+json"
    data = r.json()
    assert data["short_name"] == name and data["lang"] == language
    assert data["display"] == "standalone" and data["scope"] == "/"
    assert {"purpose": "maskable"}.items() <= data["icons"][-1].items()


def test_sign_out_and_account_deletion_clear_what_the_phone_kept() -> None:
    do_register("xiaomei", "member-pass-2026", "小梅")
    c = Client()
    c.login(username="xiaomei", password="member-pass-2026")
    r = c.post("/accounts/logout/")
    assert r["Clear-Site-Data"] == '"cache", "storage"'
    c.login(username="xiaomei", password="member-pass-2026")
    r = c.post("/accounts/delete/", {"password": "member-pass-2026", "messages": "keep"})
    assert r.status_code == 302 and r["Clear-Site-Data"] == '"cache", "storage"'


def test_reading_settings_are_kept_per_member_and_on_every_page() -> None:
    user = do_register("laozhang", "member-pass-2026", "老张")
    c = Client()
    c.login(username="laozhang", password="member-pass-2026")
    assert b'<html lang="en" class="">' in c.get("/groups/").content
    r = c.post(
        "/accounts/profile/", {"action": "reading", "text_size": "large", "high_contrast": "yes"}
    )
    assert r.status_code == 302
    profile = Profile.objects.get(user=user)
    assert (profile.text_size, profile.high_contrast) == ("large", True)
    assert b'class="text-large contrast"' in c.get("/groups/").content
    me = c.get("/api/v1/me").json()["profile"]
    assert (me["text_size"], me["high_contrast"]) == ("large", True)
    # Bad values are refused with a reason, in the API and on the page, and change nothing.
    r = c.patch("/api/v1/me/profile", {"text_size": "huge"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_text_size"
    r = c.patch("/api/v1/me/profile", {"high_contrast": "maybe"}, content_type="application/json")
    assert r.status_code in (400, 422)
    r = c.post("/accounts/profile/", {"action": "reading", "text_size": "huge"})
    assert r.status_code == 400 and "Choose a text size from the list." in r.content.decode()
    assert Profile.objects.get(user=user).text_size == "large"
    r = c.patch(
        "/api/v1/me/profile",
        {"text_size": "normal", "high_contrast": False},
        content_type="application/json",
    )
    assert r.status_code == 200
    assert b'<html lang="en" class="">' in c.get("/groups/").content


def test_text_is_sent_gzipped_and_pictures_as_they_are() -> None:
    import gzip

    c = Client(headers={"accept-encoding": "gzip, br"})
    css = c.get("/static/tongzhou/app.css")
    assert css["Content-Encoding"] == "gzip" and "Accept-Encoding" in css["Vary"]
    body = gzip.decompress(b"".join(css.streaming_content))  # type: ignore[attr-defined]
    assert body == (pwa.STATIC / "tongzhou" / "app.css").read_bytes()
    page = c.get("/accounts/login/")
    assert page["Content-Encoding"] == "gzip"
    assert b"<html" in gzip.decompress(page.content)
    icon = c.get("/favicon.ico")  # a picture is compressed already
    assert not icon.has_header("Content-Encoding") and icon.content[:4] == b"\x89PNG"
    plain = Client().get("/accounts/login/")  # a client that did not ask gets plain text
    assert not plain.has_header("Content-Encoding")
