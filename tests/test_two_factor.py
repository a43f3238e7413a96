"""Two-step sign-in with an authenticator app, and the server rule for leaders."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
from django.test import Client

from tongzhou.accounts.models import TotpDevice, User
from tongzhou.accounts.twofactor import has_two_factor

from .conftest import PASSWORD, World


def turn_on(c: Client) -> tuple[pyotp.TOTP, list[str]]:
    assert c.post("/accounts/security/", {"action": "totp_start"}).status_code == 302
    page = c.get("/accounts/security/").content.decode()
    assert 'src="data:image/svg+xml' in page  # the QR code, under our CSP
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page)
    assert secret
    totp = pyotp.TOTP(secret.group(1))
    r = c.post("/accounts/security/", {"action": "totp_confirm", "code": totp.now()})
    assert r.status_code == 200
    codes = re.findall(r"<code>([0-9a-f]{6}-[0-9a-f]{6})</code>", r.content.decode())
    assert len(codes) == 10
    return totp, codes


def next_code(totp: pyotp.TOTP) -> str:
    """The code for the next 30-second step: fresh (a code is good once) and still accepted."""
    return totp.at(time.time() + 30)


def password_step(c: Client, next_url: str = "") -> Any:
    data = {"username": "member1", "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return c.post("/accounts/login/", data)


def test_turning_it_on_needs_a_right_code_and_signs_out_other_devices(world: World) -> None:
    other = Client()
    assert other.login(username="member1", password=PASSWORD)
    c = world.client("member")
    c.post("/accounts/security/", {"action": "totp_start"})
    r = c.post("/accounts/security/", {"action": "totp_confirm", "code": "000000"})
    assert r.status_code == 400 and not has_two_factor(world.users["member"])  # type: ignore[arg-type]
    assert other.get("/api/v1/me").status_code == 200
    turn_on(c)
    assert has_two_factor(world.users["member"])  # type: ignore[arg-type]
    assert other.get("/api/v1/me").status_code == 401
    assert c.get("/api/v1/me").status_code == 200
    stored = TotpDevice.objects.get(user=world.users["member"])
    assert stored.secret  # decrypted for us...
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT secret FROM accounts_totpdevice WHERE id = %s", [stored.pk])
        assert cur.fetchone()[0].startswith("enc1:")  # ...but not in the database


def test_sign_in_asks_for_the_code_after_the_password(world: World) -> None:
    totp, _codes = turn_on(world.client("member"))
    c = Client()
    r = password_step(c, next_url=f"/groups/{world.group.pk}/chat/")
    assert r.status_code == 302 and r["Location"] == "/accounts/login/code/"
    assert c.get("/api/v1/me").status_code == 401  # the password alone is not enough
    r = c.post("/accounts/login/code/", {"code": "123456"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 400 and "验证码" in r.content.decode()
    code = next_code(totp)
    r = c.post("/accounts/login/code/", {"code": code})
    assert r.status_code == 302 and r["Location"] == f"/groups/{world.group.pk}/chat/"
    assert c.get("/api/v1/me").status_code == 200
    # The same code cannot be used again, even within its 30 seconds.
    again = Client()
    password_step(again)
    assert again.post("/accounts/login/code/", {"code": code}).status_code == 400


def test_a_recovery_code_works_once(world: World) -> None:
    _totp, codes = turn_on(world.client("member"))
    c = Client()
    password_step(c)
    assert c.post("/accounts/login/code/", {"code": codes[0].upper()}).status_code == 302
    c2 = Client()
    password_step(c2)
    assert c2.post("/accounts/login/code/", {"code": codes[0]}).status_code == 400


def test_wrong_codes_count_toward_the_lockout(world: World) -> None:
    totp, _codes = turn_on(world.client("member"))
    c = Client()
    password_step(c)
    for _ in range(5):
        c.post("/accounts/login/code/", {"code": "000000"})
    r = c.post("/accounts/login/code/", {"code": next_code(totp)})
    assert r.status_code == 400 and c.get("/api/v1/me").status_code == 401


def test_the_code_page_forgets_a_password_after_five_minutes(world: World) -> None:
    totp, _codes = turn_on(world.client("member"))
    c = Client()
    password_step(c)
    session = c.session
    session["_tz_2fa_pending"]["at"] -= 301
    session.save()
    r = c.post("/accounts/login/code/", {"code": next_code(totp)})
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    assert c.get("/api/v1/me").status_code == 401


def test_token_api_needs_the_code_too(world: World) -> None:
    totp, _codes = turn_on(world.client("member"))
    body = {"username": "member1", "password": PASSWORD}
    r = Client().post("/api/v1/auth/token", body, content_type="application/json")
    assert r.status_code == 401 and r.json()["error"]["code"] == "otp_required"
    r = Client().post(
        "/api/v1/auth/token", {**body, "otp": "000000"}, content_type="application/json"
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_code"
    r = Client().post(
        "/api/v1/auth/token", {**body, "otp": next_code(totp)}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["token"]


def test_turning_it_off_needs_the_password_and_a_code(world: World) -> None:
    c = world.client("member")
    totp, _codes = turn_on(c)
    r = c.post("/accounts/security/", {"action": "totp_disable", "password": "x", "code": "1"})
    assert r.status_code == 400 and has_two_factor(world.users["member"])  # type: ignore[arg-type]
    r = c.post(
        "/accounts/security/",
        {"action": "totp_disable", "password": PASSWORD, "code": next_code(totp)},
    )
    assert r.status_code == 302 and not has_two_factor(world.users["member"])  # type: ignore[arg-type]


def test_server_can_require_it_of_leaders_and_moderators(world: World, settings: Any) -> None:
    settings.REQUIRE_2FA_FOR_STAFF = True
    gid = world.group.pk
    mod = world.client("moderator")
    r = mod.get(f"/api/v1/groups/{gid}/applications")
    assert r.status_code == 403 and r.json()["error"]["code"] == "two_factor_required"
    page = mod.get(f"/groups/{gid}/applications/")
    assert page.status_code == 403 and "two-step sign-in" in page.content.decode()
    # Taking part is unaffected: moderators and members still read and write.
    assert mod.get(f"/api/v1/groups/{gid}/messages").status_code == 200
    member = world.client("member")
    r = member.post(
        f"/api/v1/groups/{gid}/messages",
        {"client_id": "a", "text": "hi"},
        content_type="application/json",
    )
    assert r.status_code == 201
    moderator: User = world.users["moderator"]  # type: ignore[assignment]
    c = Client()
    c.force_login(moderator)
    turn_on(c)
    assert c.get(f"/api/v1/groups/{gid}/applications").status_code == 200
