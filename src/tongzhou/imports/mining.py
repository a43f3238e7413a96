"""What an imported history teaches: questions that were answered (candidate knowledge
entries for the moderators' review) and the group's own words (glossary candidates).

Heuristics, measured on tests/data/imports/qa_pairs.json (tests/test_import_mining.py, 816
messages of a made-up patients' group, 150 real questions, 197 question-answer pairs):
- an answer is a reply to the question, or a message from someone else within ANSWER_WINDOW
  and the next ANSWER_TURNS messages that says something: not a question, not thanks,
  sympathy, congratulations, a greeting or "I don't know (either)" (_NOT_ANSWER);
- a message in the window of several open questions (parallel conversations) answers the
  one whose rare words it shares most; only when it shares none does it count for all;
- a word is the group's own when the group uses it far more often than jieba's dictionary of
  written Chinese expects, in messages of several people, and is no everyday word.

The last answer rules were added after measuring: question-answer pairs went from precision
0.633 / recall 0.761 to 0.718 / 0.751 (0.730 / 0.853 to 0.810 / 0.843 when every question
is recognised). Most of what remains wrong is upstream: advice worded with 问问 or 几次 taken
for a question (it then answers nothing), and chatter after a question nobody answers. A
longer window finds late answers but costs more precision than it gains.

Group words: 8 of the 40 shown for that chat were its own before (今天, 谢谢, 可以, 早上好,
[表情] filled the list; PICC and 升白针 never came out), 28 after. Background counts are read
from jieba's dictionary file, not jieba.dt.FREQ, which questions/search.py extends with
made-up counts; export placeholders are dropped; everyday words are left out; words jieba
does not know are counted where they occur (see group_words); PICC next to Chinese is found;
ranking weighs how unusual a word is more than how often it is used.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import jieba

from tongzhou.chat.models import Message
from tongzhou.imports.models import Candidate, ImportJob, TermCandidate
from tongzhou.knowledge.models import GlossaryTerm
from tongzhou.knowledge.terms import normalize

ANSWER_WINDOW = timedelta(minutes=30)
ANSWER_TURNS = 12
MIN_ANSWER_CHARS = 8  # letters and digits, after removing emoji and punctuation
TERMS_KEPT = 40
# A chat Message, or what imports/load.py wrote (load.Row): pk, sender_id, kind, text,
# created_at and reply_to_id are read.
Said = Any
# Words are counted on at most this many messages, spread evenly over the history: jieba
# cuts ~9,000 messages a second here, and a word the group really uses shows in any
# 8,000 of its messages (bench/imports.py).
TERMS_SAMPLE = 8_000

_WORDISH = re.compile(r"[^\W_]", re.UNICODE)
_ACK = re.compile(
    r"^\W*(好的|好滴|谢谢|多谢|感谢|收到|明白|知道了|嗯+|哦+|哈+|赞|加油|抱抱|是的|对的|同意|"
    r"ok|okay|thanks?|thank you|thx|yes|no|lol)\W*$",
    re.IGNORECASE,
)
# Thanks, sympathy, congratulations, greetings and "I don't know (either)" answer nothing,
# however long the message.
_NOT_ANSWER = re.compile(
    r"谢谢|多谢|感谢|thank|^\W*(抱抱|加油|恭喜|good luck|congrat)|早上好|早安|晚安|"
    r"good ?morning|good ?night|^\W*morning\b|不太清楚|不清楚|^\W*我?也?不知道|也不知道|"
    r"我也想知道|我也想问|同问|坐等|no idea|not sure|don'?t know",
    re.IGNORECASE,
)
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
# What exports write for stickers, emoji and media: [图片], [动画表情], [强], [Sticker].
_PLACEHOLDER = re.compile(r"\[[^\[\]\s]{1,12}\]")
# Everyday words are no group's own: those very common in written Chinese (我们, 今天, 可以:
# jieba's count, of 60 million words), and everyday chat that jieba's dictionary, made from
# written Chinese, underrates (早上好 occurs 3 times in it).
EVERYDAY_COUNT = 10_000
_CHAT_WORDS = frozenset(
    "早上好 早安 上午好 中午好 午安 下午好 晚上好 晚安 大家好 谢谢 多谢 感谢 谢啦 不客气 收到 "
    "好的 好滴 嗯嗯 哈哈 哈哈哈 呵呵 恭喜 恭喜恭喜 加油 抱抱 太好了 太棒了 真棒 棒棒 辛苦 辛苦了 "
    "点赞 欢迎 欢迎欢迎 羡慕 开心 难受 心疼 放心 没事".split()
)
# Not \b: a Chinese character is a word character too, and PICC每周 would be one word.
_LATIN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:-?[0-9]+)?(?![A-Za-z0-9])")
# jieba's guess at a word it does not know is often a word glued to a pronoun, negation,
# adverb or particle (我妈, 不太, 做过, 吃点, 群里): such guesses are no words of the group.
_GLUED = re.compile(
    r"^[我你他她它咱这那不没别就也都还很太又再才更最][\u4e00-\u9fff]|[过了着的得地们里下点些吧呢吗啊呀啦]$"
)


def _says_something(text: str) -> bool:
    return (
        len(_WORDISH.findall(text)) >= MIN_ANSWER_CHARS
        and not _ACK.match(text.strip())
        and not _NOT_ANSWER.search(text)
    )


def _general_counts(words: Iterable[str]) -> tuple[dict[str, int], int]:
    """How often jieba's dictionary (written Chinese, 60 million words) has each of `words`,
    and its total. Read from the file, since jieba.dt.FREQ is shared: questions/search.py adds
    this kind of group's words to it with a made-up count of 50,000 (升白针 would look common)."""
    wanted, counts, total = set(words), {}, 0
    with jieba.get_dict_file() as f:
        for line in f:
            word, count = line.split(maxsplit=2)[:2]
            total += int(count)
            if (w := word.decode()) in wanted:
                counts[w] = int(count)
    return counts, max(total, 1)


def qa_pairs(messages: Sequence[Said]) -> list[tuple[Said, list[Said], float]]:
    """(question, answers, score) for each question of `messages` (in time order) that seems
    answered."""
    asked = {
        i
        for i, m in enumerate(messages)
        if m.kind == Message.Kind.QUESTION and len(_WORDISH.findall(m.text)) >= 4
    }
    open_at: dict[int, list[int]] = defaultdict(list)  # message -> questions it may answer
    for i in sorted(asked):
        q = messages[i]
        for j in range(i + 1, min(i + 1 + ANSWER_TURNS, len(messages))):
            a = messages[j]
            if a.created_at - q.created_at > ANSWER_WINDOW:
                break
            if a.sender_id == q.sender_id and a.kind == Message.Kind.QUESTION:
                break  # the asker moved on to another question
            if (
                a.sender_id != q.sender_id
                and a.kind != Message.Kind.QUESTION
                and a.reply_to_id is None
            ):
                open_at[j].append(i)
    position = {m.pk: i for i, m in enumerate(messages)}
    answers: dict[int, list[int]] = defaultdict(list)  # question -> its answers
    parallel: list[int] = []
    for j, a in enumerate(messages):
        if not _says_something(a.text):
            continue
        if a.reply_to_id is not None:
            i = position.get(a.reply_to_id, -1)
            if i in asked and messages[i].sender_id != a.sender_id:
                answers[i].append(j)
        elif len(open_at[j]) == 1:
            answers[open_at[j][0]].append(j)
        elif open_at[j]:
            parallel.append(j)
    # Parallel conversations: a message in several questions' windows answers the one whose
    # rare words (渗液 rather than 放疗) it shares most, if it shares any.
    # Words here are character pairs, weighed by how few of these messages hold them: jieba
    # cost ~4 s at 82,389 messages (bench/imports.py) for the same figures.
    words = {k: _pairs(messages[k].text) for j in parallel for k in (j, *open_at[j])}
    counts, _total = _general_counts(set().union(*words.values())) if words else ({}, 1)
    everyday = {w for w, n in counts.items() if n >= EVERYDAY_COUNT} | _CHAT_WORDS
    words = {k: ws - everyday for k, ws in words.items()}  # 医生 tells nothing
    held = Counter(w for ws in words.values() for w in ws)
    total = len(words) + 1
    for j in parallel:
        shared = [
            (sum(math.log(total / held[w]) for w in words[j] & words[i]), i) for i in open_at[j]
        ]
        top, best = max(shared)
        for i in open_at[j] if top == 0 else [best]:
            answers[i].append(j)
    out = []
    for i, found in sorted(answers.items()):
        kept = [messages[j] for j in sorted(found)]
        people = len({a.sender_id for a in kept})
        score = sum(min(len(a.text), 300) for a in kept) * (1 + 0.5 * (people - 1))
        out.append((messages[i], kept, score))
    return out


def _pairs(text: str) -> set[str]:
    """Overlapping pairs of Chinese characters, and Latin words (CT, PICC), of a text."""
    norm = normalize(text)
    out = {w.casefold() for w in _LATIN.findall(norm)}
    for run in _HAN_RUN.findall(norm):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def save_candidates(job: ImportJob, found: list[tuple[Said, list[Said], float]]) -> int:
    """qa_pairs' answered questions, as suggestions for the moderators."""
    Candidate.objects.bulk_create(
        (
            Candidate(
                group_id=job.group_id,
                job=job,
                question_id=q.pk,
                answers=[a.pk for a in answers],
                score=round(score, 1),
            )
            for q, answers, score in found
        ),
        batch_size=1000,
        ignore_conflicts=True,  # a question already proposed by an earlier import
    )
    return len(found)


def _han_runs(text: str) -> list[str]:
    return _HAN_RUN.findall(normalize(_PLACEHOLDER.sub(" ", text)))


def _words(text: str) -> set[str]:
    words = {w for run in _han_runs(text) for w in jieba.lcut(run) if len(w) >= 2}
    # Latin words only as abbreviations and drug/test names (CT, PICC, PD-1): ordinary
    # English words have no background frequency here to be judged by.
    words |= {
        w.casefold()
        for w in _LATIN.findall(_PLACEHOLDER.sub(" ", text))
        if 2 <= len(w) <= 12 and (w.isupper() or any(c.isdigit() for c in w))
    }
    return words


def group_words(
    messages: Sequence[Said], exclude: set[str], limit: int = TERMS_KEPT
) -> list[tuple[str, int, int, list[int], float]]:
    """(word, messages, people, example ids, score), the most group-specific first.

    jieba cuts a word it does not know differently from one sentence to the next (升白针;
    打升|白针; 完升白): each one it proposes anywhere is counted wherever it occurs, and kept
    only if it stands on its own, after more than one different character and before more
    than one (白针 always comes after 升: it is only part of 升白针)."""
    if not messages:
        return []
    found = [_words(m.text) for m in messages]
    freq, total = _general_counts(set().union(*found))
    unknown = {w for words in found for w in words if not freq.get(w) and _HAN_RUN.fullmatch(w)}
    sizes = sorted({len(w) for w in unknown})
    before: dict[str, set[str]] = defaultdict(set)
    after: dict[str, set[str]] = defaultdict(set)
    for m, words in zip(messages, found, strict=True):
        words -= unknown
        for run in _han_runs(m.text):
            for size in sizes:
                for i in range(len(run) - size + 1):
                    if (w := run[i : i + size]) in unknown:
                        words.add(w)
                        before[w].add(run[i - 1 : i])
                        after[w].add(run[i + size : i + size + 1])
    docs: Counter[str] = Counter()
    people: dict[str, set[int | None]] = defaultdict(set)
    examples: dict[str, list[int]] = defaultdict(list)
    for m, words in zip(messages, found, strict=True):
        for w in words:
            docs[w] += 1
            people[w].add(m.sender_id)
            if len(examples[w]) < 3:
                examples[w].append(m.pk)
    n = max(len(messages), 1)
    min_docs = max(3, n // 2000)
    scored = []
    for w, d in docs.items():
        if (
            d < min_docs
            or len(people[w]) < 2
            or w in exclude
            or w.isdigit()
            or w in _CHAT_WORDS
            or freq.get(w, 0) >= EVERYDAY_COUNT
            or (w in unknown and (len(before[w]) < 2 or len(after[w]) < 2 or _GLUED.search(w)))
        ):
            continue
        p_group = d / n
        p_general = (freq.get(w, 0) + 1) / total
        if p_group <= p_general * 20:  # not unusually frequent here
            continue
        # How unusual here, weighed by the square root of how often: a term a few people
        # use often ranks above an everyday word that chat uses more than writing does.
        score = math.sqrt(p_group) * math.log(p_group / p_general)
        scored.append((w, d, len(people[w]), examples[w], score))
    scored.sort(key=lambda t: -t[4])
    return scored[:limit]


def known_words(group_id: int, names: set[str]) -> set[str]:
    """Words not to suggest: the glossary's, earlier suggestions, the people's names."""
    known = {
        normalize(s) for t in GlossaryTerm.objects.filter(group_id=group_id) for s in t.spellings()
    }
    known |= set(TermCandidate.objects.filter(group_id=group_id).values_list("term", flat=True))
    return known | {normalize(n) for n in names}


def sample_words(
    messages: Sequence[Said], known: set[str]
) -> tuple[list[tuple[str, int, int, list[int], float]], int]:
    """group_words on at most TERMS_SAMPLE messages spread over the history, and the step."""
    step = max(1, -(-len(messages) // TERMS_SAMPLE))  # ceiling division
    return group_words(messages[::step], known), step


def save_terms(
    job: ImportJob,
    found: list[tuple[str, int, int, list[int], float]],
    step: int,
) -> int:
    TermCandidate.objects.bulk_create(
        (
            TermCandidate(
                group_id=job.group_id,
                job=job,
                term=w[:40],
                messages=d * step,  # counted on the sample: an estimate for large histories
                people=p,
                examples=ex,
                score=round(s, 6),
            )
            for w, d, p, ex, s in found
        ),
        ignore_conflicts=True,
    )
    return len(found)
