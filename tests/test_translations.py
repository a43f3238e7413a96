"""Translations: every string translated in both Chinese scripts, the catalogues current and
compiled, placeholders kept, no text in a template outside a translation tag, and dates,
times and numbers written the reader's way. `scripts/i18n` rebuilds the catalogues."""

from __future__ import annotations

import datetime
import json
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import opencc
import polib  # type: ignore[import-untyped]  # ships no type hints
import pytest
from django.conf import settings
from django.core.management import call_command
from django.template import Context, Template
from django.test import override_settings
from django.utils import translation

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "tongzhou"
LOCALE = PACKAGE / "locale"
CHINESE = ["zh_Hans", "zh_Hant"]

sys.path.insert(0, str(ROOT / "scripts"))
from zh_hant_review import BY_MSGID, CONFIG, to_hant  # noqa: E402


@cache
def catalogue(locale: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / locale / "LC_MESSAGES" / "django.po"))


def entries(locale: str) -> list[polib.POEntry]:
    return [e for e in catalogue(locale) if not e.obsolete]


def texts(entry: polib.POEntry) -> list[str]:
    """The translated text, or each plural form of it."""
    if entry.msgid_plural:
        return [entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def listing(offenders: list[str]) -> str:
    return f"{len(offenders)} found:\n  " + "\n  ".join(offenders)


# -- the catalogues -------------------------------------------------------------------------


@pytest.mark.parametrize("locale", CHINESE)
def test_every_string_is_translated_and_none_is_fuzzy(locale: str) -> None:
    po = catalogue(locale)
    assert po.metadata.get("Plural-Forms", "").startswith("nplurals=1;"), po.metadata
    assert not po.metadata_is_fuzzy, "the header is marked fuzzy"
    offenders = []
    for e in entries(locale):
        if "fuzzy" in e.flags:
            offenders.append(f"fuzzy: {e.msgid!r}")
        if e.msgid_plural and sorted(e.msgstr_plural) != [0]:
            offenders.append(f"plural forms {sorted(e.msgstr_plural)}, want [0]: {e.msgid!r}")
        if not all(t.strip() for t in texts(e)):
            offenders.append(f"untranslated: {e.msgid!r}")
    assert not offenders, (
        f"run scripts/i18n after adding to scripts/zh_hans.py; {listing(offenders)}"
    )


@pytest.mark.parametrize("locale", ["en", *CHINESE])
def test_compiled_catalogue_matches_the_po_file(locale: str) -> None:
    def table(f: polib.POFile | polib.MOFile) -> dict[tuple[str, str], object]:
        return {
            (e.msgctxt or "", e.msgid): (e.msgid_plural, dict(e.msgstr_plural))
            if e.msgid_plural
            else e.msgstr
            for e in f
            if not e.obsolete
            and "fuzzy" not in e.flags
            and (e.msgstr or any(e.msgstr_plural.values()))
        }

    mo = polib.mofile(str(LOCALE / locale / "LC_MESSAGES" / "django.mo"))
    po, compiled = table(catalogue(locale)), table(mo)
    differ = sorted(k[1] for k in po.keys() | compiled.keys() if po.get(k) != compiled.get(k))
    assert not differ, f"django.mo is out of date: run scripts/i18n; {listing(differ)}"
    assert mo.metadata.get("Plural-Forms") == catalogue(locale).metadata.get("Plural-Forms")


def test_catalogues_hold_every_string_in_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """makemessages on a copy of the sources finds exactly the msgids of the zh_Hans catalogue."""
    if not shutil.which("xgettext"):
        pytest.skip("GNU gettext is not installed (apt-get install gettext)")
    for source in PACKAGE.rglob("*"):
        if source.suffix in {".py", ".html", ".txt"} and "migrations" not in source.parts:
            copy = tmp_path / source.relative_to(PACKAGE)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
    (tmp_path / "locale").mkdir()
    monkeypatch.chdir(tmp_path)
    with override_settings(LOCALE_PATHS=[tmp_path / "locale"]):
        call_command(
            "makemessages", locale=["zh_Hans"], ignore_patterns=["migrations/*"], verbosity=0
        )
    fresh = polib.pofile(str(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))

    def keys(f: polib.POFile) -> set[tuple[str, str, str]]:
        return {(e.msgctxt or "", e.msgid, e.msgid_plural) for e in f if not e.obsolete}

    found, committed = keys(fresh), keys(catalogue("zh_Hans"))
    problems = [f"missing: {k[1]!r}" for k in sorted(found - committed)]
    problems += [f"no longer in the source: {k[1]!r}" for k in sorted(committed - found)]
    assert not problems, f"the catalogues are stale: run scripts/i18n; {listing(problems)}"


PLACEHOLDER = re.compile(
    r"%%"  # a literal percent sign (templates write every % this way)
    r"|%\([A-Za-z_]\w*\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|\{[A-Za-z_]\w*\}"
)


def placeholders(text: str, printf: bool) -> Counter[str]:
    found = Counter(p for p in PLACEHOLDER.findall(text) if p != "%%")
    if not printf:  # without python-format, a bare "% s" is prose, not a placeholder
        found = Counter({p: n for p, n in found.items() if not re.fullmatch(r"%[^(].*", p)})
    return found


@pytest.mark.parametrize("locale", CHINESE)
def test_placeholders_are_kept(locale: str) -> None:
    offenders = []
    for e in entries(locale):
        printf = "python-format" in e.flags
        want = placeholders(e.msgid_plural or e.msgid, printf)
        for text in texts(e):
            if text and placeholders(text, printf) != want:
                got = sorted(placeholders(text, printf).elements())
                offenders.append(f"{e.msgid!r} -> {text!r}: {got} != {sorted(want.elements())}")
    assert not offenders, listing(offenders)


# Characters OpenCC turns into something else on their own, but which are Traditional
# characters too (干擾, 若干, 皇后, 只有, 公里, 系統, 批准, 周圍...): allowed in zh_Hant.
ALSO_TRADITIONAL = set(
    "干后只台面系准里周余范松谷云斗表卷征朴丑划咸游折舍志制致症布托困胡蒙郁借凶注冬板"
)


def test_traditional_catalogue_is_the_reviewed_conversion_of_the_simplified() -> None:
    hans = {(e.msgctxt, e.msgid): e for e in entries("zh_Hans")}
    offenders = []
    for e in entries("zh_Hant"):
        source = hans.get((e.msgctxt, e.msgid))
        if source is None:
            offenders.append(f"not in zh_Hans: {e.msgid!r}")
            continue
        want = [to_hant(e.msgid, t) if t else "" for t in texts(source)]
        if texts(e) != want:
            offenders.append(f"{e.msgid!r}: {texts(e)} != {want}")
    assert len(entries("zh_Hant")) == len(hans)
    assert not offenders, f"run scripts/i18n; {listing(offenders)}"


def test_traditional_catalogue_has_no_simplified_characters() -> None:
    convert = opencc.OpenCC(CONFIG).convert
    offenders = []
    for e in entries("zh_Hant"):
        if e.msgid in BY_MSGID:
            continue  # reviewed by hand, e.g. the name 简体中文
        for text in texts(e):
            simplified = sorted({c for c in text if convert(c) != c} - ALSO_TRADITIONAL)
            if simplified:
                offenders.append(f"{''.join(simplified)} in {text!r}")
    assert not offenders, f"correct these in scripts/zh_hant_review.py; {listing(offenders)}"


def test_each_language_is_named_in_itself_in_every_language() -> None:
    names = [str(n) for _, n in settings.LANGUAGES]
    assert names == ["English", "简体中文", "繁體中文"]
    for code, _ in settings.LANGUAGES:
        with translation.override(code):
            assert [str(n) for _, n in settings.LANGUAGES] == names, code


# -- templates ------------------------------------------------------------------------------

TEMPLATES = sorted(
    p for p in PACKAGE.rglob("*") if p.is_file() and "templates" in p.relative_to(PACKAGE).parts
)
LETTER = re.compile(r"[A-Za-z\u00c0-\u024f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# Text that stays as it is in every language.
ALLOWED_TEXT = {
    "同舟",  # the brand, beside its translated name
    "Tongzhou",  # the brand in Latin letters, beside 同舟
    "English",  # the language menu names each language in itself
    "简体中文",
    "繁體中文",
    "简体",  # ...and, closed, shows the current one short
    "繁體",
    "EN",
}
# Whole files left out, and why.
ALLOWED_FILES = {
    # Static, bilingual pages served when the application or its database is failing: they
    # use no template tags at all, so that nothing more can go wrong while they render.
    "templates/500.html",
    "templates/503.html",
}
# Attributes a person reads or hears; data-confirm is the question confirm.js asks.
ATTRIBUTES = {"placeholder", "title", "alt", "aria-label", "aria-description", "aria-placeholder",
              "aria-roledescription", "aria-valuetext", "label", "data-confirm"}  # fmt: skip

# Blocks that fill an attribute value, such as <body class="{% block bodyclass %}">: what a
# child template puts in them is not shown text.
ATTRIBUTE_BLOCKS = sorted(
    {n for p in TEMPLATES for n in re.findall(r"<[^<>]*\{%\s*block\s+(\w+)", p.read_text("utf-8"))}
)
COMMENTS = re.compile(r"\{#.*?#\}|\{%\s*comment\b.*?%\}.*?\{%\s*endcomment\s*%\}", re.S)
BLOCK_TRANSLATIONS = re.compile(
    r"\{%\s*block(?:trans|translate)\b.*?%\}.*?\{%\s*endblock(?:trans|translate)\s*%\}", re.S
)
TAGS = re.compile(r"\{%.*?%\}|\{\{.*?\}\}")
TRANSLATIONS = re.compile(r"\{%\s*(?:trans|translate)\s.*?%\}")
JSON_SCRIPTS = re.compile(
    r"(<script\b[^>]*type=[\"']application/(?:ld\+)?json[\"'][^>]*>)(.*?)(</script>)", re.S | re.I
)


def blank(match: re.Match[str]) -> str:
    """Spaces in place of the match, keeping its line breaks so line numbers stay right."""
    return re.sub(r"[^\n]", " ", match.group(0))


def line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


class _TextFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._raw = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._raw += 1
        a = {k: v or "" for k, v in attrs}
        shown = set(ATTRIBUTES)
        if tag == "input" and a.get("type", "").lower() in {"submit", "button", "reset"}:
            shown.add("value")
        if tag == "meta" and a.get("name", "").lower() in {"description", "application-name"}:
            shown.add("content")
        line = self.getpos()[0]
        start = self.get_starttag_text() or ""
        for name, value in attrs:
            if name in shown and value:
                at = re.search(rf"\s{re.escape(name)}\s*=", start)
                self.found.append((line + start.count("\n", 0, at.start() if at else 0), value))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._raw = max(0, self._raw - 1)

    def handle_data(self, data: str) -> None:
        if not self._raw and data.strip():
            lead = len(data) - len(data.lstrip())
            self.found.append((self.getpos()[0] + data.count("\n", 0, lead), data))


def untranslated_text(relative: str, source: str) -> Iterator[str]:
    """Each piece of shown text in a template that is not inside a translation tag."""
    source = COMMENTS.sub(blank, source)
    source = JSON_SCRIPTS.sub(blank, source)  # test_json_translation_blocks_... reads these
    source = BLOCK_TRANSLATIONS.sub(blank, source)
    for name in ATTRIBUTE_BLOCKS:
        source = re.sub(rf"\{{%\s*block\s+{name}\s*%\}}.*?\{{%\s*endblock\b.*?%\}}", blank, source)
    source = TAGS.sub(blank, source)
    if relative.endswith(".html"):
        finder = _TextFinder()
        finder.feed(source)
        finder.close()
        pieces = finder.found
    else:  # e-mail bodies: every line is shown
        pieces = [(n, line) for n, line in enumerate(source.splitlines(), 1)]
    for line, text in pieces:
        words = " ".join(text.split())
        rest = words
        for allowed in sorted(ALLOWED_TEXT, key=len, reverse=True):  # 简体中文 before 简体
            rest = rest.replace(allowed, "")
        if LETTER.search(rest):
            yield f"{relative}:{line}: {words}"


def json_values(body: str) -> Iterator[tuple[str, str]]:
    """(key, value) for each string in a JSON block, with each translate tag as "@T@"."""
    marked = TRANSLATIONS.sub("@T@", body)
    marked = BLOCK_TRANSLATIONS.sub("@T@", marked)
    try:
        data = json.loads(marked)
    except json.JSONDecodeError as e:
        yield "(not JSON once the translate tags are taken out)", str(e)
        return

    def walk(value: object, key: str) -> Iterator[tuple[str, str]]:
        if isinstance(value, dict):
            for k, v in value.items():
                yield from walk(v, k)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v, key)
        elif isinstance(value, str):
            yield key, value

    yield from walk(data, "")


def test_no_template_text_outside_translation_tags() -> None:
    assert len(TEMPLATES) > 20, TEMPLATES
    offenders: list[str] = []
    for path in TEMPLATES:
        relative = path.relative_to(PACKAGE).as_posix()
        if relative not in ALLOWED_FILES:
            offenders += untranslated_text(relative, path.read_text(encoding="utf-8"))
    assert not offenders, (
        "wrap these in {% translate %} or {% blocktranslate %}, or, for text that is the same "
        f"in every language, add it to ALLOWED_TEXT with the reason; {listing(offenders)}"
    )


def test_json_translation_blocks_hold_only_translate_tags() -> None:
    offenders, blocks = [], 0
    for path in TEMPLATES:
        source = COMMENTS.sub(blank, path.read_text(encoding="utf-8"))
        for m in JSON_SCRIPTS.finditer(source):
            blocks += 1
            line = line_of(source, m.start(2))
            for key, value in json_values(m.group(2)):
                if value != "@T@" and LETTER.search(value):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{line}: {key}: {value}")
    assert blocks, "no JSON translation block found: has chat.html changed?"
    assert not offenders, listing(offenders)


def test_the_text_finder_sees_what_it_should() -> None:
    """The scanner itself: it reports untranslated text and attributes, and nothing else."""
    assert "bodyclass" in ATTRIBUTE_BLOCKS, ATTRIBUTE_BLOCKS
    source = (
        "{% block bodyclass %}chat-body{% endblock %}"
        '{% load i18n %}<p title="Hi">{% translate "Fine" %} Stray {{ x }}</p>\n'
        "{# Comment #}{% comment %}Note{% endcomment %}<script>alert('x')</script>\n"
        "{% blocktranslate %}Fine {{ n }}{% endblocktranslate %}<b>同舟</b> <i>确定</i>\n"
        '<input type="submit" value="Go"><input type="hidden" value="v"><img alt="">\n'
        '<button data-confirm="Sure?" data-testid="x">{% translate "Go" %}</button>'
        '<script type="application/json">{"a": "{% translate \'A\'|escapejs %}"}</script>'
    )
    found = list(untranslated_text("t.html", source))
    assert found == [
        "t.html:1: Hi",
        "t.html:1: Stray",
        "t.html:3: 确定",
        "t.html:4: Go",
        "t.html:5: Sure?",
    ], found
    assert list(untranslated_text("t.txt", "{% translate 'A' %}\nHello {{ name }}")) == [
        "t.txt:2: Hello"
    ]


# -- dates, times and numbers -----------------------------------------------------------------


def test_dates_times_and_numbers_follow_the_language() -> None:
    at = datetime.datetime(2026, 3, 5, 14, 30, tzinfo=datetime.UTC)  # 22:30 in Shanghai
    template = Template(
        '{% load l10n %}{{ at|date }}|{{ at|date:"l" }}|{{ at|time }}|'
        '{{ n|floatformat:"2g" }}|{{ at|timesince:later }}'
    )
    context = {"at": at, "n": 1234567.891, "later": at + datetime.timedelta(hours=3, minutes=5)}
    shown = {}
    with override_settings(TIME_ZONE="Asia/Shanghai"):
        for code, _ in settings.LANGUAGES:
            with translation.override(code):
                shown[code] = template.render(Context(context)).split("|")
    assert shown["en"] == ["March 5, 2026", "Thursday", "10:30 p.m.", "1,234,567.89",
                           "3\xa0hours, 5\xa0minutes"], shown["en"]  # fmt: skip
    for code in ["zh-hans", "zh-hant"]:
        date, weekday, time, number, _ = shown[code]
        assert (date, weekday, time, number) == ("2026年3月5日", "星期四", "22:30", "1234567.89")
    assert "小时" in shown["zh-hans"][4] and "小時" in shown["zh-hant"][4], shown


@pytest.mark.django_db
def test_a_traditional_chinese_reader_gets_the_whole_page_and_the_crisis_lines_in_traditional() -> (
    None
):
    from django.test import Client

    r = Client(headers={"accept-language": "zh-hant"}).get("/help/crisis/")
    page = r.content.decode()
    assert '<html lang="zh-Hant"' in page
    assert "全國心理援助熱線" in page and "全国心理援助热线" not in page
    assert "登入" in page  # the top bar, from the zh_Hant catalogue
