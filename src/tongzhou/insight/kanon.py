"""A table of members' details made k-anonymous before it leaves the server: every
combination of role, cancer type, stage, phase, region and year of diagnosis describes at
least k members, so no row can be traced to one person by what else is known about them.

Each attribute generalises along its own ladder (level 0 is the value itself, the top is "*"):

    role, phase, region   value → *
    cancer_type           value (folded: traditional → simplified, lower case) → *
    stage                 value → I, II, III, IV (0 for in situ) → early (0–II) / late (III–IV) → *
    diagnosis_year        2021 → 2020–2024 → 2020–2029 → *

Datafly-style full-domain generalisation: while some combination covers fewer than k rows,
either suppress those rows (all their attributes become "*"), when there are at least k of
them and they are at most a tenth of the table, or move the attribute with the most distinct
values one level up. A blank value is unknown ("") until its attribute reaches "*". A table
of fewer than k rows cannot be released at all.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from tongzhou.knowledge.terms import normalize

KEYS = ("role", "cancer_type", "stage", "phase", "region", "diagnosis_year")
TOP = "*"
SUPPRESS_SHARE = 0.1

Value = str | int | None
_ROMAN = {"0": 0, "i": 1, "ii": 2, "iii": 3, "iv": 4}
_NUMERAL = {"零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "0": 0, "1": 1, "2": 2, "3": 3, "4": 4}
_STAGE = re.compile(
    r"(?<![a-z])(iv|iii|ii|i)[abc]?\d?(?![a-z])"  # IIIA, stage ivb, Ⅲ期 (NFKC: iii)
    r"|(?:stage|^)\s*([0-4])[abc]?\d?(?![\d.])"  # stage 3b, 2a
    r"|([零一二三四0-4])\s*[abc]?\d?\s*期"  # 3期, 三期
)
_EARLY, _LATE = "early (0–II)", "late (III–IV)"


def _stage_group(text: str) -> int | None:
    """0–4 from how people write a stage, or None where it does not say (TNM, 局限期)."""
    m = _STAGE.search(text)
    if not m:
        return None
    roman, number, numeral = m.groups()
    return _ROMAN[roman] if roman else _NUMERAL[number or numeral]


def _text(value: Value) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def ancestors(key: str, value: Value) -> list[str]:
    """The value at each level of its attribute's ladder, from itself (level 0) to "*"."""
    text = _text(value)
    if key == "cancer_type":
        text = normalize(text)
    if key == "stage":
        folded = normalize(text)
        group = _stage_group(folded)
        if group is not None:
            band = _EARLY if group <= 2 else _LATE
            return [folded, ("0", "I", "II", "III", "IV")[group], band, TOP]
        if "晚期" in folded or folded in ("late", "advanced", "metastatic"):
            return [folded, _LATE, _LATE, TOP]
        if "早期" in folded or folded == "early":
            return [folded, _EARLY, _EARLY, TOP]
        other = "other" if folded else ""
        return [folded, other, other, TOP]
    if key == "diagnosis_year":
        if not text.isdigit() or not 1000 <= int(text) <= 9999:
            return ["", "", "", TOP]
        year = int(text)
        five, ten = year - year % 5, year - year % 10
        return [str(year), f"{five}–{five + 4}", f"{ten}–{ten + 9}", TOP]
    return [text, TOP]


@dataclass
class Result:
    rows: list[dict[str, Value]]  # same order as given; empty when not released
    levels: dict[str, int] = field(default_factory=dict)  # the ladder step each key reached
    suppressed: int = 0  # rows whose every attribute became "*"
    released: bool = True  # False: too few rows to release anything


def generalise(rows: Sequence[dict[str, Value]], k: int = 5) -> Result:
    """The rows generalised until every combination of KEYS covers at least k of them; other
    keys (a pseudonym) are kept as they are."""
    levels = dict.fromkeys(KEYS, 0)
    if len(rows) < k:
        return Result(rows=[], levels=levels, released=False)
    ladders = [{key: ancestors(key, row.get(key)) for key in KEYS} for row in rows]
    suppressed: set[int] = set()
    while True:
        combos = [tuple(ladder[key][levels[key]] for key in KEYS) for ladder in ladders]
        sizes = Counter(combos)
        small = [i for i, combo in enumerate(combos) if sizes[combo] < k]
        if not small:
            break
        # Suppressed rows join the rows that are all "*" already, and that class needs k.
        everything = sizes[(TOP,) * len(KEYS)]
        joined = len(small) + (everything if everything >= k else 0)
        if joined >= k and len(small) <= SUPPRESS_SHARE * len(rows):
            suppressed = set(small)
            break
        key = max(
            (key for key in KEYS if levels[key] < len(ladders[0][key]) - 1),
            key=lambda key: len({ladder[key][levels[key]] for ladder in ladders}),
        )
        levels[key] += 1
    out = []
    for i, (row, ladder) in enumerate(zip(rows, ladders, strict=True)):
        generalised = {key: TOP if i in suppressed else ladder[key][levels[key]] for key in KEYS}
        out.append({**row, **generalised})
    return Result(rows=out, levels=levels, suppressed=len(suppressed))


def min_class_size(rows: Sequence[dict[str, Value]], keys: Sequence[str] = KEYS) -> int:
    """The fewest rows sharing one combination of `keys` (0 for no rows)."""
    sizes = Counter(tuple(row.get(key) for key in keys) for row in rows)
    return min(sizes.values(), default=0)
