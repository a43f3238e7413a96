"""A member looks after their account on a phone: devices, two-step sign-in, their data."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, expect

from ..conftest import LiveServer
from .conftest import group_with_member, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 360, "height": 740}


def test_member_signs_out_a_lost_phone_and_turns_on_two_step_sign_in(
    asgi_server: LiveServer, browser: Browser, shots: Path
) -> None:
    group_with_member("NPC", "lin", "lin-pass-2026")
    base = asgi_server.url
    lost = browser.new_context(
        viewport=PHONE,
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0",
    )
    lost_page = lost.new_page()
    sign_in(lost_page, base, "lin", "lin-pass-2026")
    expect(lost_page).to_have_url(re.compile("/groups/"))

    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    sign_in(page, base, "lin", "lin-pass-2026")
    page.goto(f"{base}/accounts/profile/")
    page.get_by_role("link", name="Sign-in and security").click()
    expect(page.get_by_text("WeChat · iPhone")).to_be_visible()
    page.screenshot(path=shots / "01-devices.png", full_page=True)
    page.get_by_role("button", name="Sign out this device").click()
    expect(page.get_by_text("That device is signed out.")).to_be_visible()
    lost_page.goto(f"{base}/groups/")
    expect(lost_page).to_have_url(re.compile("/accounts/login/"))

    page.get_by_role("button", name="Set up two-step sign-in").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    page.screenshot(path=shots / "02-two-step-setup.png", full_page=True)
    secret = page.locator("code.secret").inner_text()
    page.get_by_label("The 6-digit code the app shows").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    assert page.locator(".recovery-codes code").count() == 10
    page.screenshot(path=shots / "03-recovery-codes.png", full_page=True)

    # Next time, the password leads to the code page.
    fresh = browser.new_context(viewport=PHONE).new_page()
    sign_in(fresh, base, "lin", "lin-pass-2026")
    expect(fresh).to_have_url(re.compile("/accounts/login/code/"))
    fresh.screenshot(path=shots / "04-code-page.png", full_page=True)
    fresh.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    fresh.get_by_role("button", name="Sign in").last.click()
    expect(fresh).to_have_url(re.compile("/groups/"))

    # And the way out: a copy of everything, then the account goes.
    with page.expect_download() as download:
        page.goto(f"{base}/accounts/security/")
        page.get_by_role("link", name="Download my data").click()
    assert download.value.suggested_filename.endswith(".zip")
    page.get_by_role("link", name="Delete my account").click()
    page.get_by_label("Leave them, signed “Former member”").check()
    page.get_by_label("Your password, to confirm").fill("lin-pass-2026")
    page.screenshot(path=shots / "05-delete.png", full_page=True)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("Your account is deleted.")).to_be_visible()
    fresh.goto(f"{base}/groups/")
    expect(fresh).to_have_url(re.compile("/accounts/login/"))
