"""Pictures and voice messages in real Chromium, with a fake microphone speaking Chinese."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Playwright, expect

from tongzhou.chat.models import Attachment, Message, VoicePlay

from .. import media_samples as samples
from ..conftest import LiveServer
from .conftest import CHROMIUM_ARGS, group_with_member, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def microphone_browser(playwright: Playwright, tmp_path_factory: Any) -> Any:
    """Chromium whose microphone plays a sentence spoken by espeak-ng."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is needed (scripts/test installs it)")
    wav = tmp_path_factory.mktemp("mic") / "voice.wav"
    subprocess.run(
        ["espeak-ng", "-v", "cmn", "-w", str(wav), "你好，我想问一下放疗的事情，谢谢大家"],
        check=True,
    )
    browser = playwright.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    yield browser
    browser.close()


def open_chat(browser: Browser, server: LiveServer, username: str, password: str, gid: int) -> Page:
    ctx = browser.new_context(viewport={"width": 390, "height": 780}, locale="en-US")
    ctx.grant_permissions(["microphone"], origin=server.url)
    page = ctx.new_page()
    sign_in(page, server.url, username, password)
    page.goto(f"{server.url}/groups/{gid}/chat/")
    expect(page.locator("#conn")).to_have_text("Connected")
    return page


def test_send_a_photo_and_a_voice_message_and_another_member_sees_and_plays_them(
    asgi_server: LiveServer, microphone_browser: Browser, shots: Path, tmp_path: Path
) -> None:
    leader, group = group_with_member("Media group", "sender", "sender-pass-2026")
    sender = open_chat(microphone_browser, asgi_server, "sender", "sender-pass-2026", group.pk)
    reader = open_chat(microphone_browser, asgi_server, "lead", "leader-pass-2026", group.pk)

    # A photo of a report, straight from a phone: GPS in its EXIF.
    photo = tmp_path / "IMG_2041.jpg"
    photo.write_bytes(samples.jpeg_with_gps("home address"))
    sender.locator("#picture-input").set_input_files(str(photo))
    expect(sender.locator("#attached-status")).to_contain_text("Picture ready")
    sender.screenshot(path=shots / "1-picture-ready.png")
    sender.get_by_label("Message", exact=True).fill("我的CT报告")
    sender.get_by_role("button", name="Send").click()
    expect(sender.locator(".message.mine .picture img")).to_be_visible()

    picture = reader.locator(".message .picture img")
    expect(picture).to_be_visible()
    expect(picture).to_have_attribute("alt", "Picture from Sender. Tap to open.")
    assert reader.locator(".message .text").last.text_content() == "我的CT报告"
    reader.screenshot(path=shots / "2-reader-sees-picture.png")
    picture.click()
    expect(reader.locator("#viewer")).to_be_visible()
    expect(reader.locator("#viewer-img")).to_have_js_property("complete", True)
    assert reader.locator("#viewer-img").evaluate("img => img.naturalWidth") == 900
    reader.screenshot(path=shots / "3-full-picture.png")
    full = reader.request.get(reader.locator("#viewer-img").evaluate("img => img.src"))
    assert full.status == 200
    assert not Image.open(io.BytesIO(full.body())).getexif()  # what members download has no EXIF
    assert b"home address" not in full.body()
    reader.get_by_role("button", name="Close").click()
    expect(reader.locator("#viewer")).to_be_hidden()

    # Hold to talk for about three seconds, then let go.
    voice = sender.get_by_role("button", name="Hold to talk")
    voice.hover()
    sender.mouse.down()
    expect(sender.locator("#recording")).to_be_visible()
    sender.wait_for_timeout(2500)
    expect(sender.locator("#rec-time")).to_have_text("0:02")
    sender.screenshot(path=shots / "4-recording.png")
    sender.mouse.up()
    expect(sender.locator(".message.mine .voice")).to_be_visible()

    row = Attachment.objects.get(kind="voice")
    assert row.mime == "audio/webm" and 2000 <= (row.duration_ms or 0) <= 4500
    played = reader.locator(".message .voice")
    expect(played).to_be_visible()
    expect(played.locator(".unplayed")).to_be_visible()
    expect(played.locator(".voice-time")).to_have_text("0:03")
    reader.screenshot(path=shots / "5-voice-unplayed.png")
    played.locator(".voice-play").click()
    expect(played).to_have_class("voice playing")
    expect(played.locator(".unplayed")).to_have_count(0)
    reader.wait_for_timeout(1200)
    reader.screenshot(path=shots / "6-voice-playing.png")
    expect(played).to_have_class("voice", timeout=8000)  # played to the end
    assert VoicePlay.objects.filter(attachment=row, user=leader).exists()
    # After a reload the dot stays gone for this listener.
    reader.reload()
    expect(reader.locator(".message .voice")).to_be_visible()
    expect(reader.locator(".message .voice .unplayed")).to_have_count(0)


def test_tap_to_record_cancel_and_a_refused_file(
    asgi_server: LiveServer, microphone_browser: Browser, shots: Path, tmp_path: Path
) -> None:
    _leader, group = group_with_member("Tap group", "tapper", "tapper-pass-2026")
    page = open_chat(microphone_browser, asgi_server, "tapper", "tapper-pass-2026", group.pk)
    voice = page.locator("#voice-button")

    voice.click()  # a quick tap starts; recording goes on after the finger leaves
    expect(page.locator("#recording")).to_be_visible()
    expect(page.locator("#voice-label")).to_have_text("Tap to send")
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.locator("#recording")).to_be_hidden()
    page.wait_for_timeout(500)
    assert not Message.objects.exists()  # cancelled: nothing sent

    voice.click()
    page.wait_for_timeout(1500)
    voice.click()  # the second tap sends
    expect(page.locator(".message.mine .voice")).to_be_visible()
    assert Message.objects.count() == 1

    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"%PDF-1.7 this is a document, not a photo" * 20)
    page.locator("#picture-input").set_input_files(str(fake))
    expect(page.locator("#send-error")).to_contain_text("not a picture")
    expect(page.locator("#attached")).to_be_hidden()
    page.screenshot(path=shots / "refused-file.png")
