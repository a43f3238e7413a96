"""Search through GET /api/v1/search over a hand-written corpus (tests/data/search_corpus.json):
two groups, named senders, simplified, traditional, English and mixed messages, questions with
replies, pictures, knowledge entries and glossary words, all made through the real actions.
Every query's expected items, in order, were written by hand from the texts. The suite runs on
SQLite and again on PostgreSQL (scripts/test), so passing twice means the same results on both
databases. Also: who may search what, edits and deletions, highlights and paging."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tongzhou.accounts.models import User
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.attachments import do_upload
from tongzhou.chat.changes import do_delete_message, do_edit_message
from tongzhou.chat.models import Message
from tongzhou.groups import actions as group_actions
from tongzhou.groups.models import Group, Membership
from tongzhou.knowledge.actions import do_add_term, do_create_entry, do_review
from tongzhou.knowledge.index import index_messages
from tongzhou.knowledge.models import Entry
from tongzhou.knowledge.terms import normalize
from tongzhou.privacy import do_delete_account
from tongzhou.questions.models import Question

from . import media_samples as samples
from .conftest import PASSWORD, make_user

CORPUS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "search_corpus.json").read_text("utf-8")
)
QUERIES: list[dict[str, Any]] = CORPUS["queries"]
URL = "/api/v1/search"


@pytest.fixture(autouse=True)
def shanghai(settings: Any) -> None:
    """Dates in filters are days in the server's zone; the corpus is written for Shanghai."""
    if settings.TIME_ZONE != "Asia/Shanghai":
        settings.TIME_ZONE = "Asia/Shanghai"


@dataclass
class Corpus:
    people: dict[str, User]
    groups: dict[str, Group]
    ids: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (type, id)

    def id(self, key: str) -> int:
        return self.ids[key][1]

    def key(self, kind: str, pk: int) -> str:
        found = [k for k, v in self.ids.items() if v == (kind, pk)]
        return found[0] if found else f"{kind}#{pk}"

    def add(self, key: str, kind: str, pk: int) -> None:
        assert key not in self.ids, f"corpus key {key} used twice"
        self.ids[key] = (kind, pk)

    def client(self, who: str | None) -> Client:
        c = Client()
        if who is not None:
            c.force_login(self.people[who])
        return c

    def params(self, filters: dict[str, Any]) -> dict[str, str]:
        out = {}
        for name, value in filters.items():
            if name == "group":
                value = self.groups[value].pk
            elif name == "sender" and isinstance(value, str):
                value = self.people[value].pk
            out[name] = str(value).lower() if isinstance(value, bool) else str(value)
        return out

    def get(self, who: str | None, q: str, **filters: Any) -> Any:
        return self.client(who).get(URL, {"q": q, **self.params(filters)})

    def found(self, who: str | None, q: str, **filters: Any) -> list[str]:
        """The keys of the results, in order (or the error, as one string)."""
        r = self.get(who, q, **filters)
        if r.status_code != 200:
            return [f"error {r.status_code} {r.json()['error']['code']}"]
        return [self.key(x["type"], x["id"]) for x in r.json()["results"]]

    def outcome(self, case: dict[str, Any]) -> list[str]:
        return self.found(case.get("as", "reader"), case["query"], **case["filters"])

    def result(self, who: str, q: str, key: str, **filters: Any) -> dict[str, Any]:
        results = self.get(who, q, **filters).json()["results"]
        return dict(next(x for x in results if self.key(x["type"], x["id"]) == key))


def expected(case: dict[str, Any]) -> list[str]:
    if "error" in case:
        return [f"error {case.get('status', 400)} {case['error']}"]
    return list(case["expected"])


def describe(case: dict[str, Any]) -> str:
    return f"{case['query']!r} {case['filters']} as {case.get('as', 'reader')}"


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def load() -> Corpus:
    """The corpus, made as members make it: sent messages, written entries, glossary words."""
    people = {k: make_user(p["username"], p["display_name"]) for k, p in CORPUS["people"].items()}
    groups: dict[str, Group] = {}
    for gk, g in CORPUS["groups"].items():
        leader = people[g["leader"]]
        group = group_actions.do_create_group(leader, g["name"], "")
        for who in g["members"]:
            app = group_actions.do_apply(people[who], group, role="patient")
            group_actions.do_decide(leader, app, approve=True)
        groups[gk] = group
    corpus = Corpus(people, groups)

    for m in CORPUS["messages"]:
        user, gid = people[m["sender"]], groups[m["group"]].pk
        picture = (
            do_upload(user, gid, "image", samples.png_with_alpha()).pk if m.get("picture") else None
        )
        kind = "question" if m.get("question") else "text"
        sent, created = do_send_message(
            user,
            gid,
            client_id=m["key"],
            text=m["text"],
            kind=kind,
            reply_to=corpus.id(m["reply_to"]) if "reply_to" in m else None,
            attachment=picture,
        )
        assert created and sent["kind"] == kind, f"{m['key']} was sent as a {sent['kind']}"
        corpus.add(m["key"], "message", sent["id"])
        Message.objects.filter(pk=sent["id"]).update(created_at=at(m["at"]))
        Question.objects.filter(pk=sent["id"]).update(asked_at=at(m["at"]))

    for e in CORPUS["entries"]:
        gid = groups[e["group"]].pk
        entry = do_create_entry(
            people[e["author"]],
            gid,
            title=e["title"],
            body=e["body"],
            category=e["category"],
            tags=e["tags"],
        )
        if e["reviewed"]:
            do_review(people[CORPUS["groups"][e["group"]]["leader"]], gid, entry.pk)
        Entry.objects.filter(pk=entry.pk).update(updated_at=at(e["updated"]))
        corpus.add(e["key"], "entry", entry.pk)

    for t in CORPUS["terms"]:
        gid = groups[t["group"]].pk
        leader = people[CORPUS["groups"][t["group"]]["leader"]]
        term = do_add_term(leader, gid, term=t["term"], also=t["also"], meaning=t["meaning"])
        corpus.add(t["key"], "term", term.pk)
    return corpus


def membership(corpus: Corpus, who: str, group: str) -> Membership:
    return Membership.objects.get(group=corpus.groups[group], user=corpus.people[who])


def expectation(query: str, **filters: Any) -> list[str]:
    """A query's hand-written expectation, from the corpus file."""
    for case in QUERIES:
        if case["query"] == query and case["filters"] == filters and "as" not in case:
            return expected(case)
    raise KeyError(query)


# --- the corpus itself ----------------------------------------------------------------------


def test_the_corpus_is_consistent() -> None:
    """No test database needed: keys are unique, expectations name real items, and the
    queries cover what they should."""
    keys = [x["key"] for kind in ("messages", "entries", "terms") for x in CORPUS[kind]]
    assert len(keys) == len(set(keys))
    for case in QUERIES:
        unknown = set(case["expected"]) - set(keys)
        assert not unknown, f"{describe(case)} names {unknown}"
        assert len(case["expected"]) == len(set(case["expected"])), describe(case)
    assert len(QUERIES) >= 40 and len(CORPUS["messages"]) >= 60
    filters = {name for case in QUERIES for name in case["filters"]}
    assert {"group", "sender", "since", "until", "questions", "answered", "attachments"} <= filters
    assert {"type", "limit"} <= filters
    assert any(c.get("error") == "empty_query" for c in QUERIES)


# --- every query of the corpus --------------------------------------------------------------


@pytest.mark.django_db(transaction=False)
def test_every_corpus_query_finds_exactly_the_expected_items_in_order() -> None:
    corpus = load()
    wrong = []
    for case in QUERIES:
        got, want = corpus.outcome(case), expected(case)
        if got != want:
            wrong.append(f"{describe(case)}\n    expected {want}\n    got      {got}")
    assert not wrong, f"{len(wrong)} queries differ:\n" + "\n".join(wrong)


# --- who may search what --------------------------------------------------------------------


@pytest.mark.django_db(transaction=False)
def test_a_member_of_b_only_never_sees_anything_of_a() -> None:
    corpus = load()
    b = corpus.groups["B"].pk
    for q in ("化疗", "放疗", "鼻咽癌", "chemo", "复查", "CT", "after", "癌", "药", "大家"):
        r = corpus.get("kai", q)
        assert r.status_code == 200
        assert {x["group"] for x in r.json()["results"]} <= {b}, q
    assert corpus.found("kai", "张口训练") == []
    assert corpus.found("kai", "化疗", group="A") == ["error 404 not_found"]


@pytest.mark.django_db(transaction=False)
def test_a_removed_member_finds_nothing_more_in_that_group() -> None:
    corpus = load()
    assert corpus.found("chen", "化疗") == expectation("化疗")
    assert corpus.found("chen", "mucositis") == ["m19"]  # her own message in A
    group_actions.do_remove_member(membership(corpus, "zhou", "A"), membership(corpus, "chen", "A"))
    assert corpus.found("chen", "化疗") == expectation("化疗", group="B")
    assert corpus.found("chen", "mucositis") == []
    assert corpus.found("chen", "化疗", group="A") == ["error 404 not_found"]
    assert corpus.found("chen", "化疗", group="A", type="message") == ["error 404 not_found"]
    assert corpus.found("chen", "放疗", sender="chen") == ["m47"]  # B only


@pytest.mark.django_db(transaction=False)
def test_applicants_rejected_outsiders_and_anonymous_find_nothing() -> None:
    corpus = load()
    a = corpus.groups["A"]
    zhou = corpus.people["zhou"]
    applicant = make_user("applicant1")
    group_actions.do_apply(applicant, a, role="carer")
    rejected = make_user("rejected1")
    app = group_actions.do_apply(rejected, a, role="patient")
    group_actions.do_decide(zhou, app, approve=False, reason="Not a patient group match")
    outsider = make_user("outsider1")
    other = group_actions.do_create_group(outsider, "Other group", "")
    mine, _ = do_send_message(outsider, other.pk, client_id="o1", text="化疗第一天，还好。")
    corpus.add("outsiders_own", "message", mine["id"])
    for user in (applicant, rejected, outsider):
        corpus.people[user.username] = user
    for who in ("applicant1", "rejected1"):
        assert corpus.found(who, "化疗") == [], who
        assert corpus.found(who, "chemo") == [], who
        assert corpus.found(who, "化疗", group="A") == ["error 404 not_found"], who
    assert corpus.found("outsider1", "化疗") == ["outsiders_own"]
    assert corpus.found("outsider1", "鼻咽癌") == []
    assert corpus.found("outsider1", "化疗", group="B") == ["error 404 not_found"]
    anonymous = corpus.get(None, "化疗")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    assert corpus.found(None, "化疗", group="A") == ["error 401 not_authenticated"]


# --- changes to messages --------------------------------------------------------------------


@pytest.mark.django_db(transaction=False)
def test_an_edited_message_is_found_by_its_new_words_only() -> None:
    corpus = load()
    a, wang = corpus.groups["A"].pk, corpus.people["wang"]
    sent, _ = do_send_message(wang, a, client_id="edit1", text="今天吃了西瓜，很甜。")
    corpus.add("edited", "message", sent["id"])
    assert corpus.found("reader", "西瓜") == ["edited"]
    do_edit_message(wang, a, sent["id"], "今天吃了獼猴桃，很甜。")  # traditional, too
    assert corpus.found("reader", "西瓜") == []
    assert corpus.found("reader", "猕猴桃") == ["edited"]
    assert corpus.found("reader", "很甜") == ["edited"]


@pytest.mark.django_db(transaction=False)
def test_deleted_messages_are_not_found() -> None:
    corpus = load()
    a = corpus.groups["A"].pk
    assert corpus.found("reader", "营养粉") == ["e_diet", "m28", "m27"]
    do_delete_message(corpus.people["wang"], a, corpus.id("m28"))  # by the sender
    assert corpus.found("reader", "营养粉") == ["e_diet", "m27"]
    do_delete_message(corpus.people["zhou"], a, corpus.id("m27"))  # by a moderator
    assert corpus.found("reader", "营养粉") == ["e_diet"]
    assert corpus.found("reader", "营养粉", attachments=True) == []
    do_delete_message(corpus.people["wang"], a, corpus.id("m04"))  # a question
    assert corpus.found("reader", "请问", questions=True) == ["m10"]


@pytest.mark.django_db(transaction=False)
def test_a_deleted_accounts_removed_messages_are_gone_and_kept_ones_stay() -> None:
    corpus = load()
    assert corpus.found("reader", "靶向药") == ["e_rash", "t_target", "m48", "m46"]
    do_delete_account(corpus.people["kai"], PASSWORD, "remove")
    assert corpus.found("reader", "靶向药") == ["e_rash", "t_target"]  # the entry stays
    assert corpus.found("reader", "化疗", group="B") == [
        "e_lungchemo",
        "t_chemobrain",
        "m56",
        "m45",
    ]
    assert corpus.found("reader", "皮疹", questions=True) == []

    li = corpus.people["li"].pk
    do_delete_account(corpus.people["li"], PASSWORD, "keep")
    assert corpus.found("reader", "PD-1 抑制剂") == ["t_pd1", "m58", "m13"]
    kept = corpus.result("reader", "PD-1 抑制剂", "m13")
    assert kept["sender"]["id"] is None
    assert corpus.found("reader", "化疗", sender=li) == []


@pytest.mark.django_db(transaction=False)
def test_a_question_stays_answered_when_its_first_answerer_leaves() -> None:
    corpus = load()
    a = corpus.groups["A"].pk
    q, _ = do_send_message(
        corpus.people["li"], a, client_id="q", text="放疗后多久可以吃辣", kind="question"
    )
    corpus.add("spicy", "message", q["id"])
    do_send_message(corpus.people["chen"], a, client_id="r1", text="两周左右", reply_to=q["id"])
    do_send_message(corpus.people["wang"], a, client_id="r2", text="一个月吧", reply_to=q["id"])
    assert corpus.found("reader", "吃辣", answered=True) == ["spicy"]
    do_delete_account(corpus.people["chen"], PASSWORD, "remove")
    assert corpus.found("reader", "吃辣", answered=True) == ["spicy"]  # wang's reply is there


# --- highlights -----------------------------------------------------------------------------


HIGHLIGHTS = [
    # query, item, the highlighted words (normalised), in order
    ("chemo", "m14", ["chemo"]),
    ("chemo", "m06", ["chemotherapy"]),
    ("chemo", "m25", ["chemotherapy", "chemoradiotherapy"]),
    ("treatments", "m20", ["treatments"]),
    ("放療", "m09", ["放疗"]),
    ("ＣＲ", "m15", ["cr"]),
    ("CT", "m53", ["ct"]),
    ('"dry mouth"', "m07", ["dry mouth"]),
    ("PD-1 抑制剂", "m58", ["pd", "1", "抑制剂"]),
    ("化疗", "e_wbc", ["化疗"]),
    ("醫生", "e_rash", ["医生"]),
]


@pytest.mark.django_db(transaction=False)
def test_highlights_point_at_the_matched_words() -> None:
    corpus = load()
    wrong = []
    for q, key, words in HIGHLIGHTS:
        r = corpus.result("reader", q, key)
        got = [normalize(r["snippet"][s:e]) for s, e in r["highlights"]]
        if got != words:
            wrong.append(f"{q!r} in {key}: {r['snippet']!r} {r['highlights']} -> {got}")
    assert not wrong, "\n".join(wrong)
    # The original text is shown (traditional, full-width), with the offsets still right.
    r = corpus.result("reader", "放疗", "m09")
    assert [r["snippet"][s:e] for s, e in r["highlights"]] == ["放療"]
    r = corpus.result("reader", "cr", "m15")
    assert [r["snippet"][s:e] for s, e in r["highlights"]] == ["ＣＲ"]
    # An entry's title has its own highlights.
    r = corpus.result("reader", "化疗", "e_wbc")
    assert [r["title"][s:e] for s, e in r["title_highlights"]] == ["化疗"]
    r = corpus.result("reader", "radiotherapy", "e_drymouth")
    assert [r["title"][s:e] for s, e in r["title_highlights"]] == ["radiotherapy"]


@pytest.mark.django_db(transaction=False)
def test_a_phrase_matched_across_punctuation_is_highlighted() -> None:
    corpus = load()
    r = corpus.result("reader", '"化疗 放疗"', "m38", until="2026-03-20")
    assert [r["snippet"][s:e] for s, e in r["highlights"]] == ["化疗、放疗"]


# --- paging ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=False)
def test_paging_with_next_before_walks_every_message_hit_once_in_order() -> None:
    corpus = load()
    for q, limit in (("化疗", 2), ("放疗", 2), ("放疗", 5), ("chemo", 3)):
        want = expectation(q)
        want_messages = [k for k in want if k.startswith("m")]
        first = corpus.get("reader", q, limit=limit).json()
        keys = [corpus.key(x["type"], x["id"]) for x in first["results"]]
        others = [k for k in keys if not k.startswith("m")]
        assert others == [k for k in want if not k.startswith("m")], q
        walked = [k for k in keys if k.startswith("m")]
        before, pages = first["next_before"], 1
        while before is not None:
            assert before == corpus.id(walked[-1]), q
            page = corpus.get("reader", q, limit=limit, before=before).json()
            assert {x["type"] for x in page["results"]} <= {"message"}, q
            assert 0 < len(page["results"]) <= limit, q
            walked += [corpus.key(x["type"], x["id"]) for x in page["results"]]
            before, pages = page["next_before"], pages + 1
            assert pages <= len(want_messages), f"{q}: paging does not end"
        assert walked == want_messages, q
        assert pages == -(-len(want_messages) // limit), q


@pytest.mark.django_db(transaction=False)
def test_hits_behind_many_near_misses_are_still_reachable() -> None:
    corpus = load()
    a, wang = corpus.groups["A"], corpus.people["wang"]
    # Newer than every hit, holding both pairs of 鼻咽癌 (鼻咽, 咽癌) but never the word.
    decoys = Message.objects.bulk_create(
        Message(group=a, sender=wang, client_id=f"decoy{i}", text="鼻咽部的片子和咽癌的资料")
        for i in range(410)
    )
    index_messages(decoys)
    assert corpus.found("reader", "咽癌的资料", limit=1) == [f"message#{decoys[-1].pk}"]
    page = corpus.get("reader", "鼻咽癌").json()
    keys = [corpus.key(x["type"], x["id"]) for x in page["results"]]
    while page["next_before"] is not None:
        page = corpus.get("reader", "鼻咽癌", before=page["next_before"]).json()
        keys += [corpus.key(x["type"], x["id"]) for x in page["results"]]
    assert keys == expectation("鼻咽癌")
