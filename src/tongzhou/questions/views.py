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


@login_required
@shows_user_errors
def metrics(request: HttpRequest, gid: int) -> HttpResponse:
    membership = access_moderation(request.user, gid)
    data = answer_metrics(gid, 12)
    weeks = data["weeks"]
    shares = [w["within_3_min"] * 100 if w["within_3_min"] is not None else None for w in weeks]
    medians = [w["median_seconds"] / 60 if w["median_seconds"] is not None else None for w in weeks]
    top_median = max([m for m in medians if m is not None] or [0.0])
    for w, share, median in zip(weeks, shares, medians, strict=True):
        w["share_pct"] = round(share) if share is not None else None
        w["hour_pct"] = round(w["within_1_hour"] * 100) if w["within_1_hour"] is not None else None
        w["median_min"] = round(median, 1) if median is not None else None
        w["p90_min"] = round(w["p90_seconds"] / 60, 1) if w["p90_seconds"] is not None else None
    total = data["total"]
    return render(
        request,
        "questions/metrics.html",
        {
            "group": membership.group,
            "membership": membership,
            "weeks": weeks,
            "total": {
                **total,
                "median_min": round(total["median_seconds"] / 60, 1)
                if total["median_seconds"] is not None
                else None,
                "p90_min": round(total["p90_seconds"] / 60, 1)
                if total["p90_seconds"] is not None
                else None,
                "share_pct": round(total["within_3_min"] * 100)
                if total["within_3_min"] is not None
                else None,
                "hour_pct": round(total["within_1_hour"] * 100)
                if total["within_1_hour"] is not None
                else None,
            },
            "open_now": data["open_now"],
            "share_bars": _bars(shares, 100.0),
            "median_bars": _bars(medians, top_median),
            "top_median": round(top_median, 1),
            "chart": {"w": CHART_W, "h": CHART_H},
        },
    )
