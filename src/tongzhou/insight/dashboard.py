"""The leaders' dashboard: how the group is doing, in counts only. Nothing here names or lists
a person; figures about fewer than MIN_PEOPLE people are marked as too few to say.

Definitions (the page shows each in a line under its figure):

- Period: the last 30, 90 or 365 days up to now (the first day from its local midnight), or
  everything since the first message or membership. Days and weeks (Monday to Sunday) are
  the viewer's own (Django's current timezone, set per member by the middleware). A period
  longer than two years is shown by the month instead of the week.
- Messages: visible messages that were not deleted, plus imported history when it is
  counted; per day, or per week when the period is longer than 92 days (per month beyond
  two years). The card shows the period's average per day.
- Imported history is counted by default when the group has any (`history`).
- Active members: the number of different people who sent a message, per week.
- New members: memberships that started in the week (whatever became of them later), plus,
  with imported history, imported people by their first message. A member who also wrote in
  the imported history started at the earlier of the two.
- Questions: live questions (tracked questions whose message is visible and not deleted,
  as on the Questions page) and, with history, imported messages of kind question, asked in
  the period. A live question's first answer is `Question.first_answer_at` (the first reply
  from someone other than the asker); an imported question's is the first reply to it from
  someone else or, since WhatsApp exports hold no replies, the first of the answers the
  import recognised (imports/mining.py), whichever is earlier.
- Time to first answer: median and 90th percentile (nearest rank: nine in ten answered
  questions had their first answer within it), in minutes, per week of asking.
- Unanswered share: questions of the period without any answer yet; beside it, the share
  answered within 24 hours.
- Taker becomes sharer: people whose first question in the group (their first message of
  kind question, ever) was asked in the period, and how many of them later answered someone
  else's question (a reply to another person's question, which the first answer of a live
  Question always is, or an answer recognised in imported history), with the median days
  between their first question and their first such answer.
- Retention after 30 / 90 days: people who started (joined, or first wrote in the imported
  history) in the period and at least 30 (90) days before the end of what can be seen of
  them: now for members, the last imported message for imported people who are no member.
  Of these, the share who wrote anything on or after day 30 (90) after they started.

A handful of queries, the work done by the database where it can be: the history's extent;
the memberships; per person their last message, first question and first imported message;
per day (or week) and sender, the period's messages, the day found by a binary search of
CASEs over the days' start instants; the period's replies to questions, its questions and
(with history) the answers the import recognised. The rest is small passes in Python. No SQL
is engine-specific.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db.models import Case, Count, IntegerField, Max, Min, Q, QuerySet, Value, When
from django.utils import timezone

from tongzhou.chat.models import Message
from tongzhou.groups.models import Group, Membership
from tongzhou.imports.models import Candidate
from tongzhou.questions.models import Question

PERIODS: tuple[int | None, ...] = (30, 90, 365, None)  # None: everything
DEFAULT_DAYS = 90
MIN_PEOPLE = 5  # below this, a share would say something about individuals
RETENTION_DAYS = (30, 90)
DAILY_UP_TO = 92  # days; longer periods count messages by the week
WEEKLY_UP_TO = 731  # days; longer periods count by the month
DAY_SECONDS = 86_400
BATCH = 2000  # ids per IN (...)
# The import recognises answers within 30 minutes of their question (imports/mining.py); a
# question asked this long before the period cannot have a recognised answer in it.
RECOGNISED_WITHIN = dt.timedelta(days=1)

Unit = Literal["day", "week", "month"]


@dataclass(frozen=True)
class Period:
    days: int | None
    first_day: dt.date
    last_day: dt.date
    start: dt.datetime  # local midnight of first_day
    end: dt.datetime  # now
    tz: dt.tzinfo

    @property
    def span_days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def holds(self, at: dt.datetime) -> bool:
        return self.start <= at <= self.end


def _midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()), tz)


def period_of(
    days: int | None, now: dt.datetime, tz: dt.tzinfo, earliest: dt.datetime | None
) -> Period:
    last_day = timezone.localtime(now, tz).date()
    if days is None:
        first_day = timezone.localtime(min(earliest or now, now), tz).date()
    else:
        first_day = last_day - dt.timedelta(days=days - 1)
    return Period(days, first_day, last_day, _midnight(first_day, tz), now, tz)


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass(frozen=True)
class Buckets:
    """Days, weeks or months covering a period, each starting at its local midnight; `index`
    finds an instant's by bisection over those instants (no conversion per message)."""

    unit: Unit
    starts: list[dt.date]
    bounds: list[dt.datetime]

    @classmethod
    def of(cls, period: Period, unit: Unit) -> Buckets:
        day = period.first_day
        if unit == "week":
            day -= dt.timedelta(days=day.weekday())
        elif unit == "month":
            day = day.replace(day=1)
        starts = []
        while day <= period.last_day:
            starts.append(day)
            if unit == "day":
                day += dt.timedelta(days=1)
            elif unit == "week":
                day += dt.timedelta(weeks=1)
            else:
                day = _next_month(day)
        bounds = [_midnight(d, period.tz).astimezone(dt.UTC) for d in starts]
        return cls(unit, starts, bounds)

    def index(self, at: dt.datetime) -> int:
        return max(bisect.bisect_right(self.bounds, at) - 1, 0)


@dataclass(frozen=True)
class Point:
    start: dt.date
    value: int


@dataclass(frozen=True)
class AnswerPoint:
    start: dt.date
    questions: int
    answered: int
    within_day: int
    median_minutes: float | None
    p90_minutes: float | None

    @property
    def unanswered(self) -> int:
        return self.questions - self.answered


@dataclass(frozen=True)
class Answers:
    questions: int
    answered: int
    within_day: int
    median_minutes: float | None
    p90_minutes: float | None

    @property
    def unanswered(self) -> int:
        return self.questions - self.answered

    @property
    def unanswered_share(self) -> float | None:
        return self.unanswered / self.questions if self.questions else None

    @property
    def within_day_share(self) -> float | None:
        return self.within_day / self.questions if self.questions else None


@dataclass(frozen=True)
class Sharers:
    newcomers: int  # people whose first question fell in the period
    became: int  # of them, later answered someone else's question
    median_days: float | None

    @property
    def share(self) -> float | None:
        return self.became / self.newcomers if self.newcomers else None

    @property
    def enough(self) -> bool:
        return self.newcomers >= MIN_PEOPLE


@dataclass(frozen=True)
class Cohort:
    days: int
    people: int
    stayed: int

    @property
    def share(self) -> float | None:
        return self.stayed / self.people if self.people else None

    @property
    def enough(self) -> bool:
        return self.people >= MIN_PEOPLE


@dataclass
class Dashboard:
    period: Period
    history: bool  # imported history is counted
    history_available: int  # imported messages the group has (0: none)
    history_first: dt.datetime | None
    history_last: dt.datetime | None
    message_unit: Unit
    people_unit: Unit
    messages: int = 0
    message_series: list[Point] = field(default_factory=list)
    active: int = 0  # different people who wrote in the period
    active_series: list[Point] = field(default_factory=list)
    new_members: int = 0
    new_series: list[Point] = field(default_factory=list)
    answers: Answers = field(default_factory=lambda: Answers(0, 0, 0, None, None))
    answer_series: list[AnswerPoint] = field(default_factory=list)
    sharers: Sharers = field(default_factory=lambda: Sharers(0, 0, None))
    retention: list[Cohort] = field(default_factory=list)

    @property
    def per_day(self) -> float:
        return self.messages / self.period.span_days


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


def _answer_figures(
    seconds: list[float | None],
) -> tuple[int, int, int, float | None, float | None]:
    times = [s for s in seconds if s is not None]
    return (
        len(seconds),
        len(times),
        sum(t <= DAY_SECONDS for t in times),
        statistics.median(times) / 60 if times else None,
        percentile(times, 90) / 60 if times else None,
    )


def _earlier(a: dt.datetime | None, b: dt.datetime) -> dt.datetime:
    return b if a is None or b < a else a


def _bucket_of(bounds: list[dt.datetime], lo: int = 0, hi: int | None = None) -> Any:
    """SQL for the number of the bucket a message's time falls in (bucket i starts at
    bounds[i]): a binary search of nested CASEs, so ~7 comparisons a message rather than one
    per bucket. Plain ORM, the same on SQLite and PostgreSQL."""
    hi = len(bounds) if hi is None else hi
    if hi - lo <= 1:
        return Value(lo)
    mid = (lo + hi) // 2
    return Case(
        When(created_at__lt=bounds[mid], then=_bucket_of(bounds, lo, mid)),
        default=_bucket_of(bounds, mid, hi),
        output_field=IntegerField(),
    )


def compute(
    group_id: int,
    days: int | None = DEFAULT_DAYS,
    history: bool | None = None,
    now: dt.datetime | None = None,
    tz: dt.tzinfo | None = None,
) -> Dashboard:
    """The figures of one group for the period. `history`: count imported history (None:
    when the group has any)."""
    now = now or timezone.now()
    tz = tz or timezone.get_current_timezone()
    extent = Message.objects.filter(
        group_id=group_id, status=Message.Status.HISTORY, deleted_at__isnull=True
    ).aggregate(n=Count("pk"), first=Min("created_at"), last=Max("created_at"))
    counted = bool(extent["n"]) and history is not False
    statuses = [Message.Status.VISIBLE, *([Message.Status.HISTORY] if counted else [])]
    messages = Message.objects.filter(
        group_id=group_id, status__in=statuses, deleted_at__isnull=True
    )
    joined = list(Membership.objects.filter(group_id=group_id).values_list("user_id", "joined_at"))
    # Per person, over all time: last message, first question, first imported message.
    people = list(
        messages.filter(sender__isnull=False)
        .values("sender_id")
        .annotate(
            last=Max("created_at"),
            first=Min("created_at"),
            first_question=Min("created_at", filter=Q(kind=Message.Kind.QUESTION)),
            first_history=Min("created_at", filter=Q(status=Message.Status.HISTORY)),
        )
        .order_by()
    )
    earliest = None
    if days is None:
        earliest = min([now, *(j for _u, j in joined), *(p["first"] for p in people)])
        first_anonymous = messages.filter(sender__isnull=True).aggregate(m=Min("created_at"))
        earliest = min(earliest, first_anonymous["m"] or now)
    period = period_of(days, now, tz, earliest)
    long = period.span_days > WEEKLY_UP_TO
    people_unit: Unit = "month" if long else "week"
    message_unit: Unit = "day" if period.span_days <= DAILY_UP_TO else people_unit
    out = Dashboard(
        period=period,
        history=counted,
        history_available=extent["n"],
        history_first=extent["first"],
        history_last=extent["last"],
        message_unit=message_unit,
        people_unit=people_unit,
    )
    mb, pb = Buckets.of(period, message_unit), Buckets.of(period, people_unit)
    in_period = messages.filter(created_at__gte=period.start, created_at__lte=period.end)

    counts, active = _messages_and_writers(in_period, mb, pb)
    out.messages = sum(counts)
    out.message_series = [Point(d, n) for d, n in zip(mb.starts, counts, strict=True)]
    out.active = len(set().union(*active))
    out.active_series = [Point(d, len(s)) for d, s in zip(pb.starts, active, strict=True)]

    answered_by, asked = _answers(group_id, in_period, period, counted)
    by_week: list[list[float | None]] = [[] for _ in pb.starts]
    for asked_at, seconds in asked:
        by_week[pb.index(asked_at)].append(seconds)
    out.answers = Answers(*_answer_figures([s for _a, s in asked]))
    out.answer_series = [
        AnswerPoint(d, *_answer_figures(values))
        for d, values in zip(pb.starts, by_week, strict=True)
    ]

    out.sharers = _sharers(people, answered_by, period)

    started = _started(joined, people, now, extent["last"])
    new = [0] * len(pb.starts)
    for begun, _seen in started.values():
        if period.holds(begun):
            new[pb.index(begun)] += 1
    out.new_members = sum(new)
    out.new_series = [Point(d, n) for d, n in zip(pb.starts, new, strict=True)]
    last_post = {p["sender_id"]: p["last"] for p in people}
    out.retention = [_cohort(k, period, started, last_post) for k in RETENTION_DAYS]
    return out


def _messages_and_writers(
    in_period: QuerySet[Message], mb: Buckets, pb: Buckets
) -> tuple[list[int], list[set[int]]]:
    """Messages per bucket of `mb` and the different writers per bucket of `pb`, counted by
    the database as (bucket, sender, messages). Days nest in weeks, so the weeks' writers
    come from the days'."""
    week_of = [pb.index(b) for b in mb.bounds]
    counts = [0] * len(mb.starts)
    active: list[set[int]] = [set() for _ in pb.starts]
    for bucket, sender, n in (
        in_period.annotate(bucket=_bucket_of(mb.bounds))
        .values_list("bucket", "sender_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[bucket] += n
        if sender is not None:
            active[week_of[bucket]].add(sender)
    return counts, active


def _sharers(
    people: list[dict[str, Any]], answered_by: dict[int, list[dt.datetime]], period: Period
) -> Sharers:
    """Of the people whose first question was in the period, those who answered someone
    else's question after it, and the median days until they first did."""
    gaps = []
    newcomers = 0
    for p in people:
        first = p["first_question"]
        if first is None or not period.holds(first):
            continue
        newcomers += 1
        later = [at for at in answered_by.get(p["sender_id"], []) if at > first]
        if later:
            gaps.append((min(later) - first).total_seconds() / DAY_SECONDS)
    return Sharers(newcomers, len(gaps), statistics.median(gaps) if gaps else None)


def _started(
    joined: list[tuple[int, dt.datetime]],
    people: list[dict[str, Any]],
    now: dt.datetime,
    history_end: dt.datetime | None,
) -> dict[int, tuple[dt.datetime, dt.datetime]]:
    """Person -> (when they started, until when they can be seen): members from joining (or
    their first imported message, if earlier) until now; imported people who are no member
    from their first imported message until the history ends."""
    started = {u: (j, now) for u, j in joined}
    for p in people:
        person, first = p["sender_id"], p["first_history"]
        if first is None:
            continue
        if person in started:
            started[person] = (min(started[person][0], first), now)
        elif history_end is not None:
            started[person] = (first, history_end)
    return started


def _answers(
    group_id: int, in_period: QuerySet[Message], period: Period, counted: bool
) -> tuple[dict[int, list[dt.datetime]], list[tuple[dt.datetime, float | None]]]:
    """Who answered someone else's question in the period, and when (only answers after a
    first question in the period matter, so none before it is read); and each question asked
    in the period with the seconds to its first answer (None: none yet)."""
    answered_by: dict[int, list[dt.datetime]] = defaultdict(list)
    first_answer: dict[int, dt.datetime] = {}  # imported question -> its first answer
    history_questions = dict(
        in_period.filter(status=Message.Status.HISTORY, kind=Message.Kind.QUESTION).values_list(
            "pk", "created_at"
        )
        if counted
        else []
    )
    # Replies to someone else's question (Question.first_answer is the first of these).
    for sender, at, question, asker in in_period.filter(
        sender__isnull=False, reply_to__kind=Message.Kind.QUESTION
    ).values_list("sender_id", "created_at", "reply_to_id", "reply_to__sender_id"):
        if sender != asker:
            answered_by[sender].append(at)
            if question in history_questions:
                first_answer[question] = _earlier(first_answer.get(question), at)
    # Imported questions: the answers the import recognised (WhatsApp has no replies).
    if counted:
        recognised = _recognised_answers(group_id, period.start - RECOGNISED_WITHIN)
        ids = sorted({a for _asker, answers in recognised.values() for a in answers})
        found: dict[int, tuple[int, dt.datetime]] = {}
        for i in range(0, len(ids), BATCH):
            found.update(
                (pk, (who, when))
                for pk, who, when in in_period.filter(
                    pk__in=ids[i : i + BATCH], sender__isnull=False
                ).values_list("pk", "sender_id", "created_at")
            )
        for question, (questioner, answers) in recognised.items():
            for who, when in (found[a] for a in answers if a in found):
                if who == questioner:
                    continue
                answered_by[who].append(when)
                if question in history_questions:
                    first_answer[question] = _earlier(first_answer.get(question), when)
    live = Question.objects.filter(
        group_id=group_id,
        message__status=Message.Status.VISIBLE,
        message__deleted_at__isnull=True,
        asked_at__gte=period.start,
        asked_at__lte=period.end,
    ).values_list("asked_at", "first_answer_at")
    asked = [(at, _seconds(at, answer_at)) for at, answer_at in live]
    asked += [(at, _seconds(at, first_answer.get(q))) for q, at in history_questions.items()]
    return answered_by, asked


def _seconds(asked: dt.datetime, answered: dt.datetime | None) -> float | None:
    return max((answered - asked).total_seconds(), 0.0) if answered is not None else None


def _recognised_answers(
    group_id: int, since: dt.datetime
) -> dict[int, tuple[int | None, list[int]]]:
    """Imported question asked since then -> (its asker, the messages the import took for
    its answers)."""
    return {
        qid: (asker, [a for a in answers if isinstance(a, int)])
        for qid, asker, answers in Candidate.objects.filter(
            group_id=group_id, question__created_at__gte=since
        ).values_list("question_id", "question__sender_id", "answers")
    }


def _cohort(
    days: int,
    period: Period,
    started: dict[int, tuple[dt.datetime, dt.datetime]],
    last_post: dict[int, dt.datetime],
) -> Cohort:
    after = dt.timedelta(days=days)
    people = stayed = 0
    for person, (begun, seen_until) in started.items():
        if begun < period.start or begun > seen_until - after:
            continue
        people += 1
        last = last_post.get(person)
        if last is not None and last >= begun + after:
            stayed += 1
    return Cohort(days, people, stayed)


def parse_days(value: str | None) -> int | None:
    """`?days=`: 30, 90 or 365, or "all" (None); anything else is the default."""
    if value == "all":
        return None
    if value and value.isdigit() and int(value) in PERIODS:
        return int(value)
    return DEFAULT_DAYS


def parse_history(value: str | None) -> bool | None:
    """`?history=`: 1 counts imported history, 0 leaves it out; else: counted if any."""
    return {"0": False, "1": True}.get(value or "")


def _minutes(m: float | None) -> float | None:
    return round(m, 1) if m is not None else None


def _series(points: list[Point]) -> list[dict[str, Any]]:
    return [{"start": p.start.isoformat(), "value": p.value} for p in points]


def as_json(group: Group, days: str | None = "90", history: str | None = "") -> dict[str, Any]:
    """The figures for the API, with the page's rule: a share about fewer than MIN_PEOPLE
    people is null (`enough`: false), only their number is given."""
    data = compute(group.pk, days=parse_days(days), history=parse_history(history))
    a, s = data.answers, data.sharers
    return {
        "period": {
            "days": data.period.days,
            "first_day": data.period.first_day.isoformat(),
            "last_day": data.period.last_day.isoformat(),
        },
        "history": {"counted": data.history, "available": data.history_available},
        "messages": {
            "total": data.messages,
            "per_day": round(data.per_day, 2),
            "unit": data.message_unit,
            "series": _series(data.message_series),
        },
        "people_unit": data.people_unit,
        "active": {"total": data.active, "series": _series(data.active_series)},
        "new_members": {"total": data.new_members, "series": _series(data.new_series)},
        "answers": {
            "questions": a.questions,
            "answered": a.answered,
            "unanswered_share": a.unanswered_share,
            "within_24h_share": a.within_day_share,
            "median_minutes": _minutes(a.median_minutes),
            "p90_minutes": _minutes(a.p90_minutes),
            "series": [
                {
                    "start": p.start.isoformat(),
                    "questions": p.questions,
                    "answered": p.answered,
                    "within_24h": p.within_day,
                    "median_minutes": _minutes(p.median_minutes),
                    "p90_minutes": _minutes(p.p90_minutes),
                }
                for p in data.answer_series
            ],
        },
        "taker_to_sharer": {
            "newcomers": s.newcomers,
            "enough": s.enough,
            "became": s.became if s.enough else None,
            "share": s.share if s.enough else None,
            "median_days": round(s.median_days, 1) if s.enough and s.median_days else None,
        },
        "retention": [
            {
                "days": c.days,
                "people": c.people,
                "enough": c.enough,
                "stayed": c.stayed if c.enough else None,
                "share": c.share if c.enough else None,
            }
            for c in data.retention
        ],
    }
