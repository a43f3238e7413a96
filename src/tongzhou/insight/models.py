"""Research consent, research projects and their coding.

Consent is kept as a history: every decision is a new `ResearchConsent` row and the newest
row per member and group is the one in force, so a revocation is as visible as the yes it
ends. Everything a researcher reads is filtered through it at the moment of reading."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tongzhou.chat.models import Message
from tongzhou.groups.models import Group


class ConsentText(models.Model):
    """The words a group's members agree to; a leader's edit is a new version."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="consent_texts")
    version = models.PositiveIntegerField()
    text = models.TextField(max_length=5000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "version"], name="consent_text_version")
        ]
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"consent text v{self.version} of group {self.group_id}"


class ResearchConsent(models.Model):
    """One decision of a member; version 0 is the text Tongzhou ships."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="research_consents"
    )
    version = models.PositiveIntegerField(default=0)
    messages = models.BooleanField(default=False)  # my messages, pseudonymised
    health = models.BooleanField(default=False)  # my health profile, generalised
    quotes = models.BooleanField(default=False)  # my words quoted in publications
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["group", "user", "-decided_at"], name="consent_latest")]
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"research consent {self.pk} of user {self.user_id}"


class Project(models.Model):
    """A study of one group, with a purpose and an end, granted by the group's leader."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="research_projects")
    title = models.CharField(max_length=120)
    purpose = models.TextField(max_length=2000)
    ends_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    # What the coding set is drawn from: see insight/sample.py.
    selection = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"project {self.pk} of group {self.group_id}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None and timezone.localdate() <= self.ends_on


class Researcher(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="researchers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="researcher_once")]

    def __str__(self) -> str:
        return f"researcher {self.user_id} on project {self.project_id}"


class Participant(models.Model):
    """A member's pseudonym in one project: numbered in order of first appearance, so it is
    stable within the project and says nothing across projects."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="participant_once"),
            models.UniqueConstraint(fields=["project", "number"], name="participant_number"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"P{self.number:03d}"


class Code(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="codes")
    key = models.CharField(max_length=40)  # default codes: codebook.DEFAULT keys
    family = models.CharField(max_length=20)  # support, efficacy, qa, open
    label = models.CharField(max_length=80, blank=True)  # open codes; defaults are translated
    description = models.TextField(max_length=1000, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="code_key_once")]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"code {self.key} of project {self.project_id}"


class Unit(models.Model):
    """A message in a project's coding set, in the order coders meet it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="units")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "message"], name="unit_once"),
            models.UniqueConstraint(fields=["project", "position"], name="unit_position"),
        ]
        ordering = ["position"]

    def __str__(self) -> str:
        return f"unit {self.position} of project {self.project_id}"


class Coding(models.Model):
    """One coder's finished decision on a unit: the codes that apply (none is an answer)."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="codings")
    coder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    codes = models.ManyToManyField(Code, related_name="+", blank=True)
    coded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "coder"], name="coding_once")]

    def __str__(self) -> str:
        return f"coding of unit {self.unit_id} by {self.coder_id}"


class Agreed(models.Model):
    """The codes the coders settled on for a unit after looking at their disagreement."""

    unit = models.OneToOneField(Unit, on_delete=models.CASCADE, related_name="agreed")
    codes = models.ManyToManyField(Code, related_name="+", blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"agreed codes of unit {self.unit_id}"


class Suggestions(models.Model):
    """The last training of the suggestion model: cross-validated F1 per code, and the codes
    it would suggest for units nobody has coded. Shown, never applied by itself."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="suggestions")
    trained_at = models.DateTimeField(default=timezone.now)
    scores = models.JSONField(
        default=dict
    )  # code key -> {f1, precision, recall, positives, reason}
    suggested = models.JSONField(default=dict)  # unit id -> [[code key, probability], ...]
    units = models.PositiveIntegerField(default=0)  # coded units it learned from

    def __str__(self) -> str:
        return f"suggestions of project {self.project_id}"


class Export(models.Model):
    """A record of each export: members can see that one was made and how much it held."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exports")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    format = models.CharField(max_length=8)
    messages = models.PositiveIntegerField(default=0)
    members = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"export {self.pk} of project {self.project_id}"
