"""Questions from asked to answered to resolved; routing to helpers under a controlled clock
(no sleeping); "asked before"; time-to-answer figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tongzhou.accounts.models import Phase, Profile, UserSession, Visibility
from tongzhou.groups import actions as group_actions
from tongzhou.notify.models import EmailSettings, Notification
from tongzhou.questions import search
from tongzhou.questions.models import HelperSettings, Question
from tongzhou.questions.queries import answer_metrics
from tongzhou.questions.routing import route_due_questions

from .conftest import World, make_user


@pytest.fixture(autouse=True)
def fresh_indexes() -> Any:
    search.forget()
    yield
    search.forget()


def api(world: World, role: str) -> Any:
    return world.client(role)


def say(
    world: World, role: str, text: str, *, cid: str, kind: str = "text", reply_to: int | None = None
) -> dict[str, Any]:
    r = api(world, role).post(
        f"/api/v1/groups/{world.group.pk}/messages",
        {"client_id": cid, "text": text, "kind": kind, "reply_to": reply_to},
        content_type="application/json",
    )
    assert r.status_code == 201, r.json()
    return dict(r.json())


def join(world: World, name: str, **profile: Any) -> Any:
    """A new member of the group, with the given health profile (visible to members)."""
    user = make_user(name)
    app = group_actions.do_apply(user, world.group, role="patient")
    group_actions.do_decide(world.users["leader"], app, approve=True)  # type: ignore[arg-type]
    p, _ = Profile.objects.get_or_create(user=user)
    for field, value in profile.items():
        setattr(p, field, value)
        if hasattr(p, f"{field}_visibility"):
            setattr(p, f"{field}_visibility", Visibility.MEMBERS)
    p.save()
    world.users[name] = user
    return user


DAY = timezone.make_aware(dt.datetime(2026, 11, 20, 12, 0))  # noon: outside quiet hours


def asked_at(mid: int) -> dt.datetime:
    """The routing clock of these tests: the question was asked at noon on DAY."""
    Question.objects.filter(pk=mid).update(asked_at=DAY)
    return DAY


def helped(user: Any, mid: int) -> Notification | None:
    return Notification.objects.filter(user=user, message_id=mid, kind="help").first()


# --- detection and tracking -----------------------------------------------------------------


def test_the_server_marks_a_detected_question_and_tells_the_sender(world: World) -> None:
    sent = say(world, "member", "请问放疗后多久可以吃辣", cid="q1")
    assert sent["kind"] == "question"
    assert sent["question"] == {
        "state": "open",
        "detected": True,
        "helpful": None,
        "first_answer": None,
    }
    plain = say(world, "member", "谢谢大家！", cid="t1")
    assert plain["kind"] == "text" and plain["question"] is None


def test_a_reply_that_asks_back_is_not_tracked_unless_marked(world: World) -> None:
    q = say(world, "member", "放疗后口干怎么办？", cid="q1")
    back = say(world, "leader", "你是哪个医院的？", cid="a1", reply_to=q["id"])
    assert back["kind"] == "text"
    marked = say(world, "leader", "那放疗多少次？", cid="a2", reply_to=q["id"], kind="question")
    assert marked["question"]["detected"] is False


def test_the_sender_can_say_it_is_not_a_question_and_mark_it_again(world: World) -> None:
    q = say(world, "member", "Is it normal to feel this tired after chemo", cid="q1")
    url = f"/api/v1/groups/{world.group.pk}/messages/{q['id']}/question"
    r = api(world, "member").post(url, {"on": False}, content_type="application/json")
    assert r.json()["kind"] == "text" and not Question.objects.filter(pk=q["id"]).exists()
    r = api(world, "member").post(url, {"on": True}, content_type="application/json")
    assert r.json()["question"]["state"] == "open"
    other = api(world, "moderator").post(url, {"on": False}, content_type="application/json")
    assert other.status_code == 200  # moderators may too
    leader_msg = say(world, "leader", "今天天气不错", cid="t1")
    refused = api(world, "member").post(
        f"/api/v1/groups/{world.group.pk}/messages/{leader_msg['id']}/question",
        {"on": True},
        content_type="application/json",
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_allowed"


def test_a_reply_from_someone_else_answers_and_the_asker_resolves(world: World) -> None:
    q = say(world, "member", "复查要空腹吗？", cid="q1")
    own = say(world, "member", "补充：是做增强CT", cid="m2", reply_to=q["id"])
    assert Question.objects.get(pk=q["id"]).first_answer_id is None  # the asker's own words
    answer = say(world, "leader", "增强CT要空腹4小时", cid="a1", reply_to=q["id"])
    question = Question.objects.get(pk=q["id"])
    assert question.first_answer_id == answer["id"] and question.state == "answered"

    url = f"/api/v1/groups/{world.group.pk}/questions/{q['id']}/helpful"
    bad = api(world, "member").post(url, {"answer": own["id"]}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "not_an_answer"
    stranger = api(world, "moderator").post(
        url, {"answer": answer["id"]}, content_type="application/json"
    )
    assert stranger.status_code == 200  # a moderator may mark it for the asker
    r = api(world, "member").post(url, {"answer": answer["id"]}, content_type="application/json")
    assert (
        r.json()["question"]["state"] == "resolved"
        and r.json()["question"]["helpful"] == answer["id"]
    )
    page = api(world, "member").get(f"/api/v1/groups/{world.group.pk}/messages").json()
    shown = {m["id"]: m for m in page["messages"]}
    assert shown[answer["id"]]["helped"] is True
    assert shown[answer["id"]]["reply_preview"]["question_state"] == "resolved"
    open_list = api(world, "member").get(f"/api/v1/groups/{world.group.pk}/questions").json()
    assert q["id"] not in [x["id"] for x in open_list["questions"]]


def test_another_member_cannot_mark_the_helpful_answer(world: World) -> None:
    helper = join(world, "helper")
    q = say(world, "member", "PICC多久维护一次？", cid="q1")
    answer = say(world, "leader", "一周一次", cid="a1", reply_to=q["id"])
    c = world.client("member")
    c.force_login(helper)
    r = c.post(
        f"/api/v1/groups/{world.group.pk}/questions/{q['id']}/helpful",
        {"answer": answer["id"]},
        content_type="application/json",
    )
    assert r.status_code == 403
    assert Question.objects.get(pk=q["id"]).resolved_at is None


def test_deleting_the_only_answer_makes_the_question_unanswered_again(world: World) -> None:
    q = say(world, "member", "放疗期间能洗头吗？", cid="q1")
    answer = say(world, "leader", "可以，轻一点", cid="a1", reply_to=q["id"])
    api(world, "member").post(
        f"/api/v1/groups/{world.group.pk}/questions/{q['id']}/helpful",
        {"answer": answer["id"]},
        content_type="application/json",
    )
    api(world, "leader").delete(f"/api/v1/groups/{world.group.pk}/messages/{answer['id']}")
    question = Question.objects.get(pk=q["id"])
    assert (question.first_answer_id, question.helpful_id, question.resolved_at) == (
        None,
        None,
        None,
    )


def test_the_open_list_puts_unanswered_first_newest_first_with_ages(world: World) -> None:
    old = say(world, "member", "鼻咽冲洗要洗多久？", cid="q1")
    answered = say(world, "member", "升白针打完骨头疼正常吗？", cid="q2")
    say(world, "leader", "正常，过两天就好", cid="a2", reply_to=answered["id"])
    new = say(world, "moderator", "广州哪里住得便宜？", cid="q3")
    Question.objects.filter(pk=old["id"]).update(asked_at=timezone.now() - dt.timedelta(hours=2))
    rows = (
        api(world, "member").get(f"/api/v1/groups/{world.group.pk}/questions").json()["questions"]
    )
    assert [r["id"] for r in rows] == [new["id"], old["id"], answered["id"]]
    assert rows[1]["age_seconds"] >= 7200 and rows[2]["answers"] == 1
    page = api(world, "member").get(f"/groups/{world.group.pk}/questions/")
    assert "鼻咽冲洗要洗多久" in page.content.decode()


# --- routing ------------------------------------------------------------------------------


def test_after_t1_the_likeliest_helpers_are_asked_with_reasons(world: World) -> None:
    join(world, "newbie", cancer_type="鼻咽癌", phase=Phase.NEW)
    veteran = join(world, "veteran", cancer_type="鼻咽癌", phase=Phase.SURVIVOR)
    same = join(world, "same", cancer_type="鼻咽癌", phase=Phase.TREATMENT)
    other = join(world, "other", cancer_type="肺癌", phase=Phase.TREATMENT)
    UserSession.objects.create(
        session_key="s" * 40,
        session_data="",
        expire_date=timezone.now() + dt.timedelta(days=1),
        user=other,
        seen_at=timezone.now(),
    )
    world.group.question_helpers = 2
    world.group.save()
    q = say(world, "newbie", "放疗后口干怎么缓解？", cid="q1")
    at = asked_at(q["id"])

    assert route_due_questions(at + dt.timedelta(minutes=2)) == 0  # before T1: nobody
    asked = route_due_questions(at + dt.timedelta(minutes=3))

    assert asked == 2
    first = helped(veteran, q["id"])
    assert first is not None and first.reasons == ["cancer_type", "further_along"]
    assert helped(same, q["id"]) is not None
    assert helped(other, q["id"]) is None  # online, but the others share more
    assert route_due_questions(at + dt.timedelta(minutes=4)) == 0  # never twice
    listed = world.client("member")
    listed.force_login(veteran)
    n = listed.get("/api/v1/notifications").json()["notifications"][0]
    assert n["kind"] == "help"
    assert "You have the same cancer type as the person asking." in n["reasons"]


def test_members_who_answered_a_similar_question_are_asked_first(world: World) -> None:
    expert = join(world, "expert")
    join(world, "bystander")
    earlier = say(world, "member", "放疗后口干怎么缓解？", cid="q0")
    c = world.client("member")
    c.force_login(expert)
    r = c.post(
        f"/api/v1/groups/{world.group.pk}/messages",
        {"client_id": "a0", "text": "多含冰块，用医院开的漱口水", "reply_to": earlier["id"]},
        content_type="application/json",
    )
    assert r.status_code == 201
    api(world, "member").post(
        f"/api/v1/groups/{world.group.pk}/questions/{earlier['id']}/helpful",
        {"answer": r.json()["id"]},
        content_type="application/json",
    )
    world.group.question_helpers = 1
    world.group.save()
    q = say(world, "moderator", "放疗以后口干有什么办法缓解吗", cid="q1")
    route_due_questions(asked_at(q["id"]) + dt.timedelta(minutes=3))
    n = helped(expert, q["id"])
    assert n is not None and n.reasons[0] == "similar_helpful"
    assert Notification.objects.filter(message_id=q["id"], kind="help").count() == 1


def test_quiet_hours_opt_outs_and_hourly_caps_are_respected(world: World) -> None:
    join(world, "asker", cancer_type="鼻咽癌")
    sleeper = join(world, "sleeper", cancer_type="鼻咽癌")
    out = join(world, "out", cancer_type="鼻咽癌")
    busy = join(world, "busy", cancer_type="鼻咽癌")
    awake = join(world, "awake", cancer_type="鼻咽癌")
    EmailSettings.objects.create(user=sleeper, quiet_start=dt.time(22), quiet_end=dt.time(8))
    for u in (out, busy, awake):
        EmailSettings.objects.create(user=u, quiet_start=None, quiet_end=None)
    HelperSettings.objects.create(user=out, accepts=False)
    HelperSettings.objects.create(user=busy, max_per_hour=1)
    world.group.question_helpers = 5
    world.group.save()
    night = timezone.make_aware(dt.datetime(2026, 11, 20, 23, 0))

    def ask(cid: str, when: dt.datetime) -> int:
        q = say(world, "asker", f"放疗第{cid}周嘴巴烂了怎么办？", cid=cid)
        Question.objects.filter(pk=q["id"]).update(asked_at=when)
        return int(q["id"])

    first = ask("1", night - dt.timedelta(minutes=3))
    route_due_questions(night)
    told = set(
        Notification.objects.filter(message_id=first, kind="help").values_list(
            "user__username", flat=True
        )
    )
    assert told == {"busy", "awake"}  # not the sleeper (quiet hours), not the one opted out
    second = ask("2", night + dt.timedelta(minutes=7))
    route_due_questions(night + dt.timedelta(minutes=10))
    told = set(
        Notification.objects.filter(message_id=second, kind="help").values_list(
            "user__username", flat=True
        )
    )
    assert told == {"awake"}  # busy allows one request an hour
    morning = night + dt.timedelta(hours=10)
    third = ask("3", morning - dt.timedelta(minutes=3))
    route_due_questions(morning)
    told = set(
        Notification.objects.filter(message_id=third, kind="help").values_list(
            "user__username", flat=True
        )
    )
    assert {"sleeper", "busy", "awake"} <= told and "out" not in told


def test_after_t2_moderators_and_verified_professionals_are_asked(world: World) -> None:
    doctor = join(world, "doctor")
    Profile.objects.filter(user=doctor).update(role="professional")
    r = world.client("leader").post(
        f"/api/v1/groups/{world.group.pk}/members/{doctor.pk}/verified",
        {"on": True},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["verified_professional"] is True
    refused = world.client("leader").post(
        f"/api/v1/groups/{world.group.pk}/members/{world.users['member'].pk}/verified",  # type: ignore[union-attr]
        {"on": True},
        content_type="application/json",
    )
    assert refused.json()["error"]["code"] == "not_a_professional"
    for u in (world.users["leader"], world.users["moderator"], doctor):
        EmailSettings.objects.create(user=u, quiet_start=None, quiet_end=None)
    world.group.question_helpers = 0
    world.group.save()
    q = say(world, "member", "化疗后白细胞低可以出门吗？", cid="q1")
    at = asked_at(q["id"])
    route_due_questions(at + dt.timedelta(minutes=3))
    assert not Notification.objects.filter(message_id=q["id"], kind="help").exists()
    route_due_questions(at + dt.timedelta(minutes=29))
    assert not Notification.objects.filter(message_id=q["id"], kind="help").exists()
    route_due_questions(at + dt.timedelta(minutes=30))
    reasons = {
        n.user.username: n.reasons
        for n in Notification.objects.filter(message_id=q["id"], kind="help")
    }
    assert reasons == {
        "leader1": ["moderator"],
        "moderator1": ["moderator"],
        "doctor": ["professional"],
    }


def test_an_answered_question_is_not_routed(world: World) -> None:
    join(world, "veteran", cancer_type="鼻咽癌", phase=Phase.SURVIVOR)
    q = say(world, "member", "放疗能喝酒吗？", cid="q1")
    say(world, "leader", "不能", cid="a1", reply_to=q["id"])
    assert route_due_questions(asked_at(q["id"]) + dt.timedelta(minutes=40)) == 0


def test_the_asker_s_private_health_details_are_not_used(world: World) -> None:
    asker = join(world, "asker", cancer_type="鼻咽癌", phase=Phase.NEW)
    Profile.objects.filter(user=asker).update(
        cancer_type_visibility=Visibility.LEADERS, phase_visibility=Visibility.NOBODY
    )
    twin = join(world, "twin", cancer_type="鼻咽癌")
    elder = join(world, "elder", phase=Phase.SURVIVOR)
    for u in (twin, elder):
        EmailSettings.objects.create(user=u, quiet_start=None, quiet_end=None)
    c = world.client("member")
    c.force_login(asker)
    r = c.post(
        f"/api/v1/groups/{world.group.pk}/messages",
        {"client_id": "q1", "text": "放疗后耳朵闷怎么办？"},
        content_type="application/json",
    )
    route_due_questions(asked_at(r.json()["id"]) + dt.timedelta(minutes=3))
    assert helped(twin, r.json()["id"]) is None  # that they share it would tell the twin
    assert helped(elder, r.json()["id"]) is None  # "further along" would tell the phase


def test_routing_settings_are_checked(world: World) -> None:
    url = f"/api/v1/groups/{world.group.pk}"
    ok = world.client("leader").patch(
        url,
        {"question_t1_minutes": 5, "question_t2_minutes": 60, "question_helpers": 4},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["question_routing"] == {
        "t1_minutes": 5,
        "t2_minutes": 60,
        "helpers": 4,
    }
    bad = world.client("leader").patch(
        url, {"question_t2_minutes": 5}, content_type="application/json"
    )
    assert bad.json()["error"]["code"] == "invalid_routing"
    worse = world.client("leader").patch(
        url, {"question_helpers": 50}, content_type="application/json"
    )
    assert worse.json()["error"]["code"] == "invalid_number"
    me = world.client("member")
    assert (
        me.patch(
            "/api/v1/me/helper-settings", {"max_per_hour": 7}, content_type="application/json"
        ).json()["error"]["code"]
        == "invalid_max_per_hour"
    )
    assert me.patch(
        "/api/v1/me/helper-settings", {"accepts": False}, content_type="application/json"
    ).json() == {"accepts": False, "max_per_hour": 3}


# --- asked before -------------------------------------------------------------------------


def test_asked_before_shows_the_earlier_question_with_the_answer_that_helped(world: World) -> None:
    earlier = say(world, "member", "放疗后口干怎么缓解？", cid="q0")
    answer = say(world, "leader", "多喝水，含冰块", cid="a0", reply_to=earlier["id"])
    api(world, "member").post(
        f"/api/v1/groups/{world.group.pk}/questions/{earlier['id']}/helpful",
        {"answer": answer["id"]},
        content_type="application/json",
    )
    say(world, "member", "复查前要空腹吗？", cid="q2")
    r = (
        api(world, "moderator")
        .post(
            f"/api/v1/groups/{world.group.pk}/questions/similar",
            {"text": "放疗以后口干得厉害有什么办法吗"},
            content_type="application/json",
        )
        .json()
    )
    assert r["is_question"] is True
    top = r["similar"][0]
    assert (
        top["id"] == earlier["id"] and top["answer"]["id"] == answer["id"] and top["answer_helped"]
    )
    sent = say(world, "moderator", "放疗完口干怎么办", cid="q3")
    [notice] = sent["notices"]
    assert notice["type"] == "asked_before" and notice["similar"][0]["id"] == earlier["id"]


def test_asked_before_never_shows_another_group_s_questions(world: World) -> None:
    r = world.client("outsider").post(
        f"/api/v1/groups/{world.other_group.pk}/messages",
        {"client_id": "o1", "text": "放疗后口干怎么缓解？"},
        content_type="application/json",
    )
    assert r.status_code == 201
    found = (
        api(world, "member")
        .post(
            f"/api/v1/groups/{world.group.pk}/questions/similar",
            {"text": "放疗后口干怎么缓解"},
            content_type="application/json",
        )
        .json()
    )
    assert found["similar"] == []


def test_a_deleted_question_is_not_offered(world: World) -> None:
    q = say(world, "member", "化疗掉头发要剃光吗？", cid="q1")
    api(world, "member").delete(f"/api/v1/groups/{world.group.pk}/messages/{q['id']}")
    found = (
        api(world, "leader")
        .post(
            f"/api/v1/groups/{world.group.pk}/questions/similar",
            {"text": "化疗掉头发要不要剃光头"},
            content_type="application/json",
        )
        .json()
    )
    assert found["similar"] == []


# --- time to answer -----------------------------------------------------------------------


def test_metrics_count_time_to_first_answer_by_week(world: World) -> None:
    now = timezone.now()
    minutes = [1, 2, 10, 90, None]  # the last one has no answer
    for i, m in enumerate(minutes):
        q = say(world, "member", f"第{i}个问题：放疗后能吃海鲜吗？", cid=f"q{i}")
        Question.objects.filter(pk=q["id"]).update(asked_at=now - dt.timedelta(hours=3))
        if m is not None:
            say(world, "leader", "可以少吃", cid=f"a{i}", reply_to=q["id"])
            Question.objects.filter(pk=q["id"]).update(
                first_answer_at=now - dt.timedelta(hours=3) + dt.timedelta(minutes=m)
            )
    data = answer_metrics(world.group.pk, 4, now=now)
    total = data["total"]
    assert total["questions"] == 5 and total["unanswered"] == 1
    assert total["median_seconds"] == 360  # between 2 and 10 minutes
    assert total["p90_seconds"] == 90 * 60
    assert total["within_3_min"] == pytest.approx(2 / 5)
    assert total["within_1_hour"] == pytest.approx(3 / 5)
    assert len(data["weeks"]) == 4 and data["weeks"][-1]["questions"] == 5
    r = world.client("leader").get(f"/api/v1/groups/{world.group.pk}/questions/metrics?weeks=4")
    assert r.json()["total"]["questions"] == 5
    assert (
        world.client("leader")
        .get(f"/api/v1/groups/{world.group.pk}/questions/metrics?weeks=0")
        .status_code
        == 400
    )
    page = (
        world.client("leader").get(f"/groups/{world.group.pk}/questions/metrics/").content.decode()
    )
    assert "<svg" in page and "40%" in page
