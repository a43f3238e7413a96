"""The leaders' dashboard page: insight/dashboard.py computes the figures (and defines them),
insight/charts.py draws them; this module words them for the reader."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import date_format, number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from tongzhou.groups.queries import access_moderation
from tongzhou.groups.views import shows_user_errors
from tongzhou.insight import charts
from tongzhou.insight.dashboard import (
    MIN_PEOPLE,
    PERIODS,
    Cohort,
    Dashboard,
    Period,
    Point,
    Unit,
    compute,
    parse_days,
    parse_history,
)


def _query(days: int | None, history: bool | None) -> str:
    params = {"days": "all" if days is None else str(days)}
    if history is not None:
        params["history"] = "1" if history else "0"
    return "?" + urlencode(params)


def _period_label(days: int | None) -> str:
    if days is None:
        return _("Everything")
    if days == 365:
        return _("A year")
    return ngettext("%(n)s day", "%(n)s days", days) % {"n": days}


def _date(day: dt.date, period: Period) -> str:
    if period.first_day.year != period.last_day.year:
        return date_format(day, "DATE_FORMAT")
    return date_format(day, "MONTH_DAY_FORMAT")


def _when(day: dt.date, unit: Unit, period: Period) -> str:
    """A bucket as a reader says it: a day, the week starting that Monday, or a month."""
    if unit == "month":
        return date_format(day, "YEAR_MONTH_FORMAT")
    if unit == "week":
        return _("week of %(date)s") % {"date": _date(day, period)}
    return _date(day, period)


def _number(x: float, decimals: int = 1) -> str:
    """In the reader's way of writing numbers, without a trailing ".0"."""
    x = round(x, decimals)
    return number_format(x, 0 if x == int(x) else decimals)


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return "–"
    if minutes < 120:
        return _("%(n)s min") % {"n": _number(minutes, 1 if minutes < 10 else 0)}
    if minutes < 48 * 60:
        return _("%(n)s h") % {"n": _number(minutes / 60)}
    days = minutes / (24 * 60)
    return ngettext("%(n)s day", "%(n)s days", round(days)) % {"n": _number(days)}


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{round(share * 100)}%"


def _too_few() -> str:
    return _("Too few people to say")


def _summary(title: str, series: list[Point], data: Dashboard, unit: Unit) -> str:
    top = max(series, key=lambda p: p.value)
    return _("%(title)s, %(first)s to %(last)s: highest %(top)s (%(when)s).") % {
        "title": title,
        "first": _date(data.period.first_day, data.period),
        "last": _date(data.period.last_day, data.period),
        "top": top.value,
        "when": _when(top.start, unit, data.period),
    }


def _count_chart(
    key: str,
    title: str,
    column: str,
    explain: str,
    series: list[Point],
    data: Dashboard,
    unit: Unit,
) -> dict[str, Any]:
    when = [_when(p.start, unit, data.period) for p in series]
    has_data = any(p.value for p in series)
    return {
        "key": key,
        "title": title,
        "explain": explain,
        "has_data": has_data,
        "svg": charts.bar_chart(
            [p.value for p in series],
            [
                _("%(when)s: %(n)s") % {"when": w, "n": p.value}
                for w, p in zip(when, series, strict=True)
            ],
            _summary(title, series, data, unit) if has_data else title,
        ),
        "top": _("most: %(n)s") % {"n": max((p.value for p in series), default=0)},
        "first": when[0] if when else "",
        "last": when[-1] if when else "",
        "columns": [_("When"), column],
        "rows": [[w, p.value] for w, p in zip(when, series, strict=True) if p.value],
    }


def _answer_charts(data: Dashboard) -> list[dict[str, Any]]:
    unit = data.people_unit
    points = data.answer_series
    when = [_when(p.start, unit, data.period) for p in points]
    medians = [p.median_minutes for p in points]
    p90s = [p.p90_minutes for p in points]
    top = max([m for m in p90s if m is not None], default=0.0)
    first = when[0] if when else ""
    last = when[-1] if when else ""
    timing_title = (
        _("Time to first answer, by month")
        if unit == "month"
        else _("Time to first answer, by week")
    )
    open_title = (
        _("Questions without an answer, by month")
        if unit == "month"
        else _("Questions without an answer, by week")
    )
    shares = [p.unanswered / p.questions * 100 if p.questions else None for p in points]
    figures = data.answers
    return [
        {
            "key": "answer-time",
            "title": timing_title,
            "explain": _(
                "For questions asked in the month: the middle time to the first answer from "
                "someone else (solid line), and the time within which nine in ten answered "
                "questions had theirs (dashed line)."
            )
            if unit == "month"
            else _(
                "For questions asked in the week: the middle time to the first answer from "
                "someone else (solid line), and the time within which nine in ten answered "
                "questions had theirs (dashed line)."
            ),
            "has_data": figures.answered > 0,
            "svg": charts.line_chart(
                [medians, p90s],
                [
                    _("%(when)s: median %(median)s, 90%% within %(p90)s")
                    % {"when": w, "median": _duration(m), "p90": _duration(n)}
                    for w, m, n in zip(when, medians, p90s, strict=True)
                ],
                _(
                    "%(title)s, %(first)s to %(last)s: median %(median)s; nine in ten "
                    "answered within %(p90)s."
                )
                % {
                    "title": timing_title,
                    "first": first,
                    "last": last,
                    "median": _duration(figures.median_minutes),
                    "p90": _duration(figures.p90_minutes),
                },
            ),
            "legend": [("s0", _("Median")), ("s1", _("Nine in ten within"))],
            "top": _("top: %(t)s") % {"t": _duration(top)},
            "first": first,
            "last": last,
            "columns": [_("When"), _("Questions"), _("Median"), _("Nine in ten within")],
            "rows": [
                [w, p.questions, _duration(p.median_minutes), _duration(p.p90_minutes)]
                for w, p in zip(when, points, strict=True)
                if p.questions
            ],
        },
        {
            "key": "unanswered",
            "title": open_title,
            "explain": _(
                "The share of the month's questions that nobody other than the asker has "
                "answered yet."
            )
            if unit == "month"
            else _(
                "The share of the week's questions that nobody other than the asker has "
                "answered yet."
            ),
            "has_data": figures.questions > 0,
            "svg": charts.bar_chart(
                shares,
                [
                    _("%(when)s: %(share)s of %(n)s without an answer")
                    % {
                        "when": w,
                        "share": _percent(s / 100 if s is not None else None),
                        "n": p.questions,
                    }
                    for w, s, p in zip(when, shares, points, strict=True)
                ],
                _("%(title)s, %(first)s to %(last)s: %(share)s of %(n)s questions in all.")
                % {
                    "title": open_title,
                    "first": first,
                    "last": last,
                    "share": _percent(figures.unanswered_share),
                    "n": figures.questions,
                },
                top=100.0,
            ),
            "top": "100%",
            "first": first,
            "last": last,
            "columns": [
                _("When"),
                _("Questions"),
                _("Answered within 24 hours"),
                _("Without an answer"),
            ],
            "rows": [
                [w, p.questions, p.within_day, p.unanswered]
                for w, p in zip(when, points, strict=True)
                if p.questions
            ],
        },
    ]


def _charts(data: Dashboard) -> list[dict[str, Any]]:
    mu, pu = data.message_unit, data.people_unit
    message_title = {
        "day": _("Messages per day"),
        "week": _("Messages per week"),
        "month": _("Messages per month"),
    }[mu]
    monthly = pu == "month"
    return [
        _count_chart(
            "messages",
            message_title,
            _("Messages"),
            _(
                "Messages members can see, without deleted ones (and imported history when it "
                "is counted). Days start at midnight in your time zone, weeks on Monday."
            ),
            data.message_series,
            data,
            mu,
        ),
        _count_chart(
            "active",
            _("Active members per month") if monthly else _("Active members per week"),
            _("People"),
            _("How many different people sent at least one message in the month.")
            if monthly
            else _("How many different people sent at least one message in the week."),
            data.active_series,
            data,
            pu,
        ),
        _count_chart(
            "new",
            _("New members per month") if monthly else _("New members per week"),
            _("New members"),
            _(
                "Memberships that started in the month, whatever became of them; with imported "
                "history, imported people from their first message."
            )
            if monthly
            else _(
                "Memberships that started in the week, whatever became of them; with imported "
                "history, imported people from their first message."
            ),
            data.new_series,
            data,
            pu,
        ),
        *_answer_charts(data),
    ]


def _retention_card(c: Cohort) -> dict[str, Any]:
    label = ngettext("Still writing after %(d)s day", "Still writing after %(d)s days", c.days) % {
        "d": c.days
    }
    if not c.enough:
        return {
            "key": f"retention-{c.days}",
            "label": label,
            "value": _too_few(),
            "words": True,
            "note": ngettext(
                "%(n)s person started early enough to tell.",
                "%(n)s people started early enough to tell.",
                c.people,
            )
            % {"n": c.people},
        }
    return {
        "key": f"retention-{c.days}",
        "label": label,
        "value": _percent(c.share),
        "note": ngettext(
            "%(k)s of %(n)s person who started in this period wrote again on day %(d)s or later.",
            "%(k)s of %(n)s people who started in this period wrote again on day %(d)s or later.",
            c.people,
        )
        % {"k": c.stayed, "n": c.people, "d": c.days},
    }


def _cards(data: Dashboard) -> list[dict[str, Any]]:
    a, s = data.answers, data.sharers
    if s.enough:
        sharers_value = _percent(s.share)
        sharers_note = ngettext(
            "%(k)s of %(n)s person who asked a first question later answered someone else.",
            "%(k)s of %(n)s people who asked a first question later answered someone else.",
            s.newcomers,
        ) % {"k": s.became, "n": s.newcomers}
        if s.median_days is not None:
            sharers_note += " " + _("Typically after %(t)s.") % {
                "t": _duration(s.median_days * 24 * 60)
            }
    else:
        sharers_value = _too_few()
        sharers_note = ngettext(
            "%(n)s person asked their first question in this period.",
            "%(n)s people asked their first question in this period.",
            s.newcomers,
        ) % {"n": s.newcomers}
    return [
        {
            "key": "messages",
            "label": _("Messages per day"),
            "value": _number(data.per_day, 2 if data.per_day < 1 else 1),
            "note": ngettext(
                "%(n)s message in this period.", "%(n)s messages in this period.", data.messages
            )
            % {"n": data.messages},
        },
        {
            "key": "active",
            "label": _("People who wrote"),
            "value": str(data.active),
            "note": _("Different people who sent at least one message in this period."),
        },
        {
            "key": "new",
            "label": _("New members"),
            "value": str(data.new_members),
            "note": _("Memberships that started in this period.")
            if not data.history
            else _("Memberships that started in this period, and imported people."),
        },
        {
            "key": "answer-time",
            "label": _("Median time to first answer"),
            "value": _duration(a.median_minutes),
            "note": ngettext(
                "%(n)s question asked in this period.",
                "%(n)s questions asked in this period.",
                a.questions,
            )
            % {"n": a.questions},
        },
        {
            "key": "unanswered",
            "label": _("Questions without an answer"),
            "value": _percent(a.unanswered_share),
            "note": _("Answered within 24 hours: %(share)s.")
            % {"share": _percent(a.within_day_share)},
        },
        {
            "key": "sharers",
            "label": _("Askers who became helpers"),
            "value": sharers_value,
            "words": not s.enough,
            "note": sharers_note,
        },
        *(_retention_card(c) for c in data.retention),
    ]


@login_required
@require_GET
@shows_user_errors
def dashboard(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_moderation(request.user, gid)
    days = parse_days(request.GET.get("days"))
    history = parse_history(request.GET.get("history"))
    data = compute(gid, days=days, history=history)
    return render(
        request,
        "insight/dashboard.html",
        {
            "group": membership.group,
            "membership": membership,
            "data": data,
            "periods": [
                {"label": _period_label(d), "href": _query(d, history), "current": d == days}
                for d in PERIODS
            ],
            "history_off": _query(days, False),
            "history_on": _query(days, True),
            "cards": _cards(data),
            "charts": _charts(data),
            "min_people": MIN_PEOPLE,
        },
    )
