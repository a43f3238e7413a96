from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tongzhou.accounts.models import User
from tongzhou.chat.models import Message
from tongzhou.groups.models import Application, Group

ROOT = Path(__file__).resolve().parents[1]
DATA_KEY = "pq0sAyxXPGlS2BHnLwz9V8fPzJ3k0U2m9Rr0m3yN5aE="  # a Fernet key for these tests only


def run_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TONGZHOU_", "SECRET_KEY", "ALLOWED_HOSTS"))
    }
    clean.update(env)
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='tongzhou.settings'; django.setup(); print('started')"
    return subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"TONGZHOU_ENV": "production", "ALLOWED_HOSTS": "x.org"}, "SECRET_KEY"),
        (
            {"TONGZHOU_ENV": "production", "ALLOWED_HOSTS": "x.org", "SECRET_KEY": "short"},
            "SECRET_KEY",
        ),
        (
            {
                "TONGZHOU_ENV": "production",
                "ALLOWED_HOSTS": "x.org",
                "SECRET_KEY": "k" * 50,
                "TONGZHOU_DATA_KEYS": DATA_KEY,
                "TONGZHOU_DEBUG": "1",
            },
            "DEBUG",
        ),
        (
            {"TONGZHOU_ENV": "production", "SECRET_KEY": "k" * 50, "TONGZHOU_DATA_KEYS": DATA_KEY},
            "ALLOWED_HOSTS",
        ),
        (
            {"TONGZHOU_ENV": "production", "SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": "x.org"},
            "TONGZHOU_DATA_KEYS",
        ),
        ({"TONGZHOU_ENV": "staging"}, "TONGZHOU_ENV"),
        (
            {
                "TONGZHOU_ENV": "production",
                "ALLOWED_HOSTS": "x.org",
                "SECRET_KEY": "k" * 50,
                "TONGZHOU_DATA_KEYS": DATA_KEY,
                "TONGZHOU_LINK_PREVIEW_ALLOW_HOST": "10.0.0.5:80",
            },
            "LINK_PREVIEW_ALLOW_HOST",
        ),
        ({"TONGZHOU_WORKER": "sometimes"}, "TONGZHOU_WORKER"),
    ],
)
def test_production_refuses_unsafe_settings(env: dict[str, str], complaint: str) -> None:
    r = run_settings(env)
    assert r.returncode != 0
    assert complaint in r.stderr


def test_production_starts_with_real_settings(tmp_path: Path) -> None:
    r = run_settings(
        {
            "TONGZHOU_ENV": "production",
            "ALLOWED_HOSTS": "x.org",
            "SECRET_KEY": "k" * 50,
            "TONGZHOU_DATA_KEYS": DATA_KEY,
            "TONGZHOU_DATA_DIR": str(tmp_path),
        }
    )
    assert r.returncode == 0, r.stderr
    assert "started" in r.stdout


@pytest.mark.django_db
def test_demo_content_is_realistic_and_loads_once() -> None:
    from tongzhou.demo import DEMO_PASSWORD, load_demo

    logins = load_demo()
    assert [u for u, _ in logins] == [
        "leader",
        "moderator",
        "chen",
        "carer",
        "newcomer",
        "applicant",
        "seller",
        "researcher",
    ]
    assert Group.objects.count() == 2
    # The researcher's project codes only consenting members' messages.
    from tongzhou.insight.models import Coding, Unit

    units = Unit.objects.filter(project__group__name__startswith="鼻咽癌")
    assert units.exists() and Coding.objects.exists()
    assert set(units.values_list("message__sender__username", flat=True)) <= {
        "leader",
        "chen",
        "carer",
    }
    # The seller's advert waits for a moderator; the group never saw it.
    assert Message.objects.get(sender__username="seller").status == "held"
    npc = Group.objects.get(name__startswith="鼻咽癌")
    assert Message.objects.filter(group=npc).count() >= 15
    assert Message.objects.filter(group=npc, kind="question").exists()
    assert Message.objects.filter(group=npc, reply_to__isnull=False).exists()
    assert Application.objects.get(user__username="applicant").status == "pending"
    assert User.objects.get(username="leader").check_password(DEMO_PASSWORD)
    load_demo()
    assert Group.objects.count() == 2


def test_cli_help_lists_the_commands() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "tongzhou.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0
    for command in ("demo", "migrate", "serve", "manage"):
        assert command in r.stdout


def test_openapi_schema_matches_the_snapshot(db: object) -> None:
    """The API is a contract: a change to it shows up here (regenerate with
    TONGZHOU_UPDATE_SNAPSHOT=1 after reading the diff)."""
    from tongzhou.api import api

    schema = json.dumps(api.get_openapi_schema(), indent=1, sort_keys=True, ensure_ascii=False)
    snapshot = ROOT / "tests" / "data" / "openapi.json"
    if os.environ.get("TONGZHOU_UPDATE_SNAPSHOT") == "1" or not snapshot.exists():
        snapshot.write_text(schema + "\n")
    assert schema + "\n" == snapshot.read_text()
    paths = json.loads(schema)["paths"]
    assert "/api/v1/groups/{gid}/messages" in paths
    assert "/api/v1/auth/register" in paths


def test_openapi_json_is_served(client: object) -> None:
    r = client.get("/api/v1/openapi.json")  # type: ignore[attr-defined]
    assert r.status_code == 200
    assert r.json()["info"]["title"] == "Tongzhou API"


def test_deploy_check_is_clean_under_production_settings(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("TONGZHOU_", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
        )
    }
    env.update(
        {
            "TONGZHOU_ENV": "production",
            "SECRET_KEY": "Xk9#mQ2$vL7@pR4!tW8&zN3*bH6^cJ1%dF5(gS0)aE2+yU7=iO4~",
            "ALLOWED_HOSTS": "tongzhou.example.org",
            "TONGZHOU_DATA_KEYS": DATA_KEY,
            "TONGZHOU_DATA_DIR": str(tmp_path),
        }
    )
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "tongzhou.cli",
            "manage",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout


def test_pages_carry_a_strict_content_security_policy(client: object) -> None:
    r = client.get("/accounts/login/")  # type: ignore[attr-defined]
    csp = r["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r["X-Frame-Options"] == "DENY"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"
    body = r.content.decode()
    assert "<script>" not in body and " onclick=" not in body  # nothing inline for the CSP to block
