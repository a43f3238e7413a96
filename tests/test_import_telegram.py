"""Telegram Desktop's JSON export (result.json): fixtures written after the exporter's own
source (export_output_json.cpp), laid out as it writes them, plus properties."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongzhou.imports import telegram
from tongzhou.imports.records import FormatError, Parsed, Problem, Record, decode

DATA = Path(__file__).parent / "data" / "imports" / "telegram"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC
BOUNDED = settings(max_examples=200, deadline=None, derandomize=True)


def load(name: str, *, zone: ZoneInfo = SHANGHAI, chat: str | None = None) -> Parsed:
    return telegram.parse(decode((DATA / name).read_bytes()), zone=zone, chat=chat)


def at(hour: int, minute: int, second: int = 0) -> dt.datetime:
    """A time on 2023-03-01 in UTC (the fixture's wall clock is Shanghai's, 8 hours ahead)."""
    return dt.datetime(2023, 3, 1, hour, minute, second, tzinfo=UTC)


W, A, L, B, C, Z = "王 小明", "Alice Chen", "李 华", "Bob 🎗️", "陈静", "赵 六"


def test_single_chat_export_reads_every_kind_of_message() -> None:
    parsed = load("single_chat.json")
    assert (parsed.format, parsed.variant) == ("telegram", "result.json")
    schedule = (
        "Schedule for Thursday:\n12/01/2023, 10:00 - Bob: not a real line\n"
        '2023-01-12 10:00:00 王 小明\n[1/12/23, 10:00:00 AM] Alice: also not\n  {\n  "id": 99,'
    )
    links = (
        "Thanks @alice! See this guide (https://example.org/guide) and https://example.org"
        " #化疗 很重要"
    )
    place = "Location: 肿瘤医院, 北京市朝阳区潘家园南里17号, 39.87, 116.46\n在这里见"
    expected = [
        Record(6, at(1, 0), W, "王 小明 created the group “乳腺癌互助群”", "other", ref="1"),
        Record(22, at(1, 1), W, "王 小明 added 李 华, Bob 🎗️", "join", ref="2"),
        Record(37, at(1, 2), C, "陈静 joined the group via an invite link", "join", ref="3"),
        Record(49, at(1, 5), W, "大家好！👋 欢迎加入。", ref="4"),
        Record(64, at(1, 6, 30), A, schedule, ref="5"),
        Record(79, at(1, 8), L, links, ref="6", reply_to_ref="5"),
        Record(
            156, at(1, 10), W, "CT 报告", media=["photos/photo_1@01-03-2023_09-10-00.jpg"], ref="7"
        ),
        Record(175, at(1, 11), B, "", media=[""], ref="8"),
        Record(188, at(1, 11, 30), C, "", media=["化验单 March.pdf"], ref="9"),
        Record(
            202,
            at(1, 12),
            A,
            "",
            media=["voice_messages/audio_1@01-03-2023_09-12-00.ogg"],
            ref="10",
        ),
        Record(217, at(1, 12, 30), L, "", media=[""], ref="11"),
        Record(
            234,
            at(1, 13),
            W,
            "饮食建议：\n1. 多喝水\n2. 少吃多餐",
            ref="12",
            forwarded_from="Dr. 林 医生",
        ),
        Record(250, at(1, 14), "Deleted Account (user999)", "I left Telegram later", ref="13"),
        Record(
            265,
            at(1, 15),
            L,
            "forwarded from someone gone",
            ref="14",
            forwarded_from="Deleted Account",
        ),
        Record(281, at(1, 16), A, "Poll: 下次聚会时间？\n- 周六上午\n- 周日下午", ref="15"),
        Record(308, at(1, 17), W, "Contact: 林 医生, +86 10 1234 5678", ref="16"),
        Record(323, at(1, 18), C, "Location: 39.9042, 116.4074", ref="17"),
        Record(337, at(1, 19), C, place, ref="18"),
        Record(358, at(1, 20), W, "王 小明 pinned a message", "other", ref="19"),
        Record(
            370,
            at(1, 21),
            W,
            "王 小明 changed the group name to “乳腺癌互助群 🎗️”",
            "rename",
            ref="20",
        ),
        Record(382, at(1, 22), B, "Bob 🎗️ joined the group", "join", ref="21"),
        Record(396, at(1, 23), C, "陈静 left the group", "leave", ref="22"),
        Record(410, at(1, 24), W, "王 小明 removed Bob 🎗️", "leave", ref="23"),
        Record(424, at(1, 25), Z, "赵 六 was accepted into the group", "join", ref="24"),
        Record(435, at(1, 26), A, "Alice Chen: send star gift", "other", ref="25"),
        Record(448, at(1, 27), Z, "answering another chat", ref="26"),
        Record(465, at(1, 28), Z, "answering here", ref="27", reply_to_ref="4"),
        Record(486, at(1, 30), A, "视频", media=["video_files/IMG_1234.MP4"], ref="29"),
        Record(510, at(1, 31), "Spacey Name", "Line one\u2028still one\ttab\n", ref="30"),
    ]
    assert parsed.records == expected
    assert parsed.problems == [
        Problem(
            482, "Telegram could not export this message.", '{ "id": 28, "type": "unsupported" }'
        )
    ]


def test_old_export_without_unix_times_reads_wall_clock_in_zone() -> None:
    """Before 2021 the export had no date_unixtime and numeric from_id; this one was saved on
    Windows (BOM, CRLF). Its times straddle New York's DST changes."""
    data = (DATA / "old_windows.json").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    parsed = load("old_windows.json", zone=NEW_YORK)
    assert parsed.records == [
        Record(
            6,
            dt.datetime(2019, 3, 9, 20, 0, tzinfo=NEW_YORK),
            "Mary Smith",
            "Mary Smith added 张 三, Deleted Account",
            "join",
            ref="101",
        ),
        Record(
            19,
            dt.datetime(2019, 3, 10, 1, 30, tzinfo=NEW_YORK),
            "张 三",
            "Before the clocks change.\nSecond line",
            ref="102",
        ),
        Record(
            27,
            dt.datetime(2019, 3, 10, 3, 30, tzinfo=NEW_YORK),
            "Mary Smith",
            "After the change, really.",
            ref="103",
            reply_to_ref="102",
        ),
        Record(
            44,
            dt.datetime(2019, 11, 3, 1, 30, tzinfo=NEW_YORK),
            "Mary Smith",
            "",
            media=["photos/photo_2@03-11-2019_01-30-00.jpg"],
            ref="104",
        ),
    ]
    offsets = [r.at.utcoffset() for r in parsed.records]
    assert offsets[1] == dt.timedelta(hours=-5) and offsets[2] == dt.timedelta(hours=-4)
    assert parsed.problems == []


def test_unix_time_wins_over_the_wall_clock() -> None:
    parsed = load("single_chat.json", zone=NEW_YORK)  # the zone only matters for `date`
    assert parsed.records[3].at == at(1, 5)


def test_account_export_with_two_groups_asks_which_chat() -> None:
    with pytest.raises(telegram.ChatChoiceNeeded) as caught:
        load("account.json")
    assert caught.value.chats == [
        telegram.ChatSummary("肺癌病友群", "5550001", "private_supergroup", 2),
        telegram.ChatSummary("Old 病友群", "777", "private_group", 2),
    ]
    assert "“肺癌病友群”" in caught.value.message and "“Old 病友群”" in caught.value.message
    assert isinstance(caught.value, FormatError)


@pytest.mark.parametrize("chat", ["Old 病友群", "777", " old 病友群 "])
def test_account_export_takes_the_named_chat_even_one_left(chat: str) -> None:
    parsed = load("account.json", chat=chat)
    assert parsed.variant == "result.json-account"
    assert [(r.line, r.sender, r.text, r.system, r.ref) for r in parsed.records] == [
        (137, W, "王 小明 created the group “Old 病友群”", "other", "1"),
        (152, W, "hello", None, "2"),
    ]


def test_account_export_takes_a_personal_or_saved_chat_when_named() -> None:
    assert [(r.line, r.sender, r.text) for r in load("account.json", chat="Mom").records] == [
        (51, "Mom", "吃饭了吗？")
    ]
    assert [(r.line, r.text) for r in load("account.json", chat="111").records] == [(110, "note")]


def test_account_export_with_an_unknown_chat_lists_the_groups() -> None:
    with pytest.raises(telegram.ChatChoiceNeeded) as caught:
        load("account.json", chat="nobody")
    assert [c.id for c in caught.value.chats] == ["5550001", "777"]


def test_account_export_with_one_group_takes_it() -> None:
    account = json.loads((DATA / "account.json").read_text("utf-8"))
    del account["left_chats"]
    text = json.dumps(account, ensure_ascii=False, indent=1)
    parsed = telegram.parse(text, zone=SHANGHAI)
    assert [(r.line, r.sender, r.text, r.reply_to_ref) for r in parsed.records] == [
        (73, W, "今天复查结果不错", ""),
        (88, A, "太好了！", "7"),
    ]


def test_account_export_without_chats() -> None:
    with pytest.raises(FormatError, match="no chats"):
        telegram.parse('{"about": "x", "chats": {"about": "y", "list": []}}', zone=SHANGHAI)


def test_minified_export_puts_everything_on_line_one() -> None:
    parsed = load("minified.json")
    assert [(r.line, r.ref) for r in parsed.records] == [(1, "4"), (1, "5"), (1, "6")]
    assert parsed.records[2].reply_to_ref == "5"


def test_damaged_messages_become_problems_and_the_rest_is_read() -> None:
    parsed = load("damaged.json")
    assert [(r.line, r.text) for r in parsed.records] == [(6, "good one"), (74, "good two")]
    assert [(p.line, p.message) for p in parsed.problems] == [
        (21, "The message has no readable date."),
        (28, "The message has no readable date."),
        (35, "The message's sender is not a name."),
        (50, "The message text is not in a known form."),
        (60, "The message has no id."),
        (67, "Not a message object."),
        (68, "Unknown message type."),
    ]
    assert parsed.problems[0].excerpt.startswith('{ "id": 2, "type": "message", "from":')
    assert parsed.problems[5].excerpt == '"just a string"'
    assert all(len(p.excerpt) <= 80 for p in parsed.problems)


def test_malformed_json_names_the_line_json_reports() -> None:
    with pytest.raises(FormatError) as caught:
        load("malformed.json")
    assert caught.value.line == 21
    assert caught.value.message == "The file is not valid JSON."  # the line says where
    assert not isinstance(caught.value, telegram.ChatChoiceNeeded)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "[]",
        "null",
        "{}",
        '{"foo": 1}',
        '{"messages": 5}',
        '{"messages": [{"a": 1}, 2]}',
        '{"messages": []} trailing',
        '{"messages": [',
        "[" * 100_000 + "]" * 100_000,
        '{"messages": [' + "9" * 5000 + "]}",
        "12/01/2023, 10:00 - Alice: hi\n12/01/2023, 10:01 - Bob: hello\n",
        "时间,发送人,内容\n2023-01-12 10:00:00,王 小明,你好\n",
        "<html><body><div class='message'>hi</div></body></html>",
    ],
)
def test_what_is_not_a_telegram_export_is_a_format_error(text: str) -> None:
    with pytest.raises(FormatError):
        telegram.parse(text, zone=SHANGHAI)


def test_undecoded_bom_is_tolerated() -> None:
    text = "\ufeff" + (DATA / "minified.json").read_text("utf-8")
    assert telegram.sniff(text)
    assert len(telegram.parse(text, zone=SHANGHAI).records) == 3


def test_empty_chat_is_no_error() -> None:
    parsed = telegram.parse(
        '{"name": "x", "type": "private_group", "id": 1, "messages": []}', zone=SHANGHAI
    )
    assert parsed.records == [] and parsed.problems == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("single_chat.json", True),
        ("old_windows.json", True),
        ("account.json", True),
        ("minified.json", True),
    ],
)
def test_sniff_recognises_telegram_exports(name: str, expected: bool) -> None:
    assert telegram.sniff(decode((DATA / name).read_bytes())) is expected


@pytest.mark.parametrize(
    "text",
    [
        "12/01/2023, 10:00 - Alice: hi\n",
        "[12/01/2023, 10:00:00] Alice: hi\n",
        "时间,发送人,内容\n2023-01-12 10:00:00,王 小明,你好\n",
        "<!DOCTYPE html><html><body>微信聊天记录</body></html>",
        '[{"type": "message", "user": "U1", "text": "slack"}]',
        '{"foo": 1}',
        "",
    ],
)
def test_sniff_leaves_other_files_alone(text: str) -> None:
    assert telegram.sniff(text) is False


def test_text_entities_are_used_when_text_is_missing() -> None:
    message = {
        "id": 1,
        "type": "message",
        "date_unixtime": "1677632700",
        "from": "A",
        "text_entities": [
            {"type": "plain", "text": "read "},
            {"type": "text_link", "text": "https://x.org", "href": "https://x.org"},
            {"type": "text_link", "text": "", "href": "https://y.org"},
        ],
    }
    parsed = telegram.parse(json.dumps({"id": 1, "messages": [message]}), zone=SHANGHAI)
    assert parsed.records[0].text == "read https://x.orghttps://y.org"


# --- properties ------------------------------------------------------------------------


def write_export(
    messages: list[tuple[str, str | list[tuple[str, str]], dt.datetime]],
    *,
    unix: bool = True,
    windows: bool = False,
) -> bytes:
    """Telegram Desktop's layout: one key per line, one space of indentation per level.
    A message's text is a string or (entity type, text) parts, as the exporter writes it."""
    out = []
    for number, (sender, text, when) in enumerate(messages, start=1):
        local = when.astimezone(SHANGHAI).replace(tzinfo=None).isoformat()
        message: dict[str, Any] = {"id": number, "type": "message", "date": local}
        if unix:
            message["date_unixtime"] = str(int(when.timestamp()))
        message["from"] = sender
        message["from_id"] = f"user{number}"
        if isinstance(text, str):
            message["text"] = text
            message["text_entities"] = [{"type": "plain", "text": text}] if text else []
        else:
            message["text"] = [
                t if kind == "plain" else {"type": kind, "text": t} for kind, t in text
            ]
            message["text_entities"] = [{"type": kind, "text": t} for kind, t in text]
        out.append(message)
    doc = {"name": "互助群", "type": "private_supergroup", "id": 42, "messages": out}
    body = json.dumps(doc, ensure_ascii=False, indent=1)
    if windows:
        return b"\xef\xbb\xbf" + body.replace("\n", "\r\n").encode("utf-8")
    return body.encode("utf-8")


names = st.text(min_size=1, max_size=20).map(str.strip).filter(bool)
# Any text an export can carry: UTF-8 has no lone surrogates; a CR becomes a line break.
texts = st.text(st.characters(exclude_characters="\r", exclude_categories=("Cs",)), max_size=120)
entity_texts = st.lists(
    st.tuples(st.sampled_from(["plain", "bold", "italic", "mention", "hashtag", "link"]), texts),
    min_size=1,
    max_size=4,
)
times = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0))
exports = st.lists(st.tuples(names, texts | entity_texts, times), max_size=15)


@BOUNDED
@given(exports, st.booleans(), st.booleans())
def test_round_trip_keeps_sender_text_and_time(
    messages: list[tuple[str, str | list[tuple[str, str]], dt.datetime]], unix: bool, windows: bool
) -> None:
    text = decode(write_export(messages, unix=unix, windows=windows))
    parsed = telegram.parse(text, zone=SHANGHAI)
    assert parsed.problems == []
    assert [(r.sender, r.text, r.at, r.ref) for r in parsed.records] == [
        (sender, body if isinstance(body, str) else "".join(t for _, t in body), when, str(n))
        for n, (sender, body, when) in enumerate(messages, start=1)
    ]
    lines = text.split("\n")
    assert all(lines[r.line - 1] == "  {" for r in parsed.records)
    assert [r.line for r in parsed.records] == sorted({r.line for r in parsed.records})
    assert telegram.sniff(text)


@BOUNDED
@given(st.text())
def test_any_text_is_parsed_or_refused_with_format_error(text: str) -> None:
    try:
        telegram.parse(text, zone=SHANGHAI)
    except FormatError:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = [
    "id", "date", "date_unixtime", "from", "from_id", "actor", "actor_id", "action", "members",
    "title", "text", "text_entities", "photo", "file", "file_name", "reply_to_message_id",
    "reply_to_peer_id", "forwarded_from", "forwarded_from_id", "poll", "contact_information",
    "location_information", "place_name", "address", "author", "information_text",
]  # fmt: skip
typed_values = (
    json_values
    | st.sampled_from(["1677632700", "2023-03-01T09:05:00", "channel42", "", "(File not included)"])
    | st.integers(min_value=-(10**12), max_value=10**12)
)
telegramish = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "service", "unsupported", "story"]) | json_values},
    optional={key: typed_values for key in KEYS},
)


@BOUNDED
@given(st.lists(telegramish | json_values, max_size=8), st.sampled_from([0, 1, None]))
def test_odd_message_objects_become_records_or_problems(
    items: list[Any], indent: int | None
) -> None:
    text = json.dumps(
        {"name": "x", "type": "private_group", "id": 42, "messages": items}, indent=indent
    )
    try:
        parsed = telegram.parse(text, zone=SHANGHAI)
    except FormatError:
        assert not any(
            isinstance(i, dict) and i.get("type") in ("message", "service", "unsupported")
            for i in items
        )
        return
    assert len(parsed.records) + len(parsed.problems) == len(items)
    for record in parsed.records:
        assert record.at.tzinfo is not None
        assert isinstance(record.text, str) and isinstance(record.sender, str)
    assert all(p.line >= 1 and len(p.excerpt) <= 80 for p in parsed.problems)


@BOUNDED
@given(json_values)
def test_any_json_is_parsed_or_refused_with_format_error(value: Any) -> None:
    try:
        telegram.parse(json.dumps(value), zone=SHANGHAI)
    except FormatError:
        pass
