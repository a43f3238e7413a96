from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongzhou.groups.models import Group


class Message(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Message")
        QUESTION = "question", _("Question")

    class Status(models.TextChoices):
        VISIBLE = "visible", _("Visible")
        HELD = "held", _("Held for a moderator")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="messages")
    # None once the sender deleted their account and chose to leave their messages behind.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    # Chosen by the sender's device; a retried send with the same id returns the same message.
    client_id = models.CharField(max_length=64)
    text = models.TextField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    reply_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VISIBLE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "client_id"], name="one_message_per_client_id"
            )
        ]
        indexes = [models.Index(fields=["group", "id"], name="message_group_id")]

    def __str__(self) -> str:
        return f"message {self.pk} in group {self.group_id}"
