from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongzhou.chat.models import Message
from tongzhou.crypto import EncryptedTextField
from tongzhou.groups.models import Group


class Notification(models.Model):
    """Something in a group that is for one member: they were @-mentioned or answered."""

    class Kind(models.TextChoices):
        MENTION = "mention", _("Mentioned you")
        REPLY = "reply", _("Replied to you")
        HELP = "help", _("A question you may be able to answer")
        SAFETY = "safety", _("A message for the moderators")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Why a member was asked to help (HELP only): codes from questions/routing.py REASONS.
    reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A reply that also mentions you is one notification (the mention).
            models.UniqueConstraint(fields=["user", "message"], name="one_notification_per_message")
        ]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return f"{self.kind} for user {self.user_id} (message {self.message_id})"


# Callables, not fixed times: Django's check (fields.W161) mistakes a fixed time for a
# forgotten "now" when it runs within seconds of that time of day (CI at 08:00 did).
def quiet_start_default() -> datetime.time:
    return datetime.time(22, 0)


def quiet_end_default() -> datetime.time:
    return datetime.time(8, 0)


class EmailSettings(models.Model):
    """A member's e-mail digest: off unless they turn it on."""

    class Digest(models.TextChoices):
        OFF = "off", _("Off")
        HOURLY = "hourly", _("At most every hour")
        DAILY = "daily", _("Once a day")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_settings"
    )
    email = EncryptedTextField(blank=True)
    # A digest goes only to an address its owner confirmed from a link we mailed to it.
    email_confirmed = models.BooleanField(default=False)
    confirm_digest = models.CharField(max_length=64, blank=True)  # sha256 of the mailed code
    confirm_sent_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=10, default="en")  # of the e-mails
    digest = models.CharField(max_length=10, choices=Digest.choices, default=Digest.OFF)
    # Members share health details; the words of messages go into e-mail only if asked for.
    include_text = models.BooleanField(default=False)
    include_questions = models.BooleanField(default=True)
    quiet_start = models.TimeField(null=True, blank=True, default=quiet_start_default)
    quiet_end = models.TimeField(null=True, blank=True, default=quiet_end_default)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)  # a digest task is waiting
    failures = models.PositiveSmallIntegerField(default=0)  # in a row; reset by a success

    def __str__(self) -> str:
        return f"e-mail settings of user {self.user_id} ({self.digest})"
