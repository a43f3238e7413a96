"""What every parser returns: the export's messages as plain records, with the line (or
JSON message index) each came from, and the lines it could not read.

Parsers are pure functions from text to `Parsed`; they never touch the database. The
import itself (imports/actions.py) turns records into members' placeholders and messages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

# What a system line says happened; "other" keeps lines we recognise as system but not which.
SystemKind = Literal["join", "leave", "recall", "rename", "other"]


@dataclass
class Record:
    line: int  # 1-based line of the file where the message starts (JSON: its line too)
    at: dt.datetime  # timezone-aware
    sender: str  # the name as the file shows it; "" for system lines
    text: str  # without the attachment line(s); may be "" for a picture alone
    system: SystemKind | None = None  # set for joins, leaves, recalls, ... (sender may be "")
    media: list[str] = field(default_factory=list)  # original file names; "" = name unknown
    ref: str = ""  # the export's own id of this message (Telegram id, WeChat msgid), if any
    reply_to_ref: str = ""  # the export's id of the message this replies to, if any
    forwarded_from: str = ""  # the original author's name of a forwarded message


@dataclass
class Problem:
    line: int
    message: str  # English, short; translated when shown (see imports/errors.py)
    excerpt: str = ""  # at most 80 characters of the line, to find it in an editor


@dataclass
class Parsed:
    format: Literal["whatsapp", "telegram", "wechat"]
    variant: str  # e.g. "android-24h-dmy", "ios-12h", "result.json", "csv-wechatmsg", "html"
    records: list[Record]
    problems: list[Problem]


class FormatError(ValueError):
    """Not this format (or any we know): names the file's line where reading stopped."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def decode(data: bytes) -> str:
    """Bytes of an export to text: UTF-8 (with or without a BOM), UTF-16 with a BOM (some
    Windows tools), else GB18030 (WeChat tools on Chinese Windows). Line endings become
    "\\n" one for one, so line numbers stay those an editor shows."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError as e:
                raise FormatError("The file is not text in a known encoding.") from e
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")
