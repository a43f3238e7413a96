"""WeChat exports (WeChatMsg/MemoTrace, PyWxDump, WeFlow, WechatExporter) to records.

The fixtures under tests/data/imports/wechat/ follow what those tools write (their exporter
code is cited in docs/import.md); some carry a BOM and Windows line endings, and every
fixture goes through records.decode as an upload does.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongzhou.imports import wechat
from tongzhou.imports.records import FormatError, Parsed, Record, decode

DATA = Path(__file__).parent / "data" / "imports" / "wechat"
SH = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load(name: str) -> str:
    return decode((DATA / name).read_bytes())


def parse(name: str, zone: dt.tzinfo = SH) -> Parsed:
    return wechat.parse(load(name), zone=zone)


def at(minute: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2023, 1, 1, hour, minute, tzinfo=SH)


def problems(parsed: Parsed) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in parsed.problems]


# --- fixtures as the tools write them --------------------------------------------------------


def test_fixtures_carry_bom_and_windows_line_endings_where_the_tools_write_them() -> None:
    for name in ("wechatmsg_group.csv", "weflow_weclone.csv", "weflow.txt"):
        raw = (DATA / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), name
        assert b"\r\n" in raw, name
        assert "\r" not in load(name) and not load(name).startswith("\ufeff")


def test_wechatmsg_group_csv() -> None:
    parsed = parse("wechatmsg_group.csv")
    assert parsed.format == "wechat"
    assert parsed.variant == "csv-wechatmsg"
    assert parsed.records == [
        Record(2, at(0), "", '"王 姐"邀请"Anna Li"加入了群聊', "join", ref="101"),
        Record(3, at(1), "Anna Li", "大家好 😊 我是新来的", ref="102"),
        # a quoted multi-line cell: the record's line is the line where its row starts
        Record(
            4, at(2), "王 姐", "复查结果：\n2023-01-01 12:00:00 抽血\nCEA 正常, 谢谢大家", ref="103"
        ),
        Record(7, at(3), "小舟", "欢迎，有问题随时问", ref="104"),  # IsSender=1, named
        Record(8, at(4), "王 姐", "", media=[""], ref="105"),  # picture: no path in the CSV
        Record(9, at(5), "Anna Li", "", media=[""], ref="106"),  # voice
        Record(10, at(6), "王 姐", "", media=["化疗日程表.pdf"], ref="107"),  # file (49/6)
        Record(11, at(7), "Anna Li", "收到，谢谢！", ref="108", reply_to_ref="7234567890123456789"),
        Record(12, at(8), "", '"Anna Li" 撤回了一条消息', "recall", ref="109"),  # 10002 XML
        Record(13, at(9), "", "你修改群名为“肺癌互助 2023”", "rename", ref="110"),
        Record(14, at(10), "", '"王 姐"将"Bob"移出了群聊', "leave", ref="111"),
        Record(17, at(13), "wxid_zhao", "", media=[""], ref="114"),  # sticker, only the wxid
        Record(18, at(14), "赵六", "带前缀的消息", ref="115"),  # "wxid:\n" prefix dropped
        Record(20, at(15), "", "你撤回了一条消息", "recall", ref="116"),  # link markup gone
    ]
    assert problems(parsed) == [
        (15, "Reply without its text (the export left it out)"),
        (16, "Row has no readable time"),
    ]
    assert parsed.problems[1].excerpt.startswith("113,7,1,0,0,notatime")


def test_wechatmsg_create_time_is_unix_seconds_whatever_the_zone() -> None:
    in_utc = parse("wechatmsg_group.csv", zone=UTC)
    assert in_utc.records[1].at == dt.datetime(2023, 1, 1, 4, 1, tzinfo=UTC)
    assert in_utc.records[1].at == at(1)


def test_wechatmsg_str_time_in_zone_when_create_time_is_missing() -> None:
    text = (
        ",".join(wechat._WECHATMSG_COLUMNS) + "\n1,7,1,0,0,,2,hi,2023-01-01 12:00:00,A,A,wxid_a\n"
    )
    (record,) = wechat.parse(text, zone=SH).records
    assert record.at == at(0) and record.at.tzinfo is SH
    (record,) = wechat.parse(text, zone=UTC).records
    assert record.at == dt.datetime(2023, 1, 1, 12, 0, tzinfo=UTC)


def test_wechatmsg_old_nine_columns_private_chat() -> None:
    parsed = parse("wechatmsg_private_old.csv")
    assert parsed.variant == "csv-wechatmsg-old"
    # no name columns: the exporting user is "我", the other person "对方" (the file is
    # Chinese); the extra columns old versions wrote past the header are not names
    assert parsed.records == [
        Record(2, at(0), "对方", "医生说下周复查", ref="1"),
        Record(3, at(1), "我", "好的，祝顺利 🙏", ref="2"),
        Record(4, at(2), "对方", "", media=[""], ref="3"),
    ]
    assert parsed.problems == []


def test_private_rows_without_the_name_columns() -> None:
    # an intermediate WeChatMsg wrote the twelve-column header but left a one-to-one chat's
    # rows at nine values; an empty text row is a problem, not an empty message
    text = (
        ",".join(wechat._WECHATMSG_COLUMNS)
        + "\n1,3,1,0,1,1672545600,2,在吗,2023-01-01 12:00:00\n"
        + "2,3,1,0,0,1672545660,2,在,2023-01-01 12:01:00\n"
        + "3,3,1,0,0,1672545720,2, ,2023-01-01 12:02:00\n"
    )
    parsed = wechat.parse(text, zone=SH)
    assert parsed.records == [
        Record(2, at(0), "我", "在吗", ref="1"),
        Record(3, at(1), "对方", "在", ref="2"),
    ]
    assert problems(parsed) == [(4, "Message without text")]


def test_english_file_without_names_uses_me_and_them() -> None:
    text = (
        ",".join(wechat._WECHATMSG_COLUMNS[:9])
        + "\n1,3,1,0,1,1672545600,2,see you,2023-01-01 12:00:00\n"
        + "2,3,1,0,0,1672545660,2,bye,2023-01-01 12:01:00\n"
    )
    assert [r.sender for r in wechat.parse(text, zone=SH).records] == ["Me", "Them"]


def test_pywxdump_csv() -> None:
    parsed = parse("pywxdump_group.csv")
    assert parsed.variant == "csv-pywxdump"
    ref = "70000000000000000"
    assert parsed.records == [
        Record(2, at(0), "wxid_wang", "今天去复查了", ref=ref + "01"),
        Record(3, at(1), "wxid_wang", "", media=["5f3e.dat"], ref=ref + "02"),
        Record(
            4,
            at(2),
            "我",
            "我明天也去",  # the voice message's transcript
            media=["2023-01-01_12-02-00_1_7000000000000000003.wav"],
            ref=ref + "03",
        ),
        Record(6, at(3), "wxid_anna", "好的呀", ref=ref + "04"),  # the quoted part dropped
        Record(9, at(4), "wxid_wang", "", media=["报告.pdf"], ref=ref + "05"),
        Record(10, at(5), "", '"王姐"邀请"Anna"加入了群聊', "join", ref=ref + "06"),
        Record(11, at(6), "", '"Anna" 撤回了一条消息', "recall", ref=ref + "07"),
        Record(12, at(7), "wxid_anna", "", media=[""], ref=ref + "08"),  # sticker: a URL
        Record(
            13, at(8), "wxid_wang", "肺癌新药进展\n摘要\n\nhttps://example.org/a", ref=ref + "09"
        ),
    ]
    assert problems(parsed) == [(17, "Row has no readable time")]


def test_pywxdump_old_json_content() -> None:
    parsed = parse("pywxdump_old.csv")
    assert parsed.variant == "csv-pywxdump-old"
    assert parsed.records == [
        Record(2, at(0), "wxid_wang", "你好，\n第二行", ref="7000000000000000001"),
        Record(3, at(1), "我", "", media=["a.dat"], ref="7000000000000000002"),
    ]


def test_weflow_weclone_csv() -> None:
    parsed = parse("weflow_weclone.csv", zone=UTC)
    assert parsed.variant == "csv-weflow"
    assert parsed.records == [
        Record(2, at(0), "王 姐", "早上好 🌞", ref="8000000000000000001"),  # ISO offset kept
        Record(3, at(1), "小舟", "", media=["abc.jpg"], ref="8000000000000000002"),
        Record(
            4,
            dt.datetime(2023, 1, 1, 12, 2, tzinfo=UTC),  # no offset: the zone given
            "Anna Li",
            "第一行\n第二行",
            ref="8000000000000000003",
        ),
    ]


def test_unknown_csv_header_is_named() -> None:
    with pytest.raises(FormatError) as e:
        parse("unknown_header.csv")
    assert e.value.message.startswith("Unknown CSV header") and e.value.line == 1
    assert e.value.line == 1


def test_wechatmsg_txt() -> None:
    parsed = parse("wechatmsg_group.txt")
    assert parsed.variant == "txt-wechatmsg"
    assert parsed.records == [
        Record(1, at(0), "", '"王 姐"邀请"Anna Li"加入了群聊', "join"),
        Record(3, at(1), "Anna Li", "大家好 😊"),
        # a line that looks like a header but does not follow a blank line is text;
        # blank lines inside a message stay
        Record(6, at(2), "王 姐", "复查结果：\n2023-01-01 12:00:00 抽血\nCEA 正常\n\n第二段"),
        Record(13, at(3), "小舟", "", media=[""]),
        Record(16, at(4), "Anna Li", "", media=[""]),
        Record(19, at(5), "王 姐", "", media=[""]),
        Record(22, at(6), "Anna Li", "收到，谢谢！"),  # the "引用:" line is not the reply
        Record(26, at(7), "", '"Anna Li" 撤回了一条消息', "recall"),
        Record(28, at(8), "王 姐", "", media=[""]),
    ]
    assert parsed.problems == []


def test_weflow_txt_quoted_names_bom_crlf() -> None:
    parsed = parse("weflow.txt")
    assert parsed.variant == "txt-weflow"
    assert parsed.records == [
        Record(1, at(0), "王 姐", "早上好"),
        Record(4, at(1), "我", "", media=[""]),
        Record(7, at(2), "Anna Li", "", media=["检查单.pdf"]),
    ]


def test_wechatexporter_txt() -> None:
    parsed = parse("wechatexporter.txt")
    assert parsed.variant == "txt-wechatexporter"
    assert parsed.records == [
        Record(3, at(0), "王 姐", "早上好\n今天天气不错"),
        Record(5, at(1), "小舟", "", media=[""]),
        Record(6, at(1), "", '"Anna Li"加入了群聊', "join"),  # no time: the one before
        Record(7, at(2), "Anna Li", "", media=["化疗日程表.pdf"]),
        Record(8, at(3), "Anna Li", "收到"),  # 「quoted」 and the dashes dropped
        Record(11, at(4, hour=13), "Bob", "下午好"),  # 01:04:00 PM
    ]
    assert parsed.problems == []  # the title line is not a stray line


def test_name_first_txt_drops_the_wxid() -> None:
    parsed = parse("name_first.txt")
    assert parsed.variant == "txt-name-first"
    assert parsed.records == [
        Record(1, at(0), "王 姐", "早上好"),
        Record(4, at(1), "Anna Li", "", media=[""]),
    ]


def test_txt_lines_before_the_first_message_are_problems() -> None:
    text = "random preface\n\n2023-01-01 12:00:00 A\nhi\n\n2023-01-01 12:01:00 B\nho\n"
    parsed = wechat.parse(text, zone=SH)
    assert [(r.line, r.sender, r.text) for r in parsed.records] == [(3, "A", "hi"), (6, "B", "ho")]
    assert problems(parsed) == [(1, "Line outside any message")]


def test_txt_impossible_time_is_a_problem() -> None:
    text = "2023-01-01 12:00:00 A\nhi\n\n2023-02-30 12:00:00 B\nho\n"
    parsed = wechat.parse(text, zone=SH)
    assert [r.text for r in parsed.records] == ["hi\n\n2023-02-30 12:00:00 B\nho"]
    assert problems(parsed) == [(4, "Message header with an impossible time")]


def test_wechatmsg_html() -> None:
    parsed = parse("wechatmsg_group.html")
    assert parsed.variant == "html-wechatmsg"
    assert parsed.records == [
        Record(34, at(0), "", '"王 姐"邀请"Anna Li"加入了群聊', "join"),
        # emoji <img id="微笑"> back to [微笑]; HTML and JavaScript escapes undone
        Record(34, at(1), "Anna Li", "大家好 [微笑] <3 '引号' & \\ 反斜杠\n第二行"),
        Record(34, at(2), "小舟", "", media=["abc.jpg"]),
        Record(35, at(3), "王 姐", "", media=["化疗日程表.pdf"]),
        Record(35, at(4), "Anna Li", "收到"),
        Record(35, at(5), "王 姐", "新药进展\nhttps://example.org/a"),
        Record(36, at(6), "Anna Li", "", media=["123.mp3"]),
        Record(36, at(7), "", '"Anna Li" 撤回了一条消息', "recall"),
    ]
    assert problems(parsed) == [(37, "Unreadable message entry")]


def test_wechatmsg_html_older_layout_with_time_dividers() -> None:
    text = (
        "<html><body><script>\nconst chatMessages = [\n"
        "{ type:0, text: '2023-01-01 12:00:00',is_send:0,avatar_path:''},"
        "{ type:1, text: 'hi',is_send:1,avatar_path:'myhead.png'},\n"
        "{ type:1, text: 'yo',is_send:0,avatar_path:'tahead.png'}\n];\n</script></body></html>"
    )
    parsed = wechat.parse(text, zone=SH)
    assert parsed.records == [Record(3, at(0), "Me", "hi"), Record(4, at(0), "Them", "yo")]


def test_wechatexporter_html() -> None:
    parsed = parse("wechatexporter.html")
    assert parsed.variant == "html-wechatexporter"
    assert parsed.records == [
        Record(11, at(0), "王 姐", "早上好 <大家>\n第二行 [微笑]", ref="1001"),
        Record(21, at(1), "小舟", "", media=["1002.jpg"], ref="1002"),
        Record(30, at(1), "", '"Anna Li"加入了群聊', "join", ref="1003"),
        Record(31, at(2), "王 姐", "", media=["化疗日程表.pdf"], ref="1004"),
        Record(51, at(3), "Anna Li", "收到，谢谢", ref="1005"),
        Record(61, at(4), "王 姐", "新药进展\n摘要\nhttps://example.org/a", ref="1006"),
        Record(86, at(5), "Anna Li", "", media=["1007.mp4"], ref="1007"),
        Record(95, at(6), "王 姐", "", media=["报告.docx"], ref="1008"),
    ]
    assert problems(parsed) == [(105, "Message without a readable time")]
    assert 'msgid="1009"' in parsed.problems[0].excerpt


def test_other_html_is_not_wechat() -> None:
    with pytest.raises(FormatError):
        wechat.parse("<!DOCTYPE html><html><body><p>hello</p></body></html>", zone=SH)


def test_text_that_is_no_export_is_a_format_error() -> None:
    with pytest.raises(FormatError) as e:
        wechat.parse("Dear diary,\ntoday was fine.\n", zone=SH)
    assert e.value.line == 1


# --- telling formats apart -------------------------------------------------------------------

WECHAT_FIXTURES = sorted(p.name for p in DATA.iterdir() if p.name != "unknown_header.csv")

NOT_WECHAT = [
    # WhatsApp Android and iOS, several locales
    "31/12/2022, 23:59 - Anna: happy new year\n01/01/2023, 00:00 - Bob: 🎉\n",
    "12/31/22, 11:59 PM - Anna: happy new year\n1/1/23, 12:00 AM - Bob: you too\n",
    "[31/12/2022, 23:59:59] Anna: happy new year\n[01/01/2023, 00:00:01] Bob: 🎉\n",
    "\u200e[2022-12-31 23:59:59] Anna: hi\n[2022-12-31 23:59:59] Bob: ho\n",
    "2022-12-31 23:59 - Anna: hi\n2022-12-31 23:59 - Bob: ho\n",
    "31.12.22, 23:59 - Anna: Frohes neues Jahr\n",
    # Telegram Desktop JSON
    '{\n "name": "Group",\n "type": "private_group",\n "id": 1,\n "messages": [\n  {\n'
    '   "id": 1,\n   "type": "message",\n   "date": "2023-01-01T12:00:00",\n'
    '   "from": "Anna",\n   "text": "hi"\n  }\n ]\n}\n',
    # other text
    "",
    "hello\nworld\n",
    "time,sender,message\n2023-01-01 12:00:00,a,b\n",
    "<html><body>nothing</body></html>",
]


@pytest.mark.parametrize("name", WECHAT_FIXTURES)
def test_sniff_claims_every_wechat_fixture(name: str) -> None:
    assert wechat.sniff(load(name))


@pytest.mark.parametrize("text", NOT_WECHAT)
def test_sniff_leaves_other_formats_alone(text: str) -> None:
    assert not wechat.sniff(text)


def test_sniff_reads_only_the_start() -> None:
    text = load("wechatmsg_group.txt")
    assert wechat.sniff(text + "x" * 5_000_000)
    assert not wechat.sniff("x" * 70_000 + "\n" + text)


def test_sniff_text_export_opening_with_a_long_message() -> None:
    text = "2023-01-01 12:00:00 王 姐\n" + "很长的一条消息\n" * 60 + "\n2023-01-01 12:01:00 A\nhi\n"
    assert wechat.sniff(text)
    assert not wechat.sniff("notes\n" + "line\n" * 10 + "2023-01-01 12:00:00 x\n")


# --- properties ------------------------------------------------------------------------------

HEADERS = [
    "",
    ",".join(wechat._WECHATMSG_COLUMNS) + "\n",
    ",".join(wechat._WECHATMSG_COLUMNS[:9]) + "\n",
    "id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime\n",
    "id,MsgSvrID,type_name,is_sender,talker,room_name,content,CreateTime\n",
    "id,MsgSvrID,type_name,is_sender,talker,msg,src,CreateTime\n",
    "<html><script>const chatMessages = [",
    '<div class="msg chat-left" msgid="1"><div class="nt-box"><span>a</span> '
    '2023-01-01 12:00:00</div><div class="content-box"><span>',
    "2023-01-01 12:00:00 a\n",
    "a (2023-01-01 12:00:00):",
    "a 2023-01-01 12:00:00\n",
]
PIECES = st.sampled_from(
    [
        *"ab,\"'\n{}[]<>:/\\ 09-;&#=()",
        *("2023-01-01 12:00:00", "1672545600", "type:", "text:", "timestamp:", "<br>"),
        *("<span>", "</span>", "</div>", '<div class="msg x" msgid="2">', "<![CDATA[", "]]>"),
        *("<title>", "<type>57</type>", "<svrid>", "10000", "49", "引用:", "「", "系统消息："),
        *("[图片]", "[文件: ", "\\u12", "&#1234;", "撤回了一条消息"),
    ]
)


@FUZZ
@given(st.text())
def test_arbitrary_text_only_ever_raises_format_error(text: str) -> None:
    wechat.sniff(text)
    try:
        wechat.parse(text, zone=SH)
    except FormatError:
        pass


@FUZZ
@given(st.sampled_from(HEADERS), st.lists(PIECES, max_size=80).map("".join), st.text(max_size=40))
def test_damaged_exports_parse_what_they_can(header: str, body: str, noise: str) -> None:
    for text in (header + body, header + noise + body):
        assert isinstance(wechat.sniff(text), bool)
        try:
            parsed = wechat.parse(text, zone=SH)
        except FormatError:
            continue
        lines = text.count("\n") + 1
        for record in parsed.records:
            assert record.at.tzinfo is not None
            assert 1 <= record.line <= lines
        for problem in parsed.problems:
            assert len(problem.excerpt) <= 80


CHARS = st.characters(blacklist_categories=("Cs", "Cc"))
NAMES = st.text(CHARS, min_size=1, max_size=12).filter(lambda s: s == s.strip() and s != "")
# WeChat sends no empty or blank text; "\r" would not survive records.decode
CSV_TEXTS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"))
CSV_TEXTS = CSV_TEXTS.filter(lambda t: t.strip() != "")
TIMES = st.integers(946_684_800, 2_100_000_000).map(lambda s: dt.datetime.fromtimestamp(s, SH))


def write_wechatmsg_csv(rows: list[tuple[str, str, dt.datetime]]) -> bytes:
    """Rows as WeChatMsg's CSV exporter writes them: utf-8-sig, csv.writer's CRLF."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(wechat._WECHATMSG_COLUMNS)
    for i, (sender, text, when) in enumerate(rows, 1):
        stamp = int(when.timestamp())
        shown = when.strftime("%Y-%m-%d %H:%M:%S")
        writer.writerow([i, 7, 1, 0, 0, stamp, 2, text, shown, sender, sender, f"wxid_{i}"])
    return out.getvalue().encode("utf-8-sig")


@FUZZ
@given(st.lists(st.tuples(NAMES, CSV_TEXTS, TIMES), max_size=8))
def test_csv_round_trip(rows: list[tuple[str, str, dt.datetime]]) -> None:
    parsed = wechat.parse(decode(write_wechatmsg_csv(rows)), zone=SH)
    assert parsed.problems == []
    assert [(r.sender, r.text, r.at) for r in parsed.records] == rows
    assert [r.ref for r in parsed.records] == [str(i) for i in range(1, len(rows) + 1)]


def write_wechatmsg_txt(rows: list[tuple[str, str, dt.datetime]]) -> str:
    """Rows as WeChatMsg's TXT exporter writes them: "time name", the text, a blank line."""
    return "".join(f"{when:%Y-%m-%d %H:%M:%S} {sender}\n{text}\n\n" for sender, text, when in rows)


_LOOKS_LIKE_A_HEADER = re.compile(r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}")
LINE = st.text(CHARS, max_size=15).filter(lambda s: not _LOOKS_LIKE_A_HEADER.search(s))
TEXTS = (
    st.lists(LINE, min_size=1, max_size=4)
    .filter(lambda ls: bool(ls[0].strip()) and bool(ls[-1].strip()))
    .filter(lambda ls: not any(line.startswith(("引用", "「")) for line in ls))
    .map("\n".join)
    .filter(lambda t: wechat.placeholder_media(t) is None)
)
TXT_NAMES = NAMES.filter(lambda s: not (s.startswith("'") or s.endswith("'")))
TXT_NAMES = TXT_NAMES.filter(lambda s: s not in ("系统", "系统消息", "System", "system"))


@FUZZ
@given(st.lists(st.tuples(TXT_NAMES, TEXTS, TIMES), min_size=1, max_size=6))
def test_txt_round_trip(rows: list[tuple[str, str, dt.datetime]]) -> None:
    parsed = wechat.parse(write_wechatmsg_txt(rows), zone=SH)
    assert parsed.variant == "txt-wechatmsg"
    assert parsed.problems == []
    assert [(r.sender, r.text, r.at) for r in parsed.records] == rows
