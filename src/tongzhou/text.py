"""Typed text as we keep it: no invisible control characters.

NUL in particular cannot be stored by PostgreSQL at all (found by the Hypothesis properties);
the other C0 controls are never typed on purpose. Tabs and line breaks stay.
"""

from __future__ import annotations

import re

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(value: str) -> str:
    return _CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def field_text(value: object, code: str, label: str, limit: int, *, required: bool = True) -> str:
    """A form or API field's cleaned text, or a UserError naming the field (`label`, already
    translated): `empty_<code>` when required and blank, `<code>_too_long` past `limit`."""
    from django.utils.translation import gettext as _

    from tongzhou.errors import UserError

    text = clean(value) if isinstance(value, str) else ""
    if required and not text:
        raise UserError(f"empty_{code}", _("Please fill in: %(field)s.") % {"field": label})
    if len(text) > limit:
        raise UserError(
            f"{code}_too_long",
            _("%(field)s: %(n)d characters; the most is %(max)d.")
            % {"field": label, "n": len(text), "max": limit},
        )
    return text
