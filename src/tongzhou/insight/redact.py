"""Research text with the people taken out: names become pseudonyms, and contact details, ID
numbers, addresses and hospitals become bracketed tags ("[phone]", "[hospital]"…), plain
ASCII in every language because they are data, not interface.

Stricter than the send-time check (safety/pii.py), which asks a member before they tell their
own group something private. Here the reader is an outsider, so every phone number goes,
public hospital lines included; so does any other long number (a hospital record number, an
ID number with a typo in it), except dates. A link keeps only its site.

Names. `names` maps a name as it may appear in text (display name, username, imported name) to
what replaces it ("P003" for a consenting member, "[member]" for anyone else). Case and
traditional/simplified characters do not matter; the longest name wins. A Chinese name is
found anywhere (Chinese has no spaces between words), a Latin one only as a whole word. A
name of one character, a Latin name of two letters, or one without letters at all is
replaced only straight after "@": as words they are too often something else (静, "Jo",
"an"). Any other "@mention" becomes "@[name]". Names are not split: a caller who wants "Anna"
caught in "Anna Smith"'s messages passes "Anna" too. A nickname that is also a common word
("阳光") is replaced wherever the word occurs: research text loses a word rather than leaks a
name.

The detectors run on the folded text (safety/textscan: full-width digits, traditional
characters and capitals folded; phone numbers spelled in Chinese numerals read as digits),
folded one character at a time so that each match maps back onto the original text, which
keeps its case and script.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from tongzhou.safety import pii, spam
from tongzhou.safety.textscan import digits_spelled, fold, only_digits

# Phone numbers spelled as English words (the send-time check reads them in
# textscan.digits_spelled, whose pattern is private; a copy of it).
_SPELLED_EN = re.compile(
    r"(?:\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b[\s,.\-]*){7,}"
)
_ID15 = re.compile(r"(?<![\dx])\d{15}(?![\dx])")
# A number however grouped ("010 6529 5269", "138.1234.5678", "1 3 8 …"); seven digits or
# more are taken out (phone numbers the phone patterns miss, record numbers, ID numbers with
# spaces). A group of one digit needs a space or dash before it, so "36.5 37.2" stays two
# readings.
_NUMBER = re.compile(r"(?<!\d)\d+(?:[ \t\u00a0\u3000\-–—_·./()]{1,2}\d{2,}|[ \-]\d(?!\d))*")
_DATE = re.compile(
    r"(?:19|20)\d\d([ \-./])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])"
    r"|(?:0?[1-9]|[12]\d|3[01])([ \-./])(?:0?[1-9]|1[0-2])\2(?:19|20)\d\d"
    r"|(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"|(?:19|20)\d\d\s*[-–—~]\s*(?:19|20)\d\d"
)
# Characters that end a place or hospital name when reading backwards from 医院, 小区…:
# particles, pronouns, measure words and the verbs that come before a place ("去", "住在").
_STOP = (
    "的了过着得地很吗呢吧啊呀是在去到跟与及或也都还就又从往向把被给对为说让"
    "这那哪个家所间座每该此其某们我你他她它住转回进找挂约问换选离看听信靠用叫请求由比像甲"
)
_PLACE = rf"[^\W_{_STOP}]"
_HOSPITAL_WORD = (
    r"(?:医院|卫生院|保健院|诊所|门诊部|医学院|医科大学|肿瘤研究所"
    r"|(?:医学|肿瘤|癌症|防治|治疗|医疗|诊疗|卫生服务)中心"
    r"|[一二三四五六七八九]?附[一二三四五六七八九]?院|[一二三四五六七八九]院)"
)
# A name does not start with 和 ("医院和社区医院"), though it may hold one (协和, 仁和).
_HOSPITAL_ZH = re.compile(rf"(?P<place>(?![医院和]){_PLACE}{_PLACE}{{0,11}}){_HOSPITAL_WORD}")
_HOSPITAL_HINT = re.compile(r"院|诊所|中心|门诊|医科|研究所")
# Hospitals known by a short name alone.
_HOSPITAL_KNOWN = re.compile(
    r"协和|华西|湘雅|瑞金|西京|邵逸夫|同济|齐鲁|(?:复旦|中山|北大|浙大|川大|中大)肿瘤"
    r"|(?<![a-z])(?:mayo|md anderson|sloan[ -]kettering|dana[ -]farber|johns hopkins"
    r"|royal marsden|peter mac(?:callum)?|moffitt)(?![a-z])"
)
# Words before 医院 that say what kind of hospital, not which.
_GENERIC_ZH = set(
    "社区 三甲 二甲 专科 肿瘤 私立 公立 民营 私人 省级 市级 县级 当地 本地 附近 大 小 好 中 西 "
    "综合 妇幼 儿童 定点 上级 基层 外地 老家 别的 其他 其它 正规 大型 这些 两".split()
)
_GENERIC_HOSPITAL = re.compile(rf"(?:{'|'.join(sorted(_GENERIC_ZH))})?{_HOSPITAL_WORD}")
_HOSPITAL_EN = re.compile(
    r"\b(?:(?:medical|cancer|health|oncology|treatment|proton)\s+(?:cent(?:er|re)|institute|system)"
    r"|hospital|hospice|clinic|infirmary)s?\b",
    re.IGNORECASE,
)
_WORD_EN = re.compile(r"[A-Za-z][A-Za-z0-9'’&-]*\.?")
_CAP_EN = r"[A-Z][A-Za-z0-9'’.&-]*"
_OF_EN = re.compile(
    rf"\s+(?:of|for)(?:\s+the)?\s+{_CAP_EN}(?:(?:\s+(?:the|and|of|for))*\s+{_CAP_EN})*"
)
_CONNECTORS = {"of", "and", "&", "the", "for"}
# Lower-case words that cannot start a hospital's name (read backwards from "clinic"), and
# words that alone only say what kind of hospital it is ("the cancer clinic").
_STOP_EN = set(
    "a an the to at in into from my our your his her their this that these those same new "
    "another which what whose any every each one local nearest other and or of for by with "
    "on is was were be been go went going gone got get back visited called".split()
)
_GENERIC_EN = set(
    "cancer oncology general community teaching private public big main regional district "
    "county city state day outpatient chemo chemotherapy radiotherapy breast lung eye pain "
    "university children's women's specialist".split()
)
_ESTATE_HINT = re.compile(r"小区|新村|家园|公寓")
_ESTATE = re.compile(rf"{_PLACE}{{2,10}}(?:小区|新村|家园|公寓)")
_ADDRESS_MORE = re.compile(
    r"(?:[\s-]{0,2}[0-9a-z一二三四五六七八九十]{1,5}\s*(?:号院|号楼|栋|幢|单元|室|层|楼|号|座|户))+"
)
_PLACE_CHAR = re.compile(_PLACE)
_MENTION = re.compile(r"(?<![a-z0-9._%+-])@([^\s@,.!?;:，。！？、；：\"'()（）【】《》「」]{1,20})")
_LATIN = "[^\\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"

# Tags, in the order they win when two findings overlap.
EMAIL, LINK, CONTACT, ID, PHONE, CARD, NUMBER, ADDRESS, HOSPITAL, NAME, MENTION = range(11)
TAGS = {
    EMAIL: "[email]",
    CONTACT: "[contact id]",
    ID: "[id number]",
    CARD: "[bank card]",
    PHONE: "[phone]",
    ADDRESS: "[address]",
    HOSPITAL: "[hospital]",
    MENTION: "[name]",
}

_Add = Callable[..., None]  # add(start, end, rank, replacement="") in folded positions
_Node = dict[str, "_Node"]
_fold_cache: dict[str, str] = {}


def _fold_char(ch: str) -> str:
    out = _fold_cache.get(ch)
    if out is None:
        try:
            out = fold(ch)
        except UnicodeError:  # a lone surrogate, which OpenCC cannot encode
            out = ch
        _fold_cache[ch] = out
    return out


def _folded(text: str) -> tuple[str, list[int], list[int]]:
    """The folded text and, for each of its characters, the original span it came from."""
    if text.isascii():
        folded, pieces = text.lower(), None
    else:
        pieces = list(map(_fold_char, text))
        folded = "".join(pieces)
    if pieces is None or (len(folded) == len(text) and "" not in pieces):
        positions = list(range(len(text) + 1))  # one character for one
        return folded, positions[:-1], positions[1:]
    starts, ends = [], []
    for i, piece in enumerate(pieces):
        starts.extend([i] * len(piece))
        ends.extend([i + 1] * len(piece))
    return folded, starts, ends


def _fold_name(name: str) -> str:
    return " ".join(_folded(name)[0].split())


def _trie(words: Iterable[str]) -> str:
    """One pattern for many words, branching letter by letter: Python's re tries every
    alternative of a flat alternation at every position, so a few thousand names would be
    slow. The longest word wins (each ending is an optional, greedy group)."""
    root: _Node = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: _Node) -> str:
        branches = [
            (r"\s+" if ch == " " else re.escape(ch)) + build(child)
            for ch, child in sorted(node.items())
            if ch
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


def _names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    groups: dict[tuple[bool, bool], list[str]] = {}
    for name in names:
        latin = bool(re.match(_LATIN, name[0])) or bool(re.match(_LATIN, name[-1]))
        letters = sum(c.isalpha() for c in name)
        at_only = len(name) == 1 or letters == 0 or (latin and len(name) <= 2)
        groups.setdefault((latin, at_only), []).append(name)
    parts = []
    for (latin, at_only), words in sorted(groups.items()):
        body = f"(?:{_trie(words)})"
        if latin:
            body = rf"(?<!{_LATIN}){body}(?!{_LATIN})"
        parts.append(f"(?<=@){body}" if at_only else body)
    return re.compile("|".join(parts)) if parts else None


class Redactor:
    """Redacts many texts against one set of names and hospitals (built once: the patterns
    for a few thousand names take a moment to compile)."""

    def __init__(self, names: Mapping[str, str] | None = None, hospitals: Iterable[str] = ()):
        self.replacements: dict[str, str] = {}
        for name, replacement in (names or {}).items():
            key = _fold_name(name or "").lstrip("@")
            if key:
                self.replacements.setdefault(key, replacement)
        self.names = _names_pattern(self.replacements)
        # A member's own hospital, as they wrote it; not "医院" or "肿瘤医院", which would take
        # every mention of a hospital out of the text and hide no one.
        places = {_fold_name(h or "") for h in hospitals}
        places = {p for p in places if len(p) > 1 and not _GENERIC_HOSPITAL.fullmatch(p)}
        self.hospitals = re.compile(_trie(sorted(places))) if places else None

    def __call__(self, text: str) -> str:
        return self.redact(text)

    def redact(self, text: str) -> str:
        folded, starts, ends = _folded(text)
        found: list[tuple[int, int, int, str]] = []  # start, end (in text), rank, replacement

        def add(a: int, b: int, rank: int, replacement: str = "") -> None:
            if a < b:
                found.append((starts[a], ends[b - 1], rank, replacement or TAGS[rank]))

        folded = self._spelled_numbers(folded, add)
        self._contacts(folded, add)
        if any(c.isdigit() for c in folded):
            self._numbers(folded, add)
        self._places(folded, add)
        for a, b in _english_hospitals(text):
            found.append((a, b, HOSPITAL, TAGS[HOSPITAL]))
        self._people(folded, add)
        return _replace(text, found)

    def _spelled_numbers(self, folded: str, add: _Add) -> str:
        """Phone numbers spelled in English become [phone]; those in Chinese numerals become
        digits for the number patterns (the same length, so positions still map)."""
        masked = folded
        for m in _SPELLED_EN.finditer(folded):
            add(m.start(), m.start() + len(m.group(0).rstrip(" ,.-\t\n")), PHONE)
            masked = masked[: m.start()] + "#" * len(m.group(0)) + masked[m.end() :]
        spelled = digits_spelled(masked)
        return spelled if len(spelled) == len(masked) else masked

    def _contacts(self, folded: str, add: _Add) -> None:
        for m in spam.EMAIL.finditer(folded):
            add(*m.span(), EMAIL)
        for m in spam.URL.finditer(folded):
            raw = m.group(0)
            try:
                host = urlsplit(raw if "://" in raw else f"http://{raw}").hostname or ""
            except ValueError:  # a malformed address ("http://[x")
                host = ""
            host = re.sub(r"[^a-z0-9.-]", "", host.removeprefix("www."))
            # A site named after a person or a phone number is not kept either.
            if re.search(r"\d{5}", host) or (self.names and self.names.search(host)):
                host = ""
            add(*m.span(), LINK, f"[link: {host}]" if host else "[link]")
        for pattern in (spam.WECHAT, spam.QQ, spam.HANDLE):
            for m in pattern.finditer(folded):
                add(*m.span(), CONTACT)

    def _numbers(self, folded: str, add: _Add) -> None:
        for pattern in (pii.ID_NUMBER, _ID15):
            for m in pattern.finditer(folded):
                add(*m.span(), ID)
        for m in pii.CARD.finditer(folded):
            digits = only_digits(m.group(0))
            if len(digits) >= 13 and pii.luhn(digits):
                add(*m.span(), CARD)
        for pattern in (pii.MOBILE, pii.LANDLINE, pii.INTL):
            for m in pattern.finditer(folded):
                add(*m.span(), PHONE)
        for m in _NUMBER.finditer(folded):
            count = len(only_digits(m.group(0)))
            if count >= 7 and not _DATE.fullmatch(m.group(0)):
                add(*m.span(), NUMBER, TAGS[ID] if count >= 15 else TAGS[PHONE])

    def _places(self, folded: str, add: _Add) -> None:
        digits = any(c.isdigit() for c in folded)  # every pattern of pii's addresses has some
        for pattern, hint in (
            (pii.ADDRESS_ZH, digits),
            (_ESTATE, bool(_ESTATE_HINT.search(folded))),
        ):
            for m in pattern.finditer(folded) if hint else ():
                a, b = m.span()
                while a > 0 and b - a < 40 and _PLACE_CHAR.match(folded[a - 1]):
                    a -= 1
                more = _ADDRESS_MORE.match(folded, b)
                add(a, more.end() if more else b, ADDRESS)
        for m in pii.ADDRESS_EN.finditer(folded) if digits else ():
            add(*m.span(), ADDRESS)
        if _HOSPITAL_HINT.search(folded):
            for m in _HOSPITAL_ZH.finditer(folded):
                if m.group("place") not in _GENERIC_ZH:
                    add(*m.span(), HOSPITAL)
        for pattern in filter(None, (_HOSPITAL_KNOWN, self.hospitals)):
            for m in pattern.finditer(folded):
                add(*m.span(), HOSPITAL)

    def _people(self, folded: str, add: _Add) -> None:
        named = set()
        if self.names:
            for m in self.names.finditer(folded):
                replacement = self.replacements.get(" ".join(m.group(0).split()), TAGS[MENTION])
                add(*m.span(), NAME, replacement)
                named.add(m.start())
        for m in _MENTION.finditer(folded):
            if m.start(1) not in named:
                add(*m.span(1), MENTION)


def _english_hospitals(text: str) -> list[tuple[int, int]]:
    """English hospital names: the capitalised words before "Hospital", "Cancer Center"…
    (and after "Hospital of"), or, typed in lower case, up to two words that are neither
    small words nor a kind of hospital ("mayo clinic" but not "the cancer clinic")."""
    spans = []
    for m in _HOSPITAL_EN.finditer(text):
        taken: list[re.Match[str]] = []  # the name's words, last first
        capitals = lower = 0
        for w in reversed(list(_WORD_EN.finditer(text, max(0, m.start() - 80), m.start()))):
            edge = taken[-1].start() if taken else m.start()
            word = w.group(0)
            if text[w.end() : edge].strip() or len(taken) == 6:
                break
            if word.endswith(".") and (len(word) > 3 or word.islower()):
                break  # the end of a sentence, not "St."
            if word[0].isupper():
                capitals += 1
            elif not (capitals and word in _CONNECTORS):
                if capitals or lower == 2 or word.lower() in _STOP_EN:
                    break
                lower += 1
            taken.append(w)
        while taken and taken[-1].group(0) in _CONNECTORS:  # "the Mayo Clinic"
            taken.pop()
        kinds = {w.group(0).lower() for w in taken} - _CONNECTORS
        if kinds and kinds <= _GENERIC_EN:
            continue
        after = _OF_EN.match(text, m.end()) if m.group(0)[0].isupper() else None
        if taken or after:
            end = after.end() if after else m.end()
            spans.append((taken[-1].start() if taken else m.start(), end))
    return spans


def _replace(text: str, found: list[tuple[int, int, int, str]]) -> str:
    """The text with each finding replaced; overlapping findings become one, tagged by the
    strongest (an e-mail address holding a name is an e-mail address)."""
    if not found:
        return text
    found.sort()
    merged: list[tuple[int, int, int, str]] = []
    for a, b, rank, replacement in found:
        if merged and a < merged[-1][1]:
            a0, b0, rank0, replacement0 = merged[-1]
            strongest = (rank, replacement) if rank < rank0 else (rank0, replacement0)
            merged[-1] = (a0, max(b0, b), *strongest)
        else:
            merged.append((a, b, rank, replacement))
    out, pos = [], 0
    for a, b, _rank, replacement in merged:
        out.append(text[pos:a])
        out.append(replacement)
        pos = b
    out.append(text[pos:])
    return "".join(out)


def redact(text: str, names: Mapping[str, str] | None = None, hospitals: Iterable[str] = ()) -> str:
    """One text redacted. The Redactor for the last few sets of names is kept, so calling this
    for each message of an export builds it once (a Redactor held by the caller is faster
    still: this compares the names on every call)."""
    return _redactor(tuple((names or {}).items()), tuple(hospitals)).redact(text)


@functools.lru_cache(maxsize=4)
def _redactor(names: tuple[tuple[str, str], ...], hospitals: tuple[str, ...]) -> Redactor:
    return Redactor(dict(names), hospitals)
