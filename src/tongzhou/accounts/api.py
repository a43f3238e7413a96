from __future__ import annotations

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from tongzhou.accounts.actions import do_register, do_update_profile, profile_of
from tongzhou.accounts.models import HEALTH_FIELDS, ApiToken, Profile, User
from tongzhou.accounts.throttle import check_sign_in_allowed
from tongzhou.errors import UserError

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


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    profile: dict[str, object]


def _me(user: User, profile: Profile) -> dict[str, object]:
    fields: dict[str, object] = {"role": profile.role}
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
    check_sign_in_allowed(payload.username, request)
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        raise UserError("invalid_credentials", _("Wrong username or password."), 401)
    return {"token": ApiToken.issue(user)}


@router.get("/me", response=MeOut, operation_id="me")
def me(request: HttpRequest) -> dict[str, object]:
    user: User = request.user  # type: ignore[assignment]  # auth guarantees a signed-in user
    return _me(user, profile_of(user))


@router.patch("/me/profile", response=MeOut, operation_id="update_profile")
def update_profile(request: HttpRequest, payload: ProfileIn) -> dict[str, object]:
    user: User = request.user  # type: ignore[assignment]
    profile = do_update_profile(user, payload.dict(exclude_unset=True))
    return _me(user, profile)
