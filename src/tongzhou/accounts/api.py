from __future__ import annotations

from datetime import datetime

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from tongzhou.accounts import actions
from tongzhou.accounts.actions import do_register, do_update_profile, profile_of
from tongzhou.accounts.models import HEALTH_FIELDS, ApiToken, Profile, User
from tongzhou.accounts.throttle import check_sign_in_allowed
from tongzhou.accounts.twofactor import has_two_factor, verify
from tongzhou.errors import UserError
from tongzhou.privacy import do_delete_account, export_response
from tongzhou.text import clean

router = Router(tags=["accounts"])


class RegisterIn(Schema):
    username: str
    password: str
    display_name: str


class RegisterOut(Schema):
    id: int
    username: str


class TokenIn(Schema):
    username: str
    password: str
    name: str = ""  # a label for the tokens list, e.g. "tablet app"
    otp: str = ""  # the authenticator code, for accounts with two-step sign-in


class TokenOut(Schema):
    token: str


class ProfileIn(Schema):
    display_name: str | None = None
    role: str | None = None
    cancer_type: str | None = None
    stage: str | None = None
    hospital: str | None = None
    diagnosis_year: int | None = None
    phase: str | None = None
    cancer_type_visibility: str | None = None
    stage_visibility: str | None = None
    hospital_visibility: str | None = None
    diagnosis_year_visibility: str | None = None
    phase_visibility: str | None = None
    credit_in_knowledge: bool | None = None  # named on knowledge entries made from my words
    health_consent: bool | None = None  # needed once, before the first health detail is kept
    text_size: str | None = None  # normal, large or largest: every page's text
    high_contrast: bool | None = None
    timezone: str | None = None  # IANA name, e.g. Asia/Shanghai; "": the server's
    share_streaks: bool | None = None  # the group's evening streak message may name me
    dm_open: bool | None = None  # accept direct messages


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    profile: dict[str, object]


def _me(user: User, profile: Profile) -> dict[str, object]:
    fields: dict[str, object] = {
        "role": profile.role,
        "health_consent": actions.has_health_consent(user),
        "credit_in_knowledge": profile.credit_in_knowledge,
        "text_size": profile.text_size,
        "high_contrast": profile.high_contrast,
        "timezone": profile.timezone,
        "share_streaks": profile.share_streaks,
        "dm_open": profile.dm_open,
    }
    for f in HEALTH_FIELDS:
        fields[f] = getattr(profile, f)
        fields[f"{f}_visibility"] = getattr(profile, f"{f}_visibility")
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "profile": fields,
    }


@router.post("/auth/register", auth=None, response={201: RegisterOut}, operation_id="register")
def register(request: HttpRequest, payload: RegisterIn) -> Status[dict[str, object]]:
    user = do_register(payload.username, payload.password, payload.display_name)
    return Status(201, {"id": user.pk, "username": user.username})


@router.post("/auth/token", auth=None, response=TokenOut, operation_id="issue_token")
def issue_token(request: HttpRequest, payload: TokenIn) -> dict[str, str]:
    if clean(payload.username) != payload.username or "\x00" in payload.password:
        raise UserError("invalid_credentials", _("Wrong username or password."), 401)
    check_sign_in_allowed(payload.username, request)
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        raise UserError("invalid_credentials", _("Wrong username or password."), 401)
    if has_two_factor(user):
        if not payload.otp:
            raise UserError("otp_required", _("Enter the code from your authenticator app."), 401)
        verify(user, payload.otp)
    return {"token": ApiToken.issue(user, payload.name.strip())}


@router.get("/me", response=MeOut, operation_id="me")
def me(request: HttpRequest) -> dict[str, object]:
    user: User = request.user  # type: ignore[assignment]  # auth guarantees a signed-in user
    return _me(user, profile_of(user))


@router.patch("/me/profile", response=MeOut, operation_id="update_profile")
def update_profile(request: HttpRequest, payload: ProfileIn) -> dict[str, object]:
    user: User = request.user  # type: ignore[assignment]
    profile = do_update_profile(user, payload.dict(exclude_unset=True))
    return _me(user, profile)


class SessionOut(Schema):
    id: str
    device: str
    started_at: datetime | None
    seen_at: datetime | None
    current: bool


class TokenInfoOut(Schema):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    current: bool


class EndedOut(Schema):
    ended: int


class PasswordIn(Schema):
    current_password: str
    new_password: str


def _session_key(request: HttpRequest) -> str | None:
    # A bearer-token call carries no session of its own.
    if getattr(request, "auth_token_id", None):
        return None
    return request.session.session_key


@router.get("/me/sessions", response=list[SessionOut], operation_id="list_sessions")
def list_sessions(request: HttpRequest) -> list[dict[str, object]]:
    user: User = request.user  # type: ignore[assignment]
    mine = _session_key(request)
    return [
        {
            "id": s.public_id,
            "device": s.device,
            "started_at": s.started_at,
            "seen_at": s.seen_at,
            "current": s.session_key == mine,
        }
        for s in actions.list_sessions(user)
    ]


@router.post("/me/sessions/end-others", response=EndedOut, operation_id="end_other_sessions")
def end_other_sessions(request: HttpRequest) -> dict[str, int]:
    ended = actions.do_end_other_sessions(request.user, _session_key(request))  # type: ignore[arg-type]
    return {"ended": ended}


@router.delete("/me/sessions/{sid}", response={204: None}, operation_id="end_session")
def end_session(request: HttpRequest, sid: str) -> Status[None]:
    actions.do_end_session(request.user, sid)  # type: ignore[arg-type]
    return Status(204, None)


@router.get("/me/tokens", response=list[TokenInfoOut], operation_id="list_tokens")
def list_tokens(request: HttpRequest) -> list[dict[str, object]]:
    current = getattr(request, "auth_token_id", None)
    return [
        {
            "id": t.pk,
            "name": t.name,
            "created_at": t.created_at,
            "last_used_at": t.last_used_at,
            "current": t.pk == current,
        }
        for t in actions.list_tokens(request.user)  # type: ignore[arg-type]
    ]


@router.delete("/me/tokens/{tid}", response={204: None}, operation_id="revoke_token")
def revoke_token(request: HttpRequest, tid: str) -> Status[None]:
    actions.do_revoke_token(request.user, tid)  # type: ignore[arg-type]
    return Status(204, None)


@router.post("/me/password", response={204: None}, operation_id="change_password")
def change_password(request: HttpRequest, payload: PasswordIn) -> Status[None]:
    user: User = request.user  # type: ignore[assignment]
    actions.do_change_password(
        user,
        payload.current_password,
        payload.new_password,
        keep_session=request.session if _session_key(request) else None,
        keep_token_id=getattr(request, "auth_token_id", None),
    )
    return Status(204, None)


class DeleteIn(Schema):
    password: str
    messages: str  # "keep" (shown as a former member's) or "remove"


EXPORT_DOC = {
    "responses": {
        200: {
            "description": "A zip of JSON files: everything kept about the caller",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


@router.get("/me/export", operation_id="export_my_data", openapi_extra=EXPORT_DOC)
def export_my_data(request: HttpRequest) -> HttpResponse:
    return export_response(request.user)  # type: ignore[arg-type]


@router.post("/me/delete", response={204: None}, operation_id="delete_my_account")
def delete_my_account(request: HttpRequest, payload: DeleteIn) -> Status[None]:
    do_delete_account(request.user, payload.password, payload.messages)  # type: ignore[arg-type]
    if hasattr(request, "session"):
        request.session.flush()
    return Status(204, None)
