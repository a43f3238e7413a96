"""Shared text handling for the safety checks: one normal form, and digits however typed."""

from __future__ import annotations

import re
from functools import lru_cache
from re import _constants as _c  # type: ignore[attr-defined]  # the parser re itself uses
from re import _parser  # type: ignore[attr-defined]
from typing import Any

from tongzhou.knowledge.terms import normalize

# Chinese numerals as salesmen spell phone numbers (一三八…); 幺 is how "1" is said aloud.
_CN_DIGITS = str.maketrans("〇零一幺二两三四五六七八九壹贰叁肆伍陆柒捌玖", "0011223456789123456789")
# Separators people put between digits to slip past filters: spaces, dashes, dots, emoji.
_GAP = r"[\s\-\u2010-\u2015.·•_*/|~,，、()（）\[\]【】\U0001F300-\U0001FAFF\u2600-\u27BF]{0,3}"


@lru_cache(maxsize=32)  # the detectors of one send each fold the same text
def fold(text: str) -> str:
    """NFKC (full-width digits), traditional to simplified, lower case; keycap digits (1️⃣)
    lose their decoration."""
    return normalize(text.replace("\u20e3", "").replace("\ufe0f", ""))


_EN_DIGITS = {
    w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine".split())
}
_EN_RUN = re.compile(
    r"(?:\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b[\s,.\-]*){7,}"
)
_CN_RUN = re.compile(r"(?:[〇零一幺二两三四五六七八九壹贰叁肆伍陆柒捌玖\d][\s\-]*){7,}")


def digits_spelled(text: str) -> str:
    """Phone numbers spelled out (一三八…, "one three eight…", mixed with digits) turned into
    digits, so the contact checks see them; other text kept."""

    def cn(m: re.Match[str]) -> str:
        run = m.group(0)
        if sum(not c.isdigit() and not c.isspace() and c != "-" for c in run) < 2:
            return run
        return run.translate(_CN_DIGITS)

    def en(m: re.Match[str]) -> str:
        words = re.findall(r"[a-z]+", m.group(0))
        return "".join(_EN_DIGITS.get(w, "0") for w in words) + " "

    return _EN_RUN.sub(en, _CN_RUN.sub(cn, text))


def spaced_digits(n: int) -> str:
    """A pattern for n digits with the usual disguises between them."""
    return _GAP.join([r"\d"] * n)


def only_digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def quick(pattern: str) -> re.Pattern[str]:
    """The pattern, compiled with a look-ahead for the characters any match can start with.

    Python's re tries every alternative of a long alternation at every position; with the
    look-ahead it skips, in one step, positions where no alternative can start. On a 4,000
    character message the Chinese crisis phrases take 48 µs instead of 720 µs. Same matches
    (tests/test_safety_detect.py compares them); a pattern whose first characters cannot be
    listed is compiled as it is.
    """
    plain = re.compile(pattern)
    try:
        starts, can_be_empty = _first_chars(list(_parser.parse(pattern)))
    except _NotListed:
        return plain
    if can_be_empty or not starts:
        return plain
    listed = "".join(re.escape(c) for c in sorted(starts))
    return re.compile(f"(?=[{listed}])(?:{pattern})")


class _NotListed(Exception):
    pass


def _first_chars(items: list[Any], i: int = 0) -> tuple[set[str], bool]:
    """The characters a match of items[i:] can start with, and whether it can be empty."""
    out: set[str] = set()
    while i < len(items):
        op, av = items[i]
        if op is _c.LITERAL:
            out.add(chr(av))
            return out, False
        if op is _c.IN:
            for kind, value in av:
                if kind is _c.LITERAL:
                    out.add(chr(value))
                elif kind is _c.RANGE and value[1] - value[0] <= 2000:
                    out.update(chr(c) for c in range(value[0], value[1] + 1))
                elif kind is _c.CATEGORY and value is _c.CATEGORY_DIGIT:
                    out.update("0123456789")
                elif kind is _c.CATEGORY and value is _c.CATEGORY_SPACE:
                    out.update(" \t\n\r\f\v")
                else:
                    raise _NotListed
            return out, False
        if op is _c.BRANCH:
            empty = False
            for branch in av[1]:
                chars, e = _first_chars(list(branch))
                out |= chars
                empty |= e
        elif op is _c.SUBPATTERN:
            chars, empty = _first_chars(list(av[3]))
            out |= chars
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            low, _high, sub = av
            chars, e = _first_chars(list(sub))
            out |= chars
            empty = low == 0 or e
        elif op in (_c.ASSERT, _c.ASSERT_NOT, _c.AT):
            empty = True  # takes no characters: what follows decides
        else:
            raise _NotListed
        if not empty:
            return out, False
        i += 1
    return out, True
