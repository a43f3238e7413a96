"""The safety detectors measured on the labelled sets in tests/data (written for the repo
before the rules were tuned; first-run and tuned figures are in docs/safety.md)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from tongzhou.safety.claims import SEEDS, matching
from tongzhou.safety.crisis import is_crisis
from tongzhou.safety.pii import luhn, personal_data, valid_id_number
from tongzhou.safety.spam import Sender, is_spam, spam_signals

DATA = Path(__file__).parent / "data"


def rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def measure(
    data: list[dict[str, str]],
    truth: Callable[[dict[str, str]], bool],
    guess: Callable[[dict[str, str]], bool],
) -> tuple[float, float, list[str]]:
    tp = fp = fn = 0
    wrong = []
    for r in data:
        t, g = truth(r), guess(r)
        tp += t and g
        fp += g and not t
        fn += t and not g
        if t != g:
            wrong.append(("missed: " if t else "false alarm: ") + r["text"])
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1), wrong


@pytest.mark.parametrize("lang", ["zh", "en", "all"])
def test_salesmen_are_found_with_precision_and_recall_of_at_least_0_9(lang: str) -> None:
    data = [r for r in rows("spam.tsv") if lang in ("all", r["lang"])]
    assert len(rows("spam.tsv")) >= 300
    p, r, wrong = measure(
        data,
        lambda row: row["label"] == "spam",
        lambda row: is_spam(spam_signals(row["text"], Sender(new_member=row["new"] == "1"))),
    )
    assert p >= 0.9 and r >= 0.9, (p, r, wrong[:10])


@pytest.mark.parametrize("lang", ["zh", "en", "all"])
def test_crisis_is_found_with_recall_of_at_least_0_95(lang: str) -> None:
    data = [r for r in rows("crisis.tsv") if lang in ("all", r["lang"])]
    p, r, wrong = measure(
        data, lambda row: row["label"] == "crisis", lambda row: is_crisis(row["text"])
    )
    assert r >= 0.95, (r, [w for w in wrong if w.startswith("missed")])
    # False alarms are cheap (a card the sender closes, a look from a moderator), not free.
    assert p >= 0.85, (p, [w for w in wrong if w.startswith("false")])


@pytest.mark.parametrize("name", ["crisis_fresh.tsv", "spam_fresh.tsv"])
def test_on_messages_written_after_the_detectors_were_made(name: str) -> None:
    """A second set, written after the rules and the model were made and never tuned on:
    how the checks do on phrasings nobody wrote down (figures in docs/safety.md)."""
    data = rows(name)
    if name.startswith("crisis"):
        p, r, wrong = measure(
            data, lambda row: row["label"] == "crisis", lambda row: is_crisis(row["text"])
        )
        # Measured 0.458 recall, 0.971 precision: far below the tuned set. Kept as a floor
        # so that it can only go up; see docs/safety.md for what was tried.
        assert r >= 0.45 and p >= 0.9, (p, r, wrong)
    else:
        p, r, wrong = measure(
            data,
            lambda row: row["label"] == "spam",
            lambda row: is_spam(spam_signals(row["text"], Sender(new_member=row["new"] == "1"))),
        )
        assert p >= 0.9 and r >= 0.6, (p, r, wrong)  # recall on new tricks: see docs/safety.md


def test_quack_claims_are_noted_and_warnings_against_them_are_not() -> None:
    claims = [(s["seed"], s["patterns"]) for s in SEEDS]
    data = rows("misinformation.tsv")
    p, r, wrong = measure(
        data, lambda row: row["label"] != "ok", lambda row: bool(matching(row["text"], claims))
    )
    assert p >= 0.85 and r >= 0.75, (p, r, wrong[:10])
    # The claim found is the claim meant, for most matches.
    right = sum(
        row["label"] in matching(row["text"], claims) for row in data if row["label"] != "ok"
    )
    assert right / sum(row["label"] != "ok" for row in data) >= 0.75


def test_tricky_negatives_stay_quiet() -> None:
    assert not is_spam(
        spam_signals("中山大学肿瘤防治中心 预约电话 020-87343088，工作日早上8点放号")
    )
    assert not is_spam(spam_signals("群里有人私聊我卖保健品，大家别加，我已经举报了"))
    assert is_spam(spam_signals("加我薇信 kfzj0520 了解抗癌好产品"))
    assert is_spam(spam_signals("我的电话 一三八 一二三四 五六七八", Sender(new_member=True)))
    assert not is_crisis("放疗三十三次全部结束，解脱了！谢谢大家")
    assert not is_crisis("等结果等得我想死 哈哈 不过是好消息")
    assert is_crisis("活着没意思，不想再拖累家人了")
    assert is_crisis("I just want it all to end")
    claims = [(s["seed"], s["patterns"]) for s in SEEDS]
    assert matching("喝碱性水能治癌，大家试试", claims) == ["alkaline"]
    assert matching("有人说喝碱性水能治癌，大家千万别信", claims) == []


def test_personal_data_checks_the_id_checksum_and_luhn() -> None:
    assert valid_id_number("11010519491231002X")
    assert not valid_id_number("110105194912310021")
    assert luhn("79927398713") and not luhn("79927398710")  # the textbook Luhn example
    card = "4111 1111 1111 1111"  # the well-known test Visa number, valid Luhn
    kinds = {
        f["kind"] for f in personal_data(f"卡号 {card} 身份证11010519491231002X 电话13812345678")
    }
    assert kinds == {"bank_card", "id_number", "phone"}
    assert {f["kind"] for f in personal_data("我住在长沙市岳麓区麓山南路932号")} == {"address"}
    assert {f["kind"] for f in personal_data("I live at 221 Baker Street")} == {"address"}
    assert personal_data("医院挂号电话 020-87343088，白细胞 3.2，顺铂 80mg") == []
    assert personal_data("4111 1111 1111 1112") == []  # fails Luhn: not a card


def test_quick_patterns_match_exactly_what_the_plain_ones_do() -> None:
    """The look-ahead only skips places where nothing can start: every search over every
    labelled message gives the same match."""
    import re

    from tongzhou.safety import claims, crisis, spam
    from tongzhou.safety.textscan import fold

    texts = [
        fold(r["text"])
        for name in ("spam.tsv", "crisis.tsv", "misinformation.tsv")
        for r in rows(name)
    ]
    patterns = [
        crisis._ZH,
        crisis._EN,
        spam.WECHAT,
        spam.HANDLE,
        spam.PRIVATE,
        spam.AD,
        spam.WARNING,
        claims.DEBUNK,
    ]
    sped_up = 0
    for fast in patterns:
        plain = (
            re.compile(fast.pattern.split("])(?:", 1)[1][:-1])
            if fast.pattern.startswith("(?=[")
            else fast
        )
        sped_up += plain is not fast
        for t in texts:
            a, b = fast.search(t), plain.search(t)
            assert (a and a.span()) == (b and b.span()), (fast.pattern[:40], t)
    assert sped_up == len(patterns)  # every one of them got its look-ahead
