from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tongzhou.chat.models import Message
from tongzhou.groups.models import Group


class Question(models.Model):
    """A message that asks the group something, tracked until it is answered and resolved.

    Its id is its message's id, so clients need only one number."""

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, primary_key=True, related_name="question"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="questions")
    asker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    asked_at = models.DateTimeField()
    detected = models.BooleanField(default=False)  # found by the server, not marked by the asker
    # Words for the "asked before" search (questions/search.py), kept with when they changed.
    terms = models.TextField(blank=True)
    terms_at = models.DateTimeField(default=timezone.now)
    first_answer = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    first_answer_at = models.DateTimeField(null=True, blank=True)
    helpful = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # 0: nobody asked yet; 1: likely helpers were asked (after T1); 2: moderators too (T2).
    routed_stage = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["group", "resolved_at", "asked_at"], name="question_open"),
            models.Index(fields=["group", "terms_at"], name="question_terms"),
            models.Index(fields=["routed_stage", "asked_at"], name="question_routing"),
        ]

    def __str__(self) -> str:
        return f"question {self.pk} in group {self.group_id}"

    @property
    def state(self) -> str:
        if self.resolved_at is not None:
            return "resolved"
        return "answered" if self.first_answer_id is not None else "open"


class HelperSettings(models.Model):
    """Whether a member may be asked to help with others' questions, and how often."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="helper_settings"
    )
    accepts = models.BooleanField(default=True)
    max_per_hour = models.PositiveSmallIntegerField(default=3)

    def __str__(self) -> str:
        return f"helper settings of user {self.user_id}"
