from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils.translation import gettext_lazy as _

from tongzhou.crypto import EncryptedIntegerField, EncryptedTextField


class User(AbstractUser):
    """A person. `display_name` is the pseudonym others see; real names are never asked."""

    display_name = models.CharField(_("display name"), max_length=40)
    # Banned from the whole server (a spammer): signed out everywhere and refused sign-in.
    banned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.username


class Visibility(models.TextChoices):
    MEMBERS = "members", _("Members of my groups")
    LEADERS = "leaders", _("Group leaders and moderators only")
    NOBODY = "nobody", _("Nobody")


class Role(models.TextChoices):
    PATIENT = "patient", _("Patient")
    CARER = "carer", _("Family carer")
    PROFESSIONAL = "professional", _("Health professional")


class Phase(models.TextChoices):
    NEW = "new", _("Newly diagnosed")
    TREATMENT = "treatment", _("In treatment")
    FINISHED = "finished", _("Finished treatment")
    SURVIVOR = "survivor", _("Long-term survivor")


# Health fields and their visibility field, in display order.
HEALTH_FIELDS = ("cancer_type", "stage", "hospital", "diagnosis_year", "phase")


class TextSize(models.TextChoices):
    NORMAL = "normal", _("Normal")
    LARGE = "large", _("Large")
    LARGEST = "largest", _("Largest")


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.PATIENT)
    # Health data: encrypted at rest (tongzhou/crypto.py); see HEALTH_FIELDS.
    cancer_type = EncryptedTextField(_("cancer type"), max_length=80, blank=True)
    stage = EncryptedTextField(_("stage"), max_length=40, blank=True)
    hospital = EncryptedTextField(_("treatment hospital"), max_length=120, blank=True)
    diagnosis_year = EncryptedIntegerField(_("year of diagnosis"), null=True, blank=True)
    phase = EncryptedTextField(
        _("treatment phase"), max_length=20, choices=Phase.choices, blank=True
    )
    cancer_type_visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.MEMBERS
    )
    stage_visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.LEADERS
    )
    hospital_visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.LEADERS
    )
    diagnosis_year_visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.MEMBERS
    )
    phase_visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.MEMBERS
    )
    # Whether knowledge entries made from your messages name you, or say "a member".
    credit_in_knowledge = models.BooleanField(_("name me in knowledge entries"), default=True)
    # Whose crisis lines to show this member (safety/resources.py); blank: the server's default.
    region = models.CharField(_("where you live"), max_length=8, blank=True)
    # Reading comfort, applied to every page (a class on <html>; see accounts/context.py).
    text_size = models.CharField(
        _("text size"), max_length=8, choices=TextSize.choices, default=TextSize.NORMAL
    )
    high_contrast = models.BooleanField(_("high contrast"), default=False)
    # The language the member last read pages in (kept by accounts/zone.py), so that what is
    # worded for them later, away from any page (reminders), is in their language.
    language = models.CharField(max_length=10, blank=True)
    # Reminders fire and times show in this zone (IANA name); blank: the server's TIME_ZONE.
    timezone = models.CharField(_("timezone"), max_length=64, blank=True)
    # Direct messages: a member can switch them off altogether.
    dm_open = models.BooleanField(_("accept direct messages"), default=True)
    # Whether the group's daily message of kept streaks may name this member.
    share_streaks = models.BooleanField(_("name me when I keep a streak"), default=False)

    def __str__(self) -> str:
        return f"profile of user {self.user_id}"

    def visible_to(self, *, same_group: bool, is_leader: bool, is_self: bool) -> dict[str, object]:
        """The health fields a viewer may see, by each field's visibility."""
        shown: dict[str, object] = {}
        for field in HEALTH_FIELDS:
            level = getattr(self, f"{field}_visibility")
            allowed = is_self or (
                (level == Visibility.MEMBERS and same_group)
                or (level == Visibility.LEADERS and is_leader)
            )
            value = getattr(self, field)
            if allowed and value not in ("", None):
                shown[field] = value
        return shown


class ApiToken(models.Model):
    """A bearer token for non-browser clients; only its SHA-256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=60, blank=True)  # "my tablet app", shown in the list
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token {self.pk} of user {self.user_id}"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User, name: str = "") -> str:
        raw = "tz_" + secrets.token_urlsafe(32)
        from tongzhou.text import clean

        cls.objects.create(user=user, name=clean(name)[:60], digest=cls.hash(raw))
        return raw


class UserSession(AbstractBaseSession):
    """Django's database session plus whose it is, so a person can list and end their own.

    No IP address is kept: a rough device label is enough to recognise a session.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    device = models.CharField(max_length=60, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)

    @classmethod
    def get_session_store_class(cls) -> type:
        from tongzhou.accounts.sessions import SessionStore

        return SessionStore

    @property
    def public_id(self) -> str:
        """What the API and pages call a session: never the key itself."""
        return hashlib.sha256(self.session_key.encode()).hexdigest()[:16]


class SignInFailure(models.Model):
    """One failed sign-in, kept for the throttling window (accounts/throttle.py)."""

    username = models.CharField(max_length=150, db_index=True)  # lower-cased as typed
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"sign-in failure {self.pk}"


class Consent(models.Model):
    """A separate, explicit yes, kept with its time; withdrawing keeps the record of both."""

    class Kind(models.TextChoices):
        HEALTH_DATA = "health_data", _("Keeping and showing my health details")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    granted_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} consent of user {self.user_id}"


class TotpDevice(models.Model):
    """Two-step sign-in with an authenticator app (RFC 6238). The secret is encrypted."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    secret = EncryptedTextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)  # None: being set up
    last_step = models.BigIntegerField(default=0)  # a code is good once (no replay)

    def __str__(self) -> str:
        return f"authenticator of user {self.user_id}"


class RecoveryCode(models.Model):
    """One-time codes for a lost phone; only their SHA-256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    digest = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"recovery code of user {self.user_id}"
