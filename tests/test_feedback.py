"""Suggestions as members and leaders meet them: post, vote once, comment, sort and filter;
the leader answers and the author is told."""

from __future__ import annotations

from typing import Any

import pytest

from tongzhou.community import feedback
from tongzhou.community.models import Reminder, Suggestion, SuggestionVote
from tongzhou.errors import UserError

from .conftest import World

pytestmark = pytest.mark.django_db


def u(world: World, role: str) -> Any:
    return world.users[role]


def suggest(world: World, role: str, title: str) -> Suggestion:
    return feedback.do_create_suggestion(u(world, role), world.group.pk, title=title)


def test_a_member_votes_once_and_can_take_the_vote_back(world: World) -> None:
    s = suggest(world, "member", "Tea after check-ups")
    gid = world.group.pk
    c = world.client("moderator")
    url = f"/api/v1/groups/{gid}/suggestions/{s.pk}/vote"
    for _ in range(3):  # a double (triple) tap is one vote
        r = c.post(url, {"on": True}, content_type="application/json")
        assert r.status_code == 200 and r.json()["votes"] == 1
    assert SuggestionVote.objects.filter(suggestion=s).count() == 1
    got = c.get(f"/api/v1/groups/{gid}/suggestions/{s.pk}").json()
    assert got["votes"] == 1 and got["voted"] is True
    r = c.post(url, {"on": False}, content_type="application/json")
    assert r.json()["votes"] == 0
    assert c.get(f"/api/v1/groups/{gid}/suggestions/{s.pk}").json()["voted"] is False


def test_sorted_by_votes_or_newest_and_filtered_by_status(world: World) -> None:
    gid = world.group.pk
    first = suggest(world, "member", "A monthly meetup")
    second = suggest(world, "moderator", "A dietitian's talk")
    third = suggest(world, "leader", "A check-up timetable")
    for role in ("member", "moderator"):
        feedback.do_vote(u(world, role), gid, second.pk)
    feedback.do_vote(u(world, "leader"), gid, first.pk)
    c = world.client("member")
    by_votes = c.get(f"/api/v1/groups/{gid}/suggestions").json()["suggestions"]
    assert [(x["id"], x["votes"]) for x in by_votes] == [
        (second.pk, 2),
        (first.pk, 1),
        (third.pk, 0),
    ]
    assert [x["voted"] for x in by_votes] == [True, False, False]
    newest = c.get(f"/api/v1/groups/{gid}/suggestions?sort=newest").json()["suggestions"]
    assert [x["id"] for x in newest] == [third.pk, second.pk, first.pk]
    feedback.do_answer(u(world, "leader"), gid, first.pk, status="planned", answer="June")
    planned = c.get(f"/api/v1/groups/{gid}/suggestions?status=planned").json()["suggestions"]
    assert [x["id"] for x in planned] == [first.pk]
    page = c.get(f"/groups/{gid}/suggestions/?sort=newest&status=planned").content.decode()
    assert "A monthly meetup" in page and "A dietitian" not in page
    bad = c.get(f"/api/v1/groups/{gid}/suggestions?sort=random")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_sort"


def test_the_leader_answers_and_the_author_is_told(world: World) -> None:
    gid = world.group.pk
    s = suggest(world, "member", "A walk in the park on Sundays")
    with pytest.raises(UserError) as e:
        feedback.do_answer(u(world, "member"), gid, s.pk, status="planned")
    assert e.value.status == 403
    with pytest.raises(UserError) as e:  # a "no" needs a reason
        feedback.do_answer(u(world, "leader"), gid, s.pk, status="declined", answer="")
    assert e.value.code == "empty_answer"
    r = world.client("leader").post(
        f"/api/v1/groups/{gid}/suggestions/{s.pk}/answer",
        {"status": "planned", "answer": "Yes, from May"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "planned" and r.json()["answer"] == "Yes, from May"
    told = Reminder.objects.get(user=u(world, "member"))
    assert told.url == f"/groups/{gid}/suggestions/{s.pk}/" and "Planned" in told.title
    page = world.client("member").get(told.url).content.decode()
    assert "Yes, from May" in page and "Planned" in page
    # A later change is told too; answering your own suggestion tells nobody.
    feedback.do_answer(u(world, "leader"), gid, s.pk, status="done", answer="We walked!")
    own = suggest(world, "leader", "Mine")
    feedback.do_answer(u(world, "leader"), gid, own.pk, status="done", answer="ok")
    assert Reminder.objects.filter(user=u(world, "leader")).count() == 0


def test_comments_are_shown_and_tell_the_author(world: World) -> None:
    gid = world.group.pk
    s = suggest(world, "member", "Share recipes")
    c = world.client("moderator")
    r = c.post(f"/groups/{gid}/suggestions/{s.pk}/", {"action": "comment", "text": "Soft food!"})
    assert r.status_code == 302
    assert "Soft food!" in c.get(f"/groups/{gid}/suggestions/{s.pk}/").content.decode()
    assert Reminder.objects.filter(user=u(world, "member"), key__startswith="suggestion:").exists()
    with pytest.raises(UserError):
        feedback.do_comment(u(world, "moderator"), gid, s.pk, "   ")


def test_the_page_posts_a_suggestion_and_votes(world: World) -> None:
    gid = world.group.pk
    c = world.client("member")
    r = c.post(f"/groups/{gid}/suggestions/", {"action": "create", "title": "Karaoke night"})
    assert r.status_code == 302
    s = Suggestion.objects.get(title="Karaoke night")
    r = c.post(f"/groups/{gid}/suggestions/", {"action": "vote", "suggestion": s.pk, "on": "1"})
    assert r.status_code == 302
    assert SuggestionVote.objects.filter(suggestion=s, user=u(world, "member")).exists()
    page = c.get(f"/groups/{gid}/suggestions/").content.decode()
    assert 'aria-pressed="true"' in page
    # Someone else's group's suggestion cannot be voted on through this group.
    other = feedback.do_create_suggestion(
        u(world, "outsider"), world.other_group.pk, title="Elsewhere"
    )
    r = c.post(f"/groups/{gid}/suggestions/", {"action": "vote", "suggestion": other.pk, "on": "1"})
    assert r.status_code == 404
    assert not SuggestionVote.objects.filter(suggestion=other).exists()
