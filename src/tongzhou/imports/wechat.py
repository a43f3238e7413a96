"""WeChat chat exports, as the common third-party tools write them, to records.

WeChat itself exports nothing; groups bring what a desktop tool made of their history:

* CSV: WeChatMsg / MemoTrace (留痕) ("csv-wechatmsg", and its older nine-column form
  "csv-wechatmsg-old"), PyWxDump ("csv-pywxdump", older "csv-pywxdump-old") and WeFlow's
  WeClone CSV ("csv-weflow"). The header row says which.
* Plain text: WeChatMsg/MemoTrace and WeFlow ("txt-wechatmsg", "txt-weflow": a
  ``2023-01-01 12:00:00 张三`` line, the message, a blank line), WechatExporter
  ("txt-wechatexporter": ``张三 (2023-01-01 12:00:00):text``) and the name-first form
  ("txt-name-first": ``张三 2023-01-01 12:00:00`` or ``张三(wxid_xxx) 2023-01-01 12:00:00``).
* HTML: WeChatMsg/MemoTrace and WechatExporter, in wechat_html.py.

The sender rules, what is recognised and what is not are in docs/import.md ("WeChat").
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext_noop  # the import page translates these

from tongzhou.imports.records import FormatError, Parsed, Problem, Record, SystemKind

SNIFF_CHARS = 65536
SNIFF_LINES = 50
DETECT_LINES = 400  # lines looked at to tell the plain-text forms apart

# --- shared helpers (wechat_html.py uses them too) ---------------------------------------

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TAG = re.compile(r"<[^>]*>")
_REVOKE_EDIT = re.compile(r"\s*<a href=\"weixin://revoke_edit_click\">.*?</a>", re.S)
_WALL = re.compile(
    r"\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:\.\d+)?\s*([AaPp][Mm])?\s*$"
)

# Words of system lines, in the languages the WeChat clients write them.
_RECALL = ("撤回了一条消息", "撤回了一則訊息", "撤回了一条信息", "recalled a message")
_RENAME = ("修改群名为", "修改群名為", "修改群組名稱為", "changed the group name to")
_LEAVE = (
    "移出了群聊",
    "移出群聊",
    "退出了群聊",
    "移出了群組",
    "退出了群組",
    "from the group chat",
    "left the group chat",
)
_JOIN = (
    "加入了群聊",
    "加入群聊",
    "加入了群組",
    "joined the group chat",
    "to the group chat",
    "to join the group chat",
)


def system_kind(text: str) -> SystemKind:
    """What a WeChat system line says happened."""
    if any(w in text for w in _RECALL):
        return "recall"
    if any(w in text for w in _RENAME):
        return "rename"
    if any(w in text for w in _LEAVE):
        return "leave"
    if any(w in text for w in _JOIN):
        return "join"
    return "other"


def clean_markup(text: str) -> str:
    """A system message's text without WeChat's CDATA, links and tags."""
    if "<" in text or "&" in text:
        text = text.replace("<![CDATA[", "").replace("]]>", "")
        text = _REVOKE_EDIT.sub("", text)
        text = _TAG.sub("", text)
        text = html.unescape(text)
    return text.strip()


def wall_clock(value: str, zone: dt.tzinfo) -> dt.datetime | None:
    """ "2023-01-01 12:00:00" (or 2023/1/1 12:00, ISO with an offset, 03:04:05 PM) in zone."""
    if len(value) == 19 and value[4] == "-" and value[10] in " T":
        try:
            return dt.datetime.fromisoformat(value).replace(tzinfo=zone)
        except ValueError:
            return None
    if len(value) > 19 and value[4] == "-" and value[10] == "T":
        try:  # ISO 8601 with an offset (WeFlow)
            at = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return at if at.tzinfo is not None else at.replace(tzinfo=zone)
    m = _WALL.match(value)
    if m is None:
        return None
    y, mo, d, h, mi = (int(g) for g in m.group(1, 2, 3, 4, 5))
    s = int(m.group(6) or 0)
    ampm = (m.group(7) or "").lower()
    if ampm and not 1 <= h <= 12:
        return None
    if ampm == "pm" and h != 12:
        h += 12
    elif ampm == "am" and h == 12:
        h = 0
    try:
        return dt.datetime(y, mo, d, h, mi, s, tzinfo=zone)
    except ValueError:
        return None


def unix_time(value: str, zone: dt.tzinfo) -> dt.datetime | None:
    """Unix seconds (or milliseconds, 13 digits) as an aware time in zone."""
    if len(value) == 10 and value.isdigit() and value.isascii():  # the usual case, fast
        return dt.datetime.fromtimestamp(int(value), tz=zone)
    value = value.strip()
    if not value.isdigit() or not 9 <= len(value) <= 13 or not value.isascii():
        return None
    seconds = int(value)
    if len(value) == 13:
        seconds //= 1000
    elif len(value) > 11:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=zone)


def basename(path: str) -> str:
    """The file name of a path as an export wrote it (Windows or POSIX separators)."""
    path = path.strip()
    if not path or path.startswith(("http://", "https://")):
        return ""
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def me_word(sample: str) -> str:
    """What to call the exporting user when the file has no name for them."""
    return "我" if _CJK.search(sample) else "Me"


def other_word(sample: str) -> str:
    """What to call the other person of a one-to-one chat when the file has no name."""
    return "对方" if _CJK.search(sample) else "Them"


def excerpt(line: str) -> str:
    return line[:80]


class SourceLines:
    """The file's lines, split only when a problem needs an excerpt."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: list[str] | None = None

    def __getitem__(self, number: int) -> str:
        if self._lines is None:
            self._lines = self._text.split("\n")
        if 1 <= number <= len(self._lines):
            return excerpt(self._lines[number - 1])
        return ""


# --- sniffing ------------------------------------------------------------------------------

_WHATSAPP = (
    re.compile(
        r"^\u200e?\d{1,4}[./-]\d{1,2}[./-]\d{1,4},?\s\d{1,2}[:.]\d{2}(?:[:.]\d{2})?"
        r"(?:\s?[APap]\.?\s?[Mm]\.?)?\s[-–]\s"
    ),
    re.compile(
        r"^\u200e?\[\d{1,4}[./-]\d{1,2}[./-]\d{1,4},?\s\d{1,2}[:.]\d{2}(?:[:.]\d{2})?"
        r"(?:\s?[APap]\.?\s?[Mm]\.?)?\]\s"
    ),
)


def sniff(text: str) -> bool:
    """Does this look like a WeChat export (CSV, plain text or HTML of a known tool)?"""
    head = text[:SNIFF_CHARS].lstrip("\ufeff \t\n")
    if not head or head[0] in "{[":
        return False  # JSON (Telegram) or a WhatsApp iOS line
    if head[0] == "<":
        from tongzhou.imports import wechat_html

        return wechat_html.sniff_html(head)
    first = head.split("\n", 1)[0]
    if _csv_layout(first) is not None:
        return True
    lines = head.split("\n")[:SNIFF_LINES]
    if any(p.match(line) for line in lines for p in _WHATSAPP):
        return False
    found = _detect_txt(lines)
    if found is None:
        return False
    # One header line could be chance; a real export shows several, or starts with one.
    return found[1] >= 2 or _detect_txt(lines[:1]) is not None


# --- dispatch ------------------------------------------------------------------------------


def parse(text: str, *, zone: dt.tzinfo, **options: object) -> Parsed:
    """Read a WeChat export (any variant sniff accepts); see the module docstring."""
    body = text.lstrip("\ufeff")
    head = body.lstrip(" \t\n")
    if head.startswith("<"):
        from tongzhou.imports import wechat_html

        return wechat_html.parse_html(body, zone=zone)
    first = body.split("\n", 1)[0]
    layout = _csv_layout(first)
    if layout is not None:
        return _parse_csv(body, zone, layout)
    lines = body.split("\n")
    found = _detect_txt(lines[:DETECT_LINES])
    if found is not None:
        return _parse_txt(lines, zone, found[0])
    if first.count(",") >= 2 and _HEADERISH.match(first):
        raise FormatError(
            gettext_noop("Unknown CSV header: this is not a WeChat export we know."), 1
        )
    raise FormatError(gettext_noop("No WeChat message could be read in the first lines."), 1)


# --- CSV -----------------------------------------------------------------------------------


_HEADERISH = re.compile(r"^[\w \"'.()\-\ufeff]+(?:,[\w \"'.()\-]+){2,}$")


@dataclass(frozen=True)
class _Layout:
    variant: str
    columns: tuple[str, ...]


_WECHATMSG_COLUMNS = (
    "localId",
    "TalkerId",
    "Type",
    "SubType",
    "IsSender",
    "CreateTime",
    "Status",
    "StrContent",
    "StrTime",
    "Remark",
    "NickName",
    "Sender",
)
_LAYOUTS = (
    _Layout("csv-wechatmsg", _WECHATMSG_COLUMNS),
    _Layout("csv-wechatmsg-old", _WECHATMSG_COLUMNS[:9]),
    _Layout(
        "csv-pywxdump",
        (
            "id",
            "MsgSvrID",
            "type_name",
            "is_sender",
            "talker",
            "room_name",
            "msg",
            "src",
            "CreateTime",
        ),
    ),
    _Layout(
        "csv-pywxdump-old",
        (
            "id",
            "MsgSvrID",
            "type_name",
            "is_sender",
            "talker",
            "room_name",
            "content",
            "CreateTime",
        ),
    ),
    _Layout(
        "csv-weflow",
        ("id", "MsgSvrID", "type_name", "is_sender", "talker", "msg", "src", "CreateTime"),
    ),
)
_BY_HEADER = {tuple(c.lower() for c in layout.columns): layout for layout in _LAYOUTS}


def _csv_layout(first_line: str) -> _Layout | None:
    if "," not in first_line or len(first_line) > 400:
        return None
    try:
        cells = next(csv.reader([first_line]))
    except (csv.Error, StopIteration):
        return None
    return _BY_HEADER.get(tuple(c.strip().strip("\ufeff").lower() for c in cells))


@dataclass
class _Out:
    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _parse_csv(text: str, zone: dt.tzinfo, layout: _Layout) -> Parsed:
    out = _Out()
    lines = SourceLines(text)
    reader = csv.reader(io.StringIO(text))
    next(reader)  # the header, already recognised
    sample = text[:SNIFF_CHARS]
    if layout.variant.startswith("csv-wechatmsg"):
        names = len(layout.columns) > 9
        row_handler = _WeChatMsgRow(zone, me_word(sample), other_word(sample), names, out).row
    else:
        index = {name: i for i, name in enumerate(layout.columns)}
        row_handler = _PyWxDumpRow(zone, me_word(sample), index, out).row
    previous = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            start = previous + 1
            out.problems.append(Problem(start, gettext_noop("Unreadable CSV row"), lines[start]))
            previous = reader.line_num
            continue
        start = previous + 1
        previous = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        problem = row_handler(row, start)
        if problem:
            out.problems.append(Problem(start, problem, lines[start]))
    return Parsed("wechat", layout.variant, out.records, out.problems)


# Tags of WeChat's message XML, read with regular expressions (never an XML parser: the
# content is untrusted and often not well-formed).
_XML_TAGS = {
    tag: re.compile(rf"<{tag}>(.*?)</{tag}>", re.S)
    for tag in ("title", "des", "url", "svrid", "type", "replacemsg", "plain", "template")
}
_REFERMSG = re.compile(r"<refermsg>(.*?)</refermsg>", re.S)
_ATTR = re.compile(r"""\b(poiname|label)\s*=\s*"([^"]*)\"""")
_LINK = re.compile(r"<link\b[^>]*\bname=\"([^\"]+)\"[^>]*>(.*?)</link>", re.S)
_NICK = re.compile(r"<nickname>(.*?)</nickname>", re.S)


def xml_text(content: str, tag: str, start: int = 0) -> str:
    m = _XML_TAGS[tag].search(content, start)
    if m is None:
        return ""
    value = m.group(1).strip()
    if value.startswith("<![CDATA[") and value.endswith("]]>"):
        return value[9:-3]
    return html.unescape(value)


def _sysmsg_text(content: str) -> tuple[str, SystemKind]:
    """Text and kind of a type-10002 system message (XML)."""
    if "revokemsg" in content:
        text = clean_markup(xml_text(content, "replacemsg"))
        return text, "recall"
    text = xml_text(content, "plain")
    if not text:
        text = xml_text(content, "template")
        for m in _LINK.finditer(content):
            names = "、".join(clean_markup(n) for n in _NICK.findall(m.group(2)))
            text = text.replace(f"${m.group(1)}$", names)
    text = clean_markup(text) if text else ""
    return text, system_kind(text)


class _WeChatMsgRow:
    """One row of WeChatMsg/MemoTrace's CSV: localId,TalkerId,Type,SubType,IsSender,
    CreateTime,Status,StrContent,StrTime[,Remark,NickName,Sender]."""

    def __init__(self, zone: dt.tzinfo, me: str, other: str, names: bool, out: _Out) -> None:
        self.zone = zone
        self.me = me
        self.other = other
        self.names = names  # the nine-column layout's rows carry other columns past the header
        self.out = out

    def row(self, row: list[str], line: int) -> str:
        n = len(row)
        if n < 8:
            return gettext_noop("Row has too few columns")
        at = unix_time(row[5], self.zone)
        if at is None:
            at = wall_clock(row[8], self.zone) if n > 8 else None
            if at is None:
                return gettext_noop("Row has no readable time")
        typ = row[2].strip()
        content = row[7]
        ref = row[0].strip()
        if typ == "10000" or typ == "10002":
            if typ == "10000":
                text = clean_markup(content)
                kind = system_kind(text)
            else:
                text, kind = _sysmsg_text(content)
            if text:
                self.out.records.append(Record(line, at, "", text, kind, ref=ref))
            return ""
        sender_id = sender = ""
        if self.names:
            sender_id = row[11].strip() if n > 11 else ""
            sender = (row[9].strip() if n > 9 else "") or (row[10].strip() if n > 10 else "")
        if not sender:
            sender = sender_id or (self.me if row[4].strip() == "1" else self.other)
        if typ == "1":
            if sender_id and content.startswith(sender_id + ":\n"):
                content = content[len(sender_id) + 2 :]
            if not content.strip():
                return gettext_noop("Message without text")
            self.out.records.append(Record(line, at, sender, content, ref=ref))
            return ""
        if typ in _MEDIA_TYPES:
            self.out.records.append(Record(line, at, sender, "", media=[""], ref=ref))
            return ""
        if typ == "49":
            return self._app(row[3].strip(), content, line, at, sender, ref)
        if typ == "48":
            place = " ".join(v for _, v in _ATTR.findall(content) if v)
            if not place:
                return gettext_noop("Location message without a place name")
            self.out.records.append(Record(line, at, sender, html.unescape(place), ref=ref))
            return ""
        if content.strip() and not content.lstrip().startswith("<"):
            self.out.records.append(Record(line, at, sender, content, ref=ref))
            return ""
        return f"Unsupported WeChat message type {typ[:8]}"

    def _app(
        self, sub: str, content: str, line: int, at: dt.datetime, sender: str, ref: str
    ) -> str:
        """Type 49: files, links, quotes/replies (57), merged forwards, transfers."""
        refer = _REFERMSG.search(content)
        head = content[: refer.start()] if refer else content
        if not sub or sub == "0":
            sub = xml_text(head, "type")
        title = xml_text(head, "title")
        if sub == "57":
            if not title:
                return gettext_noop("Reply without its text (the export left it out)")
            reply_to = ""
            if refer:
                reply_to = xml_text(refer.group(1), "svrid")
            self.out.records.append(Record(line, at, sender, title, ref=ref, reply_to_ref=reply_to))
            return ""
        if sub in ("6", "74"):
            self.out.records.append(Record(line, at, sender, "", media=[title], ref=ref))
            return ""
        if not title:
            return gettext_noop("App message without a title (the export left its content out)")
        text = title
        if sub == "19":
            des = xml_text(head, "des")
            text = f"{title}\n{des}" if des else title
        elif sub == "5":
            url = xml_text(head, "url")
            text = f"{title}\n{url}" if url else title
        self.out.records.append(Record(line, at, sender, text, ref=ref))
        return ""


_MEDIA_TYPES = frozenset(("3", "34", "43", "47", "62"))

# PyWxDump's type_name (Chinese) and WeFlow's, to what a row holds.
_PY_TEXT = frozenset(("文本", "text", "粘贴的文本"))
_PY_MEDIA = frozenset(
    (
        "图片",
        "image",
        "语音",
        "voice",
        "视频",
        "video",
        "动画表情",
        "表情",
        "sticker",
        "emoji",
        "文件",
        "文件(猜)",
        "file",
        "用户上传的gif表情",
    )
)
_PY_VOICE = frozenset(("语音", "voice"))
_PY_FILE = frozenset(("文件", "文件(猜)", "file"))
_PY_REPLY = frozenset(("引用回复", "quote", "reply"))
_PY_SYSTEM_PREFIXES = ("系统通知", "消息撤回", "拍一拍", "邀请加群", "system", "撤回")
_PY_QUOTE = re.compile(r"\n\n\[引用\]\([^)\n]*\)[^\n]*:.*\Z", re.S)
_PY_LINK = re.compile(r"<a href=\"([^\"]*)\">点击查看详情</a>")
_PY_TRANSCRIPT = re.compile(r"翻译结果：(.*)\Z", re.S)


class _PyWxDumpRow:
    """One row of PyWxDump's CSV (id,MsgSvrID,type_name,is_sender,talker,room_name,msg,
    src,CreateTime; older: ...,content,CreateTime) or WeFlow's WeClone CSV."""

    def __init__(self, zone: dt.tzinfo, me: str, index: dict[str, int], out: _Out) -> None:
        self.zone = zone
        self.me = me
        self.out = out
        self.i_ref = index["MsgSvrID"]
        self.i_type = index["type_name"]
        self.i_sender = index["is_sender"]
        self.i_talker = index["talker"]
        self.i_time = index["CreateTime"]
        self.i_msg = index.get("msg", index.get("content", -1))
        self.i_src = index.get("src", -1)
        self.old = "content" in index
        self.width = len(index)

    def row(self, row: list[str], line: int) -> str:
        if len(row) < self.width:
            return gettext_noop("Row has too few columns")
        value = row[self.i_time].strip()
        at = unix_time(value, self.zone) or wall_clock(value, self.zone)
        if at is None:
            return gettext_noop("Row has no readable time")
        msg = row[self.i_msg]
        src = row[self.i_src] if self.i_src >= 0 else ""
        if self.old and msg.startswith("{"):
            msg, src = _old_content(msg)
        type_name = row[self.i_type].strip().lower()
        ref = row[self.i_ref].strip()
        if ref in ("0", "None"):
            ref = ""
        if type_name.startswith(_PY_SYSTEM_PREFIXES):
            text = clean_markup(msg)
            if not text:
                return ""
            kind = system_kind(text)
            if kind == "other" and "撤回" in type_name:
                kind = "recall"
            self.out.records.append(Record(line, at, "", text, kind, ref=ref))
            return ""
        sender = row[self.i_talker].strip()
        if not sender:
            sender = self.me if row[self.i_sender].strip() == "1" else ""
        if not sender:
            return gettext_noop("Row has no sender")
        if type_name in _PY_MEDIA:
            name = basename(src)
            if type_name in _PY_FILE and not name:
                name = msg.strip() if "\n" not in msg else ""
            text = ""
            if type_name in _PY_VOICE:
                m = _PY_TRANSCRIPT.search(msg)
                text = m.group(1).strip() if m else ""
            self.out.records.append(Record(line, at, sender, text, media=[name], ref=ref))
            return ""
        if type_name in _PY_REPLY:
            msg = _PY_QUOTE.sub("", msg)
        elif type_name not in _PY_TEXT:
            msg = _PY_LINK.sub(r"\1", msg)
            if msg.lstrip().startswith("<"):
                return f"Unsupported WeChat message type {type_name[:20]}"
        if not msg.strip():
            return gettext_noop("Message without text")
        self.out.records.append(Record(line, at, sender, msg, ref=ref))
        return ""


def _old_content(cell: str) -> tuple[str, str]:
    """PyWxDump before 2.4.9 wrote content as JSON {"src": ..., "msg": ...}."""
    try:
        value = json.loads(cell)
    except ValueError:
        return cell, ""
    if not isinstance(value, dict):
        return cell, ""
    return str(value.get("msg", "") or ""), str(value.get("src", "") or "")


# --- plain text ----------------------------------------------------------------------------

_DATE_TIME = r"(\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2})"
_TXT_TIME_FIRST = re.compile(rf"^{_DATE_TIME}(?: (.*))?$")
_TXT_NAME_FIRST = re.compile(rf"^(\S.*?)\s+{_DATE_TIME}\s*$")
_TXT_EXPORTER = re.compile(rf"^(.*?) \({_DATE_TIME}(?: ?([AaPp][Mm]))?\):(.*)$")
_TXT_EXPORTER_SYSTEM = re.compile(r"^(?:系统消息|System Message)[：:](.*)$")
_TXT_TITLE = re.compile(r"微信聊天记录|WeChat Chat History")
_WXID_SUFFIX = re.compile(r"\s*[(（]wxid_[^()（）\s]+[)）]$")
_QUOTE_LINE = re.compile(r"^引用[:：]")
_DASHES = re.compile(r"^(?:- ?){5,}$")
_SYSTEM_NAMES = frozenset(("", "系统", "系统消息", "System", "system"))

# A message that is only one of these lines was an attachment the export left out.
_PLACEHOLDER = re.compile(
    r"^\[(?:图片|照片|Photo|Image|视频|Video|语音|语音消息|Audio|Voice|音频|表情|表情包|"
    r"动画表情|Emoji|Sticker|文件|File)(?:\s+\d[\d:.]*\S*)?\]$"
)
_PLACEHOLDER_FILE = re.compile(r"^\[(?:文件|File)(?:[:：]\s*(.+?)\]|\]\s*(.+))$")


@dataclass(frozen=True)
class _TxtForm:
    kind: str  # "time-first", "name-first", "exporter"
    blank_separated: bool
    quoted_names: bool


def _detect_txt(lines: list[str]) -> tuple[_TxtForm, int] | None:
    """Which plain-text form the first lines are in, if any, and how many headers it saw."""
    counts = {"time-first": 0, "name-first": 0, "exporter": 0}
    after_blank = {"time-first": 0, "name-first": 0}
    quoted = 0
    previous_blank = True
    for line in lines:
        if m := _TXT_TIME_FIRST.match(line):
            counts["time-first"] += 1
            after_blank["time-first"] += previous_blank
            rest = (m.group(2) or "").strip()
            quoted += len(rest) >= 2 and rest[0] == rest[-1] == "'"
        elif _TXT_EXPORTER.match(line):
            counts["exporter"] += 1
        elif _TXT_NAME_FIRST.match(line):
            counts["name-first"] += 1
            after_blank["name-first"] += previous_blank
        previous_blank = not line.strip()
    kind = max(counts, key=lambda k: counts[k])
    found = counts[kind]
    if found == 0:
        return None
    if kind == "exporter":
        return _TxtForm(kind, False, False), found
    blank = after_blank[kind] >= 0.8 * found
    return _TxtForm(kind, blank, quoted * 2 > found), found


@dataclass
class _Pending:
    line: int
    at: dt.datetime
    sender: str
    body: list[str]


def _parse_txt(lines: list[str], zone: dt.tzinfo, form: _TxtForm) -> Parsed:
    records: list[Record] = []
    problems: list[Problem] = []
    pending: _Pending | None = None
    last_at: dt.datetime | None = None
    previous_blank = True
    header_seen = False
    time_first = form.kind == "time-first"
    name_first = form.kind == "name-first"
    exporter = form.kind == "exporter"

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            record = _txt_record(pending, time_first)
            if record is not None:
                records.append(record)
        pending = None

    for number, line in enumerate(lines, 1):
        m: re.Match[str] | None = None
        if exporter:
            m = _TXT_EXPORTER.match(line)
        elif previous_blank or not form.blank_separated:
            m = (_TXT_TIME_FIRST if time_first else _TXT_NAME_FIRST).match(line)
        previous_blank = not line.strip()
        if m is not None:
            if exporter:
                at = _txt_time(m.group(2), m.group(3), zone)
                name, first = m.group(1).strip(), [m.group(4)]
            elif name_first:
                at = _txt_time(m.group(2), None, zone)
                name, first = _WXID_SUFFIX.sub("", m.group(1)).strip(), []
            else:
                at = _txt_time(m.group(1), None, zone)
                name, first = (m.group(2) or "").strip(), []
                if form.quoted_names and len(name) >= 2 and name[0] == name[-1] == "'":
                    name = name[1:-1].strip()
            if at is None:
                problems.append(
                    Problem(
                        number,
                        gettext_noop("Message header with an impossible time"),
                        excerpt(line),
                    )
                )
                if pending is not None:
                    pending.body.append(line)
                continue
            flush()
            header_seen = True
            last_at = at
            pending = _Pending(number, at, name, first)
            continue
        if exporter and (s := _TXT_EXPORTER_SYSTEM.match(line)):
            flush()
            if last_at is None:
                problems.append(
                    Problem(
                        number, gettext_noop("System line before any dated message"), excerpt(line)
                    )
                )
                continue
            text = s.group(1).strip()
            if text:
                records.append(Record(number, last_at, "", text, system_kind(text)))
            continue
        if pending is not None:
            pending.body.append(line)
        elif line.strip() and not (not header_seen and _TXT_TITLE.search(line)):
            problems.append(
                Problem(number, gettext_noop("Line outside any message"), excerpt(line))
            )
    flush()
    variant = {
        "time-first": "txt-weflow" if form.quoted_names else "txt-wechatmsg",
        "name-first": "txt-name-first",
        "exporter": "txt-wechatexporter",
    }[form.kind]
    return Parsed("wechat", variant, records, problems)


def _txt_time(value: str, ampm: str | None, zone: dt.tzinfo) -> dt.datetime | None:
    return wall_clock(f"{value} {ampm}" if ampm else value, zone)


def _txt_record(p: _Pending, time_first: bool) -> Record | None:
    body = p.body
    while body and not body[-1].strip():
        body.pop()
    start = 0
    while start < len(body) and not body[start].strip():
        start += 1
    body = body[start:]
    if not body:
        if not p.sender:
            return None
        if time_first:  # WeChatMsg writes system lines as "time text" with no body
            return Record(p.line, p.at, "", p.sender, system_kind(p.sender))
        return None
    if time_first and p.sender in _SYSTEM_NAMES:
        text = "\n".join(body).strip()
        return Record(p.line, p.at, "", text, system_kind(text))
    quote = next((i for i in range(len(body) - 1, 0, -1) if _QUOTE_LINE.match(body[i])), 0)
    if quote:
        body = body[:quote]  # WeChatMsg's "引用:name:quoted text" under a reply
    elif len(body) >= 3 and body[0].startswith("「") and _DASHES.match(body[1].strip()):
        body = body[2:]  # WechatExporter's 「name：quoted」 / - - - - / reply
    if len(body) == 1:
        media = placeholder_media(body[0])
        if media is not None:
            return Record(p.line, p.at, p.sender, "", media=media)
    return Record(p.line, p.at, p.sender, "\n".join(body))


def placeholder_media(line: str) -> list[str] | None:
    """The attachment a one-line placeholder such as "[图片]" or "[文件] a.pdf" stands for."""
    only = line.strip()
    if not only.startswith("[") or len(only) > 300:
        return None
    f = _PLACEHOLDER_FILE.match(only)
    if f:
        return [(f.group(1) or f.group(2) or "").strip()]
    if _PLACEHOLDER.match(only):
        return [""]
    return None
