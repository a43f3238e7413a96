"""Rich messages and what follows from them: Markdown, links and @mentions rendered safely;
notifications for mentions and replies; pinned messages; the group announcement; and
opening the history at a message or a date."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tongzhou.accounts.models import User
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.changes import do_pin
from tongzhou.chat.models import Message
from tongzhou.chat.render import first_link, plain_text, to_html
from tongzhou.groups import actions as group_actions
from tongzhou.groups.models import Group, Membership
from tongzhou.notify.models import Notification

from .conftest import World, build_world, make_user
from .test_realtime import connect

_ids = itertools.count()


def api(world: World, tail: str = "") -> str:
    return f"/api/v1/groups/{world.group.pk}{tail}"


def send(world: World, role: str, text: str, **extra: Any) -> dict[str, Any]:
    r = world.client(role).post(
        api(world, "/messages"),
        {"client_id": f"rich-{next(_ids)}", "text": text, **extra},
        content_type="application/json",
    )
    assert r.status_code == 201, r.json()
    return dict(r.json())


def notifications(client: Client) -> dict[str, Any]:
    r = client.get("/api/v1/notifications")
    assert r.status_code == 200, r.json()
    return dict(r.json())


def mark_read(client: Client, ids: list[int] | None) -> int:
    r = client.post("/api/v1/notifications/read", {"ids": ids}, content_type="application/json")
    assert r.status_code == 200, r.json()
    return int(r.json()["unread"])


def join(world: World, username: str, display_name: str) -> User:
    user = make_user(username, display_name)
    app = group_actions.do_apply(user, world.group, role="patient")  # type: ignore[arg-type]
    group_actions.do_decide(world.users["leader"], app, approve=True)  # type: ignore[arg-type]
    return user


def uid(world: World, role: str) -> int:
    return world.users[role].pk  # type: ignore[union-attr]


def links(html: str) -> list[tuple[str, str]]:
    """(href, label) of every link in the HTML."""
    return re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', html)


# --- Rendering --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("**很重要** 和 *轻一点*", "<p><strong>很重要</strong> 和 <em>轻一点</em></p>"),
        ("- 白细胞\n- 血小板", "<ul>\n<li>白细胞</li>\n<li>血小板</li>\n</ul>"),
        ("1. 抽血\n2. 复查", "<ol>\n<li>抽血</li>\n<li>复查</li>\n</ol>"),
        ("> 医生说：多喝水", "<blockquote>\n<p>医生说：多喝水</p>\n</blockquote>"),
        ("第一行\n第二行", "<p>第一行<br>\n第二行</p>"),
    ],
)
def test_the_markdown_members_type_is_formatted(text: str, html: str) -> None:
    assert to_html(text) == html


def test_links_open_in_a_new_tab_and_pass_on_neither_rank_nor_referrer() -> None:
    html = to_html("指南 https://example.com/guide?page=2 和 [医院](https://hospital.example/npc)")
    assert links(html) == [
        ("https://example.com/guide?page=2", "https://example.com/guide?page=2"),
        ("https://hospital.example/npc", "医院"),
    ]
    anchors = re.findall(r"<a [^>]*>", html)
    assert len(anchors) == 2
    for a in anchors:
        assert 'target="_blank"' in a
        rel = re.search(r'rel="([^"]*)"', a)
        assert rel is not None and {"nofollow", "noopener", "noreferrer"} <= set(rel[1].split())


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('x')</script>",
        '<img src="x" onerror="alert(1)">',
        "<b>bold?</b> <i>no</i>",
        '<a href="https://evil.example">click</a>',
        '<span class="mention" data-user="1">@Leader</span>',
        "<iframe src=https://evil.example></iframe>",
    ],
)
def test_html_a_member_types_is_shown_as_the_text_they_typed(text: str) -> None:
    html = to_html(text)
    assert "<script" not in html and "<img" not in html and "<iframe" not in html
    assert "<b>" not in html and "<i>" not in html
    assert not re.search(r"<[a-z]+ [^>]*on[a-z]+=", html)  # no tag carries a handler
    assert '<span class="mention"' not in html
    assert "&lt;" in html  # the angle brackets are there, as text
    # Whatever was typed is still readable: unescaping the text gives it back.
    visible = re.sub(r"<[^>]+>", "", html)
    for word in re.findall(r"[A-Za-z]{4,}", text):
        assert word in visible


@pytest.mark.parametrize(
    "text",
    [
        "[点我](javascript:alert(1))",
        "[点我](JaVaScRiPt:alert(1))",
        "[点我](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[点我](vbscript:msgbox(1))",
        "<javascript:alert(1)>",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
    ],
)
def test_script_and_data_addresses_never_become_links(text: str) -> None:
    html = to_html(text)
    assert "<a" not in html, html
    assert "点我" in html or "alert" in html  # the words stay, as text
    assert first_link(text) is None


@pytest.mark.parametrize(
    ("text", "href", "after"),
    [
        ("看这个https://example.com/a很好", "https://example.com/a", "很好"),
        ("https://example.com/x。", "https://example.com/x", "。"),
        ("链接：https://example.com/x！谢谢", "https://example.com/x", "！谢谢"),
        ("https://example.com/a，然后呢", "https://example.com/a", "，然后呢"),
        ("https://example.com/a（见第二页）", "https://example.com/a", "（见第二页）"),
        ("https://example.com很好", "https://example.com", "很好"),
        ("看这个example.com/a很好", "http://example.com/a", "很好"),
    ],
)
def test_an_address_written_into_chinese_text_links_only_the_address(
    text: str, href: str, after: str
) -> None:
    html = to_html(text)
    assert links(html) == [(href, href.removeprefix("http://"))]
    assert html.endswith(f"</a>{after}</p>")
    assert first_link(text) == href


@pytest.mark.parametrize(
    ("text", "shown", "after"),
    [
        ("https://zh.wikipedia.org/wiki/鼻咽癌", "https://zh.wikipedia.org/wiki/鼻咽癌", ""),
        (
            "https://zh.wikipedia.org/wiki/鼻咽癌，很有用",
            "https://zh.wikipedia.org/wiki/鼻咽癌",
            "，很有用",
        ),
        ("https://www.baidu.com/s?wd=放疗 口干", "https://www.baidu.com/s?wd=放疗", " 口干"),
    ],
)
def test_chinese_in_an_address_path_stays_part_of_the_link(
    text: str, shown: str, after: str
) -> None:
    """Chinese straight after "/" or "=" is the page's name, not the sentence going on."""
    [(href, label)] = links(to_html(text))
    assert label == shown
    assert href.startswith(shown.split("/")[0]) and "%E" in href  # percent-encoded
    assert to_html(text).endswith(f"</a>{after}</p>")
    assert first_link(text) == href


@pytest.mark.parametrize(
    "text", ["[删除账号](/accounts/delete/)", "[x](//evil.example)", "[x](#top)"]
)
def test_markdown_links_go_only_to_web_addresses(text: str) -> None:
    assert "<a" not in to_html(text)
    assert first_link(text) is None


def test_quotes_and_notifications_read_without_the_markdown() -> None:
    assert (
        plain_text("- **看牙** first\n> ask <b>here</b> & now")
        == "看牙 first ask <b>here</b> & now"
    )
    assert plain_text("一二三四五", 3) == "一二三"


def test_a_reply_to_a_deleted_message_tells_nobody(world: World) -> None:
    from tongzhou.chat.changes import do_delete_message

    gone = send(world, "member", "我删掉了")
    do_delete_message(world.users["member"], world.group.pk, gone["id"])  # type: ignore[arg-type]
    send(world, "moderator", "刚才说什么？", reply_to=gone["id"])
    assert notifications(world.client("member"))["notifications"] == []


def test_emoji_survive_rendering() -> None:
    text = "加油 💪🙏 🎗️ 👨‍👩‍👧 **🌸**"
    html = to_html(text)
    for emoji in ("💪", "🙏", "🎗️", "👨‍👩‍👧"):
        assert emoji in html
    assert "<strong>🌸</strong>" in html


def test_mentions_are_marked_with_the_members_id_and_their_name_escaped() -> None:
    html = to_html(
        "@Wang Li 和 @Wang 你们好 @<b>Zhao</b>", {"Wang": 7, "Wang Li": 8, "<b>Zhao</b>": 9}
    )
    assert html == (
        '<p><span class="mention" data-user="8">@Wang Li</span> 和 '
        '<span class="mention" data-user="7">@Wang</span> 你们好 '
        '<span class="mention" data-user="9">@&lt;b&gt;Zhao&lt;/b&gt;</span></p>'
    )
    # A name nobody has, or a name inside a link, is only text.
    assert "mention" not in to_html("@Nobody hi", {"Wang": 7})
    assert "mention" not in to_html("[@Wang](https://example.com)", {"Wang": 7})


def test_first_link_is_the_first_web_address_only() -> None:
    assert first_link("先看 https://a.example/1 再看 https://b.example/2") == "https://a.example/1"
    assert first_link("mailto:nurse@hospital.example 或 https://b.example") == "https://b.example"
    assert first_link("没有链接") is None


def test_messages_from_the_api_carry_their_html(world: World) -> None:
    sent = send(
        world, "member", "**放疗** 第三周\n<b>not bold</b> 问 @Leader https://example.com/x。"
    )
    html = sent["html"]
    assert "<strong>放疗</strong>" in html and "&lt;b&gt;not bold&lt;/b&gt;" in html
    assert f'<span class="mention" data-user="{uid(world, "leader")}">@Leader</span>' in html
    assert links(html) == [("https://example.com/x", "https://example.com/x")]
    assert sent["text"].startswith("**放疗**")  # the words are kept as typed
    assert sent["mentions"] == [uid(world, "leader")]
    page = world.client("moderator").get(api(world, "/messages")).json()["messages"]
    assert [(m["id"], m["html"]) for m in page] == [(sent["id"], html)]


# --- Mentions and notifications ---------------------------------------------------------


def test_a_mentioned_member_is_notified_with_a_link_to_the_message(world: World) -> None:
    sent = send(world, "leader", "@Member 明天的讲座别忘了")
    got = notifications(world.client("member"))
    assert got["unread"] == 1
    [n] = got["notifications"]
    assert n["kind"] == "mention" and n["read"] is False
    assert n["group"] == {"id": world.group.pk, "name": "NPC group"}
    assert n["message"] == {"id": sent["id"], "sender_name": "Leader", "text": sent["text"]}
    assert n["url"] == f"{reverse('groups:chat', args=[world.group.pk])}?m={sent['id']}"
    assert world.client("member").get(n["url"]).status_code == 200
    # Nobody else was told: not the sender, not the members who were not named.
    for role in ("leader", "moderator", "outsider", "removed"):
        assert notifications(world.client(role)) == {"unread": 0, "notifications": []}


def test_mentioning_yourself_notifies_nobody(world: World) -> None:
    sent = send(world, "member", "提醒 @Member 自己：周五复查")
    assert sent["mentions"] == [uid(world, "member")]  # still shown as a mention
    assert not Notification.objects.exists()
    assert notifications(world.client("member"))["unread"] == 0


def test_a_reply_tells_the_author_it_answers_and_not_the_one_replying(world: World) -> None:
    question = send(world, "member", "化疗后一直恶心怎么办？", kind="question")
    answer = send(world, "moderator", "少食多餐，可以问医生开止吐药", reply_to=question["id"])
    [n] = notifications(world.client("member"))["notifications"]
    assert n["kind"] == "reply" and n["message"]["id"] == answer["id"]
    assert n["message"]["sender_name"] == "Moderator"
    assert notifications(world.client("moderator"))["notifications"] == []
    # Answering your own message tells nobody.
    send(world, "member", "补充：是第二个疗程", reply_to=question["id"])
    assert notifications(world.client("member"))["unread"] == 1
    # A reply that also names its author is one notification, a mention.
    both = send(world, "leader", "@Member 同意楼上", reply_to=question["id"])
    mine = notifications(world.client("member"))["notifications"]
    assert [(x["message"]["id"], x["kind"]) for x in mine] == [
        (both["id"], "mention"),
        (answer["id"], "reply"),
    ]


def test_a_removed_member_is_never_notified_and_their_old_notifications_go(world: World) -> None:
    first = send(world, "leader", "@Member 你的报告出来了吗")
    send(world, "leader", "我们回复一下", reply_to=send(world, "member", "还没有")["id"])
    assert notifications(world.client("member"))["unread"] == 2
    leader = Membership.objects.get(group=world.group, user=world.users["leader"])
    group_actions.do_remove_member(
        leader, Membership.objects.get(group=world.group, user=world.users["member"])
    )
    assert notifications(world.client("member")) == {"unread": 0, "notifications": []}
    page = world.client("member").get("/notifications/").content.decode()
    assert f"?m={first['id']}" not in page and "你的报告" not in page
    # Named after leaving, they are neither notified nor marked as mentioned.
    later = send(world, "leader", "@Member @Removed 还好吗")
    assert later["mentions"] == [] and "mention" not in later["html"]
    assert not Notification.objects.filter(message_id=later["id"]).exists()
    # Their old messages can still be answered without telling them.
    old = Message.objects.filter(sender=world.users["member"]).get()
    reply = send(world, "moderator", "欢迎回来", reply_to=old.pk)
    assert not Notification.objects.filter(message_id=reply["id"]).exists()


def test_an_edit_notifies_only_whoever_it_newly_names(
    world: World, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    question = send(world, "member", "谁知道周三几点？")
    sent = send(world, "leader", "@Member 周三见", reply_to=question["id"])
    pushed: list[int] = []
    monkeypatch.setattr(
        "tongzhou.notify.actions.publish_to_user", lambda user_id, event: pushed.append(user_id)
    )
    with django_capture_on_commit_callbacks(execute=True):
        r = world.client("leader").patch(
            api(world, f"/messages/{sent['id']}"),
            {"text": "@Member @Moderator 周三见"},
            content_type="application/json",
        )
    assert r.status_code == 200, r.json()
    assert sorted(r.json()["mentions"]) == sorted([uid(world, "member"), uid(world, "moderator")])
    assert "@Moderator</span>" in r.json()["html"]
    assert pushed == [uid(world, "moderator")]  # the member is not told a second time
    assert notifications(world.client("member"))["unread"] == 1
    [n] = notifications(world.client("moderator"))["notifications"]
    assert n["kind"] == "mention" and n["message"]["text"] == "@Member @Moderator 周三见"
    assert notifications(world.client("leader"))["unread"] == 0
    assert Notification.objects.filter(message_id=sent["id"]).count() == 2


def test_an_edit_that_takes_a_name_out_takes_the_mention_back(world: World) -> None:
    """Mentioning the wrong person and correcting it leaves them no "mentioned you" for a
    message that does not (a notification with no mention in it, before this)."""
    question = send(world, "member", "有人用过这个止吐药吗？")
    sent = send(world, "leader", "@Member @Moderator 我用过", reply_to=question["id"])
    assert notifications(world.client("moderator"))["unread"] == 1
    r = world.client("leader").patch(
        api(world, f"/messages/{sent['id']}"),
        {"text": "我用过，效果不错"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.json()
    assert r.json()["mentions"] == [] and "mention" not in r.json()["html"]
    assert notifications(world.client("moderator")) == {"unread": 0, "notifications": []}
    # The member it answers is still told, now of a reply.
    [n] = notifications(world.client("member"))["notifications"]
    assert (n["kind"], n["message"]["id"]) == ("reply", sent["id"])
    # Named again: told again.
    world.client("leader").patch(
        api(world, f"/messages/{sent['id']}"),
        {"text": "@Moderator 我用过，效果不错"},
        content_type="application/json",
    )
    [n] = notifications(world.client("moderator"))["notifications"]
    assert n["kind"] == "mention" and n["read"] is False


def test_deleting_a_message_takes_its_notifications_away(world: World) -> None:
    keep = send(world, "leader", "@Member 第一条")
    gone = send(world, "leader", "@Member @Moderator 发错了")
    assert notifications(world.client("member"))["unread"] == 2
    r = world.client("leader").delete(api(world, f"/messages/{gone['id']}"))
    assert r.status_code == 200, r.json()
    member = notifications(world.client("member"))
    assert member["unread"] == 1
    assert [n["message"]["id"] for n in member["notifications"]] == [keep["id"]]
    assert notifications(world.client("moderator")) == {"unread": 0, "notifications": []}
    assert not Notification.objects.filter(message_id=gone["id"]).exists()


def test_marking_notifications_read_touches_only_your_own(world: World) -> None:
    send(world, "leader", "@Member @Moderator 今晚线上分享")
    send(world, "leader", "@Member 记得带病历")
    mine = [n["id"] for n in notifications(world.client("member"))["notifications"]]
    theirs = [n["id"] for n in notifications(world.client("moderator"))["notifications"]]
    assert len(mine) == 2 and len(theirs) == 1
    # One of mine, plus the moderator's id: only mine changes.
    assert mark_read(world.client("member"), [mine[0], *theirs]) == 1
    assert notifications(world.client("moderator"))["unread"] == 1
    assert Notification.objects.get(pk=theirs[0]).read_at is None
    assert mark_read(world.client("outsider"), theirs) == 0
    assert Notification.objects.get(pk=theirs[0]).read_at is None
    listed = {n["id"]: n["read"] for n in notifications(world.client("member"))["notifications"]}
    assert listed == {mine[0]: True, mine[1]: False}
    # With no ids: all of mine, still none of theirs.
    assert mark_read(world.client("member"), None) == 0
    assert notifications(world.client("moderator"))["unread"] == 1
    unread_only = world.client("moderator").get("/api/v1/notifications", {"unread": True})
    assert [n["id"] for n in unread_only.json()["notifications"]] == theirs


def test_reading_the_group_up_to_a_message_reads_its_notifications(world: World) -> None:
    first = send(world, "leader", "@Member 第一条")
    second = send(world, "leader", "@Member 第二条")
    r = world.client("member").post(
        api(world, "/read"), {"last_read_id": first["id"]}, content_type="application/json"
    )
    assert r.status_code == 200, r.json()
    got = notifications(world.client("member"))
    assert got["unread"] == 1
    assert {n["message"]["id"]: n["read"] for n in got["notifications"]} == {
        first["id"]: True,
        second["id"]: False,
    }
    # Someone else reading the group changes nothing of the member's.
    world.client("moderator").post(
        api(world, "/read"), {"last_read_id": second["id"]}, content_type="application/json"
    )
    assert notifications(world.client("member"))["unread"] == 1


def test_the_notifications_page_lists_them_and_marks_all_read(world: World) -> None:
    sent = send(world, "leader", "@Member 周六的病友会改到下午")
    reply_to = send(world, "member", "收到")
    send(world, "moderator", "好的", reply_to=reply_to["id"])
    c = world.client("member")
    page = c.get("/notifications/").content.decode()
    assert "Leader mentioned you in NPC group" in page
    assert "Moderator replied to you in NPC group" in page
    assert f'href="/groups/{world.group.pk}/chat/?m={sent["id"]}"' in page
    assert page.count('class="unread"') == 2 and "Mark all as read" in page
    r = c.post("/notifications/")
    assert r.status_code == 302 and r["Location"] == "/notifications/"
    assert notifications(c)["unread"] == 0
    page = c.get("/notifications/").content.decode()
    assert 'class="unread"' not in page and "Mark all as read" not in page
    assert "Leader mentioned you in NPC group" in page  # read, still listed
    assert world.client("anonymous").get("/notifications/").status_code == 302


def test_the_longest_display_name_wins_when_names_share_a_beginning(world: World) -> None:
    wang = join(world, "wang", "Wang")
    wang_li = join(world, "wangli", "Wang Li")
    both = send(world, "member", "@Wang Li 你的药是哪里开的？")
    assert both["mentions"] == [wang_li.pk]
    assert f'data-user="{wang_li.pk}">@Wang Li</span>' in both["html"]
    short = send(world, "member", "@Wang 也来看看")
    assert short["mentions"] == [wang.pk]
    told = {
        (n.user_id, n.message_id) for n in Notification.objects.filter(user__in=[wang, wang_li])
    }
    assert told == {(wang_li.pk, both["id"]), (wang.pk, short["id"])}


# --- Pins -------------------------------------------------------------------------------


def pin(world: World, role: str, mid: int, on: bool = True) -> Any:
    return world.client(role).post(
        api(world, f"/messages/{mid}/pin"), {"on": on}, content_type="application/json"
    )


def pins(world: World, role: str = "member") -> list[int]:
    r = world.client(role).get(api(world, "/pins"))
    assert r.status_code == 200, r.json()
    return [m["id"] for m in r.json()["messages"]]


@pytest.mark.parametrize("role", ["moderator", "leader"])
def test_moderators_pin_and_unpin_for_everyone(world: World, role: str) -> None:
    rules = send(world, "member", "群规：不推销保健品")
    r = pin(world, role, rules["id"])
    assert r.status_code == 200, r.json()
    assert r.json()["pinned"] is True and r.json()["id"] == rules["id"]
    assert pins(world, "member") == [rules["id"]]
    seen = world.client("member").get(api(world, "/messages")).json()["messages"]
    assert [m["pinned"] for m in seen] == [True]
    r = pin(world, role, rules["id"], on=False)
    assert r.status_code == 200 and r.json()["pinned"] is False
    assert pins(world, "member") == []


def test_members_cannot_pin_and_strangers_cannot_see_pins(world: World) -> None:
    m = send(world, "member", "我的经验")
    r = pin(world, "member", m["id"])
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_allowed"
    assert r.json()["error"]["message"]
    assert pins(world) == []
    assert pin(world, "moderator", m["id"]).status_code == 200
    assert pin(world, "member", m["id"], on=False).status_code == 403
    assert pins(world) == [m["id"]]
    for role in ("outsider", "removed", "applicant"):
        assert world.client(role).get(api(world, "/pins")).status_code == 404
        assert pin(world, role, m["id"]).status_code == 404


def test_at_most_ten_messages_are_pinned(world: World) -> None:
    ids = [send(world, "leader", f"要点 {i}")["id"] for i in range(11)]
    for mid in ids[:10]:
        assert pin(world, "moderator", mid).status_code == 200
    r = pin(world, "moderator", ids[10])
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_pins"
    assert "10" in r.json()["error"]["message"]
    assert sorted(pins(world)) == ids[:10]
    assert not Message.objects.get(pk=ids[10]).pinned_at
    # Pinning one already pinned is not an eleventh; unpinning one makes room.
    assert pin(world, "moderator", ids[0]).status_code == 200
    assert pin(world, "moderator", ids[0], on=False).status_code == 200
    assert pin(world, "moderator", ids[10]).status_code == 200
    assert sorted(pins(world)) == ids[1:]


def test_a_deleted_message_leaves_the_pins(world: World) -> None:
    m = send(world, "member", "我的电话 138...")
    other = send(world, "leader", "群规")
    pin(world, "moderator", m["id"])
    pin(world, "moderator", other["id"])
    assert pins(world) == [other["id"], m["id"]]  # the newest pin first
    assert world.client("member").delete(api(world, f"/messages/{m['id']}")).status_code == 200
    assert pins(world) == [other["id"]]
    seen = {
        x["id"]: x for x in world.client("leader").get(api(world, "/messages")).json()["messages"]
    }
    assert seen[m["id"]]["pinned"] is False and seen[m["id"]]["deleted"] == "sender"
    r = pin(world, "moderator", m["id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "message_deleted"
    assert pins(world) == [other["id"]]


def test_a_pin_is_a_change_clients_catch_up_on(world: World) -> None:
    m = send(world, "member", "值得置顶")
    c = world.client("member")
    before = c.get(api(world, "/messages")).json()["change_seq"]
    pin(world, "moderator", m["id"])
    pin(world, "moderator", m["id"])  # already pinned: no second change
    assert c.get(api(world, "/messages")).json()["change_seq"] == before + 1
    pin(world, "moderator", m["id"], on=False)
    assert c.get(api(world, "/messages")).json()["change_seq"] == before + 2


@pytest.mark.django_db(transaction=True)
async def test_open_pages_hear_of_pins_and_mentions_at_once() -> None:
    world = await database_sync_to_async(build_world)()
    m, _ = await database_sync_to_async(do_send_message)(
        world.users["leader"], world.group.pk, client_id="p", text="置顶这条"
    )
    live, connected = await connect(world, "member", after=m["id"])
    assert connected
    await database_sync_to_async(do_pin)(world.users["moderator"], world.group.pk, m["id"], True)
    event = await live.receive_json_from(timeout=3)
    assert event["type"] == "message.updated"
    assert event["message"]["id"] == m["id"] and event["message"]["pinned"] is True
    mention, _ = await database_sync_to_async(do_send_message)(
        world.users["leader"], world.group.pk, client_id="n", text="@Member 看置顶"
    )
    got = [await live.receive_json_from(timeout=3), await live.receive_json_from(timeout=3)]
    by_type = {e["type"]: e for e in got}
    assert set(by_type) == {"message.new", "notify.new"}
    note = by_type["notify.new"]
    assert note["unread"] == 1 and note["notification"]["message"]["id"] == mention["id"]
    assert note["notification"]["kind"] == "mention"
    assert await live.receive_nothing(timeout=0.3)
    await live.disconnect()
    # The leader, who sent it, hears the message but no notification.
    leader, _ = await connect(world, "leader", after=mention["id"])
    await database_sync_to_async(do_send_message)(
        world.users["member"], world.group.pk, client_id="r", text="好", reply_to=mention["id"]
    )
    got = [await leader.receive_json_from(timeout=3), await leader.receive_json_from(timeout=3)]
    assert {e["type"] for e in got} == {"message.new", "notify.new"}
    assert next(e for e in got if e["type"] == "notify.new")["notification"]["kind"] == "reply"
    await leader.disconnect()


# --- Announcement -----------------------------------------------------------------------


def announce(world: World, role: str, text: str) -> Any:
    return world.client(role).patch(
        api(world), {"announcement": text}, content_type="application/json"
    )


def chat_config(world: World, role: str) -> dict[str, Any]:
    page = world.client(role).get(f"/groups/{world.group.pk}/chat/").content.decode()
    found = re.search(r'<script id="chat-config" type="application/json">(.*?)</script>', page)
    assert found is not None, page
    return dict(json.loads(found[1]))


def test_the_leader_sets_the_announcement_and_every_member_sees_it(world: World) -> None:
    before = timezone.now()
    r = announce(world, "leader", "**本周六**病友会，地点：肿瘤医院三楼")
    assert r.status_code == 200, r.json()
    a = r.json()["announcement"]
    assert a["text"] == "**本周六**病友会，地点：肿瘤医院三楼"
    assert a["html"] == "<p><strong>本周六</strong>病友会，地点：肿瘤医院三楼</p>"
    assert a["by"] == "Leader"
    assert before <= dt.datetime.fromisoformat(a["at"]) <= timezone.now()
    for role in ("member", "moderator"):
        assert world.client(role).get(api(world)).json()["announcement"] == a
    assert chat_config(world, "member")["announcement"] == a  # the chat page shows it
    # Taking it down.
    r = announce(world, "leader", "")
    assert r.status_code == 200 and r.json()["announcement"] is None
    assert world.client("member").get(api(world)).json()["announcement"] is None


@pytest.mark.parametrize(
    ("role", "status"), [("moderator", 403), ("member", 403), ("outsider", 404)]
)
def test_only_the_leader_may_set_the_announcement(world: World, role: str, status: int) -> None:
    announce(world, "leader", "原来的公告")
    r = announce(world, role, "改掉它")
    assert r.status_code == status and r.json()["error"]["code"]
    assert r.json()["error"]["message"]
    assert Group.objects.get(pk=world.group.pk).announcement == "原来的公告"


def test_script_in_the_announcement_is_shown_as_text(world: World) -> None:
    r = announce(
        world,
        "leader",
        "<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3))",
    )
    assert r.status_code == 200, r.json()
    html = r.json()["announcement"]["html"]
    assert "<script" not in html and "<img" not in html and "<a" not in html
    assert "&lt;script&gt;" in html
    page = world.client("member").get(f"/groups/{world.group.pk}/chat/").content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert chat_config(world, "member")["announcement"]["html"] == html


def test_the_announcement_is_kept_short_and_unchanged_text_is_not_a_new_one(world: World) -> None:
    first = announce(world, "leader", "公告").json()["announcement"]
    Group.objects.filter(pk=world.group.pk).update(
        announcement_at=timezone.now() - dt.timedelta(days=1)
    )
    again = announce(world, "leader", "  公告  ").json()["announcement"]
    assert again["text"] == "公告" and again["at"] < first["at"]
    r = announce(world, "leader", "字" * 2001)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_announcement"
    assert Group.objects.get(pk=world.group.pk).announcement == "公告"


def test_the_settings_page_sets_the_announcement(world: World) -> None:
    url = f"/groups/{world.group.pk}/settings/"
    r = world.client("leader").post(url, {"action": "announcement", "announcement": "下周停更一次"})
    assert r.status_code == 302 and r["Location"] == url
    a = world.client("member").get(api(world)).json()["announcement"]
    assert a["text"] == "下周停更一次" and a["by"] == "Leader"
    assert "下周停更一次" in world.client("leader").get(url).content.decode()
    r = world.client("moderator").post(url, {"action": "announcement", "announcement": "x"})
    assert r.status_code == 403
    world.client("leader").post(url, {"action": "announcement", "announcement": ""})
    assert world.client("member").get(api(world)).json()["announcement"] is None


@pytest.mark.parametrize("role", ["outsider", "applicant", "rejected", "removed", "anonymous"])
def test_people_outside_the_group_never_see_the_announcement(world: World, role: str) -> None:
    announce(world, "leader", "内部通知：下周二聚餐地点")
    c = world.client(role)
    for path in (api(world), "/api/v1/groups", f"/groups/{world.group.pk}/", "/groups/"):
        r = c.get(path)
        assert "聚餐地点" not in r.content.decode(), path
    if role != "anonymous":
        assert "announcement" not in c.get(api(world)).json()
    assert c.get(f"/groups/{world.group.pk}/chat/").status_code in (302, 404)


# --- Opening the history at a message or a date -----------------------------------------


def history(world: World, **params: Any) -> Any:
    return world.client("member").get(api(world, "/messages"), params)


def test_a_permalink_opens_the_history_around_its_message(world: World) -> None:
    ids = [send(world, "leader", f"第{i}条")["id"] for i in range(30)]
    r = history(world, around=ids[15], limit=10)
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["anchor"] == ids[15] and body["newest_id"] == ids[-1]
    assert [m["id"] for m in body["messages"]] == ids[10:20]
    # Near the start there are fewer before it and more after.
    body = history(world, around=ids[1], limit=6).json()
    assert [m["id"] for m in body["messages"]] == ids[0:6] and body["anchor"] == ids[1]
    # The ordinary page has no anchor.
    assert "anchor" not in history(world).json()


def test_a_date_opens_the_history_at_the_first_message_from_then(
    world: World, settings: Any
) -> None:
    settings.TIME_ZONE = "Asia/Shanghai"  # the default; a deployment may choose another
    ids = [send(world, "leader", f"第{i}天")["id"] for i in range(5)]
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    for day, mid in enumerate(ids):
        Message.objects.filter(pk=mid).update(created_at=start + dt.timedelta(days=day))
    body = history(world, at="2026-03-02T12:00:00+00:00", limit=4).json()
    assert body["anchor"] == ids[2] and body["newest_id"] == ids[-1]
    assert [m["id"] for m in body["messages"]] == ids[0:4]
    # Exactly the moment of a message: that message.
    assert history(world, at="2026-03-04T09:00:00Z").json()["anchor"] == ids[3]
    # A time without a zone is the server's (Asia/Shanghai, where 09:00 UTC is 17:00): read
    # as UTC, 16:30 would skip past the message of 3 March.
    assert history(world, at="2026-03-03T16:30").json()["anchor"] == ids[2]
    assert history(world, at="2026-03-03").json()["anchor"] == ids[2]  # a date alone
    # Before everything: the first message; after everything: the newest.
    assert history(world, at="2020-01-01T00:00:00Z").json()["anchor"] == ids[0]
    assert history(world, at="2030-01-01T00:00:00Z").json()["anchor"] == ids[-1]


@pytest.mark.parametrize(
    "at",
    [
        "yesterday",
        "2026-13-01",
        "2026-02-30T10:00:00",
        # Real dates that do not fit the database's UTC once converted (a 500 before).
        "0001-01-01T00:00:00",
        "0001-01-01T03:00:00+08:00",
        "9999-12-31T23:00:00-08:00",
    ],
)
def test_a_date_that_cannot_be_shown_is_refused_clearly(world: World, at: str) -> None:
    send(world, "leader", "hello")
    r = history(world, at=at)
    assert r.status_code == 422, r.content
    error = r.json()["error"]
    assert error["code"] == "invalid_input" and "at" in error["message"]
    assert [f["field"] for f in error["fields"]] == ["at"]
