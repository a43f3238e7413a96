"""One NinjaAPI, one router per app, one error layer: every refusal is
{"error": {"code", "message"}} with a translated message."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, security
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from tongzhou.accounts.tokens import token_for
from tongzhou.errors import UserError
from tongzhou.health import unavailable_response

log = logging.getLogger(__name__)


class BearerAuth(security.HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = token_for(token)
        if found is None:
            return None
        request.user = found.user
        request.auth_token_id = found.pk  # type: ignore[attr-defined]  # kept on revocations
        return found.user


class SessionAuth(security.SessionAuth):
    """ninja's session auth, but with no session there is nothing for CSRF to protect: the
    caller is told to sign in (401), not that a form expired (403)."""

    def __call__(self, request: HttpRequest) -> Any:
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)


class ObjectParser(Parser):
    """Every JSON body we take is an object. ninja's schemas read fields as attributes, so a
    list or a number would pass as "nothing given" (found by schemathesis)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise ValueError("the body is not a JSON object")
        return data


api = NinjaAPI(
    title="Tongzhou API",
    version="1",
    urls_namespace="api",
    auth=[BearerAuth(), SessionAuth()],
    parser=ObjectParser(),
    docs_url=None,  # Swagger UI needs inline scripts our CSP refuses; see docs/api.md
)


def error_response(
    request: HttpRequest, status: int, code: str, message: Any, **extra: Any
) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": str(message)}
    body.update(extra)
    return api.create_response(request, {"error": body}, status=status)


@api.exception_handler(UserError)
def on_user_error(request: HttpRequest, exc: UserError) -> HttpResponse:
    return error_response(request, exc.status, exc.code, exc.message)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "query", "path")]
        fields.append({"field": ".".join(loc), "type": err.get("type", "")})
    names = ", ".join(f["field"] for f in fields if f["field"]) or "-"
    return error_response(
        request,
        422,
        "invalid_input",
        _("Some fields are missing or have the wrong type: %(fields)s") % {"fields": names},
        fields=fields,
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "not_authenticated", _("Please sign in first."))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and str(exc).startswith("Cannot parse"):
        return error_response(
            request, 400, "malformed_json", _("The request body is not a valid JSON object.")
        )
    if exc.status_code == 403:  # CSRF failures land here for session clients
        return error_response(
            request,
            403,
            "csrf_failed",
            _("Your session form expired. Reload the page and try again."),
        )
    return error_response(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", _("Not found."))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_database_down(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.warning("database unavailable on %s: %s", request.path, type(exc).__name__)
    return unavailable_response(request)


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Only the exception type and the stack: a database error's message can quote the row,
    # health details included.
    log.error(
        "unhandled API error %s on %s\n%s",
        type(exc).__name__,
        request.path,
        "".join(traceback.format_tb(exc.__traceback__)),
    )
    return error_response(
        request,
        500,
        "server_error",
        _("Something went wrong on our side. Nothing you sent was lost; please try again."),
    )


def _mount() -> None:
    from tongzhou.accounts.api import router as accounts_router
    from tongzhou.chat.api import router as chat_router
    from tongzhou.community.api import router as community_router
    from tongzhou.groups.api import router as groups_router
    from tongzhou.imports.api import router as imports_router
    from tongzhou.insight.api import router as insight_router
    from tongzhou.knowledge.api import router as knowledge_router
    from tongzhou.notify.api import router as notify_router
    from tongzhou.questions.api import router as questions_router
    from tongzhou.safety.api import router as safety_router

    api.add_router("/", accounts_router)
    api.add_router("/", groups_router)
    api.add_router("/", chat_router)
    api.add_router("/", notify_router)
    api.add_router("/", questions_router)
    api.add_router("/", knowledge_router)
    api.add_router("/", safety_router)
    api.add_router("/", community_router)
    api.add_router("/", imports_router)
    api.add_router("/", insight_router)


_mount()
