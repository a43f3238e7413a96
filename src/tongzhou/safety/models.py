"""Reports, the moderators' audit log and the group's list of claims worth checking."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongzhou.crypto import EncryptedTextField
from tongzhou.groups.models import Group


class Report(models.Model):
    """Something a moderator should look at: a member's report, or a finding of the automatic
    checks (`reporter` is None). A held message waits here for approval."""

    class Reason(models.TextChoices):
        SPAM = "spam", _("Selling, advertising or spam")
        MISINFORMATION = "misinformation", _("This may be wrong")
        CRISIS = "crisis", _("Someone may be in crisis")
        HARASSMENT = "harassment", _("Unkind or harassing")
        FALSE_IDENTITY = "false_identity", _("Not who they say they are")
        OTHER = "other", _("Something else")

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for a moderator")
        DONE = "done", _("Dealt with")
        DISMISSED = "dismissed", _("No action needed")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="reports")
    message = models.ForeignKey(
        "chat.Message", on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    member = models.ForeignKey(  # the person reported (the sender, for a message)
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reports_about",
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports_made",
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    signals = models.JSONField(default=list, blank=True)  # what the checks found, as codes
    claim = models.ForeignKey(
        "safety.Claim", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    held = models.BooleanField(default=False)  # the message waits for approval
    note = EncryptedTextField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["group", "status"], name="report_group_status"),
            models.Index(fields=["reporter", "created_at"], name="report_reporter_time"),
        ]

    def __str__(self) -> str:
        return f"report {self.pk} ({self.reason}) in group {self.group_id}"


class AuditEntry(models.Model):
    """Who did what to whom, when and why: every moderator action, kept for the leader."""

    class Action(models.TextChoices):
        HIDE = "hide", _("Hid a message")
        APPROVE = "approve", _("Approved a held message")
        REJECT = "reject", _("Turned down a held message")
        DISMISS = "dismiss", _("Closed a report without action")
        WARN = "warn", _("Warned a member")
        MUTE = "mute", _("Muted a member")
        UNMUTE = "unmute", _("Lifted a mute")
        REMOVE = "remove", _("Removed a member from the group")
        BAN = "ban", _("Banned from the server")
        ROLE = "role", _("Changed a member's role")
        VERIFY = "verify", _("Verified a professional")
        UNVERIFY = "unverify", _("Took back a professional badge")
        PIN = "pin", _("Pinned a message")
        UNPIN = "unpin", _("Unpinned a message")
        CRISIS_SEEN = "crisis_seen", _("Reached out after a crisis alert")
        IMPORT = "import", _("Imported a chat history")
        CLAIM = "claim", _("Gave a member their imported messages")
        RESEARCH = "research", _("Started a research project")
        GRANT = "grant", _("Gave a researcher access")
        REVOKE = "revoke", _("Took back a researcher's access")
        CLOSE = "close", _("Closed a research project")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message_id = models.BigIntegerField(null=True, blank=True)  # kept after the message goes
    report = models.ForeignKey(
        Report, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(max_length=1000, blank=True)
    until = models.DateTimeField(null=True, blank=True)  # the end of a mute
    created_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(null=True, blank=True)  # a warning the member has read

    class Meta:
        indexes = [models.Index(fields=["group", "-created_at"], name="audit_group_time")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} in group {self.group_id}"


class Claim(models.Model):
    """A claim the group has seen before and corrected: a message matching one of its
    patterns gets a calm "worth checking" note linking to the correction."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="claims")
    # Shipped claims keep their key until a leader edits them: their words are then shown in
    # each reader's language; an edited claim shows what the leader wrote.
    seed = models.CharField(max_length=40, blank=True)
    title = models.CharField(_("claim"), max_length=200)
    # One pattern per line; words joined by "+" must all appear (any line matches).
    patterns = models.TextField(_("patterns"), max_length=4000)
    correction = models.TextField(_("correction"), max_length=2000)
    entry = models.ForeignKey(
        "knowledge.Entry", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title
