"""An imported chat history: the job, the people in it, and what came of it.

Imported messages are ordinary chat messages with status "history": the live chat, unread
counts and sockets never show them (their ids are newer than the live chat's, their times
older); the group's History page and search do. Senders become placeholder accounts that
cannot sign in, named by a pseudonym the leader chose, until a member claims theirs.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongzhou.chat.models import Message
from tongzhou.groups.models import Group


class Format(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    TELEGRAM = "telegram", "Telegram"
    WECHAT = "wechat", _("WeChat")


class ImportJob(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded, waiting to be read")
        READING = "reading", _("Reading the file")
        READY = "ready", _("Read: check the names, then import")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Could not be imported")
        DISCARDED = "discarded", _("Discarded")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    filename = models.CharField(max_length=200)  # as uploaded, shown to the leader only
    file = models.CharField(max_length=40, blank=True)  # tongzhou.storage; gone when done
    size = models.PositiveIntegerField(default=0)
    requested_format = models.CharField(max_length=10, default="auto")
    zone = models.CharField(max_length=64)  # the export's wall-clock times are in this zone
    # For the parser: "chat" (which chat of a Telegram account export), "date_order"
    # (WhatsApp: dmy, mdy or ymd, when the file's own dates cannot tell).
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    format = models.CharField(max_length=10, choices=Format.choices, blank=True)
    variant = models.CharField(max_length=40, blank=True)
    progress = models.FloatField(default=0.0)  # 0..1 within the current status
    # After reading: counts, date range, people [{name, messages, pseudonym, known}], problems.
    summary = models.JSONField(default=dict)
    pseudonyms = models.JSONField(default=dict)  # name in the file -> name shown here
    result = models.JSONField(default=dict)  # after importing: added, skipped, candidates
    error = models.TextField(blank=True)  # translated, with the file's name and line
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import {self.pk} into group {self.group_id} ({self.status})"


class ImportedPerson(models.Model):
    """A sender of an imported history. `user` is their placeholder account, whose display
    name is the pseudonym; once a member's claim is confirmed, `claimed_by` is that member
    and their messages are moved to them."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="imported_people")
    name = models.CharField(max_length=200)  # exactly as the file shows it
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="imported_as"
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="imported_claims",
    )
    claim_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    claim_requested_at = models.DateTimeField(null=True, blank=True)
    messages = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["group", "name"], name="imported_person_once")
        ]

    def __str__(self) -> str:
        return f"imported person {self.pk} of group {self.group_id}"

    @property
    def sender_id(self) -> int:
        """Whose name imported messages of this person carry now."""
        return self.claimed_by_id or self.user_id


class ImportedMessage(models.Model):
    """Where an imported message came from; `key` makes a second import of the same lines
    (the same file, or a later export that overlaps) add nothing."""

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, primary_key=True, related_name="imported"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(ImportJob, on_delete=models.SET_NULL, null=True, related_name="+")
    person = models.ForeignKey(ImportedPerson, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    ref = models.CharField(max_length=64, blank=True)  # the export's own id (replies)
    line = models.PositiveIntegerField(default=0)
    media = models.JSONField(default=list, blank=True)  # original file names; "" unknown
    forwarded_from = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "key"], name="imported_message_once")
        ]
        indexes = [models.Index(fields=["group", "ref"], name="imported_message_ref")]

    def __str__(self) -> str:
        return f"imported message {self.message_id}"


class HistoryEvent(models.Model):
    """A system line of an imported history (joined, left, a message recalled, renamed),
    kept apart from the messages."""

    class Kind(models.TextChoices):
        JOIN = "join", _("Joined")
        LEAVE = "leave", _("Left")
        RECALL = "recall", _("Message recalled")
        RENAME = "rename", _("Group renamed")
        OTHER = "other", _("Other")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="history_events")
    job = models.ForeignKey(ImportJob, on_delete=models.SET_NULL, null=True, related_name="+")
    person = models.ForeignKey(
        ImportedPerson, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField()
    text = models.TextField()
    key = models.CharField(max_length=64)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["group", "key"], name="history_event_once")]

    def __str__(self) -> str:
        return f"{self.kind} in group {self.group_id}"


class Candidate(models.Model):
    """A question of the history and the replies that seem to answer it: a knowledge entry
    a moderator may make from them."""

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for review")
        USED = "used", _("Made into an entry")
        DISMISSED = "dismissed", _("Dismissed")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(ImportJob, on_delete=models.SET_NULL, null=True, related_name="+")
    question = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="+")
    answers = models.JSONField(default=list)  # message ids, in time order
    score = models.FloatField(default=0.0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    entry = models.ForeignKey(
        "knowledge.Entry", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["group", "status", "score"], name="candidate_queue")]

    def __str__(self) -> str:
        return f"candidate {self.pk} of group {self.group_id}"


class TermCandidate(models.Model):
    """A word the group uses far more than Chinese or English at large: maybe its own jargon,
    for the glossary."""

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for review")
        USED = "used", _("Added to the glossary")
        DISMISSED = "dismissed", _("Dismissed")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(ImportJob, on_delete=models.SET_NULL, null=True, related_name="+")
    term = models.CharField(max_length=40)
    messages = models.PositiveIntegerField()  # how many messages use it
    people = models.PositiveIntegerField()  # how many different people
    examples = models.JSONField(default=list)  # a few message ids
    score = models.FloatField(default=0.0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)

    class Meta:
        ordering = ["-score"]
        constraints = [
            models.UniqueConstraint(fields=["group", "term"], name="term_candidate_once")
        ]

    def __str__(self) -> str:
        return f"term candidate {self.pk} of group {self.group_id}"
