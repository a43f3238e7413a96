"""Which export is this, and read it: decode, recognise the format, call its parser."""

from __future__ import annotations

from types import ModuleType
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_noop  # the import page translates these

from tongzhou.imports import telegram, wechat, whatsapp
from tongzhou.imports.records import FormatError, Parsed, decode

PARSERS: dict[str, ModuleType] = {"whatsapp": whatsapp, "telegram": telegram, "wechat": wechat}
CHOICES = ("auto", *PARSERS)


def detect(text: str) -> str:
    """The format's name; FormatError when no parser recognises the text. Telegram first (a
    JSON document), then WeChat (CSV header, HTML, its text layouts), then WhatsApp."""
    for name in ("telegram", "wechat", "whatsapp"):
        if PARSERS[name].sniff(text):
            return name
    raise FormatError(
        gettext_noop(
            "This is not a chat export we know (WhatsApp .txt, Telegram result.json, or a "
            "WeChat CSV, text or HTML export)."
        ),
        1,
    )


def read(data: bytes, *, zone: ZoneInfo, fmt: str = "auto", **options: str) -> Parsed:
    """Parse an export's bytes. FormatError (with the line) when it is not the format asked
    for, or no known format; a damaged file parses what it can and lists the rest.
    `options` go to the parser (Telegram's `chat`: which chat of a whole-account export)."""
    text = decode(data)
    if not text.strip():
        raise FormatError(gettext_noop("The file is empty."), 1)
    name = detect(text) if fmt == "auto" else fmt
    if name not in PARSERS:
        raise FormatError(f"Unknown format {name!r}.", 0)
    parsed: Parsed = PARSERS[name].parse(text, zone=zone, **options)
    return parsed
