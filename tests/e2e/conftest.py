from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from tongzhou.accounts.actions import do_register
from tongzhou.accounts.models import User
from tongzhou.groups.actions import do_apply, do_create_group, do_decide
from tongzhou.groups.models import Group, Membership

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Debian's Chromium; Playwright never downloads a browser here.
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """Where this test keeps its screenshots (artifacts/e2e/<test>/)."""
    root = Path(os.environ.get("TONGZHOU_ARTIFACTS", "artifacts")) / "e2e"
    folder = root / request.node.name.replace("[", "-").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def group_with_member(group_name: str, member: str, password: str) -> tuple[User, Group]:
    """A leader ("lead") and one approved member, built through the real actions."""
    leader = do_register("lead", "leader-pass-2026", "Leader")
    group = do_create_group(leader, group_name)
    person = do_register(member, password, member.title())
    do_decide(leader, do_apply(person, group, role="patient"), approve=True)
    # A member of some weeks: a newcomer's links wait for a moderator (test_safety_journey).
    Membership.objects.filter(group=group, user=person).update(
        joined_at=timezone.now() - dt.timedelta(days=30)
    )
    return leader, group


def sign_in(
    page: Page, base_url: str, username: str, password: str, *, labels: dict[str, str] | None = None
) -> None:
    t = labels or {"login_username": "Username", "password": "Password", "sign_in": "Sign in"}
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label(t["login_username"], exact=True).fill(username)
    page.get_by_label(t["password"], exact=True).fill(password)
    page.get_by_role("button", name=t["sign_in"]).last.click()


@contextlib.contextmanager
def quiet_fan_out() -> Iterator[None]:
    """Messages written from the test thread try to fan out from a thread where Playwright's
    event loop lives, which fails and is logged; no page is open yet to miss them."""
    log = logging.getLogger("tongzhou.realtime")
    log.disabled = True
    try:
        yield
    finally:
        log.disabled = False
