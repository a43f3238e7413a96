from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime

from tongzhou.groups.queries import access_group, access_moderation
from tongzhou.groups.views import shows_user_errors
from tongzhou.questions.queries import answer_metrics, open_questions

CHART_W, CHART_H, BAR_GAP = 320, 140, 4


@login_required
@shows_user_errors
def open_list(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_group(request.user, gid)
    rows = [
        {**q, "at": parse_datetime(q["asked_at"]), "minutes": q["age_seconds"] // 60}
        for q in open_questions(gid)
    ]
    return render(
        request,
        "questions/open.html",
        {"group": membership.group, "membership": membership, "questions": rows},
    )


def _bars(values: list[float | None], top: float) -> list[dict[str, Any]]:
    """Bar geometry for a small server-drawn SVG chart (no script, readable on a phone)."""
    n = max(len(values), 1)
    width = CHART_W / n
    out = []
    for i, v in enumerate(values):
        h = 0.0 if v is None or top <= 0 else max(min(v / top, 1.0) * CHART_H, 2.0)
        out.append(
            {
                "x": round(i * width + BAR_GAP / 2, 1),
                "y": round(CHART_H - h, 1),
                "w": round(width - BAR_GAP, 1),
                "h": round(h, 1),
                "empty": v is None,
            }
        )
    return out


def _readable(figures: dict[str, Any]) -> dict[str, Any]:
    """Minutes and whole percentages for the page."""

    def minutes(seconds: float | None) -> float | None:
        return round(seconds / 60, 1) if seconds is not None else None

    def percent(share: float | None) -> int | None:
        return round(share * 100) if share is not None else None

    return {
        **figures,
        "median_min": minutes(figures["median_seconds"]),
        "p90_min": minutes(figures["p90_seconds"]),
        "share_pct": percent(figures["within_3_min"]),
        "hour_pct": percent(figures["within_1_hour"]),
    }


@login_required
@shows_user_errors
def metrics(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_moderation(request.user, gid)
    data = answer_metrics(gid, 12)
    weeks = [_readable(w) for w in data["weeks"]]
    shares = [w["share_pct"] for w in weeks]
    medians = [w["median_seconds"] / 60 if w["median_seconds"] is not None else None for w in weeks]
    top_median = max([m for m in medians if m is not None] or [0.0])
    return render(
        request,
        "questions/metrics.html",
        {
            "group": membership.group,
            "membership": membership,
            "weeks": weeks,
            "total": _readable(data["total"]),
            "open_now": data["open_now"],
            "share_bars": _bars(shares, 100.0),
            "median_bars": _bars(medians, top_median),
            "top_median": round(top_median, 1),
            "chart": {"w": CHART_W, "h": CHART_H},
        },
    )
