"""Community life around the chat: events, daily routines and reminders, milestones, mutual
aid, suggestions, direct messages and #topics. Each feature's actions live in its own module
(events.py, routines.py, ...); the reminder clock they share is reminders.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongzhou.chat.models import Message
from tongzhou.groups.models import Group

USER = settings.AUTH_USER_MODEL


# --- reminders: what reaches a member, exactly once ----------------------------------------


class Reminder(models.Model):
    """One reminder delivered to one member. `key` names the occurrence (a routine on a local
    day, an event's start, an anniversary's year); the unique (user, key) is what makes a
    reminder fire once, whatever the worker does (restarts, two workers, a late run)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="reminders")
    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    key = models.CharField(max_length=80)
    title = models.CharField(max_length=200)
    url = models.CharField(max_length=300, blank=True)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="reminder_once")]
        indexes = [models.Index(fields=["user", "read_at"], name="reminder_user_unread")]

    def __str__(self) -> str:
        return f"reminder {self.key} for user {self.user_id}"


# --- daily routines ----------------------------------------------------------------------


class Routine(models.Model):
    """A repeating reminder at a wall-clock time: a group's (set by its leaders, for every
    member, e.g. 08:00 nasal irrigation) or one member's own (medication, an appointment).
    Each member's copy fires at that time in the member's own timezone."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="routines")
    owner = models.ForeignKey(  # None: the group's routine; else one member's own
        USER, on_delete=models.CASCADE, null=True, blank=True, related_name="own_routines"
    )
    title = models.CharField(_("what to do"), max_length=80)
    note = models.TextField(_("note"), max_length=500, blank=True)
    time = models.TimeField(_("time"))
    weekdays = models.CharField(max_length=7, default="1234567")  # ISO weekdays, 1 = Monday
    once_on = models.DateField(null=True, blank=True)  # an appointment: that day only
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"routine {self.pk} at {self.time} ({'own' if self.owner_id else 'group'})"


class ReminderSchedule(models.Model):
    """When a routine next fires for one member (in UTC, computed from their timezone)."""

    routine = models.ForeignKey(Routine, on_delete=models.CASCADE, related_name="schedules")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=True)  # a member can switch a group routine off
    next_at = models.DateTimeField(null=True, blank=True, db_index=True)  # None: never again

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["routine", "user"], name="one_schedule_per_member")
        ]

    def __str__(self) -> str:
        return f"routine {self.routine_id} for user {self.user_id} next {self.next_at}"


class CheckIn(models.Model):
    """'Done today' on the member's own calendar day."""

    routine = models.ForeignKey(Routine, on_delete=models.CASCADE, related_name="checkins")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["routine", "user", "day"], name="one_checkin_a_day")
        ]

    def __str__(self) -> str:
        return f"check-in {self.routine_id} by {self.user_id} on {self.day}"


# --- events ------------------------------------------------------------------------------


class Event(models.Model):
    class Kind(models.TextChoices):
        LECTURE = "lecture", _("Online talk")
        QA = "qa", _("Ask the expert")
        MEETUP = "meetup", _("Meetup in person")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), max_length=4000, blank=True)
    speaker = models.CharField(_("speaker"), max_length=120, blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    place = models.CharField(_("place"), max_length=300, blank=True)  # meetups
    capacity = models.PositiveIntegerField(_("places"), null=True, blank=True)  # None: no limit
    topic = models.CharField(max_length=40, blank=True)  # its #topic in the chat
    remind_minutes = models.PositiveIntegerField(default=60)  # before the start
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    entry = models.ForeignKey(  # the knowledge entry made from its questions and answers
        "knowledge.Entry", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["group", "starts_at"], name="event_group_start")]

    def __str__(self) -> str:
        return f"event {self.pk} ({self.kind}) in group {self.group_id}"


class Rsvp(models.Model):
    class Status(models.TextChoices):
        GOING = "going", _("Going")
        WAITING = "waiting", _("On the waiting list")
        CANCELLED = "cancelled", _("Not going")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="rsvps")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices)
    updated_at = models.DateTimeField(default=timezone.now)  # the waiting list's order

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="one_rsvp")]

    def __str__(self) -> str:
        return f"{self.status} {self.event_id} by {self.user_id}"


class EventQuestion(models.Model):
    """A question sent in before (or during) a talk; members upvote; the expert answers."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="questions")
    author = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)
    answer = models.TextField(max_length=4000, blank=True)
    answered_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)  # taken down by a moderator

    def __str__(self) -> str:
        return f"question {self.pk} for event {self.event_id}"


class EventQuestionVote(models.Model):
    question = models.ForeignKey(EventQuestion, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["question", "user"], name="one_vote_each")]

    def __str__(self) -> str:
        return f"vote on {self.question_id} by {self.user_id}"


# --- milestones --------------------------------------------------------------------------


class Milestone(models.Model):
    class Kind(models.TextChoices):
        GRADUATION = "graduation", _("Finished treatment (毕业)")
        CLEAR_SCAN = "clear_scan", _("A clear scan")
        YEARS = "years", _("Years since diagnosis")
        OTHER = "other", _("Something else to celebrate")
        SAD = "sad", _("Sad news")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="milestones")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    text = models.TextField(max_length=2000, blank=True)
    years = models.PositiveSmallIntegerField(null=True, blank=True)  # YEARS only
    day = models.DateField()  # when it happened
    remind_yearly = models.BooleanField(default=False)  # the author is reminded each year
    created_at = models.DateTimeField(default=timezone.now)
    hidden_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"milestone {self.pk} ({self.kind}) in group {self.group_id}"


class MilestoneReaction(models.Model):
    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=8)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["milestone", "user"], name="one_milestone_reaction")
        ]

    def __str__(self) -> str:
        return f"{self.emoji} on {self.milestone_id}"


# --- mutual aid --------------------------------------------------------------------------


class AidRequest(models.Model):
    class Kind(models.TextChoices):
        DONATION = "donation", _("Donations (money)")
        MEDICINE = "medicine", _("Help buying a medicine")
        COMPANY = "company", _("Company to an appointment")
        LODGING = "lodging", _("A room near a hospital")
        OTHER = "other", _("Other help")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a moderator")
        OPEN = "open", _("Open")
        FULFILLED = "fulfilled", _("Fulfilled")
        CLOSED = "closed", _("Closed")
        DECLINED = "declined", _("Not approved")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="aid_requests")
    author = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=120)
    details = models.TextField(_("details"), max_length=4000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    decided_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decision_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"aid request {self.pk} ({self.kind}, {self.status})"


class AidReply(models.Model):
    """'I can help' and other replies under a request."""

    request = models.ForeignKey(AidRequest, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(max_length=2000)
    offer = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"reply {self.pk} to aid request {self.request_id}"


# --- feedback and suggestions ------------------------------------------------------------


class Suggestion(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("New")
        PLANNED = "planned", _("Planned")
        DONE = "done", _("Done")
        DECLINED = "declined", _("Declined")

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="suggestions")
    author = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("details"), max_length=4000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    answer = models.TextField(_("the leader's answer"), max_length=2000, blank=True)
    answered_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"suggestion {self.pk} ({self.status})"


class SuggestionVote(models.Model):
    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["suggestion", "user"], name="one_suggestion_vote")
        ]

    def __str__(self) -> str:
        return f"vote on suggestion {self.suggestion_id}"


class SuggestionComment(models.Model):
    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"comment {self.pk} on suggestion {self.suggestion_id}"


# --- direct messages ---------------------------------------------------------------------


class Conversation(models.Model):
    """Two members, met in `group` (whose leaders see reports about it). user_a < user_b."""

    user_a = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    user_b = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_at = models.DateTimeField(default=timezone.now)
    a_read_id = models.BigIntegerField(default=0)
    b_read_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_a", "user_b"], name="one_conversation_per_pair"),
            models.CheckConstraint(
                condition=models.Q(user_a__lt=models.F("user_b")), name="pair_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"conversation {self.pk}"


class DirectMessage(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    client_id = models.CharField(max_length=64)
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sender", "client_id"], name="dm_client_id_once")
        ]

    def __str__(self) -> str:
        return f"direct message {self.pk}"


class Block(models.Model):
    blocker = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    blocked = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once")]

    def __str__(self) -> str:
        return f"block {self.blocker_id} -> {self.blocked_id}"


class DirectReport(models.Model):
    """A reported direct message: the reporter hands that one message to the leaders and
    moderators of the conversation's group, and nothing else of the conversation."""

    message = models.ForeignKey(DirectMessage, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "reporter"], name="report_dm_once")
        ]

    def __str__(self) -> str:
        return f"report of direct message {self.message_id}"


# --- topics ------------------------------------------------------------------------------


class MessageTopic(models.Model):
    """A #tag in a group message (lower-cased); the index behind the topic pages."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="topics")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    tag = models.CharField(max_length=40)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "tag"], name="tag_once")]
        indexes = [models.Index(fields=["group", "tag"], name="topic_group_tag")]

    def __str__(self) -> str:
        return f"#{self.tag} on message {self.message_id}"


class TopicFollow(models.Model):
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    tag = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "group", "tag"], name="follow_once")]

    def __str__(self) -> str:
        return f"user {self.user_id} follows #{self.tag}"
