from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongzhou.groups.models import Group


class DeletedBy(models.TextChoices):
    SENDER = "sender", _("Deleted by the sender")
    MODERATOR = "moderator", _("Removed by a moderator")


class Message(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Message")
        QUESTION = "question", _("Question")

    class Status(models.TextChoices):
        VISIBLE = "visible", _("Visible")
        HELD = "held", _("Held for a moderator")
        # Imported from another app's export: on the History page and in search, never in
        # the live chat (imports/models.py).
        HISTORY = "history", _("Imported history")

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
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.CharField(max_length=10, choices=DeletedBy.choices, blank=True)
    change_seq = models.PositiveBigIntegerField(default=0)  # the group's, at the last change
    pinned_at = models.DateTimeField(null=True, blank=True)
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "client_id"], name="one_message_per_client_id"
            )
        ]
        indexes = [
            models.Index(fields=["group", "id"], name="message_group_id"),
            models.Index(fields=["group", "change_seq"], name="message_group_change"),
            # Rate limits and the same-text-in-several-groups check read a sender's recent sends.
            models.Index(fields=["sender", "created_at"], name="message_sender_time"),
        ]

    def __str__(self) -> str:
        return f"message {self.pk} in group {self.group_id}"


class Attachment(models.Model):
    """A picture or voice recording, uploaded first and then sent with one message."""

    class Kind(models.TextChoices):
        IMAGE = "image", _("Picture")
        VOICE = "voice", _("Voice message")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="attachments")
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="attachments"
    )
    # Empty until sent; unsent uploads are cleared after a day.
    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="attachment"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.CharField(max_length=40)  # a name in tongzhou.storage
    mime = models.CharField(max_length=40)
    extension = models.CharField(max_length=8)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    thumb = models.CharField(max_length=40, blank=True)
    thumb_mime = models.CharField(max_length=40, blank=True)
    has_qr = models.BooleanField(default=False)  # a QR code was read in the picture
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} in group {self.group_id}"

    def files(self) -> list[str]:
        return [n for n in (self.file, self.thumb) if n]


class VoicePlay(models.Model):
    """A listener has played this recording (the unplayed dot goes)."""

    attachment = models.ForeignKey(Attachment, on_delete=models.CASCADE, related_name="plays")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voice_plays"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attachment", "user"], name="one_play_per_listener")
        ]

    def __str__(self) -> str:
        return f"played {self.attachment_id} by {self.user_id}"


REACTIONS = ["👍", "❤️", "🙏", "💪", "🤗", "👏", "🌸", "😢"]


class Reaction(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reactions"
    )
    emoji = models.CharField(max_length=8, choices=[(e, e) for e in REACTIONS])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="one_reaction_each")
        ]

    def __str__(self) -> str:
        return f"{self.emoji} on {self.message_id} by {self.user_id}"


class Mention(models.Model):
    """A member @-named in a message, with the name as it was written."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentions"
    )
    name = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="one_mention_per_member")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} in message {self.message_id}"


class LinkPreview(models.Model):
    """The card under a message with a link, fetched in the background."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Fetching")
        READY = "ready", _("Ready")
        FAILED = "failed", _("No preview")

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="link_preview")
    url = models.URLField(max_length=2000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    title = models.CharField(max_length=210, blank=True)
    description = models.CharField(max_length=310, blank=True)
    site_name = models.CharField(max_length=100, blank=True)
    image = models.CharField(max_length=40, blank=True)  # a name in tongzhou.storage
    image_mime = models.CharField(max_length=40, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"preview for message {self.message_id} ({self.status})"
