"""What an imported history teaches (imports/mining.py), measured on a labelled chat.

tests/data/imports/qa_pairs.json holds 816 messages of a made-up WeChat group of
nasopharyngeal and breast cancer patients and carers, written for the repo: mostly Chinese,
some English and Cantonese, greetings, stickers, parallel conversations, questions nobody
answers, rhetorical ones, late answers and replies. Every real question is labelled with the
messages that genuinely answer it (150 questions, 131 answered, 197 pairs). Messages from
`heldout_from` on (182) were written after the heuristics had been revised on the others.

Pairs are counted end to end: a question must be recognised (questions/detect.py) before it
can be answered, and an answer taken for a question answers nothing; "labelled" replaces
detection by the labels, to tell mining's own errors from detection's. The figures are
printed; each floor sits a little below what was measured.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import tongzhou.questions.search  # noqa: F401  (as in the app: it adds 升白针 … to jieba)
from tongzhou.chat.models import Message
from tongzhou.imports.mining import group_words, qa_pairs
from tongzhou.knowledge.terms import normalize
from tongzhou.questions.detect import is_question

DATA = Path(__file__).parent / "data" / "imports" / "qa_pairs.json"
CHAT: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
T0 = datetime.fromisoformat("2024-05-06T09:00:00+08:00")


def _history(kinds: str, part: str) -> tuple[list[Message], dict[int, list[int]]]:
    """The chat's messages, unsaved (qa_pairs only reads attributes), and its labels."""
    heldout = CHAT["heldout_from"] if part == "heldout" else 0

    def wanted(i: int) -> bool:
        return i >= heldout

    labels = {q["id"]: q["answers"] for q in CHAT["questions"] if wanted(q["id"])}
    senders: dict[str, int] = {}
    messages = []
    for m in CHAT["messages"]:
        if not wanted(m["id"]):
            continue
        asks = m["id"] in labels if kinds == "labelled" else is_question(m["text"])
        messages.append(
            Message(
                pk=m["id"],
                sender_id=senders.setdefault(m["sender"], len(senders) + 1),
                text=m["text"],
                kind=Message.Kind.QUESTION if asks else Message.Kind.TEXT,
                created_at=datetime.fromisoformat(m["at"]),
                reply_to_id=m["reply_to"],
            )
        )
    return messages, labels


def _ratio(right: int, of: int) -> float:
    return right / of if of else 1.0


def _figures(messages: list[Message], labels: dict[int, list[int]]) -> dict[str, float]:
    found = qa_pairs(messages)
    pairs = {(q.pk, a.pk) for q, answers, _score in found for a in answers}
    true_pairs = {(q, a) for q, answers in labels.items() for a in answers}
    answered = {q.pk for q, _answers, _score in found}
    truly_answered = {q for q, answers in labels.items() if answers}
    print(
        f"pairs {len(pairs & true_pairs)} right of {len(pairs)} found, {len(true_pairs)} "
        f"labelled; answered questions {len(answered & truly_answered)} right of "
        f"{len(answered)} found, {len(truly_answered)} labelled"
    )
    return {
        "pair precision": _ratio(len(pairs & true_pairs), len(pairs)),
        "pair recall": _ratio(len(pairs & true_pairs), len(true_pairs)),
        "answered precision": _ratio(len(answered & truly_answered), len(answered)),
        "answered recall": _ratio(len(answered & truly_answered), len(truly_answered)),
    }


def test_the_labelled_chat_is_big_varied_and_consistent() -> None:
    messages, questions = CHAT["messages"], CHAT["questions"]
    ids = [m["id"] for m in messages]
    assert len(messages) >= 300 and ids == list(range(1, len(messages) + 1))
    times = [datetime.fromisoformat(m["at"]) for m in messages]
    assert times == sorted(times) and all(t.utcoffset() == timedelta(hours=8) for t in times)
    assert all(m["reply_to"] is None or 0 < m["reply_to"] < m["id"] for m in messages)
    assert sum(m["reply_to"] is not None for m in messages) >= 15
    english = [m for m in messages if m["text"].isascii() and any(c.isalpha() for c in m["text"])]
    assert 30 <= len(english) <= len(messages) // 4  # mostly Chinese, some English
    assert sum(m["text"].startswith("[") for m in messages) >= 20  # stickers and pictures
    assert len({m["sender"] for m in messages}) >= 10
    by_id = {m["id"]: m for m in messages}
    assert len(questions) >= 100 and len({q["id"] for q in questions}) == len(questions)
    for q in questions:
        assert all(by_id[a]["at"] > by_id[q["id"]]["at"] for a in q["answers"])
    unanswered = [q for q in questions if not q["answers"]]
    assert len(unanswered) >= 10
    # Rhetorical and emotional questions are in the chat, and are not labelled questions.
    labelled = {q["id"] for q in questions}
    rhetorical = [m for m in messages if is_question(m["text"]) and m["id"] not in labelled]
    assert len(rhetorical) >= 20


# (kinds, part): floors for pair precision, pair recall, answered precision, answered recall.
# Measured: all/detected 0.718 0.751 0.815 0.809; all/labelled 0.810 0.843 0.943 0.878;
# held-out/detected 0.697 0.575 0.833 0.690; held-out/labelled 0.806 0.625 1.000 0.759 (40
# pairs: one pair is 2.5 points). Before the changes of this revision, all/detected measured
# 0.633 0.761 0.776 0.847 and all/labelled 0.730 0.853 0.930 0.908.
FLOORS = {
    ("detected", "all"): (0.68, 0.72, 0.78, 0.77),
    ("labelled", "all"): (0.77, 0.81, 0.91, 0.84),
    ("detected", "heldout"): (0.62, 0.50, 0.75, 0.62),
    ("labelled", "heldout"): (0.72, 0.55, 0.90, 0.68),
}


@pytest.mark.parametrize(("kinds", "part"), list(FLOORS))
def test_answered_questions_are_found_with_known_precision_and_recall(
    kinds: str, part: str
) -> None:
    figures = _figures(*_history(kinds, part))
    print(f"{part}, questions {kinds}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    for (name, value), floor in zip(figures.items(), FLOORS[kinds, part], strict=True):
        assert value >= floor, f"{name} {value:.3f} < {floor}"


def _chat(*lines: tuple[int, str] | tuple[int, str, int]) -> Iterator[Message]:
    """(sender, text[, minutes]) → messages a minute apart unless told, replies as `>id `."""
    at = T0
    for pk, line in enumerate(lines, start=1):
        sender, text = line[0], line[1]
        at += timedelta(minutes=line[2] if len(line) == 3 else 1)
        reply = int(text[1:].split(" ", 1)[0]) if text.startswith(">") else None
        text = text.split(" ", 1)[1] if reply else text
        kind = Message.Kind.QUESTION if is_question(text) else Message.Kind.TEXT
        yield Message(
            pk=pk, sender_id=sender, text=text, kind=kind, created_at=at, reply_to_id=reply
        )


def _answers(messages: Iterator[Message]) -> dict[int, list[int]]:
    return {q.pk: [a.pk for a in answers] for q, answers, _score in qa_pairs(list(messages))}


def test_thanks_sympathy_greetings_and_not_knowing_answer_nothing() -> None:
    found = _answers(
        _chat(
            (1, "放疗后口干得厉害，晚上睡不着，大家怎么缓解的？"),
            (2, "抱抱，放疗真的太辛苦了，熬过去就好了💪"),
            (3, "我没有口干，这个不太清楚"),
            (4, "我也想知道，我爸也是这样"),
            (5, "早上好各位，今天天气不错"),
            (2, "床头放个加湿器，随身带水杯，会好很多"),
            (1, "谢谢大家，今晚试试加湿器"),
        )
    )
    assert found == {1: [6]}


def test_an_answer_between_two_conversations_goes_to_the_one_it_is_about() -> None:
    found = _answers(
        _chat(
            (1, "赫赛汀一共要打多少次？医生说一年"),
            (2, "我妈脖子脱皮了，有点渗液，还能继续放疗吗？"),
            (3, "渗液的话先跟医生说，我们当时暂停了两天放疗"),
            (4, "赫赛汀一年是17次，三周打一次"),
            (5, "每个人情况不一样，还是听自己主治的安排"),  # about neither: both
        )
    )
    assert found == {1: [4, 5], 2: [3, 5]}


def test_a_reply_answers_however_late_and_the_asker_moving_on_closes_the_window() -> None:
    found = _answers(
        _chat(
            (1, "PET-CT前要空腹多久？"),
            (1, "还有，做完要离小孩远一点吗？"),  # the asker's next question closes the first
            (2, "做完当天离孕妇和小孩远一点，多喝水就好", 5),
            (3, ">1 至少空腹六小时，有糖尿病的话要提前跟医生说", 300),
            (1, "好的，都记下了，谢谢"),
        )
    )
    assert found == {1: [4], 2: [3]}


# -- The group's own words ---------------------------------------------------------------


def _small_history() -> list[Message]:
    """Six people over two weeks. Several use 毕业, 升白针, PICC and 来曲唑 (which jieba cuts
    as 来曲唑, 吃来|曲唑 or 来|曲唑 by sentence) a lot; everybody says 我们 and 今天; only
    周叔 says 阿弥陀佛; stickers and pictures arrive as [表情], [图片]."""
    lines = [
        (1, "今天打了升白针，骨头有点疼"),
        (2, "升白针打完骨头疼很正常，我们当时都这样"),
        (3, "我们今天去医院换PICC的贴膜"),
        (4, "PICC每周都要维护，我今天刚去过"),
        (5, "下个月就毕业了！[表情]"),
        (6, "阿弥陀佛，恭喜恭喜"),
        (1, "我们什么时候也能毕业啊"),
        (2, "毕业以后记得定期复查，我毕业三年了"),
        (3, "[图片]"),
        (4, "长效的升白针一个疗程打一针就行"),
        (3, "我妈今天又要打升白针，我们明天去做PICC维护"),
        (6, "阿弥陀佛，大家都平平安安的"),
        (1, "吃来曲唑一个月了，关节有点痛"),
        (4, "来曲唑要补钙，今天开始吃钙片"),
        (5, "我也在吃来曲唑，我们一起加油[表情]"),
        (2, "医生让我换来曲唑，今天第一天"),
        (6, "今天去公园走了走，阿弥陀佛"),
        (1, "PICC的贴膜边上有点痒怎么办"),
        (3, "[图片]"),
        (5, "我们群里好几个人都毕业了，真好"),
        (4, "今天又打升白针了，我们这个疗程快结束了"),
        (6, "阿弥陀佛，今天的复查结果都好"),
        (2, "[表情]"),
        (1, "我们下周一起去做PICC维护吧"),
        (6, "阿弥陀佛，今天我们吃素"),
        (5, "今天的升白针打完了，我们晚上见"),
    ]
    return [
        Message(pk=i, sender_id=sender, text=text, created_at=T0 + timedelta(hours=9 * i))
        for i, (sender, text) in enumerate(lines, start=1)
    ]


def test_words_several_people_use_a_lot_come_out_and_everyday_ones_do_not() -> None:
    found = group_words(_small_history(), exclude=set())
    words = [w for w, *_rest in found]
    print("group words:", words)
    assert {"毕业", "升白针", "picc", "来曲唑"} <= set(words)
    assert not {"我们", "今天", "恭喜", "阿弥陀佛", "表情", "图片", "曲唑", "吃来", "我妈"} & set(
        words
    )
    _word, messages, people, examples, _score = found[words.index("升白针")]
    assert (messages, people) == (6, 5) and examples == [1, 2, 10]


def test_known_terms_and_names_are_left_out() -> None:
    words = [w for w, *_rest in group_words(_small_history(), exclude={"毕业", "picc"})]
    assert "升白针" in words and not {"毕业", "picc"} & set(words)
    assert group_words([], exclude=set()) == []


# Words of the labelled chat a glossary for its members might explain: treatments, drugs,
# tests, care items, hospital and group words. Judged by hand from the chat, after seeing
# what the first version found and before rankings were compared; broader than any finds.
GROUP_TERMS = set(
    """放疗 化疗 放化疗 胃管 中肿 毕业 面罩 病友 高压氧 升白针 升白 picc 洗鼻 洗鼻壶 洗鼻盐 张口训练 张口
    比亚芬 安素 渗液 多西他赛 来曲唑 赫赛汀 利多卡因 口干 鼻咽癌 复查 医保 输液港 疗程 白细胞 门特 发物
    贴膜 脱皮 湿性脱皮 拆线 空腹 pet ct pet-ct mri her2 eb ki67 诱导 诱导化疗 定位 乳腺 术后 引流管
    新辅助 冻卵 生殖科 靶向 射血分数 心超 钼靶 淋巴 淋巴水肿 他莫昔芬 曲美他嗪 奥氮平 昂丹司琼 艾司唑仑
    制霉素 甲钴胺 氯雷他定 表阿霉素 紫杉醇 卡培他滨 保乳 引流 义诊 放疗科 营养科 耳鼻喉 异地就医 胃造瘘
    造瘘 鼻饲管 鼻胃管 加湿器 木糖醇 营养粉 全营养粉 蛋白粉 压力袖套 冰帽 假发 溃疡 口腔溃疡 血常规 骨密度
    内分泌 病理 完全缓解 副作用 鼻咽 喉咙痛 真菌 霉菌 潮热 掉头发 心理门诊 群文件 群公告""".split()
)


def test_most_of_the_labelled_chats_top_words_are_its_own() -> None:
    """The 40 words a leader is shown for the labelled chat, senders' names left out as the
    import leaves them out. 28 are group terms (8 before this revision: 今天, 谢谢, 可以,
    早上好, [表情] … filled the list, and PICC, 升白针 were missing)."""
    messages, _labels = _history("detected", "all")
    names = {normalize(m["sender"]) for m in CHAT["messages"]}
    words = [w for w, *_rest in group_words(messages, exclude=names)]
    ours = [w for w in words if w in GROUP_TERMS]
    print(f"{len(ours)} of {len(words)} are group terms; the others: {set(words) - set(ours)}")
    assert len(words) == 40 and len(ours) >= 25
    assert {"毕业", "升白针", "picc", "中肿", "胃管"} <= set(ours)
