"""#topics: which words are tags, the index kept on send and edit, the topic pages showing
only what members may see, following, and tags in the chat as links."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from tongzhou.chat.actions import do_send_message
from tongzhou.chat.changes import do_delete_message, do_edit_message
from tongzhou.chat.models import Message
from tongzhou.chat.render import to_html
from tongzhou.community import topics
from tongzhou.community.models import MessageTopic, Reminder
from tongzhou.community.topics import extract_tags
from tongzhou.errors import UserError
from tongzhou.groups.models import Membership
from tongzhou.safety.actions import do_decide_report
from tongzhou.safety.models import Report

from .conftest import World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("今天 #放疗 第五天 #diet", ["放疗", "diet"]),
        ("#鼻咽癌_饮食。很重要", ["鼻咽癌_饮食"]),
        ("放疗的事#放疗，吃饭#Diet！", ["放疗", "diet"]),  # Chinese before '#' is fine
        ("问一下#复查？还有#口干、#睡眠", ["复查", "口干", "睡眠"]),
        ("#Diet #DIET #diet", ["diet"]),  # one tag, case-folded, once
        ("see https://x.org/#a and #b", ["b"]),  # not inside an address
        ("www.example.com/#page #ok", ["ok"]),
        ("看https://x.org/a#b很好 #c", ["c"]),
        ("C# and abc#def are not tags", []),
        ("#1 #2026 are numbers, #2026年 is a tag", ["2026年"]),
        ("# alone, ## double, #_ underscore", []),
        ("＃全角 works", ["全角"]),
        ("&#123; is an entity", []),
        ("#" + "长" * 40 + " fits, #" + "长" * 41 + " does not", ["长" * 40]),
        ('(#in_brackets) and "#quoted"', ["in_brackets", "quoted"]),
        ("", []),
    ],
)
def test_which_words_are_tags(text: str, tags: list[str]) -> None:
    assert extract_tags(text) == tags


@given(st.text())
def test_extract_tags_never_fails_and_finds_only_what_is_written(text: str) -> None:
    found = extract_tags(text)
    folded = text.casefold()
    for tag in found:
        assert 1 <= len(tag) <= topics.MAX_TAG
        assert not tag.isdigit()
        assert "#" + tag in folded or "＃" + tag in folded
    assert len(found) == len(set(found))


@given(st.text())
def test_nothing_inside_a_web_address_is_a_tag(rest: str) -> None:
    address = "https://example.org/" + "".join(ch for ch in rest if not ch.isspace())
    assert extract_tags(address) == []
    assert extract_tags(f"看 {address} #放疗") == ["放疗"]


def send(world: World, role: str, text: str, group: Any = None, cid: str = "") -> int:
    g = group or world.group
    sent, _created = do_send_message(
        world.users[role],  # type: ignore[arg-type]
        g.pk,
        client_id=cid or f"{role}-{text}"[:60],
        text=text,
    )
    return int(sent["id"])


def tags_of(mid: int) -> set[str]:
    return set(MessageTopic.objects.filter(message_id=mid).values_list("tag", flat=True))


def test_send_indexes_and_an_edit_replaces_the_tags(world: World) -> None:
    mid = send(world, "member", "第一周 #放疗 #Diet")
    assert tags_of(mid) == {"放疗", "diet"}
    do_edit_message(world.users["member"], world.group.pk, mid, "改一下 #diet #睡眠")  # type: ignore[arg-type]
    assert tags_of(mid) == {"diet", "睡眠"}
    do_edit_message(world.users["member"], world.group.pk, mid, "no tags now")  # type: ignore[arg-type]
    assert tags_of(mid) == set()


def test_a_topic_page_lists_only_visible_messages_of_its_group(world: World) -> None:
    gid = world.group.pk
    shown = send(world, "member", "Congee helps #diet")
    gone = send(world, "moderator", "Soft rice #diet")
    do_delete_message(world.users["moderator"], gid, gone)  # type: ignore[arg-type]
    # A newcomer's advert is held for a moderator.
    Membership.objects.filter(group=world.group, user=world.users["member"]).update(
        joined_at=timezone.now()
    )
    world.group.new_member_days = 7
    world.group.save(update_fields=["new_member_days"])
    held = send(world, "member", "加我微信 kfzj0520 买灵芝 #diet")
    assert Message.objects.get(pk=held).status == Message.Status.HELD
    send(world, "outsider", "Elsewhere #diet", group=world.other_group)
    c = world.client("leader")
    body = c.get(f"/api/v1/groups/{gid}/topics/diet").json()
    assert [m["id"] for m in body["messages"]] == [shown]
    assert body["messages"][0]["url"] == f"/groups/{gid}/chat/?m={shown}"
    page = c.get(f"/groups/{gid}/topics/diet/").content.decode()
    assert "Congee helps" in page and "Soft rice" not in page and "kfzj0520" not in page
    assert "Elsewhere" not in page
    assert c.get(f"/api/v1/groups/{gid}/topics").json()["topics"] == [
        {"tag": "diet", "count": 1, "followed": False}
    ]
    # Let through by a moderator, the held message joins the topic.
    report = Report.objects.get(message_id=held)
    do_decide_report(
        Membership.objects.get(group=world.group, user=world.users["leader"]), report.pk, "approve"
    )
    body = c.get(f"/api/v1/groups/{gid}/topics/diet").json()
    assert [m["id"] for m in body["messages"]] == [held, shown]  # newest first


def test_topic_pages_are_paged_newest_first(world: World) -> None:
    gid = world.group.pk
    ids = [send(world, "member", f"day {i} #diet", cid=f"d{i}") for i in range(topics.PAGE + 3)]
    c = world.client("member")
    first = c.get(f"/api/v1/groups/{gid}/topics/diet").json()
    assert [m["id"] for m in first["messages"]] == ids[::-1][: topics.PAGE]
    rest = c.get(f"/api/v1/groups/{gid}/topics/diet?before={first['next_before']}").json()
    assert [m["id"] for m in rest["messages"]] == ids[:3][::-1]
    assert rest["next_before"] is None


def test_the_topic_page_lists_knowledge_entries_with_the_tag_or_the_word(world: World) -> None:
    from tongzhou.knowledge.actions import do_create_entry

    gid = world.group.pk
    leader = world.users["leader"]
    tagged = do_create_entry(
        leader, gid, title="吃什么", body="粥。", category="rehab", tags=["Diet"]
    )  # type: ignore[arg-type]
    worded = do_create_entry(
        leader, gid, title="A diet for radiotherapy", body="Soft food.", category="rehab"
    )  # type: ignore[arg-type]
    do_create_entry(leader, gid, title="Sleep", body="Rest.", category="rehab")  # type: ignore[arg-type]
    entries = world.client("member").get(f"/api/v1/groups/{gid}/topics/diet").json()["entries"]
    assert {e["id"] for e in entries} == {tagged.pk, worded.pk}


def test_following_tells_of_new_messages_at_most_once_an_hour(world: World) -> None:
    gid = world.group.pk
    c = world.client("member")
    r = c.post(
        f"/api/v1/groups/{gid}/topics/%23Diet/follow", {"on": True}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json() == {"tag": "diet", "followed": True}
    assert c.get(f"/api/v1/groups/{gid}/topics").json()["topics"][0] == {
        "tag": "diet",
        "count": 0,
        "followed": True,
    }
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        send(world, "member", "my own #diet message")  # one's own message tells nobody
        assert not Reminder.objects.filter(user=world.users["member"]).exists()
        send(world, "leader", "Congee #diet")
        send(world, "moderator", "Eggs #diet")
        told = Reminder.objects.filter(user=world.users["member"])
        assert told.count() == 1
        assert told.get().url == f"/groups/{gid}/topics/diet/"
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        send(world, "moderator", "Tofu #diet")
        assert Reminder.objects.filter(user=world.users["member"]).count() == 2
    r = c.post(
        f"/api/v1/groups/{gid}/topics/diet/follow", {"on": False}, content_type="application/json"
    )
    assert r.json()["followed"] is False
    with time_machine.travel(start + dt.timedelta(hours=3), tick=False):
        send(world, "moderator", "Fish #diet")
        assert Reminder.objects.filter(user=world.users["member"]).count() == 2


def test_a_name_that_cannot_be_a_tag_is_not_found(world: World) -> None:
    gid = world.group.pk
    c = world.client("member")
    for bad in ("123", "a%20b", "%E3%80%82", "x" * 41):
        r = c.get(f"/api/v1/groups/{gid}/topics/{bad}")
        assert r.status_code == 404, bad
    with pytest.raises(UserError):
        topics.do_follow(world.users["member"], gid, "no good")  # type: ignore[arg-type]
    r = c.get(f"/groups/{gid}/topics/Diet/")  # one address per topic
    assert r.status_code == 302 and r["Location"] == f"/groups/{gid}/topics/diet/"


def test_tags_in_a_chat_message_are_marked_for_the_chat_to_link(world: World) -> None:
    html = to_html('饮食 #放疗 and <b>#x"</b> https://x.org/#a')
    assert '<span class="topic" data-tag="放疗">#放疗</span>' in html
    assert '<span class="topic" data-tag="x">#x</span>' in html
    assert "<b>" not in html and 'data-tag="a"' not in html
    sent, _c = do_send_message(world.users["member"], world.group.pk, client_id="t", text="#Diet")  # type: ignore[arg-type]
    assert sent["html"] == '<p><span class="topic" data-tag="diet">#Diet</span></p>'
