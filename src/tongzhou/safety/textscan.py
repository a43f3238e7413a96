"""Shared text handling for the safety checks: one normal form, and digits however typed."""

from __future__ import annotations

import re
from functools import lru_cache

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
