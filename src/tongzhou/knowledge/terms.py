"""Words for search: one normalisation for what is stored and what is asked, so that a
traditional-Chinese query finds simplified text, full-width letters find half-width ones, and
"Chemo" finds "chemotherapy".

Chinese has no spaces, and a dictionary segmenter splits 鼻咽癌 into one word that a search for
鼻咽 would then miss. So Chinese is indexed as overlapping character pairs (鼻咽, 咽癌) plus the
last character of each run: every substring of two or more characters is found through its
pairs, and a single character through the pairs it starts (or the run it ends). The database
only narrows the candidates; `Query.matches` then checks each one exactly, so SQLite and
PostgreSQL return the same results."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

import opencc
import snowballstemmer

# Han, kana, hangul: scripts written without spaces between words.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
_PHRASE = re.compile(r'"([^"]+)"')
MAX_WORD = 40  # longer "words" (hashes, URLs) are cut; nobody types them into a search
MAX_QUERY_PARTS = 12


@functools.cache
def _t2s() -> opencc.OpenCC:
    # tw2s: traditional to simplified including Taiwan's variant characters (睡不著 → 睡不着,
    # which plain t2s leaves, since 著 is also a simplified character: 著名).
    return opencc.OpenCC("tw2s")


@functools.cache
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")


def normalize(text: str) -> str:
    """Compatibility forms folded (ＣＲ → CR), traditional to simplified, lower case."""
    return _t2s().convert(unicodedata.normalize("NFKC", text)).casefold()


def runs(normalized: str) -> list[str]:
    """Maximal runs of one kind: a Chinese (or other unspaced) run, or a word of letters and
    digits."""
    return _RUN.findall(normalized)


def _is_cjk(run: str) -> bool:
    return bool(_IS_CJK.match(run))


def index_terms(text: str) -> list[str]:
    """The distinct terms stored for a text (space-joined into the index row)."""
    return _terms_of(normalize(text))


_SEP = "\u2029"  # no normalisation step changes it, and no OpenCC phrase holds it


def index_terms_many(texts: list[str]) -> list[list[str]]:
    """index_terms of many texts (an import): one OpenCC call for all of them, not one each."""
    if any(_SEP in t for t in texts):
        return [index_terms(t) for t in texts]
    normalized = normalize(_SEP.join(texts)).split(_SEP)
    if len(normalized) != len(texts):  # never seen; be exact rather than fast
        return [index_terms(t) for t in texts]
    return [_terms_of(n) for n in normalized]


def _terms_of(normalized: str) -> list[str]:
    out: set[str] = set()
    for run in runs(normalized):
        if _is_cjk(run):
            out.update(run[i : i + 2] for i in range(len(run) - 1))
            out.add(run[-1])
        else:
            out.add(run[:MAX_WORD])
    return sorted(out)


@dataclass
class Part:
    """One thing the user asked for: a Chinese run, a word (matched as a prefix of its stem),
    or a quoted phrase."""

    kind: str  # "cjk" | "word" | "phrase"
    text: str  # normalised; for words, the stem
    db_terms: list[tuple[str, bool]] = field(default_factory=list)  # (term, is_prefix)


@dataclass
class Query:
    parts: list[Part]

    @property
    def empty(self) -> bool:
        return not self.parts

    def db_terms(self) -> list[tuple[str, bool]]:
        """Every (term, is_prefix) a matching row must contain; a superset of the matches."""
        seen: dict[tuple[str, bool], None] = {}
        for part in self.parts:
            for t in part.db_terms:
                seen[t] = None
        return list(seen)

    def matches(self, text: str) -> bool:
        """Exact check on one candidate: every part is in the text."""
        return all(_part_in(p, *_prepared(text)) for p in self.parts)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the parts occur in the normalised text, for highlighting."""
        norm, _words = _prepared(text)
        found: list[tuple[int, int]] = []
        for p in self.parts:
            if p.kind == "word":
                pattern = re.compile(rf"(?<![^\W_{_CJK}]){re.escape(p.text)}[^\W_{_CJK}]*")
            elif p.kind == "phrase":
                pattern = _phrase_pattern(p.text)
            else:
                pattern = re.compile(re.escape(p.text))
            found.extend(m.span() for m in pattern.finditer(norm))
        return _merge(found)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


@functools.lru_cache(maxsize=4096)
def _prepared(text: str) -> tuple[str, frozenset[str]]:
    norm = normalize(text)
    return norm, frozenset(r[:MAX_WORD] for r in runs(norm) if not _is_cjk(r))


def _part_in(part: Part, norm: str, words: frozenset[str]) -> bool:
    if part.kind == "word":
        return any(w.startswith(part.text) for w in words)
    if part.kind == "cjk":
        return part.text in norm
    return _phrase_pattern(part.text).search(norm) is not None


@functools.lru_cache(maxsize=256)
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A phrase's runs in order, with anything but letters and digits (or nothing, where a
    Chinese run meets a word: PD-1抑制剂) between them. Words are whole at the phrase's
    ends; Chinese, as everywhere, may sit inside longer text."""
    pieces = runs(phrase)
    body = r"[\W_]*".join(re.escape(w) for w in pieces)
    before = "" if _is_cjk(pieces[0]) else rf"(?<![^\W_{_CJK}])"
    after = "" if _is_cjk(pieces[-1]) else rf"(?![^\W_{_CJK}])"
    return re.compile(before + body + after)


def _cjk_terms(run: str) -> list[tuple[str, bool]]:
    if len(run) == 1:
        return [(run, True)]  # any pair starting with it, or the run it ends
    return [(run[i : i + 2], False) for i in range(len(run) - 1)]


def _stem(word: str) -> str:
    """The stem cut back to a prefix of the word ("therapy" stems to "therapi"; "therap"
    still finds "therapies"), so that it can be matched as a prefix."""
    if not word.isascii() or not word.isalpha() or len(word) < 4:
        return word
    stemmed = str(_stemmer().stemWord(word))
    if stemmed.endswith("i") and len(stemmed) > 4:
        stemmed = stemmed[:-1]  # y became i (therapies → therapi): "therap" finds therapy
    n = next(
        (i for i, (a, b) in enumerate(zip(word, stemmed, strict=False)) if a != b),
        min(len(word), len(stemmed)),
    )
    stem = word[:n]
    return stem if len(stem) >= 3 else word


def parse(raw: str) -> Query:
    """Words are ANDed; "quoted words" must appear together."""
    text = normalize(raw or "")[:200]
    parts: list[Part] = []
    for phrase in _PHRASE.findall(text):
        pieces = runs(phrase)
        if len(pieces) > 1:
            terms = [t for r in pieces for t in (_cjk_terms(r) if _is_cjk(r) else [(r, False)])]
            parts.append(Part("phrase", " ".join(pieces), terms))
        elif pieces:
            text += " " + pieces[0]  # a one-word "phrase" is just that word
    for run in runs(_PHRASE.sub(" ", text)):
        if _is_cjk(run):
            parts.append(Part("cjk", run, _cjk_terms(run)))
        else:
            stem = _stem(run[:MAX_WORD])
            parts.append(Part("word", stem, [(stem, True)]))
    unique = list({(p.kind, p.text): p for p in parts}.values())
    return Query(unique)


def snippet(text: str, query: Query, width: int = 60) -> tuple[str, list[tuple[int, int]]]:
    """A short piece of the text around the first match, with match offsets inside it.

    Offsets are found in the normalised text; they carry over to the original when the
    normalisation kept the length (nearly always: OpenCC and case folding map one character
    to one). Otherwise the normalised text is shown."""
    norm = normalize(text)
    shown = text if len(norm) == len(text) else norm
    spans = query.spans(text)
    start = max(spans[0][0] - width // 3, 0) if spans else 0
    end = min(start + width, len(shown))
    if end - start < width:
        start = max(end - width, 0)
    piece = shown[start:end]
    inner = [
        (max(s, start) - start, min(e, end) - start) for s, e in spans if s < end and e > start
    ]
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(shown) else ""
    shift = len(prefix)
    return prefix + piece + suffix, [(s + shift, e + shift) for s, e in inner]
