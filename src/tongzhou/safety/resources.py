"""Crisis lines by region: shipped defaults (crisis_resources.json, with their sources),
replaced by the operator's own file through TONGZHOU_CRISIS_RESOURCES."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import get_language

SHIPPED = Path(__file__).with_name("crisis_resources.json")


@lru_cache(maxsize=1)
def _load(path: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))["regions"]
    return data


def regions() -> dict[str, Any]:
    return _load(str(settings.CRISIS_RESOURCES or SHIPPED))


@lru_cache(maxsize=1)
def _s2t() -> Any:
    import opencc

    return opencc.OpenCC("s2tw")  # the catalogue's choice (scripts/zh_hant_review.py, docs/i18n.md)


def _pick(value: Any, lang: str) -> str:
    if not isinstance(value, dict):
        return str(value or "")
    if lang == "zh-hant" and not value.get("zh-hant") and value.get("zh-hans"):
        # Traditional readers: the operator's own wording if given, else converted.
        return str(_s2t().convert(value["zh-hans"]))
    return str(value.get(lang) or value.get("en") or next(iter(value.values()), ""))


def region_of(user: Any) -> str:
    chosen = getattr(getattr(user, "profile", None), "region", "") or ""
    known = regions()
    if chosen in known:
        return chosen
    return (
        settings.CRISIS_DEFAULT_REGION
        if settings.CRISIS_DEFAULT_REGION in known
        else next(iter(known))
    )


def resources_for(region: str) -> dict[str, Any]:
    """One region's lines in the reader's language, ready for a card or a page."""
    code = (get_language() or "en").lower()
    lang = ("zh-hant" if code == "zh-hant" else "zh-hans") if code.startswith("zh") else "en"
    r = regions()[region]
    return {
        "region": region,
        "name": _pick(r.get("name"), lang),
        "emergency": r.get("emergency", ""),
        "lines": [
            {
                "name": _pick(line.get("name"), lang),
                "phone": line.get("phone", ""),
                "sms": bool(line.get("sms")),
                "hours": _pick(line.get("hours"), lang),
                "source": line.get("source", ""),
            }
            for line in r.get("lines", [])
        ],
    }


def all_resources() -> list[dict[str, Any]]:
    return [resources_for(code) for code in regions()]
