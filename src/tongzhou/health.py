"""Liveness, readiness and metrics for load balancers and Prometheus, and the 503 answer
when the database cannot be reached."""

from __future__ import annotations

import hmac
import logging
import os
import sys

import psycopg
import psycopg_pool
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.defaults import server_error as default_server_error
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tongzhou import metrics

log = logging.getLogger(__name__)

# Errors that mean "the database is away" (restarting, failing over, unreachable): the same
# request may succeed in a moment, and a send retried with its client_id makes no copy.
DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 2
READY_TIMEOUT_SECONDS = 2.0  # /readyz answers within about this, whatever the database does
PROXY_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_FORWARDED",
    "HTTP_X_REAL_IP",
)


def unavailable_text() -> str:
    return _(
        "The server cannot reach its database just now. Please try again in a moment; "
        "sending again will not make a copy."
    )


def unavailable_body() -> dict[str, object]:
    return {"code": "unavailable", "message": unavailable_text(), "retryable": True}


def unavailable_response(request: HttpRequest) -> HttpResponse:
    metrics.DATABASE_UNAVAILABLE.inc()
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": unavailable_body()}, status=503)
    else:  # a static page: the usual one needs the database for its menus
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database that is away is a 503 to retry, not a server fault."""
    if isinstance(sys.exc_info()[1], DATABASE_DOWN):
        return unavailable_response(request)
    return default_server_error(request)


@never_cache
def live(request: HttpRequest) -> HttpResponse:
    """The process answers. Restart it if this fails; nothing else is checked."""
    return HttpResponse("ok\n", content_type="text/plain")


def _database() -> str:
    try:
        pool = getattr(connection, "pool", None)
        if pool is None:  # SQLite
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        else:
            # Not through Django's connection: that waits the pool's whole request timeout
            # (10 s) for a connection while PostgreSQL is away, longer than balancers wait.
            pool.open()
            try:
                with pool.connection(timeout=READY_TIMEOUT_SECONDS) as conn:
                    conn.execute("SELECT 1")
            except psycopg_pool.PoolTimeout:
                # Every pooled connection busy (a burst) is not "database away": ask it directly.
                db = connection.settings_dict
                with psycopg.connect(
                    dbname=db["NAME"],
                    user=db["USER"],
                    password=db["PASSWORD"],
                    host=db["HOST"],
                    port=db["PORT"] or None,
                    connect_timeout=int(READY_TIMEOUT_SECONDS),
                ) as direct:
                    direct.execute("SELECT 1")
        return "ok"
    except (DatabaseError, psycopg.Error):  # PoolTimeout is a psycopg.OperationalError
        return "unavailable"


def _fanout() -> str:
    if not settings.REDIS_URL:
        return "in-process"
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except (redis.RedisError, OSError):
        return "unavailable"


@never_cache
def ready(request: HttpRequest) -> HttpResponse:
    """Send this process traffic? Only when it reaches its database and its fan-out."""
    checks = {"database": _database(), "fanout": _fanout()}
    ok = all(v in ("ok", "in-process") for v in checks.values())
    return JsonResponse(
        {"status": "ready" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )


def _may_scrape(request: HttpRequest) -> bool:
    """With TONGZHOU_METRICS_TOKEN: that bearer token. Without: this machine only, and not
    through a proxy (a proxy on this machine would make every visitor look local)."""
    token = os.environ.get("TONGZHOU_METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    local = request.META.get("REMOTE_ADDR") in ("127.0.0.1", "::1")
    return local and not any(h in request.META for h in PROXY_HEADERS)


@never_cache
def prometheus(request: HttpRequest) -> HttpResponse:
    if not _may_scrape(request):
        return HttpResponse(status=404)  # nothing to see here for anyone else
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
