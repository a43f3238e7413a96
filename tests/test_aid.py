"""Mutual aid as its users meet it: asking, offering, fulfilling; donation requests waiting
for a moderator, with the money note; the personal-data and salesman checks; who is told."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tongzhou.community import aid
from tongzhou.community.models import AidRequest, Reminder
from tongzhou.errors import UserError

from .conftest import World

pytestmark = pytest.mark.django_db

Status = AidRequest.Status


def u(world: World, role: str) -> Any:
    return world.users[role]


def ask(world: World, role: str = "member", kind: str = "company", **kw: Any) -> AidRequest:
    fields = {"title": "Someone to come to my scan on Friday", "details": "", **kw}
    return aid.do_create_request(u(world, role), world.group.pk, kind=kind, **fields)


def api(world: World, role: str) -> Client:
    return world.client(role)


def test_a_request_for_company_is_open_at_once_and_the_author_hears_of_an_offer(
    world: World,
) -> None:
    req = ask(world)
    assert req.status == Status.OPEN
    r = api(world, "moderator").post(
        f"/api/v1/groups/{world.group.pk}/aid/{req.pk}/replies",
        {"offer": True},
        content_type="application/json",
    )
    assert r.status_code == 201, r.json()
    assert r.json()["offer"] is True and r.json()["text"]  # "I can help." when nothing typed
    told = Reminder.objects.get(user=u(world, "member"))
    assert told.key == f"aid:{req.pk}:reply:{r.json()['id']}"
    assert told.url == f"/groups/{world.group.pk}/aid/{req.pk}/"
    # The author replying to their own request tells nobody.
    aid.do_reply(u(world, "member"), world.group.pk, req.pk, text="Thank you!")
    assert Reminder.objects.filter(user=u(world, "member")).count() == 1
    listed = api(world, "leader").get(f"/api/v1/groups/{world.group.pk}/aid").json()["requests"]
    assert [(x["id"], x["offer_count"], x["reply_count"]) for x in listed] == [(req.pk, 1, 2)]


def test_only_the_author_or_a_moderator_marks_it_fulfilled_closed_or_open_again(
    world: World,
) -> None:
    req = ask(world, "member")
    with pytest.raises(UserError) as e:
        aid.do_set_status(u(world, "moderator"), world.group.pk, req.pk, "nonsense")
    assert e.value.code == "invalid_status"
    other = ask(world, "moderator", title="A lift home")
    with pytest.raises(UserError) as e:
        aid.do_set_status(u(world, "member"), world.group.pk, other.pk, Status.FULFILLED)
    assert e.value.status == 403
    assert aid.do_set_status(u(world, "member"), world.group.pk, req.pk, "fulfilled").status == (
        Status.FULFILLED
    )
    # A fulfilled request takes no more offers, but thanks are welcome; closed takes nothing.
    with pytest.raises(UserError) as e:
        aid.do_reply(u(world, "leader"), world.group.pk, req.pk, text="", offer=True)
    assert e.value.code == "aid_fulfilled"
    aid.do_reply(u(world, "leader"), world.group.pk, req.pk, text="So glad!")
    aid.do_set_status(u(world, "leader"), world.group.pk, req.pk, "closed")
    with pytest.raises(UserError) as e:
        aid.do_reply(u(world, "moderator"), world.group.pk, req.pk, text="late")
    assert e.value.code == "aid_closed"
    assert aid.do_set_status(u(world, "member"), world.group.pk, req.pk, "open").status == "open"
    mine = api(world, "member").get(f"/api/v1/groups/{world.group.pk}/aid?status=fulfilled")
    assert mine.json()["requests"] == []


def test_a_donation_request_waits_unseen_until_a_moderator_approves_it(world: World) -> None:
    req = ask(world, "member", kind="donation", title="Help with the cost of my radiotherapy")
    assert req.status == Status.PENDING
    gid = world.group.pk
    # Moderators are told it waits; the group does not see it, nor learn that it exists.
    assert Reminder.objects.filter(key=f"aid:{req.pk}:pending").count() == 2
    outsider_view = api(world, "outsider").get(f"/api/v1/groups/{gid}/aid/{req.pk}")
    assert outsider_view.status_code == 404
    leader = u(world, "leader")
    from tongzhou.groups import actions as group_actions

    from .conftest import make_user

    onlooker = make_user("onlooker")
    app = group_actions.do_apply(onlooker, world.group, role="carer")
    group_actions.do_decide(leader, app, approve=True)
    looker = Client()
    looker.force_login(onlooker)
    r = looker.get(f"/api/v1/groups/{gid}/aid/{req.pk}")
    assert r.status_code == 404
    missing = looker.get(f"/api/v1/groups/{gid}/aid/{req.pk + 999}")
    assert r.json() == missing.json()  # the same answer as a request that is not there
    assert looker.get(f"/api/v1/groups/{gid}/aid?status=pending").json()["requests"] == []
    assert looker.get(f"/groups/{gid}/aid/{req.pk}/").status_code == 404
    with pytest.raises(UserError) as e:
        aid.do_reply(onlooker, gid, req.pk, text="hi")
    assert e.value.status == 404
    # The author sees it, with the note about money, and cannot decide on it.
    own = api(world, "member").get(f"/api/v1/groups/{gid}/aid/{req.pk}").json()
    assert own["status"] == "pending" and "never handles money" in own["money_note"]
    r = api(world, "member").post(
        f"/api/v1/groups/{gid}/aid/{req.pk}/decision",
        {"approve": True},
        content_type="application/json",
    )
    assert r.status_code == 403
    queue = api(world, "moderator").get(f"/api/v1/groups/{gid}/aid?status=pending").json()
    assert [x["id"] for x in queue["requests"]] == [req.pk]
    r = api(world, "moderator").post(
        f"/api/v1/groups/{gid}/aid/{req.pk}/decision",
        {"approve": True},
        content_type="application/json",
    )
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "open" and r.json()["money_note"]
    assert Reminder.objects.filter(user=u(world, "member"), key=f"aid:{req.pk}:approved").exists()
    assert looker.get(f"/api/v1/groups/{gid}/aid/{req.pk}").status_code == 200
    page = looker.get(f"/groups/{gid}/aid/{req.pk}/")
    assert "never handles money" in page.content.decode()


def test_a_turned_down_request_tells_its_author_why_and_stays_hidden(world: World) -> None:
    gid = world.group.pk
    req = ask(world, "member", kind="donation", title="Money for my treatment")
    with pytest.raises(UserError) as e:
        aid.do_decide_request(u(world, "moderator"), gid, req.pk, approve=False, reason="  ")
    assert e.value.code == "empty_reason"
    aid.do_decide_request(
        u(world, "moderator"), gid, req.pk, approve=False, reason="Please talk to the leader first"
    )
    page = api(world, "member").get(f"/groups/{gid}/aid/{req.pk}/").content.decode()
    assert "Please talk to the leader first" in page
    assert api(world, "member").get(f"/api/v1/groups/{gid}/aid/{req.pk}").json()[
        "decision_reason"
    ] == ("Please talk to the leader first")
    assert Reminder.objects.filter(user=u(world, "member"), key=f"aid:{req.pk}:declined").exists()
    with pytest.raises(UserError) as e:  # decided is decided
        aid.do_decide_request(u(world, "leader"), gid, req.pk, approve=True)
    assert e.value.status == 409
    with pytest.raises(UserError) as e:
        aid.do_set_status(u(world, "member"), gid, req.pk, "open")
    assert e.value.code == "not_open_yet"


def test_personal_data_in_a_request_is_asked_about_first(world: World) -> None:
    gid = world.group.pk
    r = api(world, "member").post(
        f"/api/v1/groups/{gid}/aid",
        {"kind": "lodging", "title": "A room near the hospital", "details": "Call me 13812345678"},
        content_type="application/json",
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "personal_data"
    assert not AidRequest.objects.exists()
    r = api(world, "member").post(
        f"/api/v1/groups/{gid}/aid",
        {
            "kind": "lodging",
            "title": "A room near the hospital",
            "details": "Call me 13812345678",
            "confirm_personal_data": True,
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.json()


def test_a_salesmans_request_waits_for_a_moderator(world: World) -> None:
    req = ask(
        world,
        "member",
        kind="medicine",
        title="灵芝孢子粉特价",
        details="灵芝孢子粉破壁率99%，很多病友吃了肿瘤缩小，加我微信 kfzj0520 了解，群友打八折",
    )
    assert req.status == Status.PENDING


def onlooker_page(world: World, url: str) -> str:
    """The page as a plain member who did not ask sees it."""
    from tongzhou.groups import actions as group_actions

    from .conftest import make_user

    onlooker = make_user("onlooker2")
    app = group_actions.do_apply(onlooker, world.group, role="carer")
    group_actions.do_decide(u(world, "leader"), app, approve=True)
    c = Client()
    c.force_login(onlooker)
    return str(c.get(url).content.decode())


def test_the_pages_create_offer_and_fulfil(world: World) -> None:
    gid = world.group.pk
    author = api(world, "member")
    r = author.post(
        f"/groups/{gid}/aid/new/",
        {"kind": "company", "title": "Company to chemo on Tuesday", "details": "9 am"},
    )
    assert r.status_code == 302, r.content[:500]
    req = AidRequest.objects.get()
    assert r["Location"] == f"/groups/{gid}/aid/{req.pk}/"
    helper = api(world, "moderator")
    assert helper.post(r["Location"], {"action": "offer"}).status_code == 302
    page = author.get(r["Location"]).content.decode()
    assert "Can help" in page and "Mark as fulfilled" in page
    assert "Mark as fulfilled" in api(world, "leader").get(r["Location"]).content.decode()
    assert "Mark as fulfilled" not in onlooker_page(world, r["Location"])
    assert (
        author.post(r["Location"], {"action": "status", "status": "fulfilled"}).status_code == 302
    )
    req.refresh_from_db()
    assert req.status == Status.FULFILLED
    listed = author.get(f"/groups/{gid}/aid/?status=fulfilled").content.decode()
    assert "Company to chemo on Tuesday" in listed
    assert "Company to chemo on Tuesday" not in author.get(f"/groups/{gid}/aid/").content.decode()


def test_the_form_asks_before_posting_a_phone_number(world: World) -> None:
    gid = world.group.pk
    c = api(world, "member")
    data = {"kind": "lodging", "title": "Room near the hospital", "details": "13812345678"}
    r = c.post(f"/groups/{gid}/aid/new/", data)
    assert r.status_code == 400
    assert 'name="confirm_personal_data"' in r.content.decode()
    r = c.post(f"/groups/{gid}/aid/new/", {**data, "confirm_personal_data": "on"})
    assert r.status_code == 302
