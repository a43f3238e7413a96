"""Milestones: good news becomes a celebration card the group reacts to (and a short chat
message pointing to it); sad news a quiet card with only a candle or folded hands and no
tally; moderators can hide a card; the author's yearly reminder comes once a year at 09:00
where they live."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client

from tongzhou.accounts.actions import do_update_profile
from tongzhou.accounts.models import User
from tongzhou.chat.models import Message
from tongzhou.community import reminders
from tongzhou.community.milestones import do_announce, do_hide, due_reminders
from tongzhou.community.models import Milestone, MilestoneReaction, Reminder
from tongzhou.community.routines import reminder_dict
from tongzhou.groups.actions import do_apply, do_create_group, do_decide, do_remove_member
from tongzhou.groups.models import Membership

from .conftest import make_user

pytestmark = pytest.mark.django_db
UTC = dt.UTC


class People:
    def __init__(self) -> None:
        self.leader = self.person("lead", "老李", "Asia/Shanghai")
        self.group = do_create_group(self.leader, "鼻咽癌互助群")
        self.group.new_member_days = 0
        self.group.save(update_fields=["new_member_days"])
        self.chen = self.join("chen", "陈大哥", "America/New_York")
        self.mei = self.join("mei", "小美", "Asia/Shanghai")

    def person(self, username: str, name: str, zone: str) -> User:
        user = make_user(username, name)
        do_update_profile(user, {"timezone": zone})
        return User.objects.get(pk=user.pk)

    def join(self, username: str, name: str, zone: str) -> User:
        user = self.person(username, name, zone)
        do_decide(self.leader, do_apply(user, self.group, role="patient"), approve=True)
        return user

    def client(self, user: User) -> Client:
        c = Client()
        c.force_login(user)
        return c

    def url(self, tail: str = "") -> str:
        return f"/api/v1/groups/{self.group.pk}/milestones{tail}"


@pytest.fixture
def people() -> People:
    return People()


def post(c: Client, url: str, body: Any) -> Any:
    return c.post(url, body, content_type="application/json")


def test_good_news_is_a_card_the_group_reacts_to_and_a_chat_message_pointing_to_it(
    people: People,
) -> None:
    r = people.client(people.chen).post(
        f"/groups/{people.group.pk}/milestones/new/",
        {"kind": "graduation", "text": "33 次放疗做完了！", "post_to_chat": "yes"},
    )
    assert r.status_code == 302
    m = Milestone.objects.get(user=people.chen)
    assert r["Location"] == f"/groups/{people.group.pk}/milestones/{m.pk}/"
    told = Message.objects.get(group=people.group, sender=people.chen)
    assert told.client_id == f"milestone-{m.pk}"
    assert f"/groups/{people.group.pk}/milestones/{m.pk}/" in told.text
    assert "Finished treatment (毕业)" in told.text and "33 次放疗做完了" in told.text
    # Mei sees the card and claps; then changes her mind to flowers: one reaction each.
    mei = people.client(people.mei)
    page = mei.get(f"/groups/{people.group.pk}/milestones/").content.decode()
    assert "陈大哥" in page and "Finished treatment (毕业)" in page and "celebrate" in page
    card = f"/groups/{people.group.pk}/milestones/{m.pk}/"
    mei.post(card, {"action": "react", "emoji": "👏"})
    mei.post(card, {"action": "react", "emoji": "💐"})
    post(people.client(people.leader), people.url(f"/{m.pk}/reaction"), {"emoji": "💐"})
    got = people.client(people.chen).get(people.url(f"/{m.pk}")).json()
    assert got["reactions"] == {"💐": 2} and got["my_reaction"] is None
    assert list(
        MilestoneReaction.objects.filter(user=people.mei).values_list("emoji", flat=True)
    ) == ["💐"]
    # The same button again takes it back.
    mei.post(card, {"action": "react", "emoji": "💐"})
    assert not MilestoneReaction.objects.filter(user=people.mei).exists()


def test_sad_news_is_quiet_no_chat_message_no_celebration_no_tally(people: People) -> None:
    r = post(
        people.client(people.mei),
        people.url(),
        {"kind": "sad", "text": "张阿姨上周走了。"},
    )
    assert r.status_code == 201, r.json()
    sad = r.json()
    assert sad["reactions_allowed"] == ["🕯️", "🙏"]
    assert not Message.objects.filter(group=people.group).exists()  # not pushed to the chat
    chen = people.client(people.chen)
    r = post(chen, people.url(f"/{sad['id']}/reaction"), {"emoji": "🎉"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_reaction"
    post(chen, people.url(f"/{sad['id']}/reaction"), {"emoji": "🕯️"})
    post(people.client(people.leader), people.url(f"/{sad['id']}/reaction"), {"emoji": "🙏"})
    got = chen.get(people.url(f"/{sad['id']}")).json()
    assert got["reactions"] == {} and got["reacted"] == 2 and got["my_reaction"] == "🕯️"
    page = chen.get(f"/groups/{people.group.pk}/milestones/{sad['id']}/").content.decode()
    assert 'class="card milestone sad' in page
    assert "🎉" not in page.split('class="card milestone sad')[1].split("</article>")[0]
    assert "2 members are with you." in page
    assert 'class="react-n"' not in page
    # Unless the author asks, it is not in the chat; when asked, it is.
    asked = do_announce(people.mei, people.group.pk, kind="sad", text="", post_to_chat=True)
    assert Message.objects.get(client_id=f"milestone-{asked.pk}").text.startswith("🕯️ Sad news")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "party"}, "invalid_kind"),
        ({"kind": "years"}, "invalid_years"),
        ({"kind": "years", "years": 200}, "invalid_years"),
        ({"kind": "clear_scan", "day": "2999-01-01"}, "date_in_future"),
        ({"kind": "other", "text": "好" * 2001}, "text_too_long"),
    ],
)
def test_news_that_makes_no_sense_is_refused_with_a_reason(
    people: People, body: dict[str, Any], code: str
) -> None:
    r = post(people.client(people.chen), people.url(), body)
    assert r.status_code == 400 and r.json()["error"]["code"] == code
    assert not Milestone.objects.exists()


def test_years_since_diagnosis_reads_naturally(people: People) -> None:
    r = post(
        people.client(people.chen),
        people.url(),
        {"kind": "years", "years": 5, "post_to_chat": False},
    )
    assert r.json()["headline"] == "5 years since diagnosis"


def test_a_moderator_hides_a_card_from_the_group(people: People) -> None:
    m = do_announce(people.chen, people.group.pk, kind="other", text="卖保健品", post_to_chat=False)
    mei = people.client(people.mei)
    r = post(mei, people.url(f"/{m.pk}/hide"), {"on": True})
    assert r.status_code == 403
    r = people.client(people.leader).post(
        f"/groups/{people.group.pk}/milestones/{m.pk}/", {"action": "hide"}
    )
    assert r.status_code == 302
    from tongzhou.safety.models import AuditEntry

    logged = AuditEntry.objects.get(group=people.group, action="hide")
    assert (logged.actor_id, logged.member_id) == (people.leader.pk, people.chen.pk)
    assert mei.get(f"/groups/{people.group.pk}/milestones/{m.pk}/").status_code == 404
    assert mei.get(people.url()).json()["milestones"] == []
    # The author and the moderators still see it, marked.
    page = people.client(people.chen).get(f"/groups/{people.group.pk}/milestones/").content.decode()
    assert "hidden from the group" in page
    do_hide(people.leader, people.group.pk, m.pk, False)
    assert len(mei.get(people.url()).json()["milestones"]) == 1


def test_only_the_author_deletes_their_news(people: People) -> None:
    m = do_announce(people.chen, people.group.pk, kind="clear_scan", post_to_chat=False)
    assert people.client(people.leader).delete(people.url(f"/{m.pk}")).status_code == 403
    assert people.client(people.chen).delete(people.url(f"/{m.pk}")).status_code == 204
    assert not Milestone.objects.exists()


# --- the yearly reminder -------------------------------------------------------------------


def test_the_anniversary_reminder_comes_once_a_year_at_nine_where_the_author_lives(
    people: People,
) -> None:
    with time_machine.travel(dt.datetime(2025, 6, 1, 15, tzinfo=UTC), tick=False):
        m = do_announce(
            people.chen,  # in New York
            people.group.pk,
            kind="graduation",
            day="2025-06-01",
            remind_yearly=True,
            post_to_chat=False,
        )
        do_announce(people.mei, people.group.pk, kind="graduation", post_to_chat=False)
    nine_ny = dt.datetime(2026, 6, 1, 13, tzinfo=UTC)  # 09:00 EDT
    assert due_reminders(nine_ny - dt.timedelta(minutes=1)) == []
    made = due_reminders(nine_ny)
    assert [(r.user_id, r.key, r.due_at) for r in made] == [
        (people.chen.pk, f"anniversary:{m.pk}:2026", nine_ny)
    ]
    assert reminder_dict(made[0])["title"] == "🎉 1 year ago today: Finished treatment (毕业)"
    assert made[0].url == f"/groups/{people.group.pk}/milestones/{m.pk}/"
    # The worker's later rounds the same day, and the whole clock, make no second one.
    assert due_reminders(nine_ny + dt.timedelta(minutes=1)) == []
    assert reminders.fire_due(nine_ny + dt.timedelta(hours=1)) == []
    assert Reminder.objects.filter(key__startswith="anniversary:").count() == 1
    # Next year again, once.
    made = reminders.fire_due(dt.datetime(2027, 6, 1, 13, 5, tzinfo=UTC))
    assert [r.key for r in made] == [f"anniversary:{m.pk}:2027"]
    assert reminder_dict(made[0])["title"].startswith("🎉 2 years ago today")


def test_no_anniversary_when_hidden_or_the_author_left_and_leap_days_fall_on_the_28th(
    people: People,
) -> None:
    with time_machine.travel(dt.datetime(2024, 3, 1, 12, tzinfo=UTC), tick=False):
        leap = do_announce(
            people.mei,  # in Shanghai
            people.group.pk,
            kind="clear_scan",
            day="2024-02-29",
            remind_yearly=True,
            post_to_chat=False,
        )
        hidden = do_announce(
            people.mei, people.group.pk, kind="other", day="2024-02-28", remind_yearly=True
        )
        do_hide(people.leader, people.group.pk, hidden.pk)
        gone = do_announce(
            people.chen, people.group.pk, kind="graduation", day="2024-02-28", remind_yearly=True
        )
    do_remove_member(
        Membership.objects.get(group=people.group, user=people.leader),
        Membership.objects.get(group=people.group, user=people.chen),
    )
    nine_shanghai = dt.datetime(2025, 2, 28, 1, tzinfo=UTC)
    made = due_reminders(nine_shanghai)
    assert [r.key for r in made] == [f"anniversary:{leap.pk}:2025"]
    assert not Reminder.objects.filter(key__in=[f"anniversary:{gone.pk}:2025"]).exists()
    # In a leap year, on the day itself.
    made = due_reminders(dt.datetime(2028, 2, 29, 1, tzinfo=UTC))
    assert [r.key for r in made] == [f"anniversary:{leap.pk}:2028"]


def test_the_author_switches_the_yearly_reminder(people: People) -> None:
    m = do_announce(people.chen, people.group.pk, kind="clear_scan", post_to_chat=False)
    page = people.client(people.chen).get(f"/groups/{people.group.pk}/milestones/{m.pk}/")
    assert "Remind me each year" in page.content.decode()
    assert (
        "Remind me each year"
        not in people.client(people.mei)
        .get(f"/groups/{people.group.pk}/milestones/{m.pk}/")
        .content.decode()
    )
    r = post(people.client(people.mei), people.url(f"/{m.pk}/yearly"), {"on": True})
    assert r.status_code == 403
    r = post(people.client(people.chen), people.url(f"/{m.pk}/yearly"), {"on": True})
    assert r.status_code == 200 and r.json()["remind_yearly"] is True
