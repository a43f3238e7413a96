"""WhatsApp's "Export chat" text file (Android and iPhone, any locale's date order, 12- or
24-hour clock, English and Chinese wording) as records.

    Android  31/12/2022, 23:59 - Name: text        12/31/22, 11:59 PM - Name: text
             2022/12/31 下午11:59 - 张 三: 文本      31.12.22, 23:59 - Name: text
    iPhone   [31/12/2022, 23:59:59] Name: text     ‎[12/31/22, 11:59:59 PM] Name: ‎image omitted

A line that does not start with a header continues the message above it. The export carries
no time zone, no message ids and no reply links: times are read as wall-clock times in the
zone the caller names, and `ref` stays empty. The day/month order is read from the whole
file (a day above 12 decides); the caller can override it.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from collections import Counter
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_noop  # the import page translates these

from tongzhou.imports.records import FormatError, Parsed, Problem, Record, SystemKind

DATE_ORDERS: Final = ("dmy", "mdy", "ymd")

# Spaces a locale may put inside a header: plain, no-break, narrow no-break (Android 14+
# writes "11:59\u202fPM").
_SP = "[ \u00a0\u202f]"
# Chinese, Japanese and Korean day periods written before the hour ("下午11:59").
_PRE_PM = frozenset({"下午", "晚上", "午後", "오후"})
_NOON = "中午"
_PRE_ALL = "上午|下午|凌晨|早上|中午|晚上|午前|午後|오전|오후"
_HEADER: Final = re.compile(
    "(?P<lrm>[\u200e\u200f]*)"
    r"(?P<br>\[)?"
    r"(?P<a>[0-9]{1,4})(?P<sep>[./-])(?P<b>[0-9]{1,2})(?P=sep)(?P<c>[0-9]{1,4})"
    r"(?P<comma>,)?" + _SP + "+"
    r"(?:(?P<pre>" + _PRE_ALL + ")" + _SP + "?)?"
    r"(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2}))?"
    r"(?:" + _SP + r"?(?P<post>[AaPp]\.?" + _SP + r"?[Mm]\.?))?"
    r"(?(br)\] ?|" + _SP + "[-–] )"
)
# Characters a header line can start with (checked before running the regex).
_FIRST: Final = frozenset("0123456789[\u200e\u200f")
# Invisible marks around names: phone numbers come wrapped in U+202A…U+202C.
_STRIP: Final = (
    " \t\u00a0\u202f\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
_QUOTE: Final = re.compile('["“”„«»「」『』‘’]')

# --- Attachments -----------------------------------------------------------------------------
# The export left the file out: the record gets media [""] (name unknown).
_OMITTED: Final = frozenset(
    {
        # Android
        "<Media omitted>",
        "<省略影音内容>",
        "<已省略多媒體檔案>",
        "<媒体文件已省略>",
        "<省略媒体文件>",
        "媒体文件省略",
        "图片省略",
        "贴图省略",
        "GIF 动图省略",
        # iPhone
        "image omitted",
        "video omitted",
        "audio omitted",
        "sticker omitted",
        "GIF omitted",
        "document omitted",
        "Contact card omitted",
        "图像已忽略",
        "图片已忽略",
        "视频已忽略",
        "音频已忽略",
        "文件已忽略",
        "贴纸已忽略",
        "贴图已忽略",
        "动图已忽略",
        "GIF已忽略",
        "圖片已略去",
        "影片已略去",
        "音訊已略去",
        "貼圖已略去",
        "貼圖已忽略",
        "文件已略去",
    }
)
# Android, exported with media: "IMG-20221231-WA0001.jpg (file attached)".
_ANDROID_FILE: Final = re.compile(
    r"(?P<name>\S.*?) \((?:file attached|文件附件|文件已附加|附件檔案|已附加檔案)\)"
)
# iPhone, exported with media: "<attached: 00000012-PHOTO-2022-12-31-23-59-59.jpg>".
_IOS_FILE: Final = re.compile(
    "<(?:attached|附件|已附加)[:：] ?(?P<name>[^>\n]+)>[ \u200e]*(?P<rest>.*)"
)
# iPhone without media keeps a document's name: "Report.pdf • ‎3 pages ‎document omitted".
_IOS_DOC: Final = re.compile("(?P<name>.+?)(?: •.*?)?[ \u200e]*document omitted")
# Cheap first look before trying the patterns above: how such a line starts or ends.
_MEDIA_LAST: Final = frozenset(">d)略去")
_EDITED: Final = ("<This message was edited>", "<这条消息已经过编辑>", "<此訊息已經過編輯>")

# --- System lines ----------------------------------------------------------------------------
_RECALL: Final = frozenset(
    {
        "this message was deleted",
        "you deleted this message",
        "此消息已删除",
        "这条消息已删除",
        "你删除了这条消息",
        "你删除了此消息",
        "您删除了此消息",
        "您已删除此消息",
        "你已删除此消息",
        "此訊息已刪除",
        "這則訊息已刪除",
        "你已刪除此訊息",
        "你已刪除這則訊息",
    }
)
# The notice WhatsApp puts first in every chat (then attributed to the chat on iPhone).
_E2E: Final = (
    "Messages and calls are end-to-end encrypted",
    "Messages to this group are now secured with end-to-end encryption",
    "Your messages to yourself are end-to-end encrypted",
    "消息和通话已进行端到端加密",
    "消息和通话都会进行端到端加密",
    "你发送给自己的消息已进行端到端加密",
    "訊息和通話經端對端加密",
    "訊息與通話已受端對端加密保護",
)
_RENAME: Final = re.compile(
    r"changed the subject|changed the group name|changed this group's name"
    r"|群组名称|群組名稱|群组名|更改了主题|更改了群名|修改了群名|變更了主旨|更改了主旨",
    re.IGNORECASE,
)
_OTHER: Final = re.compile(
    r"end-to-end|created group|created this group|group's icon|group icon|description"
    r"|phone number|security code|disappearing|missed (?:group )?(?:voice|video) call"
    r"|pinned a message|admin|端到端|端對端|创建了|建立了|图标|圖示|说明|說明|描述|电话号码|電話號碼"
    r"|安全码|安全碼|限时消息|限時訊息|未接|管理员|管理員|置顶|置頂",
    re.IGNORECASE,
)
_JOIN: Final = re.compile(r"\bjoined\b|\badded\b|加入|添加|新增|邀请|邀請", re.IGNORECASE)
_LEAVE: Final = re.compile(r"\bleft\b|\bremoved\b|退出|离开|離開|移除|移出", re.IGNORECASE)
# Who joined or left, when the line names them first ("Ann joined using this group's invite
# link", "张三 退出了群组"); not for "X added Y" / "X removed Y", where two people are named.
_ACTOR: Final = re.compile(
    r"(?P<en>.+?) (?:joined\b|left$)"
    r"|(?P<zh>.+?) ?(?:已?通过|已?透過|加入了|已加入|退出了|已退出|已离开|已離開|离开了|離開了)"
)
_YOU: Final = frozenset({"you", "你", "您"})
_RECALL_FIRST: Final = frozenset("TtYy此这這你您")

_MAX_PROBLEMS: Final = 1000
_SNIFF_LINES: Final = 50  # a header must come this early
_SHAPE_SAMPLE: Final = 1000  # headers read to learn the file's layout


class _Shape(NamedTuple):
    """What stays the same on every header of one file (the clock may not: some phones mix
    "23:59" and "下午11:59")."""

    ios: bool
    sep: str
    comma: bool
    year_first: bool
    year_last: bool
    seconds: bool


# A header's fields, as `_header_for(shape).match(line).groups()` gives them.
_Fields = tuple[str, str, str, str, "str | None", str, str, str, "str | None"]
_LRM: Final = 0
_A: Final = 1
_B: Final = 2
_C: Final = 3
_PRE: Final = 4
_H: Final = 5
_MI: Final = 6
_S: Final = 7
_POST: Final = 8


def sniff(text: str) -> bool:
    """Whether the first lines look like a WhatsApp export: message headers, the first
    non-empty line among them (or at least two)."""
    lines = text[:65536].split("\n", _SNIFF_LINES)[:_SNIFF_LINES]
    found = 0
    first_is_header = False
    seen_text = False
    plain_iso_only = True
    for line in lines:
        m = _HEADER.match(line) if line[:1] in _FIRST else None
        if m is None:
            seen_text = seen_text or bool(line.strip())
            continue
        found += 1
        if not seen_text:
            first_is_header = True
            seen_text = True
        if not _plain_iso(m):
            plain_iso_only = False
    if not found or not (first_is_header or found >= 2):
        return False
    if plain_iso_only:
        # "[2022-12-31 23:59:59] Name: text" is also how some tools write other chats'
        # history: claim it only with a sign that WhatsApp wrote it.
        head = text[:65536]
        return "\u200e" in head or any(s in head for s in (*_E2E, "omitted>", "<attached:"))
    return True


def parse(text: str, *, zone: ZoneInfo, date_order: str | None = None, **options: object) -> Parsed:
    """Read a WhatsApp export. `date_order` ("dmy", "mdy" or "ymd") overrides the order
    read from the file; other options are ignored."""
    if date_order is not None and date_order not in DATE_ORDERS:
        raise FormatError(f"Unknown date order {date_order!r}: use dmy, mdy or ymd.", 0)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")

    # A file is written in one layout; a line shaped otherwise is a message's own text.
    shape = _dominant_shape(lines)
    match = _header_for(shape).match
    first = _FIRST
    heads: list[tuple[int, _Fields, int]] = [
        (i, m.groups(), m.end())  # type: ignore[misc]  # the pattern's groups are _Fields
        for i, line in enumerate(lines)
        if line[:1] in first and (m := match(line)) is not None
    ]
    latin_12h = sum(1 for h in heads if h[1][_POST])
    chinese_12h = sum(1 for h in heads if h[1][_PRE])
    twelve_hour = latin_12h + chinese_12h > len(heads) // 2
    order = date_order or _date_order(heads, shape, us_clock=latin_12h > chinese_12h)
    variant = f"{'ios' if shape.ios else 'android'}-{'12h' if twelve_hour else '24h'}-{order}"

    reader = _Reader(lines, zone, order, shape.ios)
    reader.read(heads)
    if not reader.records:
        where = reader.problems[0].line if reader.problems else 1
        raise FormatError(gettext_noop("No WhatsApp message could be read."), where)
    return Parsed("whatsapp", variant, reader.records, reader.problems)


def _plain_iso(m: re.Match[str]) -> bool:
    return (
        m.group("br") is not None
        and m.group("sep") == "-"
        and len(m.group("a")) == 4
        and m.group("comma") is None
        and not m.group("pre")
        and not m.group("post")
        and not m.group("lrm")
    )


def _dominant_shape(lines: list[str]) -> _Shape:
    """The shape most of the first thousand headers have; FormatError when none of the
    first lines is a header."""
    shapes: Counter[_Shape] = Counter()
    for i, line in enumerate(lines):
        m = _HEADER.match(line) if line[:1] in _FIRST else None
        if m is None:
            if i + 1 >= _SNIFF_LINES and not shapes:
                break
            continue
        a, c = m.group("a", "c")
        shape = _Shape(
            m.group("br") is not None,
            m.group("sep"),
            m.group("comma") is not None,
            len(a) > 2,
            len(c) > 2,
            m.group("s") is not None,
        )
        shapes[shape] += 1
        if shapes.total() >= _SHAPE_SAMPLE:
            break
    if not shapes:
        raise FormatError(
            gettext_noop("No WhatsApp message header in the first lines."),
            min(len(lines), _SNIFF_LINES),
        )
    return shapes.most_common(1)[0][0]


@functools.lru_cache(maxsize=64)
def _header_for(shape: _Shape) -> re.Pattern[str]:
    """The header regex for one file's shape: stricter, and faster, than `_HEADER`."""
    year, day = "([0-9]{3,4})", "([0-9]{1,2})"
    sep = re.escape(shape.sep)
    return re.compile(
        "([\u200e\u200f]*)"
        + (r"\[" if shape.ios else "")
        + (year if shape.year_first else day)
        + sep
        + "([0-9]{1,2})"
        + sep
        + (year if shape.year_last else day)
        + ("," if shape.comma else "")
        + _SP
        + "+(?:("
        + _PRE_ALL
        + ")"
        + _SP
        + "?)?([0-9]{1,2}):([0-9]{2})"
        + (":([0-9]{2})" if shape.seconds else "()")
        + "(?:"
        + _SP
        + r"?([AaPp]\.?"
        + _SP
        + r"?[Mm]\.?))?"
        + (r"\] ?" if shape.ios else _SP + "[-–] ")
    )


def _date_order(heads: list[tuple[int, _Fields, int]], shape: _Shape, *, us_clock: bool) -> str:
    """Year first when the first field has four digits; else a field above 12 is the day.
    With no such day: the order that keeps the dates in sequence, then the locale's habit
    (an AM/PM clock is American, dots are European, the rest day-first)."""
    if shape.year_first:
        return "ymd"
    first_big = second_big = 0
    triples: list[tuple[int, int, int]] = []
    last: tuple[str, str, str] | None = None
    for _, f, _ in heads:
        key = (f[_A], f[_B], f[_C])
        if key == last:
            continue  # a day's messages: one date
        last = key
        a, b, c = int(key[0]), int(key[1]), int(key[2])
        first_big += a > 12
        second_big += b > 12
        triples.append((a, b, c))
    if first_big or second_big:
        return "dmy" if first_big >= second_big else "mdy"
    dmy = [(c, b, a) for a, b, c in triples]
    mdy = [(c, a, b) for a, b, c in triples]
    back_dmy = sum(1 for p, q in itertools.pairwise(dmy) if q < p)
    back_mdy = sum(1 for p, q in itertools.pairwise(mdy) if q < p)
    if back_dmy != back_mdy:
        return "dmy" if back_dmy < back_mdy else "mdy"
    if shape.sep == ".":
        return "dmy"
    return "mdy" if us_clock else "dmy"


class _Reader:
    """The second pass: headers → records, the lines between them → their text."""

    def __init__(self, lines: list[str], zone: ZoneInfo, order: str, ios: bool) -> None:
        self.lines = lines
        self.zone = zone
        self.order = order
        self.ios = ios
        self.records: list[Record] = []
        self.problems: list[Problem] = []
        self._dates: dict[tuple[str, str, str], tuple[int, int, int] | None] = {}

    def problem(self, index: int, message: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(Problem(index + 1, message, self.lines[index][:80]))
        elif len(self.problems) == _MAX_PROBLEMS:
            self.problems.append(
                Problem(index + 1, gettext_noop("Too many problems; the rest are not listed."))
            )

    def read(self, heads: list[tuple[int, _Fields, int]]) -> None:
        lines = self.lines
        split, when, finish = self.split, self.when, self.finish
        start = -1  # the line of the message being read
        pending: tuple[dt.datetime, str, str, bool, bool] | None = None
        for index, fields, end in heads:
            parts = split(lines[index], fields, end)
            if parts is None:
                continue  # header-like, but this message's own text
            if start >= 0:
                finish(start, pending, index)
            else:
                self.before_first(index)
            start = index
            at = when(index, fields)
            pending = None if at is None else (at, *parts)
        if start >= 0:
            finish(start, pending, len(lines))

    def before_first(self, end: int) -> None:
        for i in range(end):
            if self.lines[i].strip(_STRIP):
                self.problem(i, gettext_noop("Text before the first message header."))

    def split(self, line: str, fields: _Fields, end: int) -> tuple[str, str, bool, bool] | None:
        """(sender, first line of text, whether it began with a left-to-right mark, whether
        it is a system line), or None when the line is not a header after all. iPhone marks
        system lines and attachments with U+200E."""
        rest = line[end:]
        k = rest.find(": ")
        j = rest.find(":\u200e")  # "Name:\u200e<附件：…>"
        if j >= 0 and (k < 0 or j < k):
            k = j
        if k > 0:
            sender = rest[:k].strip(_STRIP)
            # 'Ann changed the subject from "A: B" to "C"' names no sender.
            if sender and (
                _QUOTE.search(sender) is None
                or not (_RENAME.search(sender) or _OTHER.search(sender))
            ):
                body = rest[k + 2 :]
                marked = body[:1] == "\u200e" or rest[k + 1] == "\u200e"
                return sender, body.lstrip(" \u200e"), marked, False
        body = rest.strip(_STRIP)
        if not body:
            return None
        if self.ios and not (fields[_LRM] or rest[:1] == "\u200e" or _kind(body)):
            return None  # an iPhone header always names someone, else marks a system line
        return "", body, True, True

    def when(self, index: int, fields: _Fields) -> dt.datetime | None:
        key = (fields[_A], fields[_B], fields[_C])
        if key in self._dates:
            date = self._dates[key]
        else:
            date = self._dates[key] = _date(int(key[0]), int(key[1]), int(key[2]), self.order)
        if date is None:
            self.problem(
                index, gettext_noop("The date in this header is not a valid date; message skipped.")
            )
            return None
        hour, minute = int(fields[_H]), int(fields[_MI])
        second = int(fields[_S]) if fields[_S] else 0
        pre, post = fields[_PRE], fields[_POST]
        if pre or post:
            if hour > 12:
                self.problem(
                    index, gettext_noop("The hour is not a 12-hour clock hour; message skipped.")
                )
                return None
            if post:
                pm = post[0] in "Pp"
            elif pre == _NOON:
                pm = hour != 11  # 中午 runs 11:00-13:59: "中午12:10", "中午1:20"
            else:
                pm = pre in _PRE_PM
            if pm and hour < 12:
                hour += 12
            elif not pm and hour == 12:
                hour = 0
        if hour > 23 or minute > 59 or second > 59:
            self.problem(
                index, gettext_noop("The time in this header is not a valid time; message skipped.")
            )
            return None
        return dt.datetime(date[0], date[1], date[2], hour, minute, second, tzinfo=self.zone)

    def finish(
        self,
        start: int,
        pending: tuple[dt.datetime, str, str, bool, bool] | None,
        end: int,
    ) -> None:
        if pending is None:
            return  # its header was reported; its lines go with it
        at, sender, first, marked, system_line = pending
        media: list[str] = []
        if not system_line and (first[:1] == "<" or first.rstrip(_STRIP)[-1:] in _MEDIA_LAST):
            first = _take_media(first, media)
        if end - start > 1:
            text = "\n".join([first, *self.lines[start + 1 : end]]).strip()
        else:
            text = first.strip()
        if text.endswith(">"):
            for marker in _EDITED:
                if text.endswith(marker):
                    text = text[: -len(marker)].rstrip(" \u200e")
                    break
        system: SystemKind | None = None
        if system_line:
            system = _kind(text) or "other"
            sender = _actor(text, system)
        elif not media:
            if text[:1] in _RECALL_FIRST and len(text) < 80 and _is_recall(text):
                system = "recall"  # the sender stays: it was their message
            elif marked or text.startswith(_E2E):
                kind = _kind(text)
                if kind is not None and (marked or kind == "other"):
                    system = kind
                    sender = _actor(text, kind)  # iPhone names the chat, not who acted
        self.records.append(Record(start + 1, at, sender, text, system, media))


def _date(a: int, b: int, c: int, order: str) -> tuple[int, int, int] | None:
    if order == "dmy":
        d, mo, y = a, b, c
    elif order == "mdy":
        mo, d, y = a, b, c
    else:
        y, mo, d = a, b, c
    if y < 100:
        y += 2000
    if not (1970 <= y <= 2100 and 1 <= mo <= 12 and d >= 1):
        return None
    if mo == 2:
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        last = 29 if leap else 28
    else:
        last = 30 if mo in (4, 6, 9, 11) else 31
    return (y, mo, d) if d <= last else None


def _take_media(first: str, media: list[str]) -> str:
    """The first line of a message without its attachment; the name goes to `media`."""
    line = first.rstrip(_STRIP)
    if line in _OMITTED:
        media.append("")
        return ""
    if line.endswith("document omitted"):
        doc = _IOS_DOC.fullmatch(line)
        if doc is not None:
            media.append(doc.group("name").strip(_STRIP))
            return ""
    if line.startswith("<"):
        ios = _IOS_FILE.fullmatch(line)
        if ios is not None:
            media.append(ios.group("name").strip(_STRIP))
            return ios.group("rest")
    if line.endswith(")"):
        android = _ANDROID_FILE.fullmatch(line)
        if android is not None:
            media.append(android.group("name").strip(_STRIP))
            return ""
    return first


def _is_recall(text: str) -> bool:
    t = text.rstrip(".。 ").casefold()
    return t in _RECALL or t.startswith("this message was deleted by admin ")


def _kind(text: str) -> SystemKind | None:
    """What a system line says happened; None when it is no system line we know."""
    if _is_recall(text):
        return "recall"
    if _RENAME.search(text):
        return "rename"
    if _OTHER.search(text):
        return "other"
    if _JOIN.search(text):
        return "join"
    if _LEAVE.search(text):
        return "leave"
    return None


def _actor(text: str, kind: SystemKind) -> str:
    if kind not in ("join", "leave"):
        return ""
    m = _ACTOR.match(text)
    if m is None:
        return ""
    name = (m.group("en") or m.group("zh") or "").strip(_STRIP)
    if name.casefold() in _YOU or _QUOTE.search(name) is not None:
        return ""
    if any(word in name for word in (" added ", "邀请", "邀請", "添加", "新增")):
        return ""
    return name
