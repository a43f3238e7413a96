"""The knowledge base as its users meet it: entries from the chat, review, history,
the newcomer guide and the glossary."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from tongzhou.accounts.models import Profile
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.changes import do_delete_message
from tongzhou.errors import UserError
from tongzhou.groups.models import Membership
from tongzhou.knowledge import actions
from tongzhou.knowledge.models import Entry
from tongzhou.knowledge.queries import diff, entries_of, entry_dict, history

from .conftest import World

pytestmark = pytest.mark.django_db


def u(world: World, role: str) -> Any:
    return world.users[role]


def send(world: World, role: str, text: str, **kw: Any) -> int:
    return int(
        do_send_message(
            u(world, role), world.group.pk, client_id=f"{role}-{text}", text=text, **kw
        )[0]["id"]
    )


def entry(world: World, role: str = "member", **kw: Any) -> Entry:
    fields = {"title": "口干怎么办", "body": "多喝水。", "category": "rehab", **kw}
    return actions.do_create_entry(u(world, role), world.group.pk, **fields)


def test_an_answered_question_becomes_a_draft_crediting_its_authors(world: World) -> None:
    asked = send(world, "member", "放疗后口干怎么办？", kind="question")
    send(world, "moderator", "随身带一瓶水，小口多喝。", reply_to=asked)
    helped = send(world, "leader", "无糖口香糖也有用，**记得看牙**。", reply_to=asked)
    from tongzhou.questions.actions import do_mark_helpful

    do_mark_helpful(u(world, "member"), world.group.pk, asked, helped)
    mem = Membership.objects.get(group=world.group, user=u(world, "member"))
    draft = actions.draft_from_question(mem, asked)
    assert draft["title"] == "放疗后口干怎么办？"
    # The answer that helped comes first, in its Markdown.
    assert draft["body"].startswith("无糖口香糖也有用，**记得看牙**。")
    made = actions.do_create_entry(
        u(world, "member"),
        world.group.pk,
        title=draft["title"],
        body=draft["body"],
        category="rehab",
        tags="口干, #放疗, 口干",
        sources=[m.pk for m in draft["sources"]],
        question=draft["question"],
    )
    data = entry_dict(made)
    assert data["status"] == "draft" and data["reviewed"] is None
    assert data["tags"] == ["口干", "放疗"]
    # Sources in the order they were said.
    assert [s["author"] for s in data["sources"]] == ["Member", "Moderator", "Leader"]
    assert all(s["url"].endswith(f"?m={s['message']}") for s in data["sources"])


def test_authors_who_opt_out_are_not_named_and_deleted_sources_say_so(world: World) -> None:
    mid = send(world, "moderator", "鼻腔冲洗用生理盐水")
    Profile.objects.filter(user=u(world, "moderator")).update(credit_in_knowledge=False)
    made = entry(world, sources=[mid])
    do_delete_message(u(world, "moderator"), world.group.pk, mid)
    (source,) = entry_dict(made)["sources"]
    assert source["author"] == "A group member"
    assert source["url"] is None and source["message"] is None


def test_sources_must_be_visible_messages_of_the_group(world: World) -> None:
    from tongzhou.chat.models import Message

    other = Message.objects.create(
        group=world.other_group, sender=u(world, "outsider"), client_id="x", text="not yours"
    )
    with pytest.raises(UserError) as e:
        entry(world, sources=[other.pk])
    assert e.value.code == "message_not_found"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("title", "", "empty_title"),
        ("title", "x" * 121, "title_too_long"),
        ("category", "astrology", "invalid_category"),
        ("tags", ["a"] * 3 + [f"t{i}" for i in range(8)], "too_many_tags"),
        ("tags", ["x" * 21], "tag_too_long"),
    ],
)
def test_bad_entries_are_refused_with_a_reason(
    world: World, field: str, value: Any, code: str
) -> None:
    with pytest.raises(UserError) as e:
        entry(world, **{field: value})
    assert e.value.code == code and str(e.value.message)
    assert not Entry.objects.exists()


def test_review_cycle_edit_needs_new_review_and_drops_professional_check(world: World) -> None:
    made = entry(world)
    with pytest.raises(UserError) as e:
        actions.do_review(u(world, "member"), world.group.pk, made.pk)
    assert e.value.status == 403
    actions.do_review(u(world, "moderator"), world.group.pk, made.pk)
    Membership.objects.filter(group=world.group, user=u(world, "leader")).update(
        verified_professional_at=timezone.now()
    )
    with pytest.raises(UserError):
        actions.do_check(u(world, "moderator"), world.group.pk, made.pk, True)  # not verified
    actions.do_check(u(world, "leader"), world.group.pk, made.pk, True)
    made.refresh_from_db()
    assert made.status == "reviewed" and made.checked_by_id == u(world, "leader").pk
    # Nothing changed: no new revision, still reviewed.
    actions.do_edit_entry(u(world, "member"), world.group.pk, made.pk, body="多喝水。")
    assert made.revisions.count() == 1
    actions.do_edit_entry(
        u(world, "member"), world.group.pk, made.pk, body="小口多喝水。", note="更具体"
    )
    made.refresh_from_db()
    data = entry_dict(made)
    assert data["status"] == "draft" and data["changed_since_review"]
    assert data["reviewed"]["by"]["display_name"] == "Moderator"  # the last review stays shown
    assert data["checked"] is None
    with pytest.raises(UserError) as e:
        actions.do_edit_entry(u(world, "removed"), world.group.pk, made.pk, body="x")
    assert e.value.status == 404


def test_only_author_and_moderators_edit_and_authors_delete_only_unreviewed(world: World) -> None:
    made = entry(world, role="moderator")
    with pytest.raises(UserError) as e:
        actions.do_edit_entry(u(world, "member"), world.group.pk, made.pk, title="改")
    assert e.value.status == 403
    mine = entry(world)
    actions.do_review(u(world, "moderator"), world.group.pk, mine.pk)
    with pytest.raises(UserError):
        actions.do_delete_entry(u(world, "member"), world.group.pk, mine.pk)
    draft = entry(world, title="另一个")
    actions.do_delete_entry(u(world, "member"), world.group.pk, draft.pk)
    assert not Entry.objects.filter(pk=draft.pk).exists()


def test_history_shows_each_version_with_a_character_diff(world: World) -> None:
    made = entry(world, body="放疗后每天冲洗鼻腔。\n第二行不变。")
    actions.do_edit_entry(
        u(world, "member"), world.group.pk, made.pk, body="放疗后每天冲洗鼻腔两次。\n第二行不变。"
    )
    newest, first = history(made)
    assert (newest["number"], first["number"]) == (2, 1)
    assert ("ins", "两次") in newest["body_diff"]
    assert ("same", "第二行不变。") in newest["body_diff"]
    assert diff("abc", "abd") == [("same", "ab"), ("del", "c"), ("ins", "d")]


def test_entries_reviewed_long_ago_are_due_for_review(world: World) -> None:
    old, fresh = entry(world, title="旧"), entry(world, title="新")
    for e in (old, fresh):
        actions.do_review(u(world, "moderator"), world.group.pk, e.pk)
    Entry.objects.filter(pk=old.pk).update(
        reviewed_at=timezone.now() - dt.timedelta(days=30 * 12 + 1)
    )
    due = list(entries_of(world.group, state="due"))
    assert [e.pk for e in due] == [old.pk]
    assert entry_dict(Entry.objects.get(pk=old.pk))["due_for_review"] is True
    world.group.review_after_months = 24
    world.group.save()
    assert not entries_of(world.group, state="due").exists()


def test_comments_are_resolved_by_author_or_moderators(world: World) -> None:
    made = entry(world, role="leader")
    c = actions.do_comment(u(world, "member"), world.group.pk, made.pk, "第二条写错了")
    with pytest.raises(UserError) as e:
        actions.do_resolve_comment(u(world, "removed"), world.group.pk, made.pk, c.pk)
    assert e.value.status == 404
    actions.do_resolve_comment(u(world, "moderator"), world.group.pk, made.pk, c.pk)
    c.refresh_from_db()
    assert c.resolved_by_id == u(world, "moderator").pk


def test_newcomer_guide_order_progress_and_banner(world: World) -> None:
    a, b, c = entry(world, title="A"), entry(world, title="B"), entry(world, title="C")
    with pytest.raises(UserError) as e:
        actions.do_set_guide(u(world, "moderator"), world.group.pk, [a.pk])
    assert e.value.status == 403
    actions.do_set_guide(u(world, "leader"), world.group.pk, [c.pk, a.pk, b.pk])
    member = Membership.objects.get(group=world.group, user=u(world, "member"))
    guide = actions.newcomer_guide(member)
    assert guide is not None
    assert [s["entry"].title for s in guide["steps"]] == ["C", "A", "B"]
    assert (guide["read"], guide["total"]) == (0, 3)
    for e in (c, a):
        actions.mark_read(member.user_id, e)
    assert actions.guide_of(member)["read"] == 2
    actions.mark_read(member.user_id, b)
    assert actions.newcomer_guide(member) is None  # read it all: no banner
    Membership.objects.filter(pk=member.pk).update(joined_at=timezone.now() - dt.timedelta(days=90))
    other = entry(world, title="D")
    actions.do_set_guide(u(world, "leader"), world.group.pk, [other.pk])
    member.refresh_from_db()
    assert actions.newcomer_guide(member) is None  # not new any more
    # Entries of another group cannot be put in the guide.
    with pytest.raises(UserError):
        actions.do_set_guide(u(world, "leader"), world.group.pk, [999999])


def test_glossary_words_are_unique_in_any_script_and_kept_by_moderators(world: World) -> None:
    t = actions.do_add_term(
        u(world, "moderator"), world.group.pk, term="毕業", also="graduated", meaning="完成治疗"
    )
    with pytest.raises(UserError) as e:
        actions.do_add_term(u(world, "leader"), world.group.pk, term="毕业", meaning="x")
    assert e.value.code == "term_exists"  # traditional and simplified are one word
    with pytest.raises(UserError) as e:
        actions.do_add_term(u(world, "member"), world.group.pk, term="CR", meaning="x")
    assert e.value.status == 403
    actions.do_edit_term(u(world, "leader"), world.group.pk, t.pk, also="graduated, 毕业了")
    t.refresh_from_db()
    assert t.spellings() == ["毕業", "graduated", "毕业了"]
    actions.do_delete_term(u(world, "moderator"), world.group.pk, t.pk)


def test_chat_page_carries_the_glossary_and_the_newcomer_banner(world: World) -> None:
    actions.do_add_term(u(world, "leader"), world.group.pk, term="跑路", meaning="换医院")
    a = entry(world, title="先读这个")
    actions.do_set_guide(u(world, "leader"), world.group.pk, [a.pk])
    r = world.client("member").get(f"/groups/{world.group.pk}/chat/")
    page = r.content.decode()
    assert json.dumps("跑路") in page and json.dumps("换医院") in page  # in the page's config
    assert 'data-testid="guide-banner"' in page


def test_members_choose_to_be_named_and_leaders_set_the_review_age(world: World) -> None:
    mid = send(world, "member", "张口训练每天三次")
    made = entry(world, role="moderator", sources=[mid])
    member = world.client("member")
    r = member.patch(
        "/api/v1/me/profile", {"credit_in_knowledge": False}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["profile"]["credit_in_knowledge"] is False
    r = member.get(f"/api/v1/groups/{world.group.pk}/entries/{made.pk}")
    assert r.json()["sources"][0]["author"] == "A group member"
    r = member.patch(
        "/api/v1/me/profile", {"credit_in_knowledge": "maybe"}, content_type="application/json"
    )
    assert r.status_code == 422  # a yes/no, not text
    leader = world.client("leader")
    url = f"/api/v1/groups/{world.group.pk}"
    r = leader.patch(url, {"review_after_months": 6}, content_type="application/json")
    assert r.status_code == 200 and r.json()["review_after_months"] == 6
    r = leader.patch(url, {"review_after_months": 0}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["message"]
