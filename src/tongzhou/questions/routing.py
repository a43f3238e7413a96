"""Routing an unanswered question to the members most likely to help.

After the group's T1 (3 minutes by default) up to K members (3) are asked, chosen for having
answered similar questions, sharing the asker's cancer type, hospital or stage, being further
along, being active answerers, or being online now. After T2 (30 minutes) the moderators and
verified professionals are asked too. Nobody is asked who opted out, is in their quiet hours,
or was already asked their hourly number of times. Each request says why they were chosen.

Two things trigger it: a task queued for T1 and T2 when the question is asked (on time), and
the worker's once-a-minute sweep (anything a restart or a changed setting left behind). The
stage is claimed with a conditional update, so two workers never ask twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from tongzhou.accounts.models import Phase, Profile, UserSession, Visibility
from tongzhou.chat.models import Message
from tongzhou.groups.models import Membership
from tongzhou.notify.actions import notify_help
from tongzhou.notify.digest import in_quiet_hours
from tongzhou.notify.models import EmailSettings, Notification
from tongzhou.questions.models import HelperSettings, Question
from tongzhou.questions.search import SIMILAR_ENOUGH, index_for
from tongzhou.tasks import retried

log = logging.getLogger(__name__)

MAX_AGE = timedelta(days=2)  # older questions (an import, a long outage) are not routed
ONLINE = timedelta(minutes=10)
ACTIVE_WINDOW = timedelta(days=90)
ACTIVE_ANSWERS = 3  # answers to others' questions in the window that make an active helper
SIMILAR_LOOKUP = 20

# What a member is told about why they were asked, most telling first.
REASONS = {
    "similar_helpful": _("Your answer helped someone with a similar question."),
    "similar": _("You answered a similar question before."),
    "cancer_type": _("You have the same cancer type as the person asking."),
    "hospital": _("You were treated at the same hospital."),
    "stage": _("You had the same stage."),
    "further_along": _("You are further along in treatment and recovery."),
    "active": _("You often answer questions in this group."),
    "online": _("You are online now."),
    "moderator": _("You are a moderator of this group and nobody has answered yet."),
    "professional": _("You are a verified professional in this group."),
}
WEIGHTS = {
    "similar_helpful": 4.0,
    "similar": 3.0,
    "cancer_type": 2.0,
    "hospital": 1.5,
    "stage": 1.0,
    "further_along": 1.5,
    "active": 1.0,
    "online": 1.0,
}
_AHEAD = {Phase.FINISHED, Phase.SURVIVOR}


@dataclass
class Choice:
    user_id: int
    reasons: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(WEIGHTS.get(r, 0.0) for r in self.reasons)


def _available(user_ids: set[int], now: datetime) -> set[int]:
    """Those who accept requests, are outside their quiet hours and under their hourly cap."""
    if not user_ids:
        return set()
    default_cap = HelperSettings._meta.get_field("max_per_hour").default
    caps = {uid: default_cap for uid in user_ids}
    for s in HelperSettings.objects.filter(user_id__in=user_ids):
        if not s.accepts:
            caps.pop(s.user_id, None)
        else:
            caps[s.user_id] = s.max_per_hour
    default = EmailSettings()
    quiet = {s.user_id: s for s in EmailSettings.objects.filter(user_id__in=caps)}
    at = timezone.localtime(now).time()
    for uid in list(caps):
        if in_quiet_hours(quiet.get(uid, default), at):
            caps.pop(uid)
    recent = (
        Notification.objects.filter(
            user_id__in=caps, kind=Notification.Kind.HELP, created_at__gt=now - timedelta(hours=1)
        )
        .values("user_id")
        .annotate(n=Count("id"))
    )
    for row in recent:
        if row["n"] >= caps.get(row["user_id"], 0):
            caps.pop(row["user_id"], None)
    return set(caps)


def _shared(asker: Profile | None, helper: Profile) -> list[str]:
    """What the helper has in common with the asker, using only what the asker lets members
    see. The helper's own fields are theirs: the reason is shown to them alone."""
    if asker is None:
        return []
    out = []
    for fieldname in ("cancer_type", "hospital", "stage"):
        theirs = getattr(asker, fieldname)
        if (
            theirs
            and getattr(asker, f"{fieldname}_visibility") == Visibility.MEMBERS
            and str(theirs).strip().casefold() == str(getattr(helper, fieldname)).strip().casefold()
        ):
            out.append(fieldname)
    if (
        helper.phase in _AHEAD
        and asker.phase_visibility == Visibility.MEMBERS
        and asker.phase not in _AHEAD
    ):
        out.append("further_along")
    return out


def _similar_answerers(question: Question) -> dict[int, str]:
    """Members who answered similar earlier questions: user id -> the stronger reason."""
    found = index_for(question.group_id).search(
        question.terms.split(), SIMILAR_LOOKUP, exclude={question.pk}
    )
    similar = [qid for qid, share in found if share >= SIMILAR_ENOUGH]
    if not similar:
        return {}
    out: dict[int, str] = {}
    rows = Message.objects.filter(
        reply_to_id__in=similar, deleted_at__isnull=True, sender__isnull=False
    ).exclude(sender_id=question.asker_id)
    askers = dict(Question.objects.filter(pk__in=similar).values_list("pk", "asker_id"))
    for sender_id, reply_to in rows.values_list("sender_id", "reply_to_id"):
        if sender_id != askers.get(reply_to):
            out[sender_id] = "similar"
    helpful = Message.objects.filter(
        pk__in=Question.objects.filter(pk__in=similar, helpful__isnull=False).values("helpful_id")
    ).values_list("sender_id", flat=True)
    for uid in helpful:
        if uid is not None:
            out[uid] = "similar_helpful"
    return out


def _already_told(question: Question) -> set[int]:
    return set(
        Notification.objects.filter(message_id=question.pk).values_list("user_id", flat=True)
    )


def choose_helpers(question: Question, now: datetime, limit: int) -> list[Choice]:
    """Up to `limit` members most likely to help, each with the reasons they were chosen."""
    asked = _already_told(question)
    members = (
        set(
            Membership.objects.filter(group_id=question.group_id, status=Membership.Status.ACTIVE)
            .exclude(user_id=question.asker_id or 0)
            .values_list("user_id", flat=True)
        )
        - asked
    )
    members = _available(members, now)
    if not members:
        return []
    choices = {uid: Choice(uid) for uid in members}
    for uid, reason in _similar_answerers(question).items():
        if uid in choices:
            choices[uid].reasons.append(reason)
    profiles = {
        p.user_id: p for p in Profile.objects.filter(user_id__in=[*members, question.asker_id])
    }
    asker = profiles.get(question.asker_id) if question.asker_id else None
    for uid, choice in choices.items():
        if uid in profiles:
            choice.reasons.extend(_shared(asker, profiles[uid]))
    active = (
        Message.objects.filter(
            group_id=question.group_id,
            sender_id__in=members,
            created_at__gt=now - ACTIVE_WINDOW,
            reply_to__question__isnull=False,
            deleted_at__isnull=True,
        )
        .exclude(reply_to__sender_id=F("sender_id"))
        .values("sender_id")
        .annotate(n=Count("id"))
        .filter(n__gte=ACTIVE_ANSWERS)
    )
    for row in active:
        choices[row["sender_id"]].reasons.append("active")
    online = UserSession.objects.filter(user_id__in=members, seen_at__gt=now - ONLINE)
    for uid in set(online.values_list("user_id", flat=True)):
        choices[uid].reasons.append("online")
    ranked = sorted((c for c in choices.values() if c.reasons), key=lambda c: (-c.score, c.user_id))
    return ranked[:limit]


def choose_escalation(question: Question, now: datetime) -> list[Choice]:
    """The group's moderators and verified professionals not yet asked."""
    asked = _already_told(question)
    rows = (
        Membership.objects.filter(group_id=question.group_id, status=Membership.Status.ACTIVE)
        .filter(
            Q(role__in=[Membership.GroupRole.LEADER, Membership.GroupRole.MODERATOR])
            | Q(verified_professional_at__isnull=False)
        )
        .exclude(user_id=question.asker_id or 0)
        .values_list("user_id", "role", "verified_professional_at")
    )
    candidates = {uid: (role, verified) for uid, role, verified in rows if uid not in asked}
    out = []
    for uid in sorted(_available(set(candidates), now)):
        role, verified = candidates[uid]
        reasons = ["professional"] if verified is not None else []
        if role != Membership.GroupRole.MEMBER:
            reasons.insert(0, "moderator")
        out.append(Choice(uid, reasons))
    return out


def route_question(question: Question, now: datetime) -> list[Choice]:
    """Ask whoever is due to be asked about this question now; who was asked."""
    group = question.group
    elapsed = now - question.asked_at
    if elapsed >= timedelta(minutes=group.question_t2_minutes):
        stage = 2
    elif elapsed >= timedelta(minutes=group.question_t1_minutes):
        stage = 1
    else:
        return []
    if question.routed_stage >= stage or question.first_answer_id or question.resolved_at:
        return []
    claimed = Question.objects.filter(
        pk=question.pk, routed_stage=question.routed_stage, first_answer__isnull=True
    ).update(routed_stage=stage)
    if not claimed:
        return []
    chosen: list[Choice] = []
    if question.routed_stage < 1:
        chosen += choose_helpers(question, now, group.question_helpers)
    if stage == 2:
        chosen += choose_escalation(question, now)
    question.routed_stage = stage
    if chosen:
        notify_help(question.message, {c.user_id: c.reasons for c in chosen}, now)
    log.info("question %s: stage %s, asked %d members", question.pk, stage, len(chosen))
    return chosen


def due_questions(now: datetime) -> Any:
    return Question.objects.filter(
        routed_stage__lt=2,
        first_answer__isnull=True,
        resolved_at__isnull=True,
        asked_at__gt=now - MAX_AGE,
        message__status=Message.Status.VISIBLE,
        message__deleted_at__isnull=True,
    ).select_related("group", "message")


def route_due_questions(now: datetime | None = None) -> int:
    """Route every question that is due (the worker's sweep); how many members were asked."""
    now = now or timezone.now()
    return sum(len(route_question(q, now)) for q in due_questions(now))


@task()
@retried
def route_task(question_id: int) -> None:
    now = timezone.now()
    for q in due_questions(now).filter(pk=question_id):
        route_question(q, now)


def schedule_routing(question: Question) -> None:
    """Queue a routing run for T1 and for T2 after the question was asked."""
    group = question.group
    for minutes in (group.question_t1_minutes, group.question_t2_minutes):
        route_task.using(run_after=question.asked_at + timedelta(minutes=minutes)).enqueue(
            question.pk
        )
