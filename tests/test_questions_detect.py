"""Question detection and "asked before", measured on the labelled set in tests/data.

tests/data/questions.tsv holds 420 group messages written for the repo (255 Chinese, 165
English; 187 questions), with 70 later questions marked as duplicates of earlier ones.
The figures are in docs/questions.md."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tongzhou.questions.detect import is_question
from tongzhou.questions.search import Index, terms_of

DATA = Path(__file__).parent / "data" / "questions.tsv"
ROWS = list(csv.DictReader(DATA.open(encoding="utf-8"), delimiter="\t"))


def _scores(rows: list[dict[str, str]]) -> tuple[float, float]:
    tp = sum(1 for r in rows if r["label"] == "q" and is_question(r["text"]))
    fp = sum(1 for r in rows if r["label"] == "n" and is_question(r["text"]))
    fn = sum(1 for r in rows if r["label"] == "q" and not is_question(r["text"]))
    return tp / (tp + fp), tp / (tp + fn)


def test_the_labelled_set_is_big_enough_and_in_both_languages() -> None:
    langs = {r["lang"] for r in ROWS}
    assert len(ROWS) >= 300 and langs == {"zh", "en"}
    for lang in langs:
        labels = [r["label"] for r in ROWS if r["lang"] == lang]
        assert labels.count("q") >= 50 and labels.count("n") >= 50


@pytest.mark.parametrize("lang", ["zh", "en", "all"])
def test_detection_precision_and_recall_are_at_least_090(lang: str) -> None:
    rows = [r for r in ROWS if lang in ("all", r["lang"])]
    precision, recall = _scores(rows)
    print(f"{lang}: precision {precision:.3f} recall {recall:.3f} over {len(rows)} messages")
    assert precision >= 0.9
    assert recall >= 0.9


@pytest.mark.parametrize(
    "text",
    [
        "谁不是呢",
        "我怎么这么倒霉啊",
        "why me...",
        "who knew hospital food could be this bad?",
        "真的假的！？太好了",
        "加油！",
        "👍",
        "挂号的话提前7天放号",
    ],
)
def test_filler_greetings_and_answers_are_not_questions(text: str) -> None:
    assert not is_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "请问中山肿瘤挂号要提前几天",
        "放疗痛吗",
        "有没有人知道放疗后多久能吃辣",
        "diet tips?",
        "Has anyone tried acupuncture for nausea",
        "求推荐广州住的地方",
    ],
)
def test_questions_without_a_question_mark_are_found(text: str) -> None:
    assert is_question(text)


def test_an_earlier_duplicate_is_in_the_top_three_at_least_80_percent_of_the_time() -> None:
    """Questions are indexed in the order they were asked; each labelled duplicate searches
    everything asked before it, as "asked before" does in a group."""
    index = Index()
    hits = total = 0
    for r in ROWS:
        if r["label"] != "q":
            continue
        if r["dup_of"]:
            total += 1
            found = [qid for qid, _share in index.search(terms_of(r["text"]), 3, set())]
            hits += int(r["dup_of"]) in found
        index.add(int(r["id"]), terms_of(r["text"]))
    print(f"duplicate in top 3: {hits}/{total} = {hits / total:.3f}")
    assert total >= 50
    assert hits / total >= 0.8
