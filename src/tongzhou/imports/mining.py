"""What an imported history teaches: questions that were answered (candidate knowledge
entries for the moderators' review) and the group's own words (glossary candidates).

Heuristics, measured on tests/data/imports/qa_pairs.json (tests/test_import_mining.py):
- an answer is a reply to the question, or a message from someone else within ANSWER_WINDOW
  and the next ANSWER_TURNS messages that says something (not "thanks", not a question);
- a word is the group's own when the group uses it far more often than jieba's general
  dictionary expects, in messages of several people.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import timedelta

import jieba

from tongzhou.chat.models import Message
from tongzhou.imports.models import Candidate, ImportJob, TermCandidate
from tongzhou.knowledge.models import GlossaryTerm
from tongzhou.knowledge.terms import normalize

ANSWER_WINDOW = timedelta(minutes=30)
ANSWER_TURNS = 12
MIN_ANSWER_CHARS = 8  # letters and digits, after removing emoji and punctuation
TERMS_KEPT = 40
TIE = 1

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
_LATIN = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:-?[0-9]+)?\b")


def _says_something(text: str) -> bool:
    return (
        len(_WORDISH.findall(text)) >= MIN_ANSWER_CHARS
        and not _ACK.match(text.strip())
        and not _NOT_ANSWER.search(text)
    )


def _topic(text: str) -> dict[str, float]:
    """The message's words, each weighted by how rare it is in general Chinese (jieba's
    dictionary): enough to tell which of two open questions a message is about."""
    jieba.initialize()
    freq, total = jieba.dt.FREQ, jieba.dt.total
    return {w: math.log(total / (freq.get(w, 0) + 1)) for w in _words(text)}


def _shared(a: dict[str, float], b: dict[str, float]) -> float:
    return sum(weight for w, weight in a.items() if w in b)


def qa_pairs(messages: Sequence[Message]) -> list[tuple[Message, list[Message], float]]:
    """(question, answers, score) for each question of `messages` (in time order) that seems
    answered."""
    claims: dict[int, list[int]] = defaultdict(list)  # message index -> question indexes
    for i, q in enumerate(messages):
        if q.kind != Message.Kind.QUESTION or len(_WORDISH.findall(q.text)) < 4:
            continue
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
                claims[j].append(i)
    answers: dict[int, list[Message]] = defaultdict(list)
    index = {m.pk: i for i, m in enumerate(messages)}
    for j, a in enumerate(messages):
        target = index.get(a.reply_to_id) if a.reply_to_id is not None else None
        if target is not None:
            q = messages[target]
            if q.kind == Message.Kind.QUESTION and a.sender_id != q.sender_id:
                answers[target].append(a)
        elif claims.get(j):
            # One message answers one question: of those open, the one it shares most
            # words with; on a tie the latest.
            words = _topic(a.text)
            best = max(claims[j], key=lambda i: (_shared(words, _topic(messages[i].text)), TIE * i))
            answers[best].append(a)
    out = []
    for i in sorted(answers):
        q = messages[i]
        if len(_WORDISH.findall(q.text)) < 4:
            continue
        kept = sorted((a for a in answers[i] if _says_something(a.text)), key=lambda a: a.created_at)
        if not kept:
            continue
        people = len({a.sender_id for a in kept})
        score = sum(min(len(a.text), 300) for a in kept) * (1 + 0.5 * (people - 1))
        out.append((q, kept, score))
    return out


def make_candidates(job: ImportJob, messages: Sequence[Message]) -> int:
    found = qa_pairs(messages)
    Candidate.objects.bulk_create(
        (
            Candidate(
                group_id=job.group_id,
                job=job,
                question=q,
                answers=[a.pk for a in answers],
                score=round(score, 1),
            )
            for q, answers, score in found
        ),
        batch_size=1000,
        ignore_conflicts=True,  # a question already proposed by an earlier import
    )
    return len(found)


def _words(text: str) -> set[str]:
    norm = normalize(text)
    words = {w for run in _HAN_RUN.findall(norm) for w in jieba.lcut(run) if len(w) >= 2}
    # Latin words only as abbreviations and drug/test names (CT, PICC, PD-1): ordinary
    # English words have no background frequency here to be judged by.
    words |= {
        w.casefold()
        for w in _LATIN.findall(text)
        if 2 <= len(w) <= 12 and (w.isupper() or any(c.isdigit() for c in w))
    }
    return words


def group_words(
    messages: Sequence[Message], exclude: set[str], limit: int = TERMS_KEPT
) -> list[tuple[str, int, int, list[int], float]]:
    """(word, messages, people, example ids, score), the most group-specific first."""
    jieba.initialize()
    freq, total = jieba.dt.FREQ, jieba.dt.total
    docs: Counter[str] = Counter()
    people: dict[str, set[int | None]] = defaultdict(set)
    examples: dict[str, list[int]] = defaultdict(list)
    for m in messages:
        for w in _words(m.text):
            docs[w] += 1
            people[w].add(m.sender_id)
            if len(examples[w]) < 3:
                examples[w].append(m.pk)
    n = max(len(messages), 1)
    min_docs = max(3, n // 2000)
    scored = []
    for w, d in docs.items():
        if d < min_docs or len(people[w]) < 2 or w in exclude or w.isdigit():
            continue
        p_group = d / n
        p_general = (freq.get(w, 0) + 1) / total
        if p_group <= p_general * 20:  # not unusually frequent here
            continue
        scored.append((w, d, len(people[w]), examples[w], p_group * math.log(p_group / p_general)))
    scored.sort(key=lambda t: -t[4])
    return scored[:limit]


def make_term_candidates(job: ImportJob, messages: Sequence[Message], names: set[str]) -> int:
    known = {
        normalize(s)
        for t in GlossaryTerm.objects.filter(group_id=job.group_id)
        for s in t.spellings()
    }
    known |= set(TermCandidate.objects.filter(group_id=job.group_id).values_list("term", flat=True))
    known |= {normalize(n) for n in names}
    found = group_words(messages, known)
    TermCandidate.objects.bulk_create(
        (
            TermCandidate(
                group_id=job.group_id,
                job=job,
                term=w[:40],
                messages=d,
                people=p,
                examples=ex,
                score=round(s, 6),
            )
            for w, d, p, ex, s in found
        ),
        ignore_conflicts=True,
    )
    return len(found)
