"""“Asked before”: earlier questions in the same group that resemble a new one.

Words come from jieba (Chinese, search mode) and a plain English tokenizer, with a few
spelling variants folded together. Ranking is BM25 over a small in-memory inverted index per
group and process. It is written here rather than taken from a search engine because it must
grow one question at a time without a refit, stay per group (members only ever see their own
group), and answer quickly over 100,000 questions (about 8 ms p50 for the search itself on
the bench machine; bench/questions.py, docs/performance.md). Each
query first loads questions whose words changed since the last one, so several processes
stay in step through the database.
"""

from __future__ import annotations

import heapq
import logging
import math
import re
import threading
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import jieba
from django.utils import timezone

jieba.setLogLevel(logging.WARNING)
# Words of these groups that jieba's general dictionary cuts apart (放疗后口干 → 后口 / 干).
for _word in (
    "口干 口腔溃疡 漱口水 鼻咽冲洗 洗鼻 张口训练 升白针 白细胞 血小板 靶向药 免疫治疗 "
    "鼻咽癌 复查 挂号 加号 医保 味觉 吞咽 放射性 增强CT 核磁 picc"
).split():
    jieba.add_word(_word, freq=50000)

_WORD = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9][a-z0-9+\-]*", re.I)
_URL = re.compile(r"https?://\S+|@\S+")

# Said differently, meant the same: folded to one word before indexing and searching.
_VARIANTS = {
    "放射治疗": "放疗",
    "放射": "放疗",
    "打化疗": "化疗",
    "化学治疗": "化疗",
    "嘴里烂": "口腔溃疡",
    "溃疡": "口腔溃疡",
    "洗鼻": "鼻咽冲洗",
    "洗鼻子": "鼻咽冲洗",
    "冲鼻": "鼻咽冲洗",
    "鼻腔冲洗": "鼻咽冲洗",
    "张嘴": "张口",
    "核磁": "mri",
    "核磁共振": "mri",
    "拍片": "复查",
    "医保": "报销",
    "嘴巴干": "口干",
    "口渴": "口干",
    "radiation": "radiotherapy",
    "rads": "radiotherapy",
    "radio": "radiotherapy",
    "rt": "radiotherapy",
    "chemo": "chemotherapy",
    "picc": "picc",
    "mouth": "mouth",
    "sore": "ulcer",
    "sores": "ulcer",
    "ulcers": "ulcer",
    "nauseous": "nausea",
    "sick": "nausea",
    "puke": "vomit",
    "vomiting": "vomit",
    "throwing": "vomit",
    "scan": "scan",
    "petct": "pet-ct",
}

_ZH_STOP = set(
    "的 了 是 我 你 他 她 它 们 我们 大家 吗 呢 吧 啊 呀 哦 嗯 么 和 与 及 或 在 有 也 都 就 还 又 "
    "很 太 更 最 这 那 这个 那个 一个 一下 一些 什么 怎么 怎么办 怎样 如何 请问 问 想 想问 问一下 "
    "知道 有没有 有人 谁 哪 哪里 哪个 多少 几 能 能不能 可以 可不可以 会 会不会 要 要不要 需要 "
    "是不是 应该 该 没有 没 不 吃 做 用 去 来 说 看 给 让 被 把 对 从 到 后 前 时 时候 现在 "
    "今天 已经 一直 刚 刚刚 比较 觉得 感觉 好 谢谢 求助 求 请教 各位 病友 亲们 姐妹 朋友 "
    "自己 家里 老公 老婆 妈妈 爸爸 我妈 我爸 个 下 上 中 里 之 吗 嘛 啥 为什么 为啥 "
    "正常 一般 大概 多久 经验 分享".split()
)
_EN_STOP = set(
    "a an the and or but if of to in on at for with about from by as is are was were be been "
    "being am i me my we our you your he she it its they them their this that these those "
    "do does did done doing have has had having can could would should will shall may might "
    "must what when where which who whom why how any anyone anybody someone somebody some "
    "know there here so just really very too also still get got getting after before during "
    "than then now thanks thank please hi hello hey all everyone guys folks question tip tips "
    "advice experience help anything else like feel it's i'm im is it not no yes one".split()
)

for _word in _VARIANTS:
    if _word[0] >= "\u4e00":
        jieba.add_word(_word, freq=50000)  # so that the variants below are ever seen

K1, B = 1.2, 0.75
# Share of the query's weight an earlier question must match to be offered. On the labelled
# set, 0.25 keeps 85% of true duplicates and 28% of the other top-3 (docs/questions.md).
SIMILAR_ENOUGH = 0.25
RELOAD_SLACK = timedelta(seconds=60)  # rows committed late still get picked up


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def terms_of(text: str) -> list[str]:
    """The words that decide whether two questions ask the same thing."""
    out: list[str] = []
    for run in _WORD.findall(_URL.sub(" ", text.lower())):
        if run[0] >= "\u4e00":
            words = [_VARIANTS.get(w, w) for w in jieba.cut_for_search(run)]
            out.extend(w for w in words if w not in _ZH_STOP)
        else:
            word = _VARIANTS.get(run, run)
            if word not in _EN_STOP:
                out.append(_VARIANTS.get(_stem(word), _stem(word)))
    return out


@dataclass
class Index:
    """BM25 over one group's questions. Document numbers are internal: a question whose words
    change gets a new one and its old number is left as a tombstone."""

    postings: dict[str, array] = field(default_factory=dict)
    question_of: array = field(default_factory=lambda: array("q"))  # docno -> id, -1 gone
    length: array = field(default_factory=lambda: array("H"))
    docno_of: dict[int, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    total_length: int = 0
    loaded_at: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, question_id: int, words: Iterable[str]) -> None:
        unique = tuple(sorted(set(words)))
        old = self.docno_of.get(question_id)
        if old is not None:
            if old[1] == unique:
                return
            self.remove(question_id)
        docno = len(self.question_of)
        self.question_of.append(question_id)
        self.length.append(min(len(unique), 65535))
        self.docno_of[question_id] = (docno, unique)
        self.total_length += len(unique)
        for w in unique:
            self.postings.setdefault(w, array("I")).append(docno)

    def remove(self, question_id: int) -> None:
        old = self.docno_of.pop(question_id, None)
        if old is not None:
            self.question_of[old[0]] = -1
            self.total_length -= len(old[1])

    def __len__(self) -> int:
        return len(self.docno_of)

    def search(
        self, words: Iterable[str], limit: int, exclude: set[int]
    ) -> list[tuple[int, float]]:
        """(question id, share of the query matched) for the best `limit` questions."""
        n = len(self.docno_of)
        if n == 0:
            return []
        query = set(words)
        idf = {
            w: math.log(1 + (n - len(self.postings[w]) + 0.5) / (len(self.postings[w]) + 0.5))
            for w in query
            if w in self.postings
        }
        # A word no question has yet weighs as a word one question has: rare, not decisive.
        unseen = math.log(1 + (n - 0.5) / 1.5)
        weight = sum(idf.values()) + unseen * len(query - idf.keys())
        if not idf or weight <= 0:
            return []
        matched: dict[int, float] = {}
        for w, value in idf.items():
            for docno in self.postings[w]:
                matched[docno] = matched.get(docno, 0.0) + value
        average = self.total_length / n or 1.0
        scored = []
        for docno, value in matched.items():
            qid = self.question_of[docno]
            if qid < 0 or qid in exclude:
                continue
            norm = (K1 + 1) / (1 + K1 * (1 - B + B * self.length[docno] / average))
            scored.append((value * norm, value / weight, qid))
        best = heapq.nlargest(limit, scored)
        return [(qid, share) for _score, share, qid in best]


_indexes: dict[int, Index] = {}
_indexes_lock = threading.Lock()


def index_for(group_id: int) -> Index:
    """The group's index, first brought up to date with the database."""
    from tongzhou.questions.models import Question

    with _indexes_lock:
        index = _indexes.setdefault(group_id, Index())
    with index.lock:
        now = timezone.now()
        rows = Question.objects.filter(group_id=group_id)
        if index.loaded_at is not None:
            rows = rows.filter(terms_at__gte=index.loaded_at - RELOAD_SLACK)
        for qid, text in rows.values_list("pk", "terms").iterator(chunk_size=5000):
            index.add(qid, text.split())
        index.loaded_at = now
    return index


def forget(group_id: int | None = None) -> None:
    """Drop cached indexes (tests; a group deleted)."""
    with _indexes_lock:
        if group_id is None:
            _indexes.clear()
        else:
            _indexes.pop(group_id, None)
