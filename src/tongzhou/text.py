"""Typed text as we keep it: no invisible control characters.

NUL in particular cannot be stored by PostgreSQL at all (found by the Hypothesis properties);
the other C0 controls are never typed on purpose. Tabs and line breaks stay.
"""

from __future__ import annotations

import re

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(value: str) -> str:
    return _CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
