"""Telegram Desktop's JSON export (result.json) to records.

Two shapes come out of Telegram Desktop: "Export chat history" on one chat writes that chat
as the root object (`{"name", "type", "id", "messages": [...]}`), and "Export Telegram data"
writes the whole account (`{"about", "personal_information", ..., "chats": {"list": [...]},
"left_chats": {"list": [...]}}`). From the latter we take the one group chat, or the chat
named by the `chat` option.

Line numbers are those of the file: the exporter writes one key per line, so each message
object starts on its own line. We walk the file's top levels ourselves and decode each
message with the standard library's C decoder from its own position, counting line breaks
as we go; nothing is decoded twice for a single-chat export.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_noop  # the import page translates these

from tongzhou.imports.records import FormatError, Parsed, Problem, Record, SystemKind

__all__ = ["ChatChoiceNeeded", "ChatSummary", "parse", "sniff"]

# Group chats: what a mutual-aid group's history is. Personal chats, bots, channels and
# saved messages are only taken when named with the `chat` option.
GROUP_TYPES = frozenset({"private_group", "private_supergroup", "public_supergroup"})

# The stand-in name for an author whose account is gone (the export writes `"from": null`);
# their peer id follows in brackets so two deleted accounts stay two people.
DELETED_ACCOUNT = "Deleted Account"

_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")
# What the exporter writes instead of a path when it left a file out.
_NOT_INCLUDED = re.compile(r"\((?:File|Photo) (?:not included|exceeds maximum size|unavailable)")
_SNIFF = re.compile(
    r'"(?:date_unixtime|personal_information)"\s*:'
    r'|"type"\s*:\s*"(?:personal_chat|bot_chat|private_group|private_supergroup'
    r'|public_supergroup|private_channel|public_channel|saved_messages)"'
)
_KNOWN_TYPES = frozenset({"message", "service", "unsupported"})
# Media the export describes instead of linking a file: a poll, a contact, a location.
_DESCRIBED = frozenset({"poll", "contact_information", "location_information", "place_name"})


@dataclass(frozen=True)
class ChatSummary:
    name: str  # the chat's name; its type ("saved_messages") when it has none
    id: str
    type: str
    messages: int


class ChatChoiceNeeded(FormatError):
    """A whole-account export holds several chats (or none named `chat`): pass one of
    `chats` (its name or id) as the `chat` option."""

    def __init__(self, message: str, chats: list[ChatSummary]) -> None:
        super().__init__(message, 0)
        self.chats = chats


def sniff(text: str) -> bool:
    """A JSON object whose first 64 KB carry a Telegram chat type, `date_unixtime` or the
    account export's `personal_information`."""
    head = text[:65536]
    return head.lstrip("\ufeff \t\n\r").startswith("{") and _SNIFF.search(head) is not None


def parse(text: str, *, zone: ZoneInfo, chat: str | None = None, **options: object) -> Parsed:
    """Records of the export's chat, in file order. `chat` names the chat to take (its name
    or id) from a whole-account export; a single-chat export ignores it."""
    try:
        return _parse(text, zone, chat)
    except FormatError:
        raise
    except json.JSONDecodeError as e:
        raise FormatError(gettext_noop("The file is not valid JSON."), e.lineno) from None
    except RecursionError:
        raise FormatError(gettext_noop("The file's JSON is nested too deeply."), 0) from None
    except ValueError:  # e.g. a number with thousands of digits
        raise FormatError(gettext_noop("The file's JSON could not be read."), 0) from None


# --- the file's structure --------------------------------------------------------------


def _ws(s: str, pos: int) -> int:
    m = _WS.match(s, pos)
    return m.end() if m else pos


def _object(s: str, pos: int, visit: Callable[[str, int], int]) -> int:
    """Walk the object whose "{" is at `pos`: `visit(key, value_position)` returns the
    position after the value. Returns the position after the "}"."""
    pos = _ws(s, pos + 1)
    if s.startswith("}", pos):
        return pos + 1
    while True:
        if not s.startswith('"', pos):
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", s, pos)
        key, pos = _DECODER.raw_decode(s, pos)
        pos = _ws(s, pos)
        if not s.startswith(":", pos):
            raise json.JSONDecodeError("Expecting ':' delimiter", s, pos)
        pos = _ws(s, visit(key, _ws(s, pos + 1)))
        if s.startswith(",", pos):
            pos = _ws(s, pos + 1)
        elif s.startswith("}", pos):
            return pos + 1
        else:
            raise json.JSONDecodeError("Expecting ',' delimiter", s, pos)


def _array(s: str, pos: int, visit: Callable[[int], int]) -> int:
    """Walk the array whose "[" is at `pos`, like `_object`."""
    pos = _ws(s, pos + 1)
    if s.startswith("]", pos):
        return pos + 1
    while True:
        pos = _ws(s, visit(pos))
        if s.startswith(",", pos):
            pos = _ws(s, pos + 1)
        elif s.startswith("]", pos):
            return pos + 1
        else:
            raise json.JSONDecodeError("Expecting ',' delimiter", s, pos)


def _skip(s: str, pos: int) -> int:
    return int(_DECODER.raw_decode(s, pos)[1])


def _line(s: str, pos: int) -> int:
    return s.count("\n", 0, pos) + 1


@dataclass
class _Chat:
    name: str = ""
    type: str = ""
    id: str = ""
    at: int = -1  # position of its messages' "["
    count: int = 0

    def summary(self) -> ChatSummary:
        return ChatSummary(self.name or self.type, self.id, self.type, self.count)

    def take(self, key: str, value: Any) -> None:
        if key == "name" and type(value) is str:
            self.name = value.strip()
        elif key == "type" and type(value) is str:
            self.type = value
        elif key == "id" and type(value) in (int, str):
            self.id = str(value)


def _parse(s: str, zone: ZoneInfo, chat: str | None) -> Parsed:
    start = _ws(s, 1 if s.startswith("\ufeff") else 0)
    if not s.startswith("{", start):
        raise FormatError(gettext_noop("This is not a Telegram JSON export."), _line(s, start))
    reader = _Reader(s, zone)
    root = _Chat()
    chats: list[_Chat] = []
    sections = False
    single = False

    def visit_chat(entry: _Chat, key: str, pos: int) -> int:
        if key == "messages" and s.startswith("[", pos):
            entry.at = pos
            value, end = _DECODER.raw_decode(s, pos)
            entry.count = len(value)
            return int(end)
        value, end = _DECODER.raw_decode(s, pos)
        entry.take(key, value)
        return int(end)

    def visit_item(pos: int) -> int:
        if not s.startswith("{", pos):
            return _skip(s, pos)
        entry = _Chat()
        end = _object(s, pos, lambda key, vpos: visit_chat(entry, key, vpos))
        if entry.at >= 0:
            chats.append(entry)
        return end

    def visit_section(key: str, pos: int) -> int:
        if key == "list" and s.startswith("[", pos):
            return _array(s, pos, visit_item)
        return _skip(s, pos)

    def visit_root(key: str, pos: int) -> int:
        nonlocal sections, single
        if key == "messages" and not single:
            if not s.startswith("[", pos):
                raise FormatError(
                    gettext_noop("The export's “messages” is not a list."), _line(s, pos)
                )
            single = True
            return reader.read(pos, root.name, root.id)
        if key in ("chats", "left_chats") and s.startswith("{", pos):
            sections = True
            return _object(s, pos, visit_section)
        value, end = _DECODER.raw_decode(s, pos)
        root.take(key, value)
        return int(end)

    end = _ws(s, _object(s, start, visit_root))
    if end != len(s):
        raise json.JSONDecodeError("Extra data", s, end)
    if single:
        variant = "result.json"
    elif sections:
        chosen = _choose(chats, chat)
        reader.read(chosen.at, chosen.name, chosen.id)
        variant = "result.json-account"
    else:
        raise FormatError(
            gettext_noop("This JSON file is not a Telegram export: it has no messages."), 1
        )
    if reader.items and not reader.known:
        raise FormatError(gettext_noop("This JSON file is not a Telegram export."), _line(s, start))
    return Parsed("telegram", variant, reader.records, reader.problems)


def _choose(chats: list[_Chat], wanted: str | None) -> _Chat:
    if not chats:
        raise FormatError(gettext_noop("The Telegram export holds no chats."), 1)
    groups = [c for c in chats if c.type in GROUP_TYPES]
    offered = groups or chats
    if wanted is None or not wanted.strip():
        if len(groups) == 1:
            return groups[0]
        if not groups and len(chats) == 1:
            return chats[0]
        head = "The Telegram export holds several chats; choose the one to import"
        raise ChatChoiceNeeded(_listing(head, offered), [c.summary() for c in offered])
    key = wanted.strip()
    found = [c for c in chats if c.id == key] or [c for c in chats if c.name == key]
    if not found:
        folded = key.casefold()
        found = [c for c in chats if c.name.casefold() == folded]
    if len(found) == 1:
        return found[0]
    if found:
        head = "Several chats in the export have that name; choose one by its id"
        raise ChatChoiceNeeded(_listing(head, found), [c.summary() for c in found])
    head = "No chat in the export has that name or id; choose one of"
    raise ChatChoiceNeeded(_listing(head, offered), [c.summary() for c in offered])


def _listing(head: str, chats: list[_Chat]) -> str:
    names = ", ".join(f"“{c.name or c.type}” (id {c.id})" for c in chats[:30])
    more = f" and {len(chats) - 30} more" if len(chats) > 30 else ""
    return f"{head}: {names}{more}."


# --- messages ------------------------------------------------------------------------


class _Reader:
    """Turns one messages array into records and problems."""

    def __init__(self, s: str, zone: ZoneInfo) -> None:
        self.s = s
        self.zone = zone
        self.records: list[Record] = []
        self.problems: list[Problem] = []
        self.items = 0
        self.known = 0  # items whose "type" is one Telegram writes

    def read(self, pos: int, chat_name: str, chat_id: str) -> int:
        s = self.s
        decode = _DECODER.raw_decode
        ws = _WS.match
        records = self.records
        zone = self.zone
        line = _line(s, pos)
        last = pos
        pos = _ws(s, pos + 1)
        if s.startswith("]", pos):
            return pos + 1
        while True:
            line += s.count("\n", last, pos)
            last = pos
            item, end = decode(s, pos)
            self.items += 1
            if type(item) is dict:
                kind = item.get("type")
                if type(kind) is str and kind in _KNOWN_TYPES:
                    self.known += 1
            try:
                result = _message(item, line, zone, chat_name, chat_id)
            except (TypeError, ValueError, OverflowError, OSError, KeyError, AttributeError):
                result = "The message could not be read."
            if type(result) is Record:
                records.append(result)
            else:
                excerpt = " ".join(s[pos : min(end, pos + 320)].split())[:80]
                self.problems.append(Problem(line, str(result), excerpt))
            m = ws(s, end)
            pos = m.end() if m else end
            if s.startswith(",", pos):
                m = ws(s, pos + 1)
                pos = m.end() if m else pos + 1
            elif s.startswith("]", pos):
                return pos + 1
            else:
                raise json.JSONDecodeError("Expecting ',' delimiter", s, pos)


def _message(m: Any, line: int, zone: ZoneInfo, chat_name: str, chat_id: str) -> Record | str:
    """The record of one message object, or why it has none."""
    if type(m) is not dict:
        return gettext_noop("Not a message object.")
    kind = m.get("type")
    if kind != "message" and kind != "service":
        if kind == "unsupported":
            return gettext_noop("Telegram could not export this message.")
        return gettext_noop("Unknown message type.")
    ident = m.get("id")
    if type(ident) is int:
        ref = str(ident)
    elif type(ident) is str and ident.strip():
        ref = ident.strip()
    else:
        return gettext_noop("The message has no id.")
    at = _time(m, zone)
    if at is None:
        return gettext_noop("The message has no readable date.")
    text = _text(m["text"]) if "text" in m else _text(m.get("text_entities", ""))
    if text is None:
        return gettext_noop("The message text is not in a known form.")
    if "\r" in text:  # line breaks as the rest of the import has them
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if kind == "service":
        return _service(m, line, at, ref, text)

    if "from" in m:
        sender = _name(m["from"], m.get("from_id"))
        if sender is None:
            return gettext_noop("The message's sender is not a name.")
    else:  # channel posts and very old exports
        author = m.get("author")
        sender = (author.strip() if type(author) is str else "") or chat_name or DELETED_ACCOUNT

    reply_to = ""
    reply = m.get("reply_to_message_id")
    if type(reply) is int and _same_chat(m.get("reply_to_peer_id"), chat_id):
        reply_to = str(reply)

    forwarded = ""
    if "forwarded_from" in m:
        forwarded = _name(m["forwarded_from"], m.get("forwarded_from_id")) or ""

    media: list[str] = []
    photo = m.get("photo")
    if type(photo) is str:
        media.append("" if _NOT_INCLUDED.search(photo) else photo)
    file = m.get("file")
    if type(file) is str:
        if _NOT_INCLUDED.search(file):
            name = m.get("file_name")
            media.append(name.strip() if type(name) is str else "")
        else:
            media.append(file)

    if _DESCRIBED.intersection(m):
        described = _describe(m)
        text = f"{described}\n{text}" if text else described

    return Record(
        line=line,
        at=at,
        sender=sender,
        text=text,
        media=media,
        ref=ref,
        reply_to_ref=reply_to,
        forwarded_from=forwarded,
    )


def _time(m: dict[str, Any], zone: ZoneInfo) -> dt.datetime | None:
    """`date_unixtime` in UTC when the export has it (since 2021), else `date`: the
    exporting computer's wall clock, read in `zone`."""
    unix = m.get("date_unixtime")
    if type(unix) is str and unix.isascii() and unix.isdigit() and len(unix) < 12:
        return dt.datetime.fromtimestamp(int(unix), dt.UTC)
    if type(unix) is int and 0 <= unix < 10**11:
        return dt.datetime.fromtimestamp(unix, dt.UTC)
    wall = m.get("date")
    if type(wall) is not str:
        return None
    try:
        at = dt.datetime.fromisoformat(wall.strip())
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=zone)


def _text(value: Any) -> str | None:
    """A plain string, or the list of strings and entity objects the exporter writes for
    formatted text. A `text_link` keeps its address: "label (https://...)"."""
    if type(value) is str:
        return value
    if type(value) is not list:
        return None
    parts: list[str] = []
    for part in value:
        if type(part) is str:
            parts.append(part)
            continue
        if type(part) is not dict:
            return None
        piece = part.get("text")
        if type(piece) is not str:
            return None
        if part.get("type") == "text_link":
            href = part.get("href")
            if type(href) is str and href and href not in piece:
                piece = f"{piece} ({href})" if piece else href
        parts.append(piece)
    return "".join(parts)


def _name(value: Any, peer: Any) -> str | None:
    """A person's name as shown; the stand-in for a deleted account; None if not a name."""
    if type(value) is str:
        name = value.strip()
        if name:
            return name
    elif value is not None:
        return None
    if type(peer) is int or (type(peer) is str and peer.strip()):
        return f"{DELETED_ACCOUNT} ({str(peer).strip()})"
    return DELETED_ACCOUNT


def _same_chat(peer: Any, chat_id: str) -> bool:
    """A reply with `reply_to_peer_id` answers a message of another chat unless that peer is
    this chat ("channel123" for chat id 123)."""
    if peer is None:
        return True
    return bool(chat_id) and str(peer).lstrip("abcdefghijklmnopqrstuvwxyz") == chat_id


def _describe(m: dict[str, Any]) -> str:
    """A short text for a poll, a shared contact or a location."""
    poll = m.get("poll")
    if type(poll) is dict:
        question = _text(poll.get("question", "")) or ""
        answers = [
            _text(a.get("text", "")) or "" for a in poll.get("answers") or [] if type(a) is dict
        ]
        return "Poll: " + question.strip() + "".join(f"\n- {a.strip()}" for a in answers)
    contact = m.get("contact_information")
    if type(contact) is dict:
        fields = (contact.get("first_name"), contact.get("last_name"))
        name = " ".join(f.strip() for f in fields if type(f) is str and f.strip())
        phone = contact.get("phone_number")
        phone = phone.strip() if type(phone) is str else ""
        return "Contact: " + ", ".join(p for p in (name, phone) if p)
    parts = [
        p.strip() for p in (m.get("place_name"), m.get("address")) if type(p) is str and p.strip()
    ]
    point = m.get("location_information")
    if type(point) is dict:
        lat, lon = point.get("latitude"), point.get("longitude")
        if type(lat) in (int, float) and type(lon) in (int, float):
            parts.append(f"{lat}, {lon}")
    return "Location: " + ", ".join(parts) if parts else "Location"


# What a service message's action means, and the text we give it (English: the export has
# none; actor, title and members filled in).
_ACTIONS: dict[str, tuple[SystemKind, str]] = {
    "create_group": ("other", "{actor} created the group “{title}”"),
    "create_channel": ("other", "{actor} created the channel “{title}”"),
    "edit_group_title": ("rename", "{actor} changed the group name to “{title}”"),
    "edit_group_photo": ("other", "{actor} changed the group photo"),
    "delete_group_photo": ("other", "{actor} removed the group photo"),
    "invite_members": ("join", "{actor} added {members}"),
    "remove_members": ("leave", "{actor} removed {members}"),
    "join_group_by_link": ("join", "{actor} joined the group via an invite link"),
    "join_group_by_request": ("join", "{actor} was accepted into the group"),
    "migrate_to_supergroup": ("other", "{actor} upgraded the group to a supergroup"),
    "migrate_from_group": ("other", "{actor} upgraded the group “{title}” to a supergroup"),
    "pin_message": ("other", "{actor} pinned a message"),
    "clear_history": ("other", "{actor} cleared the history"),
    "group_call": ("other", "{actor} started a voice chat"),
    "group_call_scheduled": ("other", "{actor} scheduled a voice chat"),
    "invite_to_group_call": ("other", "{actor} invited {members} to the voice chat"),
    "phone_call": ("other", "{actor} made a call"),
    "set_messages_ttl": ("other", "{actor} changed the auto-delete timer"),
    "topic_created": ("other", "{actor} created the topic “{title}”"),
    "topic_edit": ("other", "{actor} edited a topic"),
    "edit_chat_theme": ("other", "{actor} changed the chat theme"),
    "take_screenshot": ("other", "{actor} took a screenshot"),
}


def _service(m: dict[str, Any], line: int, at: dt.datetime, ref: str, text: str) -> Record:
    actor = (_name(m["actor"], m.get("actor_id")) or "") if "actor" in m else ""
    action = m.get("action")
    raw_members = m.get("members")
    members = [
        _name(p, None) or DELETED_ACCOUNT
        for p in (raw_members if type(raw_members) is list else [])
    ]
    title = m.get("title")
    title = title.strip() if type(title) is str else ""
    kind: SystemKind = "other"
    if type(action) is str:
        kind, template = _ACTIONS.get(action, ("other", ""))
        if action in ("invite_members", "remove_members") and members == [actor]:
            template = "{actor} joined the group" if kind == "join" else "{actor} left the group"
        if template:
            said = template.format(actor=actor, title=title, members=", ".join(members))
        else:
            said = f"{actor}: {action.replace('_', ' ')}" if actor else action.replace("_", " ")
        text = said.strip() if not text.strip() else text
    else:
        info = m.get("information_text")
        if not text.strip() and type(info) is str:
            text = info
    return Record(line=line, at=at, sender=actor, text=text, system=kind, ref=ref)
