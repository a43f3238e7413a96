from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tongzhou.accounts.models import Profile

from .conftest import World, make_user

pytestmark = pytest.mark.django_db


def post(c: Client, url: str, data: object, **extra: str):  # type: ignore[no-untyped-def]
    return c.post(url, data, content_type="application/json", **extra)


def test_register_then_token_then_me() -> None:
    c = Client()
    r = post(
        c,
        "/api/v1/auth/register",
        {"username": "fang", "password": "sunflower-2026", "display_name": "阿芳"},
    )
    assert r.status_code == 201, r.json()
    assert r.json()["username"] == "fang"
    r = post(c, "/api/v1/auth/token", {"username": "fang", "password": "sunflower-2026"})
    assert r.status_code == 200
    token = r.json()["token"]
    r = c.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.json()["display_name"] == "阿芳"


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        (
            {"username": "ab", "password": "sunflower-2026", "display_name": "x"},
            "invalid_username",
            400,
        ),
        (
            {"username": "has space", "password": "sunflower-2026", "display_name": "x"},
            "invalid_username",
            400,
        ),
        ({"username": "fang2", "password": "12345678", "display_name": "x"}, "weak_password", 400),
        ({"username": "fang2", "password": "password", "display_name": "x"}, "weak_password", 400),
        (
            {"username": "fang2", "password": "sunflower-2026", "display_name": "  "},
            "invalid_display_name",
            400,
        ),
        ({"username": "fang2", "password": 12345, "display_name": "x"}, "invalid_input", 422),
        ({"username": "fang2"}, "invalid_input", 422),
    ],
)
def test_register_refusals_are_readable(body: dict[str, object], code: str, status: int) -> None:
    r = post(Client(), "/api/v1/auth/register", body)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]


def test_duplicate_username_is_refused_case_insensitively() -> None:
    make_user("fang")
    r = post(
        Client(),
        "/api/v1/auth/register",
        {"username": "FANG", "password": "sunflower-2026", "display_name": "F"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "username_taken"


@pytest.mark.parametrize("body", ["{not json", "[]", "3", '"text"', "null"])
def test_a_body_that_is_not_a_json_object_is_a_400(body: str, world: World) -> None:
    r = Client().post("/api/v1/auth/register", body, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "malformed_json"
    # A schema of optional fields must not read a list as "nothing to change".
    r = world.client("member").patch("/api/v1/me/profile", body, content_type="application/json")
    assert r.status_code == 400, r.content


def test_errors_are_translated_to_chinese() -> None:
    r = post(
        Client(),
        "/api/v1/auth/register",
        {"username": "ab", "password": "sunflower-2026", "display_name": "x"},
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )
    assert r.status_code == 400
    assert "用户名" in r.json()["error"]["message"]


def test_wrong_password_gets_no_token() -> None:
    make_user("fang")
    r = post(Client(), "/api/v1/auth/token", {"username": "fang", "password": "nope-nope-nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_credentials"


def test_passwords_are_hashed_with_argon2_in_real_settings() -> None:
    from tongzhou import settings as real

    assert real.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_health_fields_follow_their_visibility(world: World) -> None:
    member = world.users["member"]
    Profile.objects.filter(user=member).update(
        cancer_type="鼻咽癌",
        cancer_type_visibility="members",
        hospital="Sun Yat-sen",
        hospital_visibility="leaders",
        stage="III",
        stage_visibility="nobody",
    )

    def seen_by(role: str) -> dict[str, object]:
        r = world.client(role).get(f"/api/v1/groups/{world.group.pk}/members")
        row = next(m for m in r.json()["members"] if m["user"]["id"] == member.pk)  # type: ignore[union-attr]
        return row["profile"]

    assert seen_by("moderator") == {"cancer_type": "鼻咽癌", "hospital": "Sun Yat-sen"}
    assert seen_by("leader") == {"cancer_type": "鼻咽癌", "hospital": "Sun Yat-sen"}
    assert seen_by("member") == {
        "cancer_type": "鼻咽癌",
        "hospital": "Sun Yat-sen",
        "stage": "III",
    }  # self
    # A plain member sees only what is shared with members.
    plain = make_user("plain")
    from tongzhou.groups.actions import do_apply, do_decide

    do_decide(world.users["leader"], do_apply(plain, world.group, role="patient"), approve=True)  # type: ignore[arg-type]
    c = Client()
    c.force_login(plain)
    rows = c.get(f"/api/v1/groups/{world.group.pk}/members").json()["members"]
    assert next(m for m in rows if m["user"]["id"] == member.pk)["profile"] == {
        "cancer_type": "鼻咽癌"
    }  # type: ignore[union-attr]


def test_profile_update_validates(world: World) -> None:
    c = world.client("member")
    r = c.patch("/api/v1/me/profile", {"phase": "cured-by-magic"}, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_phase"
    r = c.patch("/api/v1/me/profile", {"diagnosis_year": 1800}, content_type="application/json")
    assert r.json()["error"]["code"] == "invalid_year"
    r = c.patch(
        "/api/v1/me/profile",
        {"phase": "treatment", "stage_visibility": "members", "health_consent": True},
        content_type="application/json",
    )
    assert r.status_code == 200
    assert r.json()["profile"]["phase"] == "treatment"


def test_signup_page_keeps_input_on_error_and_signs_in_on_success() -> None:
    c = Client()
    r = c.post("/accounts/signup/", {"username": "fang", "password": "123", "display_name": "阿芳"})
    assert r.status_code == 400
    body = r.content.decode()
    assert 'value="fang"' in body and 'value="阿芳"' in body
    assert 'role="alert"' in body
    r = c.post(
        "/accounts/signup/",
        {"username": "fang", "password": "sunflower-2026", "display_name": "阿芳"},
    )
    assert r.status_code == 302
    assert c.get("/groups/").status_code == 200


def test_signup_never_redirects_to_another_site() -> None:
    data = {
        "username": "fang",
        "password": "sunflower-2026",
        "display_name": "F",
        "next": "https://evil.example/",
    }
    r = Client().post("/accounts/signup/", data)
    assert r.status_code == 302 and r["Location"] == "/groups/"
    data = {
        "username": "fang2",
        "password": "sunflower-2026",
        "display_name": "F",
        "next": "/groups/new/",
    }
    assert Client().post("/accounts/signup/", data)["Location"] == "/groups/new/"


def test_repeated_failed_sign_ins_lock_the_account_for_a_while() -> None:
    from django.utils import timezone

    from tongzhou.accounts.models import SignInFailure

    make_user("fang")
    c = Client()
    for _ in range(5):
        r = post(c, "/api/v1/auth/token", {"username": "fang", "password": "guess-guess"})
        assert r.status_code == 401
    # Now even the right password waits: the lock is per username, not per guess.
    r = post(c, "/api/v1/auth/token", {"username": "FANG", "password": "correct horse 2026"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_attempts"
    page = Client().post("/accounts/login/", {"username": "fang", "password": "correct horse 2026"})
    assert page.status_code == 200 and "Too many failed sign-ins" in page.content.decode()
    # Another account is not affected.
    make_user("chen")
    assert (
        post(
            Client(), "/api/v1/auth/token", {"username": "chen", "password": "correct horse 2026"}
        ).status_code
        == 200
    )
    # After the window the right password works again, and success clears the count.
    SignInFailure.objects.update(created_at=timezone.now() - dt.timedelta(minutes=16))
    assert (
        post(
            c, "/api/v1/auth/token", {"username": "fang", "password": "correct horse 2026"}
        ).status_code
        == 200
    )
    assert (
        Client()
        .post("/accounts/login/", {"username": "fang", "password": "correct horse 2026"})
        .status_code
        == 302
    )
    assert not SignInFailure.objects.filter(username="fang").exists()


def test_failed_sign_in_page_explains_in_chinese() -> None:
    make_user("fang")
    page = Client().post(
        "/accounts/login/",
        {"username": "fang", "password": "nope-nope"},
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    )
    assert page.status_code == 200
    assert "用户名" in page.content.decode() and 'role="alert"' in page.content.decode()


def test_a_nul_in_the_username_is_a_wrong_sign_in_not_a_crash(world: World) -> None:
    r = Client().post(
        "/api/v1/auth/token",
        {"username": "member1\x00", "password": "x\x00"},
        content_type="application/json",
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
