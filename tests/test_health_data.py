"""Health details: encrypted at rest, key rotation, kept only with consent, never logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import Client

from tongzhou.accounts.models import Consent, Profile
from tongzhou.errors import UserError
from tongzhou.groups.actions import do_apply
from tongzhou.groups.models import Application

from .conftest import World, make_user

CANARY = "canary-鼻咽癌-T3N1-7f3a"


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - test names
        return str(cur.fetchone()[0])


def set_profile(c: Client, **fields: Any) -> Any:
    return c.patch("/api/v1/me/profile", fields, content_type="application/json")


def test_profile_health_fields_are_ciphertext_in_the_database(world: World) -> None:
    c = world.client("member")
    r = set_profile(
        c,
        cancer_type=CANARY,
        stage="III",
        hospital="中山大学肿瘤防治中心",
        diagnosis_year=2021,
        phase="treatment",
        health_consent=True,
    )
    assert r.status_code == 200
    profile = Profile.objects.get(user=world.users["member"])
    for column in ("cancer_type", "stage", "hospital", "diagnosis_year", "phase"):
        stored = raw("accounts_profile", column, profile.pk)
        assert stored.startswith("enc1:"), column
    assert CANARY not in raw("accounts_profile", "cancer_type", profile.pk)
    assert "2021" not in raw("accounts_profile", "diagnosis_year", profile.pk)
    me = c.get("/api/v1/me").json()["profile"]
    assert (me["cancer_type"], me["diagnosis_year"], me["phase"]) == (CANARY, 2021, "treatment")


def test_application_health_details_are_ciphertext_too(world: World) -> None:
    outsider = world.users["outsider"]
    app = do_apply(
        outsider,  # type: ignore[arg-type]
        world.group,
        role="patient",
        diagnosis=CANARY,
        hospital="Sun Yat-sen",
        stage="II",
        note=f"about me {CANARY}",
        health_consent=True,
    )
    for column in ("diagnosis", "hospital", "stage", "note", "answers"):
        stored = raw("groups_application", column, app.pk)
        assert CANARY not in stored and "Sun Yat-sen" not in stored
    assert Application.objects.get(pk=app.pk).diagnosis == CANARY
    page = world.client("leader").get(f"/groups/{world.group.pk}/applications/")
    assert CANARY in page.content.decode()  # moderators still read it


def test_key_rotation_re_encrypts_everything_and_the_old_key_can_go(
    world: World, settings: Any
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.DATA_KEYS = [old]
    c = world.client("member")
    assert set_profile(c, cancer_type=CANARY, health_consent=True).status_code == 200
    pk = Profile.objects.get(user=world.users["member"]).pk
    written_with_old = raw("accounts_profile", "cancer_type", pk)

    settings.DATA_KEYS = [new, old]  # step 1: new key in front, old still reads
    assert Profile.objects.get(pk=pk).cancer_type == CANARY
    call_command("rotate_data_key", stdout=open("/dev/null", "w"))
    assert raw("accounts_profile", "cancer_type", pk) != written_with_old

    settings.DATA_KEYS = [new]  # step 2: the old key is gone and nothing is lost
    assert Profile.objects.get(pk=pk).cancer_type == CANARY
    settings.DATA_KEYS = [old]  # and the old key alone no longer opens it
    with pytest.raises(ImproperlyConfigured):
        Profile.objects.get(pk=pk).cancer_type  # noqa: B018


def test_rotation_also_encrypts_rows_written_before_encryption(world: World) -> None:
    pk = Profile.objects.get(user=world.users["member"]).pk
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_profile SET hospital = %s WHERE id = %s", ["Old plain", pk])
    assert Profile.objects.get(pk=pk).hospital == "Old plain"
    call_command("rotate_data_key", stdout=open("/dev/null", "w"))
    assert raw("accounts_profile", "hospital", pk).startswith("enc1:")
    assert Profile.objects.get(pk=pk).hospital == "Old plain"


def test_generate_prints_a_usable_key(capsys: Any) -> None:
    call_command("rotate_data_key", "--generate")
    Fernet(capsys.readouterr().out.strip())


def test_health_details_need_a_separate_yes_first(world: World) -> None:
    c = world.client("member")
    page = c.get("/accounts/profile/").content.decode()
    assert 'name="health_consent"' in page
    r = set_profile(c, cancer_type=CANARY, display_name="Renamed")
    assert r.status_code == 400 and r.json()["error"]["code"] == "consent_required"
    assert Profile.objects.get(user=world.users["member"]).cancer_type == ""
    assert c.get("/api/v1/me").json()["display_name"] != "Renamed"  # nothing half-saved
    # Choices that are not health details need no consent.
    assert set_profile(c, role="carer", stage_visibility="nobody").status_code == 200
    r = set_profile(c, cancer_type=CANARY, health_consent=True)
    assert r.status_code == 200 and r.json()["profile"]["health_consent"] is True
    assert Consent.objects.filter(user=world.users["member"]).count() == 1
    assert set_profile(c, stage="II").status_code == 200  # asked once, not every time
    assert 'name="health_consent"' not in c.get("/accounts/profile/").content.decode()


def test_consent_is_asked_in_the_members_language_on_the_page(world: World) -> None:
    c = world.client("member")
    r = c.post(
        "/accounts/profile/",
        {"display_name": "M", "role": "patient", "cancer_type": CANARY},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert r.status_code == 400
    body = r.content.decode()
    assert "请勾选" in body and CANARY in body  # what they typed is still in the form
    r = c.post(
        "/accounts/profile/",
        {"display_name": "M", "role": "patient", "cancer_type": CANARY, "health_consent": "yes"},
    )
    assert r.status_code == 302


def test_applying_with_health_details_needs_consent_too(world: World) -> None:
    outsider = world.users["outsider"]
    with pytest.raises(UserError) as e:
        do_apply(outsider, world.group, role="patient", diagnosis=CANARY)  # type: ignore[arg-type]
    assert e.value.code == "consent_required"
    assert not Application.objects.filter(user=outsider, group=world.group).exists()
    do_apply(outsider, world.group, role="patient")  # type: ignore[arg-type]  # none given: fine
    page = world.client("outsider").get(f"/groups/{world.group.pk}/")
    assert page.status_code == 200


def test_withdrawing_consent_deletes_the_health_details(world: World) -> None:
    c = world.client("member")
    set_profile(c, cancer_type=CANARY, hospital="H", diagnosis_year=2020, health_consent=True)
    outsider = make_user("late1")
    do_apply(outsider, world.group, role="patient", diagnosis=CANARY, health_consent=True)
    r = c.post("/accounts/profile/", {"action": "withdraw_health_consent"})
    assert r.status_code == 302
    me = c.get("/api/v1/me").json()["profile"]
    assert (me["cancer_type"], me["hospital"], me["diagnosis_year"]) == ("", "", None)
    assert me["health_consent"] is False
    consent = Consent.objects.get(user=world.users["member"])
    assert consent.withdrawn_at is not None  # the record of the yes and the no is kept
    assert set_profile(c, stage="I").json()["error"]["code"] == "consent_required"
    # Another person's application is untouched.
    assert Application.objects.get(user=outsider).diagnosis == CANARY


def test_health_details_never_reach_the_logs(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """With SQL logging on at DEBUG (the most a log can see), no health detail appears."""
    c = world.client("member")
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    connection.force_debug_cursor = True
    try:
        set_profile(c, cancer_type=CANARY, hospital=CANARY, health_consent=True)
        set_profile(c, phase="bogus-" + CANARY)  # a refusal, logged as a 400
        c.get("/accounts/profile/")
        do_apply(
            world.users["outsider"],  # type: ignore[arg-type]
            world.group,
            role="patient",
            diagnosis=CANARY,
            note=CANARY,
            health_consent=True,
        )
    finally:
        connection.force_debug_cursor = False
    assert "accounts_profile" in caplog.text  # SQL was being logged
    assert CANARY not in caplog.text
