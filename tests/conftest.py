from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls our tests make
# there are safe (test-only setting).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.test import Client

from tongzhou.accounts.actions import do_register
from tongzhou.accounts.models import User
from tongzhou.groups import actions as group_actions
from tongzhou.groups.models import Group, Membership

PASSWORD = "correct horse 2026"


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    """Each test gets its own in-memory layer (its queues belong to one event loop)."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def make_user(username: str, display_name: str | None = None) -> User:
    return do_register(username, PASSWORD, display_name or username.title())


@dataclass
class World:
    """One group seen from every position a person can stand in."""

    group: Group
    other_group: Group
    users: dict[str, User | None]

    def client(self, role: str) -> Client:
        c = Client()
        user = self.users[role]
        if user is not None:
            c.force_login(user)
        return c


ROLES = [
    "anonymous",
    "applicant",
    "rejected",
    "member",
    "moderator",
    "leader",
    "removed",
    "outsider",  # member of another group
]


def build_world() -> World:
    leader = make_user("leader1", "Leader")
    group = group_actions.do_create_group(leader, "NPC group", "For NPC patients")
    # Everyone here joins today: without this, any link from a member would wait for a
    # moderator (safety/checks.py). The newcomer rule is tested on its own.
    group.new_member_days = 0
    group.save(update_fields=["new_member_days"])
    other_leader = make_user("otherlead", "Other leader")
    other = group_actions.do_create_group(other_leader, "Other group", "")
    users: dict[str, User | None] = {"anonymous": None, "leader": leader}
    for role in ("member", "moderator", "removed", "applicant", "rejected", "outsider"):
        users[role] = make_user(f"{role}1", role.title())
    lm = Membership.objects.get(group=group, user=leader)
    for role in ("member", "moderator", "removed"):
        app = group_actions.do_apply(users[role], group, role="patient")  # type: ignore[arg-type]
        group_actions.do_decide(leader, app, approve=True)
    group_actions.do_set_role(
        lm, Membership.objects.get(group=group, user=users["moderator"]), "moderator"
    )
    group_actions.do_remove_member(lm, Membership.objects.get(group=group, user=users["removed"]))
    group_actions.do_apply(users["applicant"], group, role="carer")  # type: ignore[arg-type]
    rej = group_actions.do_apply(users["rejected"], group, role="patient")  # type: ignore[arg-type]
    group_actions.do_decide(leader, rej, approve=False, reason="Not a patient group match")
    app = group_actions.do_apply(users["outsider"], other, role="patient")  # type: ignore[arg-type]
    group_actions.do_decide(other_leader, app, approve=True)
    return World(group=group, other_group=other, users=users)


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    host: str
    port: int

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"


@pytest.fixture
def asgi_server(transactional_db: Any) -> Iterator[LiveServer]:
    """The real ASGI app (HTTP + WebSocket) under uvicorn, in a thread, on a free port."""
    import uvicorn

    from tongzhou.asgi import application

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            application, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield LiveServer(url=f"http://127.0.0.1:{port}", host="127.0.0.1", port=port)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def worker(transactional_db: Any) -> Iterator[None]:
    """The background worker (link previews, e-mail) in a thread, as `tongzhou serve` runs it."""
    from tongzhou.tasks import start_inside_worker

    thread, stop = start_inside_worker()
    yield
    stop.set()
    thread.join(timeout=15)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Argon2 is deliberately slow; the suite builds hundreds of users. Production settings
    keep Argon2 (see test_settings.py)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_kept_claims() -> None:
    """Each test starts without claims kept from another test's groups (safety/checks.py)."""
    from tongzhou.safety import checks

    checks._claims.clear()


@pytest.fixture(autouse=True)
def roomy_rate_limits(request: pytest.FixtureRequest, settings: Any) -> None:
    """Bursts of sends and reports are what many tests do on purpose; the limits themselves
    are tested where a test is marked `rate_limits`."""
    if request.node.get_closest_marker("rate_limits") is None:
        settings.RATE_LIMITS = {
            name: (10**6, window) for name, (_n, window) in settings.RATE_LIMITS.items()
        }


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main
    thread for the rest of the session, which asyncio-based tests cannot share."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
