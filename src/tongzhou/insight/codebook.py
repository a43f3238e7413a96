"""The default codebook: kinds of social support (Cutrona & Suhr) and the four sources of
self-efficacy (Bandura), plus question and answer. Researchers add open codes beside them."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

FAMILIES: dict[str, Promise] = {
    "support": _("Social support"),
    "efficacy": _("Sources of self-efficacy"),
    "qa": _("Questions and answers"),
    "open": _("Open codes"),
}

# key -> (label, what it means); the order is the codebook's order and its shortcut keys.
DEFAULT: dict[str, tuple[Promise, Promise]] = {
    "support.informational": (
        _("Informational support"),
        _("Advice, facts, explanations or where to find them."),
    ),
    "support.emotional": (
        _("Emotional support"),
        _("Care, empathy, comfort, listening."),
    ),
    "support.esteem": (
        _("Esteem support"),
        _("Affirming the person's abilities, choices or worth."),
    ),
    "support.network": (
        _("Network support"),
        _("Belonging: 'you are not alone', welcoming, linking people who share a situation."),
    ),
    "support.tangible": (
        _("Tangible support"),
        _("Offering concrete help: things, money, transport, a hand with a task."),
    ),
    "efficacy.mastery": (
        _("Mastery experience"),
        _("The writer's own success in coping or getting through treatment."),
    ),
    "efficacy.vicarious": (
        _("Vicarious experience"),
        _("Others' experience held up as a model: 'she had the same and is well now'."),
    ),
    "efficacy.persuasion": (
        _("Verbal persuasion"),
        _("Encouragement that the reader can cope: 'you can do it'."),
    ),
    "efficacy.physiological": (
        _("Emotional and physiological states"),
        _("Describing one's own body or feelings: fatigue, pain, fear, calm."),
    ),
    "qa.question": (_("Question"), _("Asks for information, advice or experience.")),
    "qa.answer": (_("Answer"), _("Answers someone's question.")),
}

# Keys pressed in the coding view to toggle the code at each position.
SHORTCUTS = "1234567890qwertyuiopasdfghlzxcvbm"


def family_of(key: str) -> str:
    return key.split(".", 1)[0] if key in DEFAULT else "open"


def label(key: str, stored: str = "") -> str:
    return str(DEFAULT[key][0]) if key in DEFAULT else stored


def meaning(key: str, stored: str = "") -> str:
    return str(DEFAULT[key][1]) if key in DEFAULT else stored
