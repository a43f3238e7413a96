"""WeChat HTML exports, read with the standard library's html.parser.

* WeChatMsg / MemoTrace ("html-wechatmsg"): the page carries the messages as a JavaScript
  array, ``const chatMessages = [{ type:1, text: '...',is_send:0, ...,timestamp:1690000000,
  is_chatroom:1,displayname:'张三'}, ...];`` (text HTML-escaped, then JavaScript-escaped).
* WechatExporter ("html-wechatexporter", iOS backups): one ``<div class="msg chat-left"
  msgid=".." msgtype="..">`` per message, the name and time in ``div.nt-box``, the message
  in ``div.content-box``; system notices are ``div.msg.chat-notice`` without a time.

Line numbers come from the parser's getpos().
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.utils.translation import gettext_noop  # the import page translates these

from tongzhou.imports.records import FormatError, Parsed, Problem, Record
from tongzhou.imports.wechat import (
    SourceLines,
    basename,
    clean_markup,
    excerpt,
    me_word,
    other_word,
    placeholder_media,
    system_kind,
    unix_time,
    wall_clock,
)

_WECHATMSG_MARK = re.compile(r"\bchatMessages\s*=\s*\[")
_EXPORTER_MARK = re.compile(r"<div\s+class=\"msg\s[^\"]*\"\s+msgid=")


def sniff_html(head: str) -> bool:
    return bool(_WECHATMSG_MARK.search(head) or _EXPORTER_MARK.search(head))


def parse_html(text: str, *, zone: dt.tzinfo) -> Parsed:
    if _WECHATMSG_MARK.search(text):
        return _parse_wechatmsg(text, zone)
    if _EXPORTER_MARK.search(text):
        return _parse_exporter(text, zone)
    raise FormatError(
        gettext_noop(
            "This HTML file is not a WeChat export we know (WeChatMsg/MemoTrace or WechatExporter)."
        ),
        1,
    )


def _feed(parser: HTMLParser, text: str) -> None:
    try:
        parser.feed(text)
        parser.close()
    except Exception as e:  # html.parser's few assertions on broken markup; never let them out
        raise FormatError(gettext_noop("The HTML could not be read."), parser.getpos()[0]) from e


# --- WeChatMsg / MemoTrace -----------------------------------------------------------------


class _Scripts(HTMLParser):
    """Finds the <script> holding ``chatMessages = [``: its text and where it starts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._in_script = False
        self._chunks: list[str] = []
        self._start = (0, 0)
        self.found: tuple[int, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and self.found is None:
            self._in_script = True
            self._chunks = []

    def handle_data(self, data: str) -> None:
        if self._in_script:
            if not self._chunks:
                self._start = self.getpos()
            self._chunks.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script:
            self._in_script = False
            data = "".join(self._chunks)
            if self.found is None and _WECHATMSG_MARK.search(data):
                self.found = (self._start[0], data)


_OBJECT = re.compile(r"""\{(?:[^'"{}]++|'(?:[^'\\]++|\\.)*+'|"(?:[^"\\]++|\\.)*+")*+\}""", re.S)
_PAIR = re.compile(
    r"""([A-Za-z_]\w*)\s*:\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^,'"{}]*)""", re.S
)
_BETWEEN = re.compile(r"[\s,]*")
_NEXT = re.compile(r"[{\]]")
_JS_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.S)
_JS_SIMPLE = {"n": "\n", "r": "\n", "t": "\t", "b": "", "f": "", "v": "", "0": ""}
_EMOJI_IMG = re.compile(r"<img\b[^>]*?\bid=\"([^\"]*)\"[^>]*>")


def _js_unescape(m: re.Match[str]) -> str:
    code = m.group(1)
    if len(code) > 1:
        return chr(int(code[1:], 16))
    return _JS_SIMPLE.get(code, code)


def _js_string(value: str) -> str:
    """A JavaScript literal as WeChatMsg wrote it (escaped for HTML, then for JS) to text."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
        if "\\" in value:
            value = _JS_ESCAPE.sub(_js_unescape, value)
    else:
        value = value.strip()
    if "<" in value:  # built-in emoji were swapped for <img id="微笑" class="emoji_img">
        value = _EMOJI_IMG.sub(lambda m: "[" + "".join(m.group(1).split()) + "]", value)
    if "&" in value:
        value = html.unescape(value)
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _parse_wechatmsg(text: str, zone: dt.tzinfo) -> Parsed:
    scripts = _Scripts()
    _feed(scripts, text)
    if scripts.found is None:
        raise FormatError(
            gettext_noop("The page has no chatMessages list (not a WeChatMsg export)."), 1
        )
    first_line, data = scripts.found
    records: list[Record] = []
    problems: list[Problem] = []
    mark = _WECHATMSG_MARK.search(data)
    if mark is None:  # cannot happen: found only holds a script with the mark
        raise FormatError(
            gettext_noop("The page has no chatMessages list (not a WeChatMsg export)."), 1
        )
    sample = text[:65536]
    me, other = me_word(sample), other_word(sample)
    line_at, pos_at = first_line, 0
    clock: dt.datetime | None = None  # old exports mark time with {type:0, text:'<time>'}
    pos = mark.end()
    end = len(data)
    while True:
        gap = _BETWEEN.match(data, pos)
        pos = gap.end() if gap else pos
        if pos >= end or data[pos] == "]":
            break
        line_at += data.count("\n", pos_at, pos)
        pos_at = pos
        found = _OBJECT.match(data, pos) if data[pos] == "{" else None
        if found is None:
            problems.append(
                Problem(line_at, gettext_noop("Unreadable message entry"), excerpt(data[pos:]))
            )
            nxt = _NEXT.search(data, pos + 1)
            if nxt is None:
                break
            pos = nxt.start()
            continue
        fields = {m.group(1): m.group(2) for m in _PAIR.finditer(found.group())}
        pos = found.end()
        record, clock, problem = _wechatmsg_record(fields, line_at, zone, clock, me, other)
        if record is not None:
            records.append(record)
        elif problem:
            problems.append(Problem(line_at, problem, excerpt(found.group())))
    return Parsed("wechat", "html-wechatmsg", records, problems)


def _wechatmsg_record(
    fields: dict[str, str],
    line: int,
    zone: dt.tzinfo,
    clock: dt.datetime | None,
    me: str,
    other: str,
) -> tuple[Record | None, dt.datetime | None, str]:
    """One entry of chatMessages: (record or None, the running clock, a problem or "")."""
    typ = fields.get("type", "").strip()
    text = _js_string(fields.get("text", "''"))
    stamp = fields.get("timestamp")
    at = unix_time(stamp, zone) if stamp is not None else None
    if typ == "0":
        if at is None:
            told = wall_clock(text.strip(), zone)
            if told is not None:
                return None, told, ""  # a time divider of the older layout
        at = at or clock
        if at is None:
            return None, clock, "System message without a time"
        text = clean_markup(text)
        if not text:
            return None, at, ""
        return Record(line, at, "", text, system_kind(text)), at, ""
    if at is None:
        at = clock
        if at is None:
            return None, clock, "Message without a time"
    sent = fields.get("is_send", "").strip().lower() in ("1", "true")
    sender = _js_string(fields.get("displayname", "''")).strip() or (me if sent else other)
    media: list[str] = []
    sub = fields.get("sub_type", "").strip()
    if typ == "1" or typ == "50":
        pass
    elif typ in ("3", "34", "43", "47"):
        media, text = [basename(text)], ""
    elif typ == "49":
        if sub == "6":
            name = _js_string(fields.get("file_name", "''")).strip()
            media, text = [name or basename(text)], ""
        elif sub == "5":
            title = _js_string(fields.get("title", "''")).strip()
            url = _js_string(fields.get("url", "''")).strip()
            text = "\n".join(p for p in (title, url) if p)
        elif sub == "3":
            text = _js_string(fields.get("title", "''")).strip()
    if not text.strip() and not media:
        return None, at, "Message without content"
    return Record(line, at, sender, text, media=media), at, ""


# --- WechatExporter ------------------------------------------------------------------------

_DASHES = re.compile(r"^(?:-\s?){5,}$")
_SYSTEM_PREFIX = re.compile(r"^(?:系统消息|System Message)[：:]\s*")
_SKIP_SPANS = frozenset(("refermsg", "app-name"))
_NOT_MEDIA_IMG = frozenset(("avatar", "app-icon"))


@dataclass
class _Message:
    order: int
    line: int
    depth: int
    ref: str
    msgtype: str
    system: bool
    at: dt.datetime | None = None
    nt_depth: int = -1
    content_depth: int = -1
    appinfo_depth: int = -1
    name: list[str] = field(default_factory=list)
    time: list[str] = field(default_factory=list)
    segments: list[list[str]] = field(default_factory=list)
    spans: list[str] = field(default_factory=list)  # open spans: "name", "text" or "skip"
    skip: int = 0  # open <video>/<audio> and skipped spans
    media: list[str] = field(default_factory=list)
    pictures: list[str] = field(default_factory=list)  # sticker, or a link card's thumbnail
    hrefs: list[str] = field(default_factory=list)

    @property
    def collecting(self) -> bool:
        return (self.content_depth >= 0 or self.system) and self.skip == 0 and "text" in self.spans


class _Exporter(HTMLParser):
    def __init__(self, zone: dt.tzinfo, lines: SourceLines) -> None:
        super().__init__(convert_charrefs=True)
        self.zone = zone
        self.lines = lines
        self.depth = 0
        self.open: list[_Message] = []
        self.done: list[tuple[int, Record]] = []
        self.problems: list[Problem] = []
        self.last_at: dt.datetime | None = None
        self.count = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        cls = a.get("class", "").split()
        cur = self.open[-1] if self.open else None
        if tag == "div":
            self.depth += 1
            if "msg" in cls and "msgid" in a:
                self.count += 1
                system = "chat-notice" in cls
                msgid = a["msgid"].split()
                self.open.append(
                    _Message(
                        self.count,
                        self.getpos()[0],
                        self.depth,
                        msgid[0] if msgid else "",
                        a.get("msgtype", ""),
                        system,
                        at=self.last_at if system else None,
                    )
                )
            elif cur is not None and "nt-box" in cls:
                cur.nt_depth = self.depth
            elif cur is not None and "content-box" in cls:
                cur.content_depth = self.depth
            elif cur is not None and "appinfo" in cls:
                cur.appinfo_depth = self.depth
                cur.skip += 1
            return
        if cur is None:
            return
        if tag == "a" and cur.content_depth >= 0 and cur.skip == 0:
            cur.hrefs.append(a.get("href", ""))
        if tag in ("span", "a"):
            if cur.nt_depth >= 0:
                cur.spans.append("name")
            elif cur.skip > 0:
                cur.spans.append("inert")
            elif any(c in _SKIP_SPANS for c in cls):
                cur.skip += 1
                cur.spans.append("skip")
            else:
                if "text" not in cur.spans:
                    cur.segments.append([])
                cur.spans.append("text")
        elif tag == "br":
            if cur.collecting:
                cur.segments[-1].append("\n")
        elif tag == "img":
            if any(c in _NOT_MEDIA_IMG for c in cls) or cur.content_depth < 0:
                return
            if "wxemoji" in cls:
                if cur.collecting:
                    cur.segments[-1].append(a.get("rawemoji") or a.get("title", ""))
                return
            if "rawurl" in a or "image" in cls:
                cur.media.append(basename(a.get("rawurl") or a.get("src", "")))
            else:
                cur.pictures.append(basename(a.get("src", "")))
        elif tag in ("video", "audio"):
            cur.skip += 1
        elif tag == "source" and cur.content_depth >= 0:
            cur.media.append(basename(a.get("src", "")))

    def handle_endtag(self, tag: str) -> None:
        cur = self.open[-1] if self.open else None
        if tag == "div":
            if cur is not None:
                if self.depth == cur.depth:
                    self._finish(self.open.pop())
                elif self.depth == cur.nt_depth:
                    cur.nt_depth = -1
                    told = "".join(cur.time).strip()
                    cur.at = wall_clock(told, self.zone) if told else None
                    if cur.at is not None:
                        self.last_at = cur.at
                elif self.depth == cur.content_depth:
                    cur.content_depth = -1
                elif self.depth == cur.appinfo_depth:
                    cur.appinfo_depth = -1
                    cur.skip -= 1
            self.depth = max(0, self.depth - 1)
            return
        if cur is None:
            return
        if tag in ("span", "a") and cur.spans:
            if cur.spans.pop() == "skip":
                cur.skip -= 1
        elif tag in ("video", "audio") and cur.skip > 0:
            cur.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.open:
            return
        cur = self.open[-1]
        if cur.nt_depth >= 0:
            (cur.name if cur.spans and cur.spans[-1] == "name" else cur.time).append(data)
        elif cur.collecting:
            cur.segments[-1].append(data)

    def close(self) -> None:
        super().close()
        while self.open:
            self._finish(self.open.pop())

    def _finish(self, m: _Message) -> None:
        texts = [t for t in ("".join(s).strip() for s in m.segments) if t and not _DASHES.match(t)]
        if m.at is None:
            self.problems.append(
                Problem(m.line, gettext_noop("Message without a readable time"), self.lines[m.line])
            )
            return
        if m.system:
            text = _SYSTEM_PREFIX.sub("", "\n".join(texts)).strip()
            text = clean_markup(text) if "<" in text else text
            if text:
                self.done.append(
                    (m.order, Record(m.line, m.at, "", text, system_kind(text), ref=m.ref))
                )
            return
        media = list(m.media)
        web = [h for h in m.hrefs if h.startswith(("http:", "https:"))]
        local = [
            h for h in m.hrefs if h and h not in web and not h.startswith(("#", "javascript:"))
        ]
        if (m.msgtype == "file" or local) and texts and not media:
            media, texts = [texts[0]], texts[1:]  # a file: its original name is the title
        elif not web:
            media += m.pictures  # a sticker (a link card's picture is only its thumbnail)
        texts += [h for h in web if all(h not in t for t in texts)]
        text = "\n".join(texts)
        if not media and len(texts) == 1:
            placeholder = placeholder_media(text)
            if placeholder is not None:
                media, text = placeholder, ""
        sender = "".join(m.name).strip()
        if not text and not media:
            self.problems.append(
                Problem(m.line, gettext_noop("Message without content"), self.lines[m.line])
            )
            return
        self.done.append((m.order, Record(m.line, m.at, sender, text, media=media, ref=m.ref)))


def _parse_exporter(text: str, zone: dt.tzinfo) -> Parsed:
    parser = _Exporter(zone, SourceLines(text))
    _feed(parser, text)
    parser.done.sort(key=lambda pair: pair[0])
    records = [record for _, record in parser.done]
    problems = sorted(parser.problems, key=lambda p: p.line)
    return Parsed("wechat", "html-wechatexporter", records, problems)
