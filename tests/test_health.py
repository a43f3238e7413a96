"""Liveness, readiness and metrics: who may read them, what they say, and the 503 a person
or a client gets while the database is away (the real outage is in tests/test_faults.py)."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client

from tests.conftest import ROLES, World


@pytest.mark.parametrize("role", ROLES)
def test_health_endpoints_are_open_and_say_nothing_private(world: World, role: str) -> None:
    client = world.client(role)
    live = client.get("/livez")
    assert live.status_code == 200 and live.content == b"ok\n"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "fanout": ready.json()["checks"]["fanout"]},
    }
    assert ready.json()["checks"]["fanout"] in ("ok", "in-process")


@pytest.mark.parametrize("role", ROLES)
def test_metrics_only_for_this_machine_not_through_a_proxy(world: World, role: str) -> None:
    client = world.client(role)
    local = client.get("/metrics")  # the test client comes from 127.0.0.1
    assert local.status_code == 200
    assert b"tongzhou_messages_sent_total" in local.content
    assert b'tongzhou_tasks{state="ready"}' in local.content
    # Through a proxy on this machine every visitor would look local: refused.
    proxied = client.get("/metrics", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 404
    remote = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert remote.status_code == 404


def test_metrics_token(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGZHOU_METRICS_TOKEN", "s3cret-scrape")
    c = Client(REMOTE_ADDR="203.0.113.9")
    assert c.get("/metrics").status_code == 404
    assert c.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    ok = c.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape")
    assert ok.status_code == 200 and b"tongzhou_deliveries_total" in ok.content


def test_sending_counts_in_the_metrics(world: World) -> None:
    client = world.client("member")

    def sent() -> float:
        for line in client.get("/metrics").content.decode().splitlines():
            if line.startswith("tongzhou_messages_sent_total "):
                return float(line.split()[1])
        raise AssertionError("no counter")

    before = sent()
    r = client.post(
        f"/api/v1/groups/{world.group.pk}/messages",
        {"client_id": "m-1", "text": "hello"},
        content_type="application/json",
    )
    assert r.status_code == 201
    assert sent() == before + 1


def test_database_away_is_a_translated_retryable_503(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def away(*args: object, **kwargs: object) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("tongzhou.chat.api.do_send_message", away)
    client = world.client("member")
    r = client.post(
        f"/api/v1/groups/{world.group.pk}/messages",
        {"client_id": "m-2", "text": "hello"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert r.status_code == 503
    assert r["Retry-After"] == "2"
    error = r.json()["error"]
    assert error["code"] == "unavailable" and error["retryable"] is True
    assert "数据库" in error["message"]  # translated
    assert "closed the connection" not in r.content.decode()  # no internals

    # A page: a static bilingual "please wait" (the usual layout needs the database).
    monkeypatch.setattr("tongzhou.groups.views.access_group", away)
    page_client = Client(raise_request_exception=False)
    page_client.force_login(world.users["member"])  # type: ignore[arg-type]
    page = page_client.get(f"/groups/{world.group.pk}/chat/")
    assert page.status_code == 503 and page["Retry-After"] == "2"
    assert "请稍候" in page.content.decode() and "Please wait" in page.content.decode()
