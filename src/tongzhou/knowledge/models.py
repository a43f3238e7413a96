from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongzhou.chat.models import Message
from tongzhou.groups.models import Group


class Category(models.TextChoices):
    TREATMENT = "treatment", _("Treatment and side effects")
    DIET = "diet", _("Diet and recipes")
    HOSPITALS = "hospitals", _("Hospitals, doctors and procedures")
    HOUSING = "housing", _("Housing and travel for treatment")
    REHAB = "rehab", _("Rehabilitation and daily care")
    TCM = "tcm", _("Traditional Chinese medicine: cautions and sensible use")
    EMOTIONS = "emotions", _("Emotions and family")
    MONEY = "money", _("Work, money and insurance")


class Entry(models.Model):
    """A piece of the group's knowledge, kept and reviewed so that it outlives the chat."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft, not reviewed yet")
        REVIEWED = "reviewed", _("Reviewed")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="entries")
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"), max_length=20000)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    tags = models.JSONField(default=list, blank=True)  # short words, normalised, at most 8
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The last review stays shown after a later edit ("reviewed by X; changed since").
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)  # by a verified professional
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The question it was made from, if any (its answers are among the sources).
    question = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["group", "category", "updated_at"], name="entry_list")]

    def __str__(self) -> str:
        return f"entry {self.pk} in group {self.group_id}"


class Revision(models.Model):
    """The entry as it was after each save; the history page diffs neighbours."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=120)
    body = models.TextField()
    category = models.CharField(max_length=12)
    tags = models.JSONField(default=list)
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)  # what changed and why
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "number"], name="one_revision_number")
        ]

    def __str__(self) -> str:
        return f"revision {self.number} of entry {self.entry_id}"


class Source(models.Model):
    """A chat message the entry was made from: credit to its author and a way back."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="sources")
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"message {self.message_id} in entry {self.entry_id}"


class Comment(models.Model):
    """A correction or remark on an entry; a moderator or the author marks it dealt with."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on entry {self.entry_id}"


class GuideItem(models.Model):
    """One step of the newcomer guide, in the order the leader chose."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="guide_items")
    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "entry"], name="entry_once_in_guide")
        ]

    def __str__(self) -> str:
        return f"guide step {self.position} of group {self.group_id}"


class EntryRead(models.Model):
    """A member has opened an entry (guide progress; "new since you read it")."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "user"], name="one_read_each")]

    def __str__(self) -> str:
        return f"entry {self.entry_id} read by {self.user_id}"


class GlossaryTerm(models.Model):
    """One of the group's own words (毕业 = finished treatment), shown when tapped."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="glossary")
    term = models.CharField(_("word"), max_length=40)
    # Other ways of writing it (CR, 完全缓解, complete remission), comma separated.
    also = models.CharField(_("also written as"), max_length=200, blank=True)
    meaning = models.TextField(_("meaning"), max_length=1000)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["term"]
        constraints = [models.UniqueConstraint(fields=["group", "term"], name="term_once")]

    def __str__(self) -> str:
        return self.term

    def spellings(self) -> list[str]:
        return [self.term] + [
            s.strip() for s in self.also.replace("，", ",").split(",") if s.strip()
        ]


class MessageTerms(models.Model):
    """Search terms of a visible message (knowledge/terms.py). The database's own full-text
    index is built over `terms`: FTS5 on SQLite, a GIN-indexed tsvector on PostgreSQL
    (migration 0002); both only narrow candidates, and the exact check is in Python."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, primary_key=True)
    terms = models.TextField()

    def __str__(self) -> str:
        return f"terms of message {self.message_id}"


class EntryTerms(models.Model):
    entry = models.OneToOneField(Entry, on_delete=models.CASCADE, primary_key=True)
    terms = models.TextField()  # title, text and tags
    title = models.TextField(default="")  # the title's alone: title hits rank first

    def __str__(self) -> str:
        return f"terms of entry {self.entry_id}"
