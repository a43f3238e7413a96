"""Personal data a member may not mean to tell the whole group: a phone number, a Chinese
resident ID number, a bank card number, a home address. The sender is asked before sending.

Pure functions over text; each finding is a kind ("phone", "id_number", "bank_card",
"address") and the matched text, so the warning can say what it saw.
"""

from __future__ import annotations

import re

from tongzhou.safety.textscan import digits_spelled, fold, only_digits

MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)")
LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[\s-]?\d{7,8}(?!\d)")
INTL = re.compile(r"(?<![\w+])\+\d{1,3}[\s-]?\(?\d{1,4}\)?(?:[\s-]?\d{2,4}){2,4}(?!\d)")
# Service lines (12320, 400-…, 800-…) and numbers beside a hospital or helpline are public.
PUBLIC_CONTEXT = re.compile(
    r"医院|中心|门诊|挂号|预约|热线|客服|办公室|科室|总机|服务台|咨询台|急诊|协会|基金会"
    r"|hospital|clinic|helpline|hotline|support line|appointments?|switchboard|reception"
    r"|centre|center|samaritans|lifeline|macmillan|nhs|charity|foundation|office"
)
ID_NUMBER = re.compile(r"(?<![\dx])\d{17}[\dx](?![\dx])")
CARD = re.compile(r"(?<!\d)\d(?:[\s-]?\d){12,18}(?!\d)")
ADDRESS_ZH = re.compile(
    r"(?:省|市|区|县|镇|乡)[^\s，。,]{0,12}?(?:路|街|道|巷|弄|村)[^\s，。,]{0,6}?\d+\s*号"
    r"|(?:小区|花园|公寓|新村|大厦|家园|苑)[^\s，。,]{0,8}?\d+\s*(?:栋|幢|号楼|座)"
    r"|\d+\s*(?:栋|幢|号楼)[^\s，。,]{0,4}?\d+\s*(?:单元|室)"
    r"|\d+\s*单元\s*\d+\s*(?:室|号)?"
)
ADDRESS_EN = re.compile(
    r"\b\d{1,5}[a-z]?\s+(?:[a-z]+\s){0,3}(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr"
    r"|court|ct|close|crescent|way|place|boulevard|blvd|terrace|grove)\b"
    r"|\b(?:flat|apt|apartment|unit)\s*\d+[a-z]?\b[^.!?\n]{0,30}\b(?:street|road|avenue|lane|drive|st|rd)\b"
)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10x98765432"


def valid_id_number(s: str) -> bool:
    """GB 11643: 17 digits, then a check character from their weighted sum."""
    s = s.lower()
    if not re.fullmatch(r"\d{17}[\dx]", s):
        return False
    total = sum(int(d) * w for d, w in zip(s[:17], _WEIGHTS, strict=True))
    birth = s[6:14]
    return _CHECK[total % 11] == s[17] and birth[:2] in ("19", "20") and "01" <= birth[4:6] <= "12"


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _public(text: str, start: int, end: int) -> bool:
    window = text[max(0, start - 30) : end + 12]
    return bool(PUBLIC_CONTEXT.search(window))


def phones(text: str, *, include_public: bool = False) -> list[str]:
    """Phone numbers; a landline or international number next to a hospital or helpline name
    is left out unless asked for."""
    found = []
    for pattern in (MOBILE, LANDLINE, INTL):
        for m in pattern.finditer(text):
            if pattern is not MOBILE and not include_public and _public(text, *m.span()):
                continue
            found.append(m.group(0))
    return found


def personal_data(text: str) -> list[dict[str, str]]:
    """What in this message looks like personal data, at most one finding per kind."""
    folded = digits_spelled(fold(text))
    found: dict[str, str] = {}
    ids = [m.group(0) for m in ID_NUMBER.finditer(folded) if valid_id_number(m.group(0))]
    if ids:
        found["id_number"] = ids[0]
    for m in CARD.finditer(folded):
        digits = only_digits(m.group(0))
        if len(digits) >= 13 and luhn(digits) and digits not in ids:
            found.setdefault("bank_card", m.group(0))
    numbers = [
        p for p in phones(folded) if only_digits(p) not in {only_digits(v) for v in found.values()}
    ]
    if numbers:
        found["phone"] = numbers[0]
    address = ADDRESS_ZH.search(folded) or ADDRESS_EN.search(folded)
    if address:
        found["address"] = address.group(0)
    return [{"kind": k, "text": v} for k, v in found.items()]
