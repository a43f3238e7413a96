from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongzhou.accounts.models import Role
from tongzhou.crypto import EncryptedJSONField, EncryptedTextField


class Profession(models.TextChoices):
    DOCTOR = "doctor", _("Doctor")
    NURSE = "nurse", _("Nurse")
    DIETITIAN = "dietitian", _("Dietitian")
    PSYCHOLOGIST = "psychologist", _("Psychologist")
    SOCIAL_WORKER = "social_worker", _("Social worker")


class Group(models.Model):
    name = models.CharField(_("name"), max_length=80)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    member_cap = models.PositiveIntegerField(_("member cap"), default=150)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Counts changes to existing messages (edits, deletions, reactions), so a reconnecting
    # client can ask for every change after the last one it saw.
    change_seq = models.PositiveBigIntegerField(default=0)
    # Shown above the chat to every member; set by the leader.
    announcement = models.TextField(_("announcement"), max_length=2000, blank=True)
    announcement_at = models.DateTimeField(null=True, blank=True)
    announcement_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Question routing (questions/routing.py): after T1 minutes unanswered, ask K likely
    # helpers; after T2, the moderators and verified professionals too.
    question_t1_minutes = models.PositiveSmallIntegerField(
        _("ask helpers after (minutes)"), default=3
    )
    question_t2_minutes = models.PositiveSmallIntegerField(
        _("ask moderators after (minutes)"), default=30
    )
    question_helpers = models.PositiveSmallIntegerField(_("helpers to ask"), default=3)
    # Knowledge entries reviewed longer ago than this are flagged for another look.
    review_after_months = models.PositiveSmallIntegerField(
        _("review knowledge again after (months)"), default=12
    )

    class SpamAction(models.TextChoices):
        HOLD = "hold", _("Hold the message until a moderator approves it")
        FLAG = "flag", _("Show the message and tell the moderators")

    # What the salesman checks do with a finding (safety/checks.py).
    spam_action = models.CharField(
        _("when a message looks like selling"),
        max_length=10,
        choices=SpamAction.choices,
        default=SpamAction.HOLD,
    )
    # Contact details from a member newer than this are a salesman's sign.
    new_member_days = models.PositiveSmallIntegerField(_("new member for (days)"), default=3)
    # A member newer than this cannot start direct messages (a salesman's favourite door).
    dm_min_days = models.PositiveSmallIntegerField(
        _("days before starting direct messages"), default=7
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("groups:detail", args=[self.pk])

    def active_member_count(self) -> int:
        return self.memberships.filter(status=Membership.Status.ACTIVE).count()


class Membership(models.Model):
    class GroupRole(models.TextChoices):
        LEADER = "leader", _("Leader")
        MODERATOR = "moderator", _("Moderator")
        MEMBER = "member", _("Member")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        REMOVED = "removed", _("Removed")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=GroupRole.choices, default=GroupRole.MEMBER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    joined_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    # Set by the leader after checking credentials off-platform; such members are asked to
    # help with questions left unanswered (questions/routing.py).
    verified_professional_at = models.DateTimeField(null=True, blank=True)
    # What the member said they are when asking for the badge (Profession).
    profession = models.CharField(max_length=20, choices=Profession.choices, blank=True)
    professional_requested_at = models.DateTimeField(null=True, blank=True)
    # A moderator's mute: no sending until then.
    muted_until = models.DateTimeField(null=True, blank=True)
    # Highest message id this member has seen; drives the unread marker.
    last_read_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} in group {self.group_id} ({self.role}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def can_moderate(self) -> bool:
        return self.is_active and self.role in (self.GroupRole.LEADER, self.GroupRole.MODERATOR)

    @property
    def is_leader(self) -> bool:
        return self.is_active and self.role == self.GroupRole.LEADER


class JoinQuestion(models.Model):
    """An extra question a leader asks applicants, beside the built-in ones."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="join_questions")
    text = models.CharField(_("question"), max_length=300)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text


class Application(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Not approved")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="applications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="applications"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    role = models.CharField(_("I am a"), max_length=20, choices=Role.choices)
    # What an applicant tells the moderators is health data: encrypted at rest.
    diagnosis = EncryptedTextField(_("cancer type"), max_length=80, blank=True)
    hospital = EncryptedTextField(_("treatment hospital"), max_length=120, blank=True)
    stage = EncryptedTextField(_("stage"), max_length=40, blank=True)
    note = EncryptedTextField(_("about you"), max_length=2000, blank=True)
    # Answers to the group's own questions: [{"question": str, "answer": str}].
    answers = EncryptedJSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(max_length=1000, blank=True)
    # What the salesman checks found in the application (safety/spam.py), for the reviewer.
    flags = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"application {self.pk} of user {self.user_id} to group {self.group_id}"


def _new_invite_token() -> str:
    return secrets.token_urlsafe(16)


class Invite(models.Model):
    """A link that pre-approves whoever opens it, until it expires or is used up."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="invites")
    token = models.CharField(max_length=40, unique=True, default=_new_invite_token)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    max_uses = models.PositiveIntegerField(null=True, blank=True)  # None: unlimited
    uses = models.PositiveIntegerField(default=0)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"invite {self.pk} to group {self.group_id}"

    def get_absolute_url(self) -> str:
        return reverse("groups:invite", args=[self.token])

    @property
    def usable(self) -> bool:
        return (
            not self.revoked
            and self.expires_at > timezone.now()
            and (self.max_uses is None or self.uses < self.max_uses)
        )
