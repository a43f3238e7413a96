"""The leaders' dashboard: figures computed from a group built through real actions on
chosen days (hand-counted below), imported history counted only when asked, and a page only
the leader and moderators see, which shows counts and never a person."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tongzhou.accounts.models import User
from tongzhou.chat import actions as chat_actions
from tongzhou.groups import actions as group_actions
from tongzhou.imports import actions as import_actions
from tongzhou.imports.models import ImportJob
from tongzhou.insight import charts
from tongzhou.insight.dashboard import as_json, compute

from .conftest import World, build_world, make_user

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 1, 5, 10, 0, tzinfo=ZONE)  # a Monday
NOW = START + dt.timedelta(days=40, hours=2)  # Saturday 14 February, noon

# A small WhatsApp export (as in test_imports.py): 王 芳 asks, 李姐 answers two minutes later.
WA = """12/03/2023, 09:01 - Messages and calls are end-to-end encrypted. No one outside of this chat can read them.
12/03/2023, 09:02 - 王 芳 joined using this group's invite link
12/03/2023, 09:05 - 王 芳: 请问放疗后口干怎么办？有什么好办法吗
12/03/2023, 09:07 - 李姐: 多喝水，用漱口水，我放疗后口干了半年，慢慢会好的
12/03/2023, 09:08 - 老张: 可以试试含片，医生开的那种，挺有用的
12/03/2023, 09:09 - 王 芳: 谢谢
13/03/2023, 10:00 - 李姐: <Media omitted>
13/03/2023, 10:01 - 老张: 今天复查结果出来了
"""
IMPORTED_NAMES = ["小王", "李姐", "老张", "王 芳"]


def day(n: int, hour: int, minute: int = 0) -> dt.datetime:
    return (START + dt.timedelta(days=n)).replace(hour=hour, minute=minute)


@pytest.fixture
def world(db: Any) -> World:
    """The usual world, built on Monday 5 January 2026: leader, member, moderator and a
    removed member all joined that day."""
    with time_machine.travel(START, tick=False):
        return build_world()


@dataclass
class Scene:
    world: World
    newbie: User
    quiet: User
    sent: int = 0

    def user(self, role: str) -> User:
        u = self.world.users[role]
        assert u is not None
        return u

    def say(
        self,
        who: User,
        when: dt.datetime,
        text: str,
        kind: str = "text",
        reply_to: int | None = None,
    ) -> int:
        self.sent += 1
        with time_machine.travel(when, tick=False):
            data, created = chat_actions.do_send_message(
                who,
                self.world.group.pk,
                client_id=f"c{self.sent}",
                text=text,
                kind=kind,
                reply_to=reply_to,
            )
        assert created and data["status"] == "visible", data
        return int(data["id"])


def join(world: World, username: str, display_name: str, when: dt.datetime) -> User:
    with time_machine.travel(when, tick=False):
        user = make_user(username, display_name)
        app = group_actions.do_apply(user, world.group, role="patient")
        group_actions.do_decide(world.users["leader"], app, approve=True)  # type: ignore[arg-type]
    return user


@pytest.fixture
def scene(world: World) -> Scene:
    """Six weeks of a small group (times in Shanghai):

    day 0  (Mon 5 Jan)   member asks Q1 11:00; leader answers 11:30; member thanks 12:00
    day 1  (Tue 6 Jan)   moderator asks Q2 09:00; nobody answers
    day 7  (Mon 12 Jan)  newbie and quiet join 10:00; newbie asks Q3 11:00; quiet says hello
                         11:10; leader answers Q3 13:00
    day 10 (Thu 15 Jan)  member asks Q4 10:00; newbie answers it 11:00 (three days after
                         their own first question: a taker became a sharer)
    day 35 (Mon 9 Feb)   member writes again; day 36 (Tue 10 Feb) the leader too
    now    (Sat 14 Feb, noon)
    """
    s = Scene(
        world,
        newbie=join(world, "newbie", "Zhao Xiaoyun", day(7, 10)),
        quiet=join(world, "quiet", "Qian Shuiqing", day(7, 10)),
    )
    member, leader, moderator = s.user("member"), s.user("leader"), s.user("moderator")
    q1 = s.say(member, day(0, 11), "请问放疗后口干怎么办？", kind="question")
    s.say(leader, day(0, 11, 30), "多喝水，用漱口水", reply_to=q1)
    s.say(member, day(0, 12), "谢谢大家")
    s.say(moderator, day(1, 9), "有人知道复查前要空腹吗？", kind="question")
    q3 = s.say(s.newbie, day(7, 11), "化疗期间可以吃海鲜吗？", kind="question")
    s.say(s.quiet, day(7, 11, 10), "大家好，我是新来的")
    s.say(leader, day(7, 13), "少吃一点没关系，要煮熟", reply_to=q3)
    q4 = s.say(member, day(10, 10), "放疗后多久能上班？", kind="question")
    s.say(s.newbie, day(10, 11), "我是休息了两个月才回去上班的", reply_to=q4)
    s.say(member, day(35, 10), "复查结果都正常，开心")
    s.say(leader, day(36, 10), "太好了，继续保持")
    return s


def import_history(world: World) -> None:
    leader = world.users["leader"]
    assert leader is not None
    with time_machine.travel(NOW, tick=False):
        job = import_actions.do_upload(
            leader, world.group.pk, "WhatsApp Chat.txt", WA.encode(), zone="Asia/Shanghai"
        )
        import_actions.read_job(job)
        import_actions.do_start_import(leader, world.group.pk, job.pk, {"王 芳": "小王"})
        job.refresh_from_db()
        import_actions.import_now(job)
        job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.result["added"] == 6, job.result


def nonzero(series: Any) -> dict[dt.date, int]:
    return {p.start: p.value for p in series if p.value}


D = dt.date


# --- the figures --------------------------------------------------------------------------


def test_ninety_days_of_a_live_group(scene: Scene) -> None:
    data = compute(scene.world.group.pk, days=90, now=NOW, tz=ZONE)
    assert data.period.first_day == D(2025, 11, 17) and data.period.last_day == D(2026, 2, 14)
    assert not data.history and not data.history_available

    # Messages, by the day (90 days is short enough).
    assert data.message_unit == "day" and len(data.message_series) == 90
    assert nonzero(data.message_series) == {
        D(2026, 1, 5): 3,
        D(2026, 1, 6): 1,
        D(2026, 1, 12): 3,
        D(2026, 1, 15): 2,
        D(2026, 2, 9): 1,
        D(2026, 2, 10): 1,
    }
    assert data.messages == 11 and data.per_day == pytest.approx(11 / 90)

    # Different people writing, and memberships starting, by the week (Mondays).
    assert data.people_unit == "week" and data.active_series[0].start == D(2025, 11, 17)
    assert nonzero(data.active_series) == {D(2026, 1, 5): 3, D(2026, 1, 12): 4, D(2026, 2, 9): 2}
    assert data.active == 5  # leader, member, moderator, newbie, quiet
    # The leader, member, moderator and the member removed later; then newbie and quiet.
    assert nonzero(data.new_series) == {D(2026, 1, 5): 4, D(2026, 1, 12): 2}
    assert data.new_members == 6

    # Questions: Q1 answered in 30 min, Q2 never, Q3 in 120, Q4 in 60.
    a = data.answers
    assert (a.questions, a.answered, a.within_day) == (4, 3, 3)
    assert a.median_minutes == 60 and a.p90_minutes == 120
    assert a.unanswered_share == 0.25 and a.within_day_share == 0.75
    weeks = {p.start: p for p in data.answer_series if p.questions}
    assert set(weeks) == {D(2026, 1, 5), D(2026, 1, 12)}
    assert (weeks[D(2026, 1, 5)].unanswered, weeks[D(2026, 1, 5)].median_minutes) == (1, 30)
    assert weeks[D(2026, 1, 12)].median_minutes == 90 and weeks[D(2026, 1, 12)].p90_minutes == 120

    # Member, moderator and newbie asked their first question; only newbie later answered
    # someone else, three days after asking.
    s = data.sharers
    assert (s.newcomers, s.became, s.median_days) == (3, 1, 3.0) and not s.enough

    # Joined by day 10 (six people): the leader (day 36) and the member (day 35) wrote on
    # day 30 or later; the moderator, the removed member, newbie and quiet did not.
    r30, r90 = data.retention
    assert (r30.days, r30.people, r30.stayed, r30.enough) == (30, 6, 2, True)
    assert r30.share == pytest.approx(1 / 3)
    assert (r90.days, r90.people) == (90, 0) and not r90.enough


def test_thirty_days_see_only_the_last_month(scene: Scene) -> None:
    data = compute(scene.world.group.pk, days=30, now=NOW, tz=ZONE)
    assert data.period.first_day == D(2026, 1, 16)
    assert data.messages == 2 and data.active == 2 and data.new_members == 0
    assert data.answers.questions == 0 and data.answers.unanswered_share is None
    assert data.sharers.newcomers == 0
    assert [c.people for c in data.retention] == [0, 0]  # nobody joined in the last 30 days


def test_a_year_counts_messages_by_the_week(scene: Scene) -> None:
    data = compute(scene.world.group.pk, days=365, now=NOW, tz=ZONE)
    assert data.message_unit == "week"
    assert nonzero(data.message_series) == {D(2026, 1, 5): 4, D(2026, 1, 12): 5, D(2026, 2, 9): 2}


def test_days_follow_the_viewers_time_zone(scene: Scene) -> None:
    """Q1's morning in Shanghai (Monday 5 January) is Sunday evening in Los Angeles, and Q2,
    asked on Tuesday at 09:00 in Shanghai, was asked on Monday at 17:00 there."""
    data = compute(scene.world.group.pk, days=90, now=NOW, tz=ZoneInfo("America/Los_Angeles"))
    counts = nonzero(data.message_series)
    assert counts[D(2026, 1, 4)] == 3 and counts[D(2026, 1, 5)] == 1


def test_imported_history_is_counted_only_when_asked(scene: Scene) -> None:
    import_history(scene.world)
    gid = scene.world.group.pk
    live = compute(gid, days=None, history=False, now=NOW, tz=ZONE)
    assert not live.history and live.history_available == 6
    assert (live.messages, live.active, live.new_members, live.answers.questions) == (11, 5, 6, 4)
    assert live.period.first_day == D(2026, 1, 5)

    both = compute(gid, days=None, history=True, now=NOW, tz=ZONE)
    assert both.history and both.period.first_day == D(2023, 3, 12)
    # Three years: by the month.
    assert both.message_unit == "month" and both.people_unit == "month"
    assert nonzero(both.message_series)[D(2023, 3, 1)] == 6
    assert both.messages == 17 and both.active == 8
    assert nonzero(both.new_series) == {D(2023, 3, 1): 3, D(2026, 1, 1): 6}
    # 王 芳's question, answered by 李姐 two minutes later (recognised by the import: WhatsApp
    # has no replies): answers in 2, 30, 60 and 120 minutes, one question never answered.
    a = both.answers
    assert (a.questions, a.answered) == (5, 4) and a.unanswered_share == 0.2
    assert a.median_minutes == 45 and a.p90_minutes == 120
    assert (both.sharers.newcomers, both.sharers.became) == (4, 1)
    # The export ends the day after the imported people's first messages: too soon to say
    # whether they stayed, so they are in no cohort.
    assert [(c.people, c.stayed) for c in both.retention] == [(6, 2), (0, 0)]

    assert compute(gid, days=None, now=NOW, tz=ZONE).messages == 17  # counted by default
    # Ninety days reach back to November 2025: nothing imported falls in them.
    assert compute(gid, days=90, history=True, now=NOW, tz=ZONE).messages == 11


def test_deleted_and_held_messages_are_not_counted(scene: Scene) -> None:
    from tongzhou.chat.models import Message

    Message.objects.filter(group=scene.world.group, text="谢谢大家").update(deleted_at=NOW)
    Message.objects.filter(group=scene.world.group, text="太好了，继续保持").update(
        status=Message.Status.HELD
    )
    data = compute(scene.world.group.pk, days=90, now=NOW, tz=ZONE)
    assert data.messages == 9
    assert data.retention[0].stayed == 1  # the leader's only late message is held


# --- the page -----------------------------------------------------------------------------


def page(world: World, role: str, query: str = "") -> Any:
    with time_machine.travel(NOW, tick=False):
        return world.client(role).get(f"/groups/{world.group.pk}/insight/{query}")


def card(html: str, key: str) -> str:
    found = re.search(rf'data-testid="card-{key}">(.*?)</div>', html, re.S)
    assert found, key
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


@pytest.mark.parametrize("role", ["leader", "moderator"])
def test_the_leader_and_moderators_see_the_figures(scene: Scene, role: str) -> None:
    r = page(scene.world, role)
    assert r.status_code == 200
    html = r.content.decode()
    assert card(html, "messages").startswith("Messages per day 0.12 11 messages")
    assert card(html, "active").startswith("People who wrote 5")
    assert card(html, "new").startswith("New members 6")
    assert card(html, "answer-time").startswith("Median time to first answer 60 min 4 questions")
    assert card(html, "unanswered") == (
        "Questions without an answer 25% Answered within 24 hours: 75%."
    )
    assert card(html, "retention-30").startswith("Still writing after 30 days 33% 2 of 6 people")
    # Three newcomers, one of whom became a helper: too few to show a share.
    assert card(html, "sharers") == (
        "Askers who became helpers Too few people to say "
        "3 people asked their first question in this period."
    )
    assert card(html, "retention-90") == (
        "Still writing after 90 days Too few people to say 0 people started early enough to tell."
    )
    # Charts: an accessible image each, the numbers in a table under it.
    assert html.count('role="img"') == 5 and html.count('<details class="ins-numbers"') == 5
    assert 'aria-current="page">90 days<' in html
    for name in ["Zhao Xiaoyun", "Qian Shuiqing", "newbie", "quiet", "Leader1", "member1"]:
        assert name not in html


def test_history_is_said_to_be_counted_and_can_be_left_out(scene: Scene) -> None:
    import_history(scene.world)
    html = page(scene.world, "leader", "?days=all").content.decode()
    assert "Imported history is counted: 6 messages" in html
    assert card(html, "messages").startswith("Messages per day")
    assert "17 messages in this period" in card(html, "messages")
    off = page(scene.world, "leader", "?days=all&history=0").content.decode()
    assert "Imported history (6 messages) is not counted." in off
    assert "11 messages in this period" in card(off, "messages")
    for name in IMPORTED_NAMES:
        assert name not in html and name not in off


@pytest.mark.parametrize(
    "role,status", [("member", 403), ("removed", 404), ("applicant", 404), ("outsider", 404)]
)
def test_others_are_refused(world: World, role: str, status: int) -> None:
    r = page(world, role)
    assert r.status_code == status
    assert "Messages per day" not in r.content.decode()


def test_a_visitor_is_sent_to_sign_in(world: World) -> None:
    r = page(world, "anonymous")
    assert r.status_code == 302 and "/login" in r["Location"]


def test_the_page_only_reads(world: World) -> None:
    with time_machine.travel(NOW, tick=False):
        r = world.client("leader").post(f"/groups/{world.group.pk}/insight/")
    assert r.status_code == 405


def test_a_new_group_says_not_enough_yet(world: World) -> None:
    r = page(world, "leader", "?days=30")
    assert r.status_code == 200
    html = r.content.decode()
    assert "Not enough yet" in html and 'role="img"' not in html
    assert card(html, "answer-time").startswith("Median time to first answer –")
    assert page(world, "leader", "?days=all").status_code == 200
    assert page(world, "leader", "?days=7&history=x").status_code == 200  # falls back to 90


def test_chart_text_is_escaped() -> None:
    svg = str(charts.bar_chart([1, None, 3], ["<b>a</b>", "b", 'c"'], "<script>x</script>"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "<b>" not in svg
    assert svg.count("<rect") == 2 and 'role="img"' in svg
    line = str(charts.line_chart([[1.0, None, 2.0], [2.0, 3.0, None]], ["a", "b", "c"], "t"))
    assert line.count('class="s0"') == 1 and line.count('class="s1"') == 1


def test_the_figures_as_json_keep_small_shares_back(scene: Scene) -> None:
    with time_machine.travel(NOW, tick=False):
        data = as_json(scene.world.group, days="90", history="")
    assert data["messages"]["total"] == 11 and data["answers"]["median_minutes"] == 60
    assert data["retention"][0] == {
        "days": 30,
        "people": 6,
        "enough": True,
        "stayed": 2,
        "share": pytest.approx(1 / 3),
    }
    assert data["taker_to_sharer"] == {
        "newcomers": 3,
        "enough": False,
        "became": None,
        "share": None,
        "median_days": None,
    }
