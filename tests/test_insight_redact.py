"""Research text is redacted before a researcher reads or exports it: members' names become
their pseudonyms, and phone numbers, ID numbers, e-mail addresses, contact ids, addresses and
hospitals become tags, while the medical talk researchers came for stays as it was."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tongzhou.insight.redact import Redactor, redact

NAMES = {
    "王秀英": "P001",
    "秀英": "P001",
    "Zhuoqiang": "P002",
    "zhuoqiang_li": "P002",
    "雨后彩虹": "P003",
    "静": "P004",
    "Jo": "P005",
    "Anna Smith": "[member]",
    "Anna": "[member]",
    "陳美玲": "[member]",
}
HOSPITALS = ["仁济东院", "St Elsewhere"]
R = Redactor(NAMES, HOSPITALS)

CASES = [
    # names in mid-sentence, in both scripts, in traditional characters, as @mentions
    ("我昨天和王秀英聊了，秀英说放疗后口干怎么办", "我昨天和P001聊了，P001说放疗后口干怎么办"),
    ("Zhuoqiang said the PD-1 was fine", "P002 said the PD-1 was fine"),
    ("thanks zhuoqiang!", "thanks P002!"),
    ("陈美玲和陳美玲都来了", "[member]和[member]都来了"),
    ("I met Anna Smith and anna", "I met [member] and [member]"),
    ("@zhuoqiang_li 谢谢", "@P002 谢谢"),
    ("@雨后彩虹 你好", "@P003 你好"),
    ("@静 你好，静静地躺着也好", "@P004 你好，静静地躺着也好"),
    ("@Jo thanks. Jo is short for Joanna; a joke", "@P005 thanks. Jo is short for Joanna; a joke"),
    ("@李医生 说可以", "@[name] 说可以"),
    ("Annabel is not Anna", "Annabel is not [member]"),
    # phone numbers in many shapes, public hospital lines included
    ("我的电话13812345678", "我的电话[phone]"),
    ("call 138 1234 5678 or 138-1234-5678", "call [phone] or [phone]"),
    ("+86 139 8765 4321 找我", "[phone] 找我"),
    ("医院电话 020-87343088", "医院电话 [phone]"),
    ("Mayo's line is +1 (507) 284-2511", "[hospital]'s line is [phone]"),
    ("座机 010 6529 5269", "座机 [phone]"),
    ("一三八一二三四五六七八", "[phone]"),
    ("ring one three eight one two three four five six seven eight, ok", "ring [phone], ok"),
    ("住院号 20230045678", "住院号 [phone]"),
    # ID and card numbers, a bad checksum too
    ("身份证110101199003071234", "身份证[id number]"),
    ("身份证 11010119900307123X 和 110101900307123", "身份证 [id number] 和 [id number]"),
    ("卡号 4111 1111 1111 1111", "卡号 [bank card]"),
    # e-mail, links, contact ids
    ("write to anna.li@example.com", "write to [email]"),
    ("see https://example.com/p?id=13812345678", "see [link: example.com]"),
    ("微信号：abc12345，qq 12345678", "[contact id]，[contact id]"),
    # hospitals
    ("在北京协和医院看的", "在[hospital]看的"),
    ("协和的医生说", "[hospital]的医生说"),
    ("去过中山大学肿瘤防治中心", "去过[hospital]"),
    ("在仁济东院复查", "在[hospital]复查"),
    ("I was treated at Sun Yat-sen University Cancer Center.", "I was treated at [hospital]."),
    ("We flew to the Mayo Clinic", "We flew to the [hospital]"),
    ("went to mayo clinic twice", "went to [hospital] twice"),
    ("my scan at st elsewhere", "my scan at [hospital]"),
    ("the Hospital of the University of Pennsylvania", "the [hospital]"),
    # home addresses
    ("住在北京市朝阳区建国路88号院3号楼2单元501室", "住在[address]"),
    ("我家在阳光花园小区", "我家在[address]"),
    ("I live at 221B Baker Street", "I live at [address]"),
]

# What researchers came for, which must come through untouched.
MEDICAL = [
    "放疗后口干怎么办",
    "PD-1 每三周一次",
    "CT 3 cm，比上次小了",
    "2023-03-12 开始化疗，2019-2023 一直在复查",
    "奥希替尼 80mg，卡铂 200mg",
    "血压 120/80，白细胞 3.5",
    "去医院复查，医院里人很多，我去放疗中心排队",
    "中心静脉导管要每周冲管",
    "三甲医院和社区医院都看过",
    "治疗方案听正规医院的，也可以问第二个医院",
    "The oncologist at the cancer clinic said stage IIIA",
    "I took 200 mg twice a day from 12/03/2023",
    "我和妈妈一起去的，放疗第25次了",
    "Stage IV, ECOG 1, CEA 5.2",
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_people_and_their_details_are_replaced(text: str, expected: str) -> None:
    assert R(text) == expected


@pytest.mark.parametrize("text", MEDICAL)
def test_medical_talk_stays_as_it_was(text: str) -> None:
    assert R(text) == text


def test_unknown_text_is_never_a_crash() -> None:
    for text in ["", "@", "@@", "\ud800 13812345678", "http://[x", "…", "ß", "\x00\u20e3"]:
        assert isinstance(R(text), str)
    assert "13812345678" not in R("\ud800 13812345678")


def test_a_hospital_that_names_no_one_is_left_in() -> None:
    redactor = Redactor({}, ["肿瘤医院", "医院", "北京协和医院"])
    assert redactor("去肿瘤医院复查，医院人多") == "去肿瘤医院复查，医院人多"
    assert redactor("在北京協和醫院") == "在[hospital]"


def test_without_names_the_function_redacts_details() -> None:
    assert redact("王秀英 13812345678") == "王秀英 [phone]"
    assert redact("王秀英 13812345678", {"王秀英": "P009"}) == "P009 [phone]"


CANARIES = [
    "13812345678",
    "+86 139 8765 4321",
    "zhuoqiang.li@example.com",
    "11010119900307123X",
    "王秀英",
    "Zhuoqiang",
    "雨后彩虹",
    "北京协和医院",
    "仁济东院",
    "Sun Yat-sen University Cancer Center",
]
chat_text = st.text(
    alphabet=st.one_of(
        st.sampled_from("的了我在医院是中心号路市区一二三四五六七八九十@:：，。！ \n"),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.characters(codec="utf-8"),
        st.sampled_from("abcxyz ABC 0123456789+-()./_"),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.lists(st.tuples(chat_text, st.sampled_from(CANARIES)), max_size=5),
    chat_text,
)
def test_planted_canaries_never_survive(pieces: list[tuple[str, str]], tail: str) -> None:
    text = "".join(f"{before} {canary} " for before, canary in pieces) + tail
    out = R(text)
    assert isinstance(out, str)
    for _before, canary in pieces:
        assert canary.casefold() not in out.casefold(), (text, out)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text())
def test_any_text_gives_text(text: str) -> None:
    assert isinstance(R(text), str)


def test_ten_thousand_chat_messages_take_well_under_a_few_seconds() -> None:
    sample = [
        "放疗后口干怎么办，有没有什么好办法？",
        "@雨后彩虹 谢谢你，我明天去北京协和医院复查",
        "PD-1 每三周一次，第5次了，没什么副作用",
        "Zhuoqiang, how was your scan today?",
        "我的电话13812345678，有事打给我",
        "加油！💪",
        "CT 显示 3 cm，比 2023-03-12 那次小了",
        "The Mayo Clinic page says to drink more water.",
        "好的",
        "谢谢大家的关心，今天感觉好多了，吃了一碗粥",
    ]
    messages = [f"{text} {i}" for i in range(1000) for text in sample]
    started = time.perf_counter()
    for m in messages:
        R(m)
    assert time.perf_counter() - started < 3
